using System.Text.Json;
using System.Text.Json.Serialization;
using Fairway.Host.Platform.Telemetry;
using Serilog;

namespace Fairway.Host.Platform.Http;

/// <summary>A field-level error inside a problem document.</summary>
public sealed record ProblemError(
    [property: JsonPropertyName("field")] string Field,
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);

/// <summary>The body of every error response (RFC 9457 problem+json) with Fairway's stable <c>code</c>.</summary>
public sealed record ProblemDocument(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("code")] string Code,
    // Omitted when empty (never sent as null), hence optional in the contract.
    [property: JsonPropertyName("detail")] string? Detail = null,
    [property: JsonPropertyName("correlation_id")] string? CorrelationId = null,
    [property: JsonPropertyName("errors")] IReadOnlyList<ProblemError>? Errors = null);

/// <summary>Builds problem+json responses. Codes are stable API contract; titles are for humans.</summary>
public static class Problems
{
    public const string ContentType = "application/problem+json";
    static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    static readonly Prometheus.Counter Answered = Prometheus.Metrics.CreateCounter("api_problems_total",
        "Error responses (problem+json) answered by this process, by HTTP status and stable code: the top errors of the error-trends dashboard.", "status", "code");

    public static ProblemDocument Document(int status, string code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null)
    {
        Answered.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture), code).Inc();
        return new($"https://fairway.example/problems/{code.ToLowerInvariant().Replace('_', '-')}", title, status, code, detail, Correlation.Current, errors);
    }

    public static IResult Result(int status, string code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null) =>
        new ProblemResult(Document(status, code, title, detail, errors));

    public static Task WriteAsync(HttpContext context, int status, string code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null)
    {
        var document = Document(status, code, title, detail, errors);
        Record(context, document);
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsync(JsonSerializer.Serialize(document, Json));
    }

    /// <summary>
    /// Puts the problem on the request's log line (Serilog's diagnostic context): the request log is the one place
    /// that logs a refused request, once, at warning level for 4xx, with its code, detail and field errors.
    /// </summary>
    static void Record(HttpContext context, ProblemDocument document)
    {
        if (context.RequestServices?.GetService<IDiagnosticContext>() is not { } diagnostics) return;
        diagnostics.Set("ProblemCode", document.Code);
        if (document.Detail is not null) diagnostics.Set("ProblemDetail", document.Detail);
        if (document.Errors is { Count: > 0 } errors) diagnostics.Set("ProblemErrors", errors, destructureObjects: true);
    }

    /// <summary>An <see cref="IResult"/> that records itself on the request log line before writing problem+json.</summary>
    sealed class ProblemResult(ProblemDocument document) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IValueHttpResult, IValueHttpResult<ProblemDocument>
    {
        public int? StatusCode => document.Status;
        public string ContentType => Problems.ContentType;
        public ProblemDocument Value => document;
        object? IValueHttpResult.Value => document;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            Record(httpContext, document);
            return Results.Json(document, Json, Problems.ContentType, document.Status).ExecuteAsync(httpContext);
        }
    }
}
