using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Ledger;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Npgsql;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record DisputeResult(string DisputeId, string Outcome, string Detail);

/// <summary>
/// Disputes, converged like payments: the dispute is retrieved from Stripe (so a `created` arriving after
/// `closed` cannot move it backwards) and recorded. A LOST dispute takes the fee out of the contest escrow
/// (escrow → clearing, key <c>dispute:&lt;dp&gt;:lost</c>) and voids the entry — but only while the money is still
/// in escrow: payment SUCCEEDED, no SUCCEEDED refund, and the contest not COMPLETE (a COMPLETE contest may
/// be settled, its escrow released). Otherwise the loss is recorded as <c>not_posted</c> with an error log:
/// an operator books the correction (seed 002: do not auto-fix what the system cannot attribute).
/// </summary>
public sealed class DisputeService(
    NpgsqlDataSource db, StripeGateway stripe, PaymentConvergence payments, LedgerRepository ledger, KillSwitchService killSwitch,
    AuditWriter audit, TimeProvider clock, ILogger<DisputeService> log)
{
    public async Task<DisputeResult> ConvergeAsync(string disputeId, string actor, Func<NpgsqlTransaction, string, string, Task>? inTransaction, CancellationToken ct)
    {
        var dp = await stripe.GetDisputeAsync(disputeId, ct);
        // The payment first: a dispute can be seen before the success it disputes.
        if (!string.IsNullOrEmpty(dp.PaymentIntentId)) await payments.ConvergeAsync(dp.PaymentIntentId, actor, ct: ct);

        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await killSwitch.EnsureDisengagedAsync(tx, ct);
        var now = clock.GetUtcNow();
        var payment = string.IsNullOrEmpty(dp.PaymentIntentId) ? null : await PaymentStore.PaymentByIntentAsync(c, dp.PaymentIntentId, tx);
        EntryRow? entry = null;
        string? contestState = null;
        if (payment is not null)
        {
            var peek = (await PaymentStore.EntryAsync(c, payment.EntryId, tx))!;
            contestState = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            entry = await PaymentStore.EntryAsync(c, payment.EntryId, tx, forUpdate: true);
            payment = await PaymentStore.PaymentOfEntryAsync(c, payment.EntryId, tx, forUpdate: true);
        }
        var before = await c.QuerySingleOrDefaultAsync<(string Status, string? LossLedger)?>(
            "SELECT status, loss_ledger FROM disputes WHERE id = @disputeId FOR UPDATE", new { disputeId }, tx);
        var outcome = ConvergenceOutcomes.Superseded;
        var detail = $"dispute {disputeId} {dp.Status}";
        if (payment is null && before is null)
        {
            outcome = ConvergenceOutcomes.Ignored;
            detail = $"dispute {disputeId} is on {dp.PaymentIntentId ?? "no payment intent"}, not a Fairway payment";
        }
        else
        {
            if (before is null)
            {
                await c.ExecuteAsync("""
                    INSERT INTO disputes (id, payment_intent_id, entry_id, charge_id, amount, currency, status, reason, loss_ledger, created_at, updated_at)
                    VALUES (@Id, @PaymentIntentId, @entryId, @ChargeId, @Amount, @Currency, @Status, @Reason, NULL, @now, @now)
                    """, new { dp.Id, dp.PaymentIntentId, entryId = entry?.Id, dp.ChargeId, dp.Amount, dp.Currency, dp.Status, dp.Reason, now }, tx);
                outcome = ConvergenceOutcomes.Applied;
                log.LogError("Stripe dispute {DisputeId} opened on {PaymentIntentId} (entry {EntryId}): {Amount} {Currency}, reason {Reason}",
                    dp.Id, dp.PaymentIntentId, entry?.Id, dp.Amount, dp.Currency, dp.Reason);
            }
            else if (before.Value.Status != dp.Status)
            {
                await c.ExecuteAsync("UPDATE disputes SET status = @Status, reason = @Reason, updated_at = @now WHERE id = @Id", new { dp.Id, dp.Status, dp.Reason, now }, tx);
                outcome = ConvergenceOutcomes.Applied;
            }
            if (outcome == ConvergenceOutcomes.Applied)
            {
                PaymentMetrics.Disputes.WithLabels(dp.Status).Inc();
                await audit.WriteAsync(tx, new AuditEntry(actor, "dispute." + dp.Status, "dispute", dp.Id, $"Stripe reports dispute {dp.Id} {dp.Status}",
                    Before: before is null ? null : new { status = before.Value.Status }, After: new { status = dp.Status, amount = dp.Amount, reason = dp.Reason }), ct);
            }

            if (dp.Status == "lost" && before?.LossLedger is null && payment is not null && entry is not null)
            {
                var refund = await PaymentStore.RefundOfEntryAsync(c, entry.Id, tx, forUpdate: true);
                var inEscrow = payment.Status == PaymentStatuses.Succeeded && refund?.Status != RefundStatuses.Succeeded
                    && contestState != ContestStates.Name(ContestState.Complete);
                if (inEscrow)
                {
                    await ledger.PostAsync(tx, JournalEntry.Movement(PaymentLedger.DisputeKey(dp.Id), PaymentLedger.DisputeLost, payment.Currency, now,
                        "dispute", dp.Id, LedgerAccountRef.Escrow(entry.ContestId), LedgerAccountRef.Clearing(payment.Currency), Math.Min(dp.Amount, payment.Amount),
                        $"dispute {dp.Id} lost on entry {entry.Id}"), ct);
                    if (entry.Status is EntryStatuses.Active or EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
                    {
                        await PaymentStore.SetEntryStatusAsync(tx, entry.Id, EntryStatuses.Void, now);
                        await audit.WriteAsync(tx, new AuditEntry(actor, "entry.status_changed", "entry", entry.Id, $"dispute {dp.Id} lost: the fee left escrow",
                            Before: new { status = entry.Status }, After: new { status = EntryStatuses.Void }), ct);
                    }
                }
                else
                    log.LogError("Dispute {DisputeId} LOST on entry {EntryId} but its fee is no longer in escrow (payment {PaymentStatus}, refund {RefundStatus}, contest {ContestState}): no ledger entry posted; an operator must book the loss",
                        dp.Id, entry.Id, payment.Status, refund?.Status, contestState);
                await c.ExecuteAsync("UPDATE disputes SET loss_ledger = @l, updated_at = @now WHERE id = @Id", new { dp.Id, l = inEscrow ? "posted" : "not_posted", now }, tx);
                outcome = ConvergenceOutcomes.Applied;
                detail += inEscrow ? ": loss moved escrow → clearing" : ": loss NOT posted (fee no longer in escrow)";
            }
        }
        if (inTransaction is not null) await inTransaction(tx, outcome, detail);
        if (outcome == ConvergenceOutcomes.Applied) CrashPoints.Hit(PaymentConvergence.CrashAfterLedgerBeforeCommit);
        await tx.CommitAsync(ct);
        return new DisputeResult(disputeId, outcome, detail);
    }
}
