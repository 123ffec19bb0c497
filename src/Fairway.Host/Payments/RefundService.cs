using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Hangfire;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record RefundOutcome(int Status, RefundRow? Refund, string? Code = null, string? Message = null);

/// <summary>
/// Refunds: one full refund per entry. A request writes REQUESTED (kill-switch checked, audited, the entry
/// leaves the contest: VOID) and enqueues <see cref="RefundExecutionJob"/>, which asks Stripe with the
/// idempotency key <c>refund:&lt;refund_id&gt;</c>. The ledger moves (escrow → clearing) only when Stripe reports
/// the refund succeeded, through <see cref="PaymentConvergence"/>.
/// </summary>
public sealed class RefundService(
    NpgsqlDataSource db, KillSwitchService killSwitch, AuditWriter audit, StripeGateway stripe, PaymentConvergence convergence,
    TimeProvider clock, IBackgroundJobClient jobs, ILogger<RefundService> log)
{
    /// <summary>Crash point: Stripe has created the refund, Fairway has not recorded its id yet.</summary>
    public const string CrashAfterStripeRefundBeforeRecord = "refunds.after_stripe_refund_before_record";
    public const string CancellationActor = "system:cancellation";

    /// <summary>
    /// Requests the refund of an entry's SUCCEEDED payment. <paramref name="ownerUserId"/> (players) restricts to
    /// the caller's own entries and to SCHEDULED contests. Repeating it returns the same refund (200).
    /// </summary>
    public async Task<RefundOutcome> RequestAsync(string entryId, string reason, string actor, string? ownerUserId, string? contestId, CancellationToken ct)
    {
        RefundRow? created = null;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            var peek = await PaymentStore.EntryAsync(c, entryId, tx);
            if (peek is null || (ownerUserId is not null && peek.UserId != ownerUserId) || (contestId is not null && peek.ContestId != contestId))
                return new RefundOutcome(404, null, "ENTRY_NOT_FOUND", $"no entry '{entryId}'" + (ownerUserId is not null ? " of yours" : ""));
            var state = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            var entry = (await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true))!;
            var payment = await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true);
            var existing = await PaymentStore.RefundOfEntryAsync(c, entryId, tx, forUpdate: true);
            if (existing is not null) return new RefundOutcome(200, existing);
            if (ownerUserId is not null && state != ContestStates.Name(ContestState.Scheduled))
                return new RefundOutcome(409, null, "REFUND_NOT_ALLOWED", $"contest {entry.ContestId} is {state}; players may ask for a refund only while it is SCHEDULED");
            if (payment is null || payment.Status != PaymentStatuses.Succeeded)
                return new RefundOutcome(409, null, "PAYMENT_NOT_SUCCEEDED", $"entry {entryId} has no succeeded payment to refund (payment {payment?.Status ?? "none"})");
            await killSwitch.EnsureDisengagedAsync(tx, ct);
            var now = clock.GetUtcNow();
            await RequestInTransactionAsync(tx, entry, payment, reason, actor, now, ct);
            await tx.CommitAsync(ct);
            created = await PaymentStore.RefundOfEntryAsync(c, entryId);
        }
        jobs.Enqueue<RefundExecutionJob>(j => j.RunAsync(created!.Id, CancellationToken.None));
        log.LogInformation("Refund {RefundId} of entry {EntryId} requested by {Actor}: {Reason}", created!.Id, entryId, actor, reason);
        return new RefundOutcome(202, created);
    }

    /// <summary>REQUESTED + audit + entry VOID, in the caller's transaction (which holds the entry and payment locks). False when the entry already had its refund.</summary>
    public async Task<bool> RequestInTransactionAsync(NpgsqlTransaction tx, EntryRow entry, PaymentRow payment, string reason, string actor, DateTimeOffset now, CancellationToken ct)
    {
        if (!await PaymentStore.InsertRefundRequestAsync(tx, payment, reason, actor, now)) return false;
        await audit.WriteAsync(tx, new AuditEntry(actor, "refund.requested", "refund", PaymentStore.RefundIdOf(entry.Id), reason,
            After: new { status = RefundStatuses.Requested, entry_id = entry.Id, payment_intent_id = payment.PaymentIntentId, amount = payment.Amount, currency = payment.Currency }), ct);
        if (entry.Status == EntryStatuses.Active)
        {
            await PaymentStore.SetEntryStatusAsync(tx, entry.Id, EntryStatuses.Void, now);
            await audit.WriteAsync(tx, new AuditEntry(actor, "entry.status_changed", "entry", entry.Id, "refund requested: " + reason,
                Before: new { status = entry.Status }, After: new { status = EntryStatuses.Void }), ct);
        }
        PaymentMetrics.Refunds.WithLabels("requested").Inc();
        return true;
    }

    /// <summary>
    /// Requests a refund for every SUCCEEDED payment of a CANCELLED contest that has none yet (bounded batches,
    /// idempotent). Returns the refund ids requested now; their execution jobs are enqueued.
    /// </summary>
    public async Task<IReadOnlyList<string>> RequestCancellationRefundsAsync(string contestId, CancellationToken ct)
    {
        var requested = new List<string>();
        while (true)
        {
            List<string> batch;
            await using (var c = await db.OpenConnectionAsync(ct))
            {
                var state = await c.QuerySingleOrDefaultAsync<string?>("SELECT state FROM contests WHERE id = @contestId", new { contestId });
                if (state != ContestStates.Name(ContestState.Cancelled))
                {
                    log.LogWarning("Cancellation refunds for contest {ContestId} skipped: it is {State}, not CANCELLED", contestId, state ?? "missing");
                    return requested;
                }
                batch = (await c.QueryAsync<string>("""
                    SELECT p.entry_id FROM payments p JOIN entries e ON e.id = p.entry_id
                     WHERE e.contest_id = @contestId AND p.status = 'SUCCEEDED'
                       AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.entry_id = p.entry_id)
                     ORDER BY p.entry_id LIMIT 200
                    """, new { contestId })).ToList();
            }
            if (batch.Count == 0) break;
            foreach (var entryId in batch)
            {
                await using var c = await db.OpenConnectionAsync(ct);
                await using var tx = await c.BeginTransactionAsync(ct);
                await PaymentStore.ContestStateForShareAsync(tx, contestId);
                var entry = (await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true))!;
                var payment = (await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true))!;
                await killSwitch.EnsureDisengagedAsync(tx, ct);
                if (await RequestInTransactionAsync(tx, entry, payment, $"contest {contestId} cancelled", CancellationActor, clock.GetUtcNow(), ct))
                {
                    await tx.CommitAsync(ct);
                    requested.Add(PaymentStore.RefundIdOf(entryId));
                    jobs.Enqueue<RefundExecutionJob>(j => j.RunAsync(PaymentStore.RefundIdOf(entryId), CancellationToken.None));
                }
            }
        }
        if (requested.Count > 0)
            log.LogInformation("Contest {ContestId} cancelled: {Count} refunds requested", contestId, requested.Count);
        return requested;
    }

    /// <summary>
    /// Executes one refund at Stripe (idempotency key <c>refund:&lt;id&gt;</c>). Transient Stripe errors throw (the
    /// job is retried with backoff); a definite refusal marks the refund FAILED. Returns without calling Stripe
    /// when the refund is settled already or the kill-switch is engaged (the sweeper resumes it later).
    /// </summary>
    public async Task ExecuteAsync(string refundId, CancellationToken ct)
    {
        RefundRow? refund;
        await using (var c = await db.OpenConnectionAsync(ct)) refund = await PaymentStore.RefundAsync(c, refundId);
        if (refund is null) { log.LogWarning("Refund {RefundId} does not exist; nothing to execute", refundId); return; }
        if (refund.Status is RefundStatuses.Succeeded or RefundStatuses.Failed) return;
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Refund {RefundId} not sent to Stripe: the kill-switch is engaged (the payment sweeper resumes it when it is off)", refundId);
            return;
        }

        Stripe.Refund re;
        try
        {
            re = await stripe.CreateRefundAsync(refund.Id, refund.EntryId, refund.PaymentIntentId, refund.Amount, ct);
        }
        catch (StripeException e) when (!StripeGateway.IsTransient(e))
        {
            if (e.StripeError?.Code == "charge_already_refunded")
            {
                log.LogWarning("Refund {RefundId}: Stripe says the charge is already refunded; converging {PaymentIntentId}", refundId, refund.PaymentIntentId);
                await convergence.ConvergeAsync(refund.PaymentIntentId, PaymentConvergence.Actor, ct: ct);
                return;
            }
            await MarkFailedAsync(refund, $"{e.StripeError?.Code ?? ((int)e.HttpStatusCode).ToString()}: {e.Message}", ct);
            return;
        }
        catch (Exception e) when (StripeGateway.IsTransient(e))
        {
            log.LogWarning(e, "Refund {RefundId}: transient Stripe error, will retry with the same idempotency key", refundId);
            throw;
        }
        PaymentMetrics.Refunds.WithLabels("stripe_created").Inc();
        CrashPoints.Hit(CrashAfterStripeRefundBeforeRecord);

        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            var changed = await c.ExecuteAsync("""
                UPDATE refunds SET status = 'SUBMITTED', stripe_refund_id = @re, updated_at = @now WHERE id = @id AND status = 'REQUESTED'
                """, new { id = refund.Id, re = re.Id, now = clock.GetUtcNow() }, tx);
            if (changed == 1)
            {
                await audit.WriteAsync(tx, new AuditEntry(PaymentConvergence.Actor, "refund.submitted", "refund", refund.Id, $"Stripe refund {re.Id} created ({re.Status})",
                    Before: new { status = RefundStatuses.Requested }, After: new { status = RefundStatuses.Submitted, stripe_refund_id = re.Id }), ct);
                PaymentMetrics.Refunds.WithLabels("submitted").Inc();
            }
            await tx.CommitAsync(ct);
        }
        if (re.Status is "succeeded" or "failed" or "canceled")
            await convergence.ConvergeAsync(refund.PaymentIntentId, PaymentConvergence.Actor, ct: ct);
    }

    async Task MarkFailedAsync(RefundRow refund, string failure, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var changed = await c.ExecuteAsync("""
            UPDATE refunds SET status = 'FAILED', failure_reason = @failure, updated_at = @now WHERE id = @id AND status IN ('REQUESTED', 'SUBMITTED')
            """, new { id = refund.Id, failure = PaymentStore.Truncate(failure, 2000), now = clock.GetUtcNow() }, tx);
        if (changed == 1)
            await audit.WriteAsync(tx, new AuditEntry(PaymentConvergence.Actor, "refund.failed", "refund", refund.Id, "Stripe refused the refund: " + failure,
                Before: new { status = refund.Status }, After: new { status = RefundStatuses.Failed, failure_reason = failure }), ct);
        await tx.CommitAsync(ct);
        PaymentMetrics.Refunds.WithLabels("failed").Inc();
        log.LogError("Refund {RefundId} of entry {EntryId} FAILED permanently: {Failure}; the fee stays in escrow, an operator must act", refund.Id, refund.EntryId, failure);
    }
}

/// <summary>Hangfire job: executes one refund at Stripe. Transient errors are retried by Hangfire with backoff, at most 8 times.</summary>
public sealed class RefundExecutionJob(RefundService refunds)
{
    [AutomaticRetry(Attempts = 8)]
    public Task RunAsync(string refundId, CancellationToken ct) => refunds.ExecuteAsync(refundId, ct);
}

/// <summary>Hangfire job enqueued after a contest's CANCELLED transition commits: refunds every paid entry.</summary>
public sealed class CancellationRefundsJob(RefundService refunds)
{
    [AutomaticRetry(Attempts = 8)]
    public Task RunAsync(string contestId, CancellationToken ct) => refunds.RequestCancellationRefundsAsync(contestId, ct);
}
