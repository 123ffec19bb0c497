using Microsoft.AspNetCore.Http.Metadata;

namespace Fairway.Host.Platform.Http;

public enum BodyFormat { None, Json, Form }

/// <summary>
/// Endpoint metadata: how large a request body a route accepts and what it must be. Routes with a JSON body
/// parameter take the class of their group (<see cref="PlayerJson"/> under /api, <see cref="AdminJson"/> under
/// /api/admin); a handler that reads the body itself declares its class on its endpoint
/// (<see cref="ReadByHandler"/>); every other route takes no body at all. Beyond the limit: 413 BODY_TOO_LARGE.
/// </summary>
public sealed record RequestBodyClass(string Name, long MaxBytes, BodyFormat Format, bool ReadByHandler = false)
{
    public static readonly RequestBodyClass None = new("none", 0, BodyFormat.None);
    /// <summary>Player requests: an entry's roster, nothing more. 32 KiB is two orders of magnitude above a real one.</summary>
    public static readonly RequestBodyClass PlayerJson = new("player_json", 32 * 1024, BodyFormat.Json);
    /// <summary>Admin requests: the largest is a field of up to 1,000 golfers or a contest config, well under 1 MiB.</summary>
    public static readonly RequestBodyClass AdminJson = new("admin_json", 1024 * 1024, BodyFormat.Json);
    /// <summary>Stripe events; the webhook handler keeps its own identical bound.</summary>
    public static readonly RequestBodyClass StripeWebhook = new("stripe_webhook", 256 * 1024, BodyFormat.Json, ReadByHandler: true);
    /// <summary>The jobs dashboard's form posts (job ids to requeue or delete).</summary>
    public static readonly RequestBodyClass JobsDashboard = new("jobs_dashboard_form", 64 * 1024, BodyFormat.Form, ReadByHandler: true);

    public static readonly IReadOnlyList<RequestBodyClass> All = [None, PlayerJson, AdminJson, StripeWebhook, JobsDashboard];

    public static long Largest => All.Max(c => c.MaxBytes);

    /// <summary>
    /// How much of a refused body is still read (and dropped) so the 413 reaches a client that sends its body
    /// without waiting (no Expect: 100-continue) and the connection stays usable; beyond it the connection is
    /// closed unread. Also Kestrel's own bound for any request.
    /// </summary>
    public static long DrainLimit => 2 * Largest;

    /// <summary>The class in force for <paramref name="endpoint"/> (None when there is no endpoint, e.g. a 404).</summary>
    public static RequestBodyClass Of(Endpoint? endpoint)
    {
        if (endpoint is null) return None;
        var declared = endpoint.Metadata.GetMetadata<RequestBodyClass>();
        if (declared is { ReadByHandler: true }) return declared;
        if (endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is { RequestType: not null })
            return declared is { Format: BodyFormat.Json } ? declared : PlayerJson;
        return None;
    }

    /// <summary>The body the endpoint binds from JSON (null when it takes none or reads it itself).</summary>
    public static IAcceptsMetadata? JsonBinding(Endpoint? endpoint) =>
        endpoint?.Metadata.GetMetadata<IAcceptsMetadata>() is { RequestType: not null } a ? a : null;
}
