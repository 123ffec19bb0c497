using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>An error answered in Stripe's shape: <c>{"error": {"type", "code", "message", "param"}}</c>.</summary>
public sealed class StripeApiException : Exception
{
    public StripeApiException(int status, string type, string? code, string message, string? param = null)
        : base(message)
    {
        Status = status; Type = type; Code = code; Param = param;
    }

    public int Status { get; }
    public string Type { get; }
    public string? Code { get; }
    public string? Param { get; }
    public string? DeclineCode { get; init; }

    /// <summary>
    /// Whether an idempotent request that failed with this error stores the result. Stripe does not
    /// store results of requests that failed parameter validation (the endpoint never started executing).
    /// </summary>
    public bool Cacheable { get; init; } = true;

    public static StripeApiException Missing(string param) =>
        new(400, "invalid_request_error", "parameter_missing", $"Missing required param: {param}.", param) { Cacheable = false };

    public static StripeApiException Invalid(string param, string message, string code = "parameter_invalid") =>
        new(400, "invalid_request_error", code, message, param) { Cacheable = false };

    public static StripeApiException NoSuch(string kind, string id, string param = "id", int status = 404) =>
        new(status, "invalid_request_error", "resource_missing", $"No such {kind}: '{id}'", param) { Cacheable = status != 404 };

    public static StripeApiException State(string code, string message, string? param = null) =>
        new(400, "invalid_request_error", code, message, param);

    public JsonObject ToJson()
    {
        var e = new JsonObject();
        if (Code is not null) e["code"] = Code;
        if (DeclineCode is not null) e["decline_code"] = DeclineCode;
        e["message"] = Message;
        if (Param is not null) e["param"] = Param;
        e["type"] = Type;
        return new JsonObject { ["error"] = e };
    }
}
