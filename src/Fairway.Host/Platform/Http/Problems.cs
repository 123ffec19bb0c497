using System.Text.Json;
using System.Text.Json.Serialization;
using Fairway.Host.Platform.Telemetry;

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
    [property: JsonPropertyName("detail")] string? Detail,
    [property: JsonPropertyName("correlation_id")] string? CorrelationId,
    [property: JsonPropertyName("errors")] IReadOnlyList<ProblemError>? Errors);

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
        Results.Json(Document(status, code, title, detail, errors), Json, ContentType, status);

    public static Task WriteAsync(HttpContext context, int status, string code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsync(JsonSerializer.Serialize(Document(status, code, title, detail, errors), Json));
    }
}
