using Dapper;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Settlement;

/// <summary>
/// Seed 001 settlement metrics. <c>settlement_status</c> is computed from the database at every scrape (so
/// any process's /metrics tells the truth, whichever worker ran the settlement): <b>1 = OK</b> (no COMPLETE,
/// unsettled contest whose latest settlement attempt failed), <b>0 = FAILED</b> (at least one such contest;
/// alert on <c>settlement_status == 0</c>). <c>settlement_failed_contests</c> is how many.
/// </summary>
public static class SettlementMetrics
{
    public static readonly Histogram Duration = Metrics.CreateHistogram("settlement_duration_seconds",
        "Wall time of one settlement attempt (load + compute + persist), successful or failed.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 16) });

    public static readonly Counter Runs = Metrics.CreateCounter("settlement_runs_total", "Settlement attempts of this process that did something, by outcome (settled, failed).", "outcome");

    public static readonly Gauge Status = Metrics.CreateGauge("settlement_status",
        "1 = OK, 0 = FAILED: some COMPLETE contest is unsettled and its latest settlement attempt failed (computed from the database at scrape time).");

    public static readonly Gauge FailedContests = Metrics.CreateGauge("settlement_failed_contests",
        "COMPLETE contests without a settlement whose latest settlement attempt failed (computed at scrape time).");

    /// <summary>The outcome of this process's latest attempt (1 settled, 0 failed); the database-wide view is settlement_status.</summary>
    public static readonly Gauge LastRunStatus = Metrics.CreateGauge("settlement_last_run_status",
        "Outcome of the latest settlement attempt run by this process: 1 settled, 0 failed.", new GaugeConfiguration { SuppressInitialValue = true });
}

/// <summary>Computes settlement_status at scrape time.</summary>
public sealed class SettlementStatusCollector(NpgsqlDataSource db, ILogger<SettlementStatusCollector> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Platform.Telemetry.ScrapeTimeMetrics.Register(log, "settlement_status", async ct =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var failed = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT count(*) FROM contests k WHERE {SettlementRepository.FailingContestSql}", cancellationToken: ct));
            SettlementMetrics.FailedContests.Set(failed);
            SettlementMetrics.Status.Set(failed == 0 ? 1 : 0);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
