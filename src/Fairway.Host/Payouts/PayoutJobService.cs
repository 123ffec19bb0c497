using Dapper;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Telemetry;
using Npgsql;

namespace Fairway.Host.Payouts;

/// <summary>
/// One run of the payout scheduler (seed 003 BLOCKER 2): nothing while the kill-switch is engaged (PJ6:
/// transfers stay pending); otherwise execute due transfers one transaction each until none is due or the
/// batch bound (PAYOUT_BATCH_SIZE) is reached, then mark every job whose transfers are all terminal complete.
/// Several runs at once (several workers) are safe: claims use SKIP LOCKED. Every run is recorded in
/// <c>payout_scheduler_runs</c>.
/// </summary>
public sealed class PayoutJobService(
    NpgsqlDataSource db, PayoutExecutionService executor, PayoutOrchestrationService orchestration, KillSwitch killSwitch, AuditWriter audit, FairwaySettings settings,
    TimeProvider clock, ILogger<PayoutJobService> log)
{
    public async Task<PayoutSchedulerRunView> RunAsync(string triggeredBy, CancellationToken ct = default)
    {
        var startedAt = clock.GetUtcNow();
        int attempted = 0, completed = 0, retryable = 0, failed = 0, jobsCompleted = 0;
        var outcome = "ok";
        string? error = null;
        try
        {
            if ((await killSwitch.ReadAsync(ct)).Engaged)
            {
                outcome = "kill_switch_engaged";
                log.LogWarning("Payout scheduler run skipped: the kill-switch is engaged; payout transfers stay as they are");
            }
            else
            {
                await orchestration.RequeueForUsableAccountsAsync(settings.PayoutBatchSize, ct);
                await StartPendingJobsAsync(startedAt, ct);
                while (attempted < settings.PayoutBatchSize && !ct.IsCancellationRequested)
                {
                    PayoutAttemptResult? r;
                    try { r = await executor.ExecuteNextAsync(ct); }
                    catch (KillSwitchEngagedException)
                    {
                        outcome = "kill_switch_engaged";
                        log.LogWarning("Payout scheduler run stopped: the kill-switch was engaged during the run");
                        break;
                    }
                    catch (PayoutAttemptException e)
                    {
                        log.LogError(e.InnerException, "Payout transfer {TransferId}: the attempt failed inside Fairway and was rolled back; recording it as retryable", e.TransferId);
                        await executor.RecordInternalFailureAsync(e.TransferId, e.InnerException!, ct);
                        attempted++;
                        retryable++;
                        continue;
                    }
                    if (r is null) break;
                    attempted++;
                    switch (r.Outcome)
                    {
                        case PayoutTransferStatuses.Completed: completed++; break;
                        case PayoutTransferStatuses.Retryable: retryable++; break;
                        default: failed++; break;
                    }
                }
                jobsCompleted = await CompleteFinishedJobsAsync(ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            outcome = "failed";
            error = $"{e.GetType().Name}: {e.Message}";
            log.LogError(e, "Payout scheduler run failed after {Attempted} attempt(s)", attempted);
            await RecordAsync(startedAt, outcome, triggeredBy, attempted, completed, retryable, failed, jobsCompleted, error);
            throw;
        }
        var run = await RecordAsync(startedAt, outcome, triggeredBy, attempted, completed, retryable, failed, jobsCompleted, error);
        log.LogInformation("Payout scheduler run {RunId} ({Outcome}): {Attempted} attempt(s), {Completed} completed, {Retryable} retryable, {Failed} failed_terminal, {JobsCompleted} job(s) complete",
            run.Id, outcome, attempted, completed, retryable, failed, jobsCompleted);
        return run;
    }

    /// <summary>pending → processing for every pending job, each with its audit row, in one transaction.</summary>
    async Task StartPendingJobsAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var started = (await c.QueryAsync<(long Id, string ContestId)>(new CommandDefinition(
            "UPDATE payout_jobs SET status = 'processing', updated_at = @now WHERE status = 'pending' RETURNING id, contest_id", new { now }, tx, cancellationToken: ct))).ToList();
        foreach (var j in started)
            await audit.WriteAsync(tx, new AuditEntry(PayoutOrchestrationService.SystemActor, "payout_job.processing", "payout_job", j.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "the payout scheduler started executing its transfers",
                Before: new { status = PayoutJobStatuses.Pending }, After: new { status = PayoutJobStatuses.Processing }, Evidence: new { contest_id = j.ContestId }), ct);
        await tx.CommitAsync(ct);
    }

    /// <summary>Marks complete every open (not held) job whose transfers are all terminal, each with its counts and an audit row.</summary>
    public async Task<int> CompleteFinishedJobsAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var now = clock.GetUtcNow();
        var done = (await c.QueryAsync<(long Id, string ContestId, int Completed, int Failed)>(new CommandDefinition("""
            UPDATE payout_jobs j SET status = 'complete', completed_at = @now, updated_at = @now,
                   completed_count = (SELECT count(*) FROM payout_transfers t WHERE t.payout_job_id = j.id AND t.status = 'completed'),
                   failed_count = (SELECT count(*) FROM payout_transfers t WHERE t.payout_job_id = j.id AND t.status = 'failed_terminal')
             WHERE j.status IN ('pending', 'processing')
               AND NOT EXISTS (SELECT 1 FROM payout_transfers t WHERE t.payout_job_id = j.id AND t.status NOT IN ('completed', 'failed_terminal'))
            RETURNING j.id, j.contest_id, j.completed_count, j.failed_count
            """, new { now }, tx, cancellationToken: ct))).ToList();
        foreach (var j in done)
            await audit.WriteAsync(tx, new AuditEntry(PayoutOrchestrationService.SystemActor, "payout_job.completed", "payout_job", j.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"every transfer terminal: {j.Completed} completed, {j.Failed} failed_terminal",
                After: new { status = PayoutJobStatuses.Complete, completed_count = j.Completed, failed_count = j.Failed }, Evidence: new { contest_id = j.ContestId }), ct);
        await tx.CommitAsync(ct);
        foreach (var j in done)
            log.Log(j.Failed > 0 ? LogLevel.Warning : LogLevel.Information,
                "Payout job {PayoutJobId} of contest {ContestId} complete: {Completed} completed, {Failed} failed_terminal (failed funds stay in winnings payable)",
                j.Id, j.ContestId, j.Completed, j.Failed);
        return done.Count;
    }

    async Task<PayoutSchedulerRunView> RecordAsync(DateTimeOffset startedAt, string outcome, string triggeredBy, int attempted, int completed, int retryable, int failed, int jobsCompleted, string? error)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleAsync<PayoutSchedulerRunView>($"""
            INSERT INTO payout_scheduler_runs (started_at, finished_at, outcome, triggered_by, worker, attempted, completed, retryable, failed_terminal, jobs_completed, error, correlation_id)
            VALUES (@startedAt, @finishedAt, @outcome, @triggeredBy, @worker, @attempted, @completed, @retryable, @failed, @jobsCompleted, @error, @correlation)
            RETURNING {PayoutSql.RunColumns}
            """, new
        {
            startedAt, finishedAt = clock.GetUtcNow(), outcome, triggeredBy, worker = PayoutExecutionService.Worker, attempted, completed, retryable, failed, jobsCompleted,
            error, correlation = Correlation.Current,
        });
    }
}
