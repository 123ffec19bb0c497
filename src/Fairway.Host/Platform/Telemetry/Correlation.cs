using Serilog.Context;

namespace Fairway.Host.Platform.Telemetry;

/// <summary>
/// The correlation id of the work in progress (an HTTP request or a background job), carried through
/// async calls so that logs and audit rows of one operation can be found together.
/// </summary>
public static class Correlation
{
    public const string HeaderName = "X-Correlation-Id";
    public const string LogProperty = "CorrelationId";
    const int MaxLength = 64;

    static readonly AsyncLocal<string?> current = new();

    public static string? Current => current.Value;

    public static IDisposable Begin(string id)
    {
        var previous = current.Value;
        current.Value = id;
        var log = LogContext.PushProperty(LogProperty, id);
        return new Scope(() => { log.Dispose(); current.Value = previous; });
    }

    public static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Accepts a caller's id only if it is short and plain, so it cannot inject into logs.</summary>
    public static bool IsAcceptable(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    sealed class Scope(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}

public sealed class CorrelationMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[Correlation.HeaderName].ToString();
        var id = Correlation.IsAcceptable(incoming) ? incoming : Correlation.NewId();
        context.Response.Headers[Correlation.HeaderName] = id;
        using (Correlation.Begin(id))
            await next(context);
    }
}
