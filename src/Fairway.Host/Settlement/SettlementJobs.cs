using Fairway.Host.Platform.Jobs;
using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Payouts;
using Fairway.Host.Platform.Configuration;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Settlement;

/// <summary>
/// Recurring <c>settlement-scheduler</c> (every minute, once across workers): enqueues a <see cref="SettlementJob"/>
/// for every COMPLETE, unsettled contest whose hold is over (TimeProvider), at most once per
/// <see cref="RetryAfter"/> per contest (Hangfire retries a failing job itself, bounded; after that the scheduler
/// enqueues it again). It also heals the step after settlement: a settlement without a payout job gets one.
/// </summary>
public sealed class SettlementSchedulerJob(
    NpgsqlDataSource db, ContestRepository contests, PayoutOrchestrationService payouts, IBackgroundJobClient jobs, TimeProvider clock,
    ILogger<SettlementSchedulerJob> log)
{
    public const string RecurringId = "settlement-scheduler";
    public const string Cron = "* * * * *";
    public static readonly TimeSpan RetryAfter = TimeSpan.FromHours(1);

    [SingleInstance(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0)] // the next minute is the retry
    public async Task RunAsync()
    {
        var now = clock.GetUtcNow();
        var enqueued = 0;
        await using (var c = await db.OpenConnectionAsync())
        {
            var candidates = await c.QueryAsync<(string Id, DateTime CompletedAt, DateTime? LastEnqueuedAt)>("""
                SELECT k.id, a.occurred_at, r.last_enqueued_at
                  FROM contests k
                  JOIN LATERAL (SELECT occurred_at FROM audit_events a
                                 WHERE a.entity_type = 'contest' AND a.entity_id = k.id AND a.action = 'contest.transition' AND a.after_state->>'state' = 'COMPLETE'
                                 ORDER BY a.id LIMIT 1) a ON true
                  LEFT JOIN settlement_requests r ON r.contest_id = k.id
                 WHERE k.state = 'COMPLETE' AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.contest_id = k.id)
                 ORDER BY a.occurred_at, k.id
                 LIMIT 500
                """);
            foreach (var (id, completedAt, lastEnqueuedAt) in candidates)
            {
                var config = await contests.ActiveConfigAsync(c, id);
                if (Utc(completedAt).AddSeconds(config.Config.Rules.SettlementHoldSeconds) > now) continue;
                if (lastEnqueuedAt is { } last && now - Utc(last) < RetryAfter) continue;
                var jobId = jobs.Enqueue<SettlementJob>(j => j.RunAsync(id, null));
                await c.ExecuteAsync("""
                    INSERT INTO settlement_requests (contest_id, first_enqueued_at, last_enqueued_at, enqueue_count, last_job_id)
                    VALUES (@id, @now, @now, 1, @jobId)
                    ON CONFLICT (contest_id) DO UPDATE SET last_enqueued_at = excluded.last_enqueued_at, enqueue_count = settlement_requests.enqueue_count + 1,
                        last_job_id = excluded.last_job_id
                    """, new { id, now, jobId });
                enqueued++;
                log.LogInformation("Settlement of contest {ContestId} enqueued (job {JobId}): COMPLETE at {CompletedAt:O}, hold {HoldSeconds} s over",
                    id, jobId, Utc(completedAt), config.Config.Rules.SettlementHoldSeconds);
            }
        }

        // Heal: the payout job is created after the settlement commits, in its own transaction; if that step died, do it now.
        List<long> orphans;
        await using (var c = await db.OpenConnectionAsync())
            orphans = (await c.QueryAsync<long>(
                "SELECT s.id FROM settlements s WHERE NOT EXISTS (SELECT 1 FROM payout_jobs j WHERE j.settlement_id = s.id) ORDER BY s.id LIMIT 100")).ToList();
        foreach (var settlementId in orphans)
        {
            log.LogWarning("Settlement {SettlementId} has no payout job (the step after its commit did not run); creating it", settlementId);
            await payouts.SchedulePayoutForSettlementAsync(settlementId);
        }
        if (enqueued > 0) log.LogInformation("Settlement scheduler enqueued {Count} settlement(s)", enqueued);
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));
}

/// <summary>
/// Settles one contest, then (after commit, in its own transaction) creates its payout job. A failure is
/// recorded by the service and retried by Hangfire (5 attempts with its backoff, about half an hour in total);
/// then the scheduler enqueues it again after <see cref="SettlementSchedulerJob.RetryAfter"/>.
/// </summary>
public sealed class SettlementJob(SettlementService settlement, PayoutOrchestrationService payouts, ILogger<SettlementJob> log)
{
    [AutomaticRetry(Attempts = 5, OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    public async Task<string> RunAsync(string contestId, string? triggeredBy)
    {
        SettleResult r;
        try { r = await settlement.SettleAsync(contestId, triggeredBy ?? SettlementService.SystemActor); }
        catch (SettlementRefusedException e)
        {
            log.LogWarning("Settlement of contest {ContestId} not attempted ({Code}): {Message}", contestId, e.Code, e.Message);
            return e.Code;
        }
        var job = await payouts.SchedulePayoutForSettlementAsync(r.Settlement.Id);
        log.LogInformation("Contest {ContestId}: settlement {SettlementId} ({Outcome}); payout job {PayoutJobId} is {Status}",
            contestId, r.Settlement.Id, r.Outcome, job.Id, job.Status);
        return r.Outcome.ToString();
    }
}

/// <summary>
/// Recurring <c>settlement-correction-watch</c> (every minute): the ingestion scheduler only polls tournaments
/// with an unfinished contest, so this enqueues polls (at the idle cadence) for tournaments whose contests are
/// all finished but one is COMPLETE and still watched for corrections (unsettled, or settled within
/// SETTLEMENT_CORRECTION_WINDOW_SECONDS).
/// </summary>
public sealed class SettlementCorrectionWatchJob(NpgsqlDataSource db, IBackgroundJobClient jobs, FairwaySettings settings, TimeProvider clock, ILogger<SettlementCorrectionWatchJob> log)
{
    public const string RecurringId = "settlement-correction-watch";
    public const string Cron = "* * * * *";

    [SingleInstance(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync()
    {
        var now = clock.GetUtcNow();
        await using var c = await db.OpenConnectionAsync();
        var rows = await c.QueryAsync<(string TournamentId, DateTime? LastFetch)>("""
            SELECT t.id, (SELECT max(e.fetched_at) FROM ingestion_events e WHERE e.tournament_id = t.id)
              FROM tournaments t
             WHERE NOT EXISTS (SELECT 1 FROM contests k WHERE k.tournament_id = t.id AND k.state IN ('SCHEDULED', 'LOCKED', 'LIVE', 'ERROR'))
               AND EXISTS (SELECT 1 FROM contests k LEFT JOIN settlements s ON s.contest_id = k.id
                            WHERE k.tournament_id = t.id AND k.state = 'COMPLETE' AND (s.id IS NULL OR s.committed_at > @since))
             ORDER BY t.id LIMIT 500
            """, new { since = now - settings.SettlementCorrectionWindow });
        var enqueued = 0;
        foreach (var (tournamentId, lastFetch) in rows)
        {
            if (lastFetch is { } last && now - new DateTimeOffset(DateTime.SpecifyKind(last, DateTimeKind.Utc)) < settings.IngestionIdlePoll) continue;
            jobs.Enqueue<IngestionPollJob>(j => j.RunAsync(tournamentId));
            enqueued++;
        }
        if (enqueued > 0) log.LogInformation("Correction watch enqueued {Count} poll(s) of finished tournaments", enqueued);
    }
}
