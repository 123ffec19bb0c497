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
    // Read-only from the start, with its resolver: Results.Json gives a writable options instance a resolver on every
    // call, and a freshly started API answering its first problems concurrently raced that write against another
    // request's serialization ("This JsonSerializerOptions instance is read-only"): a 500 instead of the problem.
    static readonly JsonSerializerOptions Json = ReadOnly(new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() });

    static JsonSerializerOptions ReadOnly(JsonSerializerOptions options)
    {
        options.MakeReadOnly();
        return options;
    }

    static readonly Prometheus.Counter Answered = Prometheus.Metrics.CreateCounter("api_problems_total",
        "Error responses (problem+json) answered by this process, by HTTP status and stable code: the top errors of the error-trends dashboard.", "status", "code");

    static readonly Prometheus.Counter Unregistered = Prometheus.Metrics.CreateCounter("api_problems_unregistered_total",
        "Error responses whose code (or a field error's code, or the code's status) is not in the error-code registry (ProblemCodes): always a bug; tests assert it stays 0.", "status", "code");

    /// <param name="status">Only for <see cref="ProblemCodes.RequestFailed"/>, whose status is the framework's; every other code has its own.</param>
    static ProblemDocument Document(ProblemCode code, string title, string? detail, IReadOnlyList<ProblemError>? errors, int? status = null)
    {
        var answered = code.Status ?? status ?? 500;
        Answered.WithLabels(answered.ToString(System.Globalization.CultureInfo.InvariantCulture), code.Code).Inc();
        return new($"https://fairway.example/problems/{code.Code.ToLowerInvariant().Replace('_', '-')}", title, answered, code.Code, detail, Correlation.Current, errors);
    }

    public static IResult Result(ProblemCode code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null) =>
        new ProblemResult(Document(code, title, detail, errors));

    /// <summary>
    /// A page size is 1..<paramref name="max"/> (left out, the endpoint's default applies): the 400 VALIDATION_FAILED naming
    /// the field for one outside, else null. Every list endpoint bounds its page this way.
    /// </summary>
    public static IResult? PageLimitError(int? limit, int max) =>
        limit is < 1 || limit > max ? Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [PageLimitField(max)]) : null;

    /// <summary>The field error of a page size outside 1..<paramref name="max"/>, for endpoints that collect several field errors.</summary>
    public static ProblemError PageLimitField(int max) =>
        new("limit", FieldCodes.OutOfRange, $"limit must be between 1 and {max.ToString(System.Globalization.CultureInfo.InvariantCulture)}");

    public static Task WriteAsync(HttpContext context, ProblemCode code, string title, string? detail = null, IReadOnlyList<ProblemError>? errors = null, int? status = null)
    {
        var document = Document(code, title, detail, errors, status);
        Record(context, document);
        context.Response.StatusCode = document.Status;
        context.Response.ContentType = ContentType;
        return context.Response.WriteAsync(JsonSerializer.Serialize(document, Json));
    }

    /// <summary>
    /// The host's own check of the registry on every answered problem: a code (or field code) missing from it, or answered
    /// with another status, is counted and logged at error level — it never changes the answer the client gets.
    /// </summary>
    static void CheckRegistered(HttpContext context, ProblemDocument document)
    {
        var unregistered = new List<string>();
        if (!ErrorCodeRegistry.IsRegistered(document.Code, document.Status)) unregistered.Add(document.Code);
        foreach (var e in document.Errors ?? []) if (!ErrorCodeRegistry.IsRegisteredFieldCode(e.Code)) unregistered.Add(e.Code);
        if (unregistered.Count == 0) return;
        var status = document.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var code in unregistered) Unregistered.WithLabels(status, code).Inc();
        context.RequestServices?.GetService<ILoggerFactory>()?.CreateLogger("Fairway.Http").LogError(
            "Problem {Status} answered with codes not in the error-code registry: {Codes} (add them to ProblemCodes/FieldCodes)", document.Status, string.Join(", ", unregistered));
    }

    /// <summary>
    /// Puts the problem on the request's log line (Serilog's diagnostic context): the request log is the one place
    /// that logs a refused request, once, at warning level for 4xx, with its code, detail and field errors.
    /// </summary>
    static void Record(HttpContext context, ProblemDocument document)
    {
        CheckRegistered(context, document);
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
