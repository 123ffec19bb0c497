using Prometheus;

namespace Fairway.Host.Contests;

/// <summary>Seed 001 metric names: contest_status_transitions_failed is alerted on when above 0.</summary>
public static class ContestMetrics
{
    public static readonly Counter Transitions = Metrics.CreateCounter(
        "contest_status_transitions_total", "Contest lifecycle transitions committed.", "from", "to");

    public static readonly Counter TransitionsFailed = Metrics.CreateCounter(
        "contest_status_transitions_failed", "Contest lifecycle transitions that were attempted and refused or failed.", "to", "reason");
}

/// <summary>Computes <c>contests_in_error</c> at scrape time (alerted when above 0: every ERROR has a runbook).</summary>
public sealed class ContestStateCollector(Npgsql.NpgsqlDataSource db, ILogger<ContestStateCollector> log) : IHostedService
{
    public static readonly Gauge InError = Metrics.CreateGauge("contests_in_error",
        "Contests in ERROR: a condition Fairway cannot resolve by itself, left only by an admin following its runbook (computed from the database at scrape time).");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Platform.Telemetry.ScrapeTimeMetrics.Register(log, "contests_in_error", async ct =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            InError.Set(await Dapper.SqlMapper.ExecuteScalarAsync<long>(c, new Dapper.CommandDefinition("SELECT count(*) FROM contests WHERE state = 'ERROR'", cancellationToken: ct)));
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
