using Microsoft.IdentityModel.Tokens;
using Prometheus;

namespace Fairway.Host.Platform.Auth;

/// <summary>
/// Outcomes of bearer-token authentication, and seed 001's <c>auth_service_error_rate</c>: the share of
/// authentication attempts in the last five minutes that failed because the auth service (the OIDC authority's
/// discovery document or keys) could not be reached, as a fraction 0..1. Tokens that were simply invalid are
/// <c>rejected</c>, not service errors: a forger must not page ops. The window is real time (like token lifetimes),
/// 30 buckets of 10 s, so it is bounded and forgets by itself.
/// </summary>
public static class AuthMetrics
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string ServiceError = "service_error";

    public static readonly Counter Requests = Metrics.CreateCounter("auth_requests_total",
        "Bearer-token authentication attempts, by outcome: accepted, rejected (invalid token), service_error (the auth service could not be reached).", "outcome");

    public static readonly Gauge ServiceErrorRate = Metrics.CreateGauge("auth_service_error_rate",
        "Fraction (0..1) of authentication attempts in the last 5 minutes that failed because the auth service was unreachable (0 without attempts).");

    static readonly SlidingWindow Window = new(TimeSpan.FromSeconds(10), 30, TimeProvider.System);

    static AuthMetrics()
    {
        foreach (var outcome in new[] { Accepted, Rejected, ServiceError }) Requests.WithLabels(outcome);
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() => ServiceErrorRate.Set(Window.ErrorRate()));
    }

    public static void Record(string outcome)
    {
        Requests.WithLabels(outcome).Inc();
        Window.Add(outcome == ServiceError);
    }

    /// <summary>Service errors are failures to obtain the authority's configuration or keys (IDX20803 and transport errors), never a bad token.</summary>
    public static string Classify(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or IOException or TaskCanceledException or TimeoutException) return ServiceError;
            if (e is InvalidOperationException && e.Message.Contains("IDX20803", StringComparison.Ordinal)) return ServiceError;
            if (e is SecurityTokenException) return Rejected;
        }
        return Rejected;
    }

    /// <summary>Counts per bucket; a bucket older than the window is reused.</summary>
    sealed class SlidingWindow(TimeSpan bucket, int buckets, TimeProvider clock)
    {
        readonly long[] starts = new long[buckets];
        readonly long[] totals = new long[buckets];
        readonly long[] errors = new long[buckets];
        readonly object gate = new();

        public void Add(bool error)
        {
            var now = clock.GetUtcNow().Ticks / bucket.Ticks;
            var i = (int)(now % buckets);
            lock (gate)
            {
                if (starts[i] != now) { starts[i] = now; totals[i] = 0; errors[i] = 0; }
                totals[i]++;
                if (error) errors[i]++;
            }
        }

        public double ErrorRate()
        {
            var now = clock.GetUtcNow().Ticks / bucket.Ticks;
            long total = 0, failed = 0;
            lock (gate)
                for (var i = 0; i < buckets; i++)
                    if (now - starts[i] < buckets) { total += totals[i]; failed += errors[i]; }
            return total == 0 ? 0 : (double)failed / total;
        }
    }
}
