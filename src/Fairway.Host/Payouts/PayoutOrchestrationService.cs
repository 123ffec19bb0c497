using Fairway.Host.Platform.Http;
using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Npgsql;

namespace Fairway.Host.Payouts;

/// <summary>
/// Seed 003 orchestration: turns a committed settlement into one payout job (UNIQUE settlement_id) and one
/// transfer per winner (prize &gt; 0 aggregated per user; UNIQUE contest_id, user_id) in ONE transaction,
/// idempotently. Also the admin actions on jobs and transfers (hold after a correction, release, retry),
/// each audited in its own transaction.
/// </summary>
public sealed class PayoutOrchestrationService(NpgsqlDataSource db, AuditWriter audit, FairwaySettings settings, TimeProvider clock, ILogger<PayoutOrchestrationService> log)
{
    public const string SystemActor = "system:payouts";
    public const string CorrectionDetected = "correction_detected";

    /// <summary>Creates the payout job of a settlement (or returns the existing one). Safe to call any number of times, concurrently.</summary>
    public async Task<PayoutJobView> SchedulePayoutForSettlementAsync(long settlementId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        if (await JobBySettlementAsync(c, settlementId) is { } existing) return existing;
        await using var tx = await c.BeginTransactionAsync(ct);
        var s = await c.QuerySingleOrDefaultAsync<(string ContestId, string Currency)?>(new CommandDefinition(
            "SELECT contest_id, currency FROM settlements WHERE id = @settlementId", new { settlementId }, tx, cancellationToken: ct))
            ?? throw new InvalidOperationException($"no settlement {settlementId}");
        var winners = (await c.QueryAsync<(string UserId, long Amount)>(new CommandDefinition("""
            SELECT user_id, sum(prize)::bigint FROM settlement_results WHERE settlement_id = @settlementId AND prize > 0
             GROUP BY user_id ORDER BY user_id COLLATE "C"
            """, new { settlementId }, tx, cancellationToken: ct))).ToList();
        // A correction detected before the job existed holds it from birth (see docs/decisions.md).
        var heldByCorrection = await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM settlement_correction_checks WHERE settlement_id = @settlementId AND action = 'payouts_held')",
            new { settlementId }, tx, cancellationToken: ct));
        var now = clock.GetUtcNow();
        var status = winners.Count == 0 ? PayoutJobStatuses.Complete : heldByCorrection ? PayoutJobStatuses.Held : PayoutJobStatuses.Pending;
        var jobId = await c.ExecuteScalarAsync<long?>(new CommandDefinition("""
            INSERT INTO payout_jobs (settlement_id, contest_id, status, hold_reason, created_at, updated_at, completed_at, transfer_count, total_amount, completed_count, failed_count)
            VALUES (@settlementId, @contestId, @status, @holdReason, @now, @now, @completedAt, @count, @total, @zero, @zero)
            ON CONFLICT (settlement_id) DO NOTHING
            RETURNING id
            """, new
        {
            settlementId, contestId = s.ContestId, status, holdReason = status == PayoutJobStatuses.Held ? CorrectionDetected : null, now,
            completedAt = status == PayoutJobStatuses.Complete ? now : (DateTimeOffset?)null, count = winners.Count, total = winners.Sum(w => w.Amount),
            zero = status == PayoutJobStatuses.Complete ? 0 : (int?)null,
        }, tx, cancellationToken: ct));
        if (jobId is null)
        {
            // A concurrent caller created it first.
            await tx.RollbackAsync(ct);
            return (await JobBySettlementAsync(c, settlementId))!;
        }
        var inserted = await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO payout_transfers (payout_job_id, contest_id, user_id, amount, currency, status, attempt_count, max_attempts, next_attempt_at, created_at, updated_at)
            SELECT @jobId, @contestId, w.user_id, w.amount, @currency, 'pending', 0, @maxAttempts, @now, @now, @now
              FROM unnest(@users::text[], @amounts::bigint[]) AS w(user_id, amount)
            ON CONFLICT (contest_id, user_id) DO NOTHING
            """, new
        {
            jobId, contestId = s.ContestId, currency = s.Currency, maxAttempts = settings.PayoutMaxAttempts, now,
            users = winners.Select(w => w.UserId).ToArray(), amounts = winners.Select(w => w.Amount).ToArray(),
        }, tx, cancellationToken: ct));
        await audit.WriteAsync(tx, new AuditEntry(SystemActor, "payout_job.created", "payout_job", jobId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"payout job for settlement {settlementId} of contest {s.ContestId}: {inserted} transfer(s), total {winners.Sum(w => w.Amount)} {s.Currency}" + (status == PayoutJobStatuses.Held ? " (held: correction detected)" : ""),
            After: new { status, hold_reason = status == PayoutJobStatuses.Held ? CorrectionDetected : null, transfer_count = inserted },
            Evidence: new { settlement_id = settlementId, contest_id = s.ContestId }), ct);
        await tx.CommitAsync(ct);
        log.LogInformation("Payout job {PayoutJobId} created for settlement {SettlementId} of contest {ContestId}: {TransferCount} transfer(s), status {Status}",
            jobId, settlementId, s.ContestId, inserted, status);
        return (await JobBySettlementAsync(c, settlementId))!;
    }

    /// <summary>
    /// Called in the correction check's transaction. Holds the payout job when no transfer of it has been
    /// attempted yet (returns "payouts_held"; also when the job does not exist yet — it is then created held);
    /// otherwise changes nothing (returns "recorded_only"). Locks the job and its transfers, so it waits for a
    /// transfer being executed right now and then sees its attempt.
    /// </summary>
    public async Task<string> HoldForCorrectionAsync(NpgsqlTransaction tx, long settlementId, string contestId, long ingestionEventId, string actor, CancellationToken ct = default)
    {
        var c = tx.Connection!;
        var job = await c.QuerySingleOrDefaultAsync<(long Id, string Status)?>(new CommandDefinition(
            "SELECT id, status FROM payout_jobs WHERE settlement_id = @settlementId FOR UPDATE", new { settlementId }, tx, cancellationToken: ct));
        if (job is null) return "payouts_held";
        var transfers = (await c.QueryAsync<(int Attempts, string Status)>(new CommandDefinition(
            "SELECT attempt_count, status FROM payout_transfers WHERE payout_job_id = @id ORDER BY id FOR UPDATE", new { id = job.Value.Id }, tx, cancellationToken: ct))).ToList();
        var attempted = transfers.Any(t => t.Attempts > 0 || t.Status != PayoutTransferStatuses.Pending);
        if (attempted || job.Value.Status == PayoutJobStatuses.Complete) return "recorded_only";
        if (job.Value.Status == PayoutJobStatuses.Held) return "payouts_held";
        var now = clock.GetUtcNow();
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE payout_jobs SET status = 'held', hold_reason = @reason, updated_at = @now WHERE id = @id",
            new { id = job.Value.Id, reason = CorrectionDetected, now }, tx, cancellationToken: ct));
        await audit.WriteAsync(tx, new AuditEntry(actor, "payout_job.held", "payout_job", job.Value.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"provider correction after settlement (ingestion event {ingestionEventId}); no transfer attempted yet: payouts held until an admin reviews and releases them",
            Before: new { status = job.Value.Status }, After: new { status = PayoutJobStatuses.Held, hold_reason = CorrectionDetected },
            Evidence: new { contest_id = contestId, settlement_id = settlementId, ingestion_event_id = ingestionEventId }), ct);
        return "payouts_held";
    }

    /// <summary>Releases a held payout job of a contest (admin, after review): its transfers become eligible again.</summary>
    public async Task<PayoutJobView> ReleaseAsync(string contestId, string actor, string reason, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var job = await c.QuerySingleOrDefaultAsync<PayoutJobView>(new CommandDefinition(
            $"SELECT {PayoutSql.JobColumns} FROM payout_jobs WHERE contest_id = @contestId FOR UPDATE", new { contestId }, tx, cancellationToken: ct))
            ?? throw new PayoutActionException(ProblemCodes.PayoutJobNotFound, $"contest {contestId} has no payout job");
        if (job.Status != PayoutJobStatuses.Held)
            throw new PayoutActionException(ProblemCodes.PayoutJobNotHeld, $"payout job {job.Id} of contest {contestId} is {job.Status}, not held");
        var now = clock.GetUtcNow();
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE payout_jobs SET status = 'pending', hold_reason = NULL, updated_at = @now WHERE id = @id", new { id = job.Id, now }, tx, cancellationToken: ct));
        await audit.WriteAsync(tx, new AuditEntry(actor, "payout_job.released", "payout_job", job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), reason,
            Before: new { status = job.Status, hold_reason = job.HoldReason }, After: new { status = PayoutJobStatuses.Pending },
            Evidence: new { contest_id = contestId, settlement_id = job.SettlementId }), ct);
        await tx.CommitAsync(ct);
        log.LogWarning("Payout job {PayoutJobId} of contest {ContestId} released by {Actor}: {Reason}", job.Id, contestId, actor, reason);
        return (await JobBySettlementAsync(c, job.SettlementId))!;
    }

    /// <summary>
    /// Re-queues a failed_terminal transfer (e.g. after the player connected an account) with a fresh attempt
    /// budget. The idempotency key stays <c>payout:&lt;id&gt;</c>, and a transfer with a recorded Stripe transfer id
    /// is refused: a retry can never create a second Stripe transfer (and a transfer that was ever sent is looked up
    /// at Stripe before it is sent again).
    /// </summary>
    public async Task<PayoutTransferView> RetryAsync(long transferId, string actor, string reason, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var t = await c.QuerySingleOrDefaultAsync<PayoutTransferView>(new CommandDefinition(
            $"SELECT {PayoutSql.TransferColumns} FROM payout_transfers WHERE id = @transferId FOR UPDATE", new { transferId }, tx, cancellationToken: ct))
            ?? throw new PayoutActionException(ProblemCodes.PayoutTransferNotFound, $"no payout transfer {transferId}");
        if (t.StripeTransferId is not null)
            throw new PayoutActionException(ProblemCodes.PayoutAlreadyTransferred, $"transfer {transferId} already has Stripe transfer {t.StripeTransferId}; retrying is refused");
        if (t.Status != PayoutTransferStatuses.FailedTerminal)
            throw new PayoutActionException(ProblemCodes.PayoutTransferNotFailed, $"transfer {transferId} is {t.Status}; only a failed_terminal transfer can be retried");
        await RequeueAsync(tx, t, actor, reason, ct);
        await tx.CommitAsync(ct);
        log.LogWarning("Payout transfer {TransferId} (contest {ContestId}, user {UserId}) re-queued by {Actor}: {Reason}", transferId, t.ContestId, t.UserId, actor, reason);
        return (await c.QuerySingleAsync<PayoutTransferView>($"SELECT {PayoutSql.TransferColumns} FROM payout_transfers WHERE id = @transferId", new { transferId }));
    }

    /// <summary>The most transfers one <see cref="RetryNowAsync"/> call makes due (the scheduler still runs them in its own batches).</summary>
    public const int MaxRetriedNowPerCall = 500;

    /// <summary>
    /// Makes every retryable transfer due now (admin, once Stripe answers again after an outage): their backoff was
    /// spent against an API that was failing, and the winners should not wait for it. Nothing else changes: the attempt
    /// budget, the idempotency key and the look-up at Stripe before a transfer that was ever sent is sent again.
    /// Each transfer is audited. Bounded (<see cref="MaxRetriedNowPerCall"/>, oldest next attempt first); <c>more</c>
    /// says whether some are left for another call. None retryable is an answer, not an error: the outage may have healed itself.
    /// </summary>
    public async Task<PayoutRetryNowResult> RetryNowAsync(string actor, string reason, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var now = clock.GetUtcNow();
        var due = (await c.QueryAsync<PayoutTransferView>(new CommandDefinition($"""
            SELECT {PayoutSql.TransferColumns} FROM payout_transfers
             WHERE status = 'retryable' AND stripe_transfer_id IS NULL AND attempt_count < max_attempts AND next_attempt_at > @now
             ORDER BY next_attempt_at, id LIMIT @limit FOR UPDATE SKIP LOCKED
            """, new { now, limit = MaxRetriedNowPerCall + 1 }, tx, cancellationToken: ct))).ToList();
        var batch = due.Take(MaxRetriedNowPerCall).ToList();
        await c.ExecuteAsync(new CommandDefinition("UPDATE payout_transfers SET next_attempt_at = @now, updated_at = @now WHERE id = ANY(@ids)",
            new { ids = batch.Select(t => t.Id).ToArray(), now }, tx, cancellationToken: ct));
        foreach (var t in batch)
        {
            await audit.WriteAsync(tx, new AuditEntry(actor, "payout_transfer.retry_now", "payout_transfer", t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), reason,
                Before: new { next_attempt_at = t.NextAttemptAt }, After: new { next_attempt_at = now },
                Evidence: new { contest_id = t.ContestId, user_id = t.UserId, attempt_count = t.AttemptCount, max_attempts = t.MaxAttempts, last_error_class = t.LastErrorClass }), ct);
        }
        await tx.CommitAsync(ct);
        if (batch.Count > 0)
            log.LogWarning("{Count} retryable payout transfer(s) made due now by {Actor}: {Reason}", batch.Count, actor, reason);
        return new PayoutRetryNowResult(batch.Select(t => new PayoutRetriedNow(t.Id, t.ContestId, t.NextAttemptAt)).ToList(), batch.Count, due.Count > MaxRetriedNowPerCall);
    }

    /// <summary>
    /// A transfer that failed because the winner had no usable connected account is not a dead end: once Stripe
    /// reports that account usable again (<c>account.updated</c> stored after the failure, payouts enabled), the transfer
    /// is re-queued with a fresh attempt budget, audited, by the system. Bounded per call; returns the transfers re-queued.
    /// </summary>
    public async Task<IReadOnlyList<long>> RequeueForUsableAccountsAsync(int limit, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var due = (await c.QueryAsync<PayoutTransferView>(new CommandDefinition($"""
            SELECT {PayoutSql.TransferColumnsOf("t")} FROM payout_transfers t JOIN user_stripe_accounts a ON a.user_id = t.user_id
             WHERE t.status = 'failed_terminal' AND t.stripe_transfer_id IS NULL
               AND t.failure_reason = ANY(@winnerAccount)
               AND a.payouts_enabled AND a.updated_at > t.updated_at
             ORDER BY t.id
             LIMIT @limit
             FOR UPDATE OF t SKIP LOCKED
            """, new { winnerAccount = PayoutFailureReasons.WinnerAccount, limit }, tx, cancellationToken: ct))).ToList();
        foreach (var t in due)
            await RequeueAsync(tx, t, SystemActor, $"Stripe reports the winner's account usable again (account.updated, payouts enabled) after the transfer failed ({t.FailureReason})", ct);
        await tx.CommitAsync(ct);
        foreach (var t in due)
            log.LogInformation("Payout transfer {TransferId} (contest {ContestId}, user {UserId}) re-queued automatically: the account is usable again", t.Id, t.ContestId, t.UserId);
        return due.Select(t => t.Id).ToList();
    }

    /// <summary>failed_terminal → pending with a fresh budget (max_attempts = attempts so far + PAYOUT_MAX_ATTEMPTS); its job reopens. Audited.</summary>
    async Task RequeueAsync(NpgsqlTransaction tx, PayoutTransferView t, string actor, string reason, CancellationToken ct)
    {
        var c = tx.Connection!;
        var now = clock.GetUtcNow();
        var maxAttempts = t.AttemptCount + settings.PayoutMaxAttempts;
        await c.ExecuteAsync(new CommandDefinition("""
            UPDATE payout_transfers SET status = 'pending', failure_reason = NULL, max_attempts = @maxAttempts, next_attempt_at = @now, updated_at = @now
             WHERE id = @id
            """, new { id = t.Id, maxAttempts, now }, tx, cancellationToken: ct));
        var reopened = await c.ExecuteAsync(new CommandDefinition("""
            UPDATE payout_jobs SET status = 'pending', completed_at = NULL, updated_at = @now WHERE id = @jobId AND status = 'complete'
            """, new { jobId = t.PayoutJobId, now }, tx, cancellationToken: ct));
        var id = t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await audit.WriteAsync(tx, new AuditEntry(actor, "payout_transfer.retry_requested", "payout_transfer", id, reason,
            Before: new { status = t.Status, failure_reason = t.FailureReason, attempt_count = t.AttemptCount, max_attempts = t.MaxAttempts },
            After: new { status = PayoutTransferStatuses.Pending, attempt_count = t.AttemptCount, max_attempts = maxAttempts },
            Evidence: new { contest_id = t.ContestId, user_id = t.UserId, idempotency_key = PayoutStripeGateway.IdempotencyKey(t.Id) }), ct);
        if (reopened == 1)
            await audit.WriteAsync(tx, new AuditEntry(actor, "payout_job.reopened", "payout_job", t.PayoutJobId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"transfer {t.Id} re-queued", Before: new { status = PayoutJobStatuses.Complete }, After: new { status = PayoutJobStatuses.Pending },
                Evidence: new { contest_id = t.ContestId }), ct);
    }

    public static Task<PayoutJobView?> JobBySettlementAsync(NpgsqlConnection c, long settlementId) =>
        c.QuerySingleOrDefaultAsync<PayoutJobView>($"SELECT {PayoutSql.JobColumns} FROM payout_jobs WHERE settlement_id = @settlementId", new { settlementId });
}
