using Fairway.Host.Platform.Configuration;
using Prometheus;

namespace Fairway.Host.Platform.Telemetry;

/// <summary>
/// Where /metrics is served. With FAIRWAY_METRICS_LISTEN_URL, a second Kestrel listener serves only GET /metrics
/// (for Prometheus on the private network) and the main listener answers 404 for it; the decision is by the
/// local port the connection arrived on, never by the Host header a client can forge. Without it (development and
/// tests only: start-up refuses that when FAIRWAY_PRODUCTION=true), /metrics is served on the main listener.
/// </summary>
public static class MetricsEndpoint
{
    public static string[] ListenUrls(FairwaySettings settings) =>
        settings.MetricsListenUrl is { } metrics ? [settings.ListenUrl, metrics] : [settings.ListenUrl];

    /// <summary>Call before routing: keeps the two listeners apart.</summary>
    public static void UseMetricsListener(this WebApplication app, FairwaySettings settings)
    {
        if (settings.MetricsListenUrl is not { } url) return;
        var port = new Uri(url).Port;
        app.Use(async (context, next) =>
        {
            var onMetricsPort = context.Connection.LocalPort == port;
            var isMetrics = context.Request.Path.Equals("/metrics", StringComparison.Ordinal);
            if (onMetricsPort != isMetrics)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await next();
        });
    }

    public static void MapFairwayMetrics(this WebApplication app) => app.MapMetrics("/metrics").AllowAnonymous();
}
