using Fairway.Host.Platform.Jobs;
using Dapper;
using Fairway.Host.Platform.Configuration;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Ingestion;

/// <summary>
/// Polling schedule. A recurring job runs every minute (once across all workers) and enqueues a poll
/// for each tournament with an unfinished contest whose cadence has elapsed: fast while live, slow
/// otherwise. Live cadences below a minute are met by scheduling the minute's remaining polls as
/// delayed jobs (bounded: at most 12 per tournament per minute).
/// </summary>
public sealed class IngestionSchedulerJob(NpgsqlDataSource db, IBackgroundJobClient jobs, FairwaySettings settings, TimeProvider clock, ILogger<IngestionSchedulerJob> log)
{
    public const string RecurringId = "ingestion-scheduler";
    public const string Cron = "* * * * *";

    [SingleInstance(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0)] // the next minute is the retry
    public async Task RunAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        var rows = await c.QueryAsync<(string TournamentId, bool AnyLive, DateTime? LastFetch, string? LastStatus)>("""
            SELECT t.id,
                   bool_or(k.state = 'LIVE'),
                   (SELECT max(e.fetched_at) FROM ingestion_events e WHERE e.tournament_id = t.id),
                   (SELECT e.provider_status FROM ingestion_events e WHERE e.tournament_id = t.id AND e.outcome IN ('accepted', 'duplicate') ORDER BY e.id DESC LIMIT 1)
            FROM tournaments t JOIN contests k ON k.tournament_id = t.id
            WHERE k.state IN ('SCHEDULED', 'LOCKED', 'LIVE', 'ERROR')
            GROUP BY t.id ORDER BY t.id LIMIT 500
            """);
        var now = clock.GetUtcNow();
        var enqueued = 0;
        foreach (var r in rows)
        {
            var live = r.AnyLive || r.LastStatus is "inprogress" or "playoff" or "complete" or "delayed";
            var cadence = live ? settings.IngestionLivePoll : settings.IngestionIdlePoll;
            var last = r.LastFetch is { } dt ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)) : (DateTimeOffset?)null;
            if (last is not null && now - last.Value < cadence) continue;
            jobs.Enqueue<IngestionPollJob>(j => j.RunAsync(r.TournamentId));
            enqueued++;
            if (live && cadence < TimeSpan.FromMinutes(1))
                for (var k = 1; k * cadence.TotalSeconds < 60 && k < 12; k++)
                    jobs.Schedule<IngestionPollJob>(j => j.RunAsync(r.TournamentId), cadence * k);
        }
        if (enqueued > 0) log.LogInformation("Ingestion scheduler enqueued {Count} polls", enqueued);
    }
}

public sealed class IngestionPollJob(IngestionService ingestion, ILogger<IngestionPollJob> log)
{
    // A failed poll is recorded as an event and retried by the next scheduled poll, not by Hangfire.
    [AutomaticRetry(Attempts = 0)]
    public async Task<string> RunAsync(string tournamentId)
    {
        var r = await ingestion.PollAsync(tournamentId);
        log.LogInformation("Polled tournament {TournamentId}: event {EventId} {Outcome} (provider status {ProviderStatus})", tournamentId, r.EventId, r.Outcome, r.ProviderStatus);
        return r.Outcome;
    }
}

/// <summary>Computes ingestion_lag_seconds and ingestion_failing at scrape time, so lag grows even when nothing polls.</summary>
public sealed class IngestionLagCollector(NpgsqlDataSource db, FairwaySettings settings, TimeProvider clock, ILogger<IngestionLagCollector> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await using var c = await db.OpenConnectionAsync(timeout.Token);
                var rows = await c.QueryAsync<(string Id, DateTime? LastOk, DateTime? FirstSeen)>(new CommandDefinition("""
                    SELECT t.id,
                           (SELECT max(e.fetched_at) FROM ingestion_events e WHERE e.tournament_id = t.id AND e.outcome IN ('accepted', 'duplicate')),
                           (SELECT min(e.fetched_at) FROM ingestion_events e WHERE e.tournament_id = t.id)
                    FROM tournaments t WHERE EXISTS (SELECT 1 FROM contests k WHERE k.tournament_id = t.id AND k.state IN ('SCHEDULED', 'LOCKED', 'LIVE', 'ERROR'))
                    ORDER BY t.id LIMIT 500
                    """, cancellationToken: timeout.Token));
                var now = clock.GetUtcNow();
                var measured = new HashSet<string>(StringComparer.Ordinal);
                foreach (var r in rows)
                {
                    var since = r.LastOk ?? r.FirstSeen;
                    if (since is null) continue;
                    var lag = Math.Max(0, (now - new DateTimeOffset(DateTime.SpecifyKind(since.Value, DateTimeKind.Utc))).TotalSeconds);
                    IngestionMetrics.Lag.WithLabels(r.Id).Set(lag);
                    IngestionMetrics.Failing.WithLabels(r.Id).Set(lag > settings.IngestionFailureThreshold.TotalSeconds ? 1 : 0);
                    measured.Add(r.Id);
                }
                // A tournament whose last unfinished contest finished (settled, or cancelled with the tournament) is no longer
                // polled, so its lag is no longer measured: its series goes away. Left at its last value, a tournament cancelled
                // while it lagged would keep IngestionLagHigh firing forever with nothing anyone could do about it.
                foreach (var gone in IngestionMetrics.Lag.GetAllLabelValues().Select(l => l[0]).Where(id => !measured.Contains(id)).ToList())
                {
                    IngestionMetrics.Lag.WithLabels(gone).Remove();
                    IngestionMetrics.Failing.WithLabels(gone).Remove();
                }
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                log.LogWarning("ingestion lag not computed for this scrape: {Error}", e.Message);
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The Ingestion capability's recurring jobs.</summary>
public sealed class IngestionRecurringJobs : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options)
    {
        recurring.AddOrUpdate<IngestionSchedulerJob>(IngestionSchedulerJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), IngestionSchedulerJob.Cron, options);
        return [IngestionSchedulerJob.RecurringId];
    }
}
