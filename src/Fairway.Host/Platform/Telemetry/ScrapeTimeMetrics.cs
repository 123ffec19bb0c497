using Npgsql;
using Prometheus;

namespace Fairway.Host.Platform.Telemetry;

/// <summary>
/// Gauges computed from the database at every scrape, so any process's /metrics tells the truth whichever process did the
/// work. Each computation is bounded (3 s); a failure keeps the previous values and logs one warning per scrape.
/// </summary>
public static class ScrapeTimeMetrics
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static void Register(ILogger log, string what, Func<CancellationToken, Task> compute) =>
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(Timeout);
                await compute(timeout.Token);
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                log.LogWarning("{Metrics} not computed for this scrape: {Error}", what, e.Message);
            }
        });
}
