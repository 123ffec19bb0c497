using Dapper;
using Fairway.Host.Platform.Telemetry;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Contests;

/// <summary>Seed 001 metric names: contest_status_transitions_failed is alerted on when above 0.</summary>
public static class ContestMetrics
{
    public static readonly Counter Transitions = Metrics.CreateCounter(
        "contest_status_transitions_total", "Contest lifecycle transitions committed.", "from", "to");

    public static readonly Counter TransitionsFailed = Metrics.CreateCounter(
        "contest_status_transitions_failed", "Contest lifecycle transitions that were attempted and refused or failed.", "to", "reason");

    public static readonly Gauge ByState = Metrics.CreateGauge(
        "contests_by_state", "Contests in each lifecycle state (computed from the database at scrape time; every state is reported, 0 included).", "state");
}

/// <summary>
/// Computes <c>contests_by_state</c> and <c>contests_in_error</c> at scrape time (one query; contests_in_error is alerted
/// when above 0: every ERROR has a runbook).
/// </summary>
public sealed class ContestStateCollector(NpgsqlDataSource db, ILogger<ContestStateCollector> log) : IHostedService
{
    public static readonly Gauge InError = Metrics.CreateGauge("contests_in_error",
        "Contests in ERROR: a condition Fairway cannot resolve by itself, left only by an admin following its runbook (computed from the database at scrape time).");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ScrapeTimeMetrics.Register(log, "contests_by_state, contests_in_error", async ct =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var counts = (await c.QueryAsync<(string State, long Count)>(new CommandDefinition("SELECT state, count(*) FROM contests GROUP BY state", cancellationToken: ct)))
                .ToDictionary(r => r.State, r => r.Count);
            foreach (var state in Enum.GetValues<ContestState>().Select(ContestStates.Name)) ContestMetrics.ByState.WithLabels(state).Set(counts.GetValueOrDefault(state));
            InError.Set(counts.GetValueOrDefault(ContestStates.Name(ContestState.Error)));
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
