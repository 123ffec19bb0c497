using Microsoft.AspNetCore.Diagnostics;

namespace Fairway.Host.Platform.Http;

/// <summary>Turns unhandled exceptions into problem+json. Nothing is swallowed: every one is logged with context.</summary>
public static class ErrorHandling
{
    public static void UseProblemErrors(this WebApplication app)
    {
        app.UseExceptionHandler(handler => handler.Run(async context =>
        {
            var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var log = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Http");
            if (error is BadHttpRequestException bad)
            {
                log.LogWarning(bad, "Malformed request {Method} {Path}", context.Request.Method, context.Request.Path.Value);
                await Problems.WriteAsync(context, 400, "MALFORMED_REQUEST", "The request could not be read.", bad.Message);
                return;
            }
            if (Database.TransientDatabaseErrors.IsTransient(error))
            {
                Database.TransientDatabaseErrors.ClearPools(context.RequestServices.GetService<Npgsql.NpgsqlDataSource>());
                log.LogWarning(error, "Transient database error on {Method} {Path}; pools cleared, client asked to retry", context.Request.Method, context.Request.Path.Value);
                context.Response.Headers.RetryAfter = "1";
                await Problems.WriteAsync(context, 503, "DATABASE_UNAVAILABLE", "The database was briefly unavailable; retry the request.");
                return;
            }
            log.LogError(error, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
            await Problems.WriteAsync(context, 500, "INTERNAL_ERROR", "An unexpected error occurred; it has been logged with this correlation id.");
        }));
        app.UseStatusCodePages(async ctx =>
        {
            var r = ctx.HttpContext.Response;
            if (r.HasStarted || r.ContentLength > 0 || r.ContentType is not null) return;
            var (code, title) = r.StatusCode switch
            {
                404 => ("NOT_FOUND", "No such resource."),
                405 => ("METHOD_NOT_ALLOWED", "Method not allowed on this resource."),
                415 => ("UNSUPPORTED_MEDIA_TYPE", "Send application/json."),
                _ => ("HTTP_" + r.StatusCode, "Request failed."),
            };
            await Problems.WriteAsync(ctx.HttpContext, r.StatusCode, code, title);
        });
    }
}
