using Microsoft.AspNetCore.Diagnostics;

namespace Fairway.Host.Platform.Http;

/// <summary>
/// Turns unhandled exceptions into problem+json. Nothing is swallowed: every one is logged with context.
/// Bad input never gets here (the <see cref="InputGuard"/> answers it before any handler runs); what does is
/// a transient database error (503, retry) or a bug (500, logged at error level).
/// </summary>
public static class ErrorHandling
{
    public static void UseProblemErrors(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // Answered as the client's fault or a retry, and logged below: not an unhandled exception.
            SuppressDiagnosticsCallback = c => c.Exception is BadHttpRequestException || Database.TransientDatabaseErrors.IsTransient(c.Exception),
            ExceptionHandler = HandleAsync,
        });
        app.UseStatusCodePages(async ctx =>
        {
            var r = ctx.HttpContext.Response;
            if (r.HasStarted || r.ContentLength > 0 || r.ContentType is not null) return;
            var (code, title) = r.StatusCode switch
            {
                400 => (ProblemCodes.MalformedRequest, "The request could not be read."),
                401 => (ProblemCodes.Unauthenticated, "A bearer token is required."),
                403 => (ProblemCodes.Forbidden, "This route requires role admin."),
                404 => (ProblemCodes.NotFound, "No such resource."),
                405 => (ProblemCodes.MethodNotAllowed, "Method not allowed on this resource."),
                413 => (ProblemCodes.BodyTooLarge, "The request body is too large."),
                415 => (ProblemCodes.UnsupportedMediaType, "Send application/json."),
                // The jobs dashboard answers a command it could not apply with a bare 422.
                422 => (ProblemCodes.RequestNotApplied, "The request was understood but could not be applied."),
                _ => (ProblemCodes.RequestFailed, "Request failed."),
            };
            await Problems.WriteAsync(ctx.HttpContext, code, title, status: r.StatusCode);
        });
    }

    static async Task HandleAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var log = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Http");
        if (error is BadHttpRequestException bad)
        {
            // A body error outside the guard (e.g. the client vanished mid-body): the request log line records it.
            // Kestrel's own body errors keep their status (408 for a body too slow, 413 too large, …).
            var code = bad.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => ProblemCodes.BodyTooLarge,
                StatusCodes.Status400BadRequest or < 400 or >= 500 => ProblemCodes.MalformedRequest,
                _ => ProblemCodes.RequestFailed,
            };
            await Problems.WriteAsync(context, code, "The request could not be read.", InputText.Printable(bad.Message), status: bad.StatusCode);
            return;
        }
        if (Database.TransientDatabaseErrors.IsTransient(error))
        {
            var cleared = Database.TransientDatabaseErrors.ClearPoolsIfConnectionLost(error, context.RequestServices.GetService<Npgsql.NpgsqlDataSource>());
            log.LogWarning(error, "Transient database error on {Method} {Path}; {Pools}; client asked to retry", context.Request.Method, context.Request.Path.Value,
                cleared ? "connection lost, pools cleared" : "pools kept (not a connection failure)");
            context.Response.Headers.RetryAfter = "1";
            await Problems.WriteAsync(context, ProblemCodes.DatabaseUnavailable, "The database was briefly unavailable; retry the request.");
            return;
        }
        log.LogError(error, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
        await Problems.WriteAsync(context, ProblemCodes.InternalError, "An unexpected error occurred; it has been logged with this correlation id.");
    }
}
