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
/// `closed` cannot move it backwards) and recorded. A LOST dispute takes the money from where Fairway holds it
/// (key <c>dispute:&lt;dp&gt;:lost</c>, see <see cref="PostLossAsync"/>): refunds owed (the entry's unpaid refund is
/// canceled), or the contest escrow while its result is open (the entry is voided). Otherwise the loss is recorded as
/// <c>not_posted</c> with an error log: an operator books a ledger correction (seed 002: do not auto-fix what the
/// system cannot attribute).
/// </summary>
public sealed class DisputeService(
    NpgsqlDataSource db, StripeGateway stripe, PaymentConvergence payments, LedgerRepository ledger, KillSwitchService killSwitch,
    AuditWriter audit, TimeProvider clock, ILogger<DisputeService> log)
{
    /// <summary>
    /// Where a lost dispute's money is taken from. Stripe has already taken it back from the platform; the ledger follows:
    /// <list type="bullet">
    /// <item>the entry's refund was decided but not paid (REQUESTED or FAILED): from refunds owed, and the refund is CANCELED —
    /// the player got the money back through the dispute;</item>
    /// <item>no refund, payment SUCCEEDED and the contest's result not yet determined (not COMPLETE or ERROR): from the escrow,
    /// and the entry is voided (its fee left the prize pool);</item>
    /// <item>otherwise (a refund in flight or paid, or a COMPLETE/ERROR contest): nothing is posted automatically (<c>not_posted</c>,
    /// error log); an operator books it with a typed ledger correction.</item>
    /// </list>
    /// </summary>
    async Task<(string LossLedger, string Detail)> PostLossAsync(NpgsqlTransaction tx, Stripe.Dispute dp, EntryRow entry, PaymentRow payment, string? contestState, string actor,
        DateTimeOffset now, CancellationToken ct)
    {
        var c = tx.Connection!;
        var refund = await PaymentStore.RefundOfEntryAsync(c, entry.Id, tx, forUpdate: true);
        var amount = Math.Min(dp.Amount, payment.Amount);
        // Whole refunds only: a dispute smaller than the refund owed leaves it to an operator (a partial dispute is rare and ambiguous).
        if (refund is { Status: RefundStatuses.Requested or RefundStatuses.Failed } && payment.Status == PaymentStatuses.Succeeded && dp.Amount >= refund.Amount)
        {
            var fromRefunds = refund.Amount;
            await ledger.PostAsync(tx, JournalEntry.Movement(PaymentLedger.DisputeKey(dp.Id), PaymentLedger.DisputeLost, payment.Currency, now,
                "dispute", dp.Id, LedgerAccountRef.Refunds(payment.Currency), LedgerAccountRef.Clearing(payment.Currency), fromRefunds,
                $"dispute {dp.Id} lost on entry {entry.Id}: its refund {refund.Id} was still owed"), ct);
            await c.ExecuteAsync("UPDATE refunds SET status = 'CANCELED', failure_reason = @why, updated_at = @now WHERE id = @Id",
                new { refund.Id, why = $"made moot by lost dispute {dp.Id}", now }, tx);
            await audit.WriteAsync(tx, new AuditEntry(actor, "refund.canceled", "refund", refund.Id, $"dispute {dp.Id} lost: Stripe returned the money to the player",
                Before: new { status = refund.Status }, After: new { status = RefundStatuses.Canceled }), ct);
            return ("posted_from_refunds", $"loss {fromRefunds} moved refunds owed → clearing; refund {refund.Id} CANCELED");
        }
        if (refund is null && payment.Status == PaymentStatuses.Succeeded && contestState is not ("COMPLETE" or "ERROR"))
        {
            await ledger.PostAsync(tx, JournalEntry.Movement(PaymentLedger.DisputeKey(dp.Id), PaymentLedger.DisputeLost, payment.Currency, now,
                "dispute", dp.Id, LedgerAccountRef.Escrow(entry.ContestId), LedgerAccountRef.Clearing(payment.Currency), amount,
                $"dispute {dp.Id} lost on entry {entry.Id}"), ct);
            if (entry.Status is EntryStatuses.Active or EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
            {
                await PaymentStore.SetEntryStatusAsync(tx, entry.Id, EntryStatuses.Void, now);
                await audit.WriteAsync(tx, new AuditEntry(actor, "entry.status_changed", "entry", entry.Id, $"dispute {dp.Id} lost: the fee left escrow",
                    Before: new { status = entry.Status }, After: new { status = EntryStatuses.Void }), ct);
            }
            return ("posted", "loss moved escrow → clearing");
        }
        log.LogError("Dispute {DisputeId} LOST on entry {EntryId} but its fee is neither in escrow nor owed as a refund (payment {PaymentStatus}, refund {RefundStatus}, contest {ContestState}): no ledger entry posted; book it with a ledger correction",
            dp.Id, entry.Id, payment.Status, refund?.Status, contestState);
        return ("not_posted", "loss NOT posted (fee no longer in escrow)");
    }

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
                var (lossLedger, posted) = await PostLossAsync(tx, dp, entry, payment, contestState, actor, now, ct);
                await c.ExecuteAsync("UPDATE disputes SET loss_ledger = @l, updated_at = @now WHERE id = @Id", new { dp.Id, l = lossLedger, now }, tx);
                outcome = ConvergenceOutcomes.Applied;
                detail += ": " + posted;
            }
        }
        if (inTransaction is not null) await inTransaction(tx, outcome, detail);
        if (outcome == ConvergenceOutcomes.Applied) CrashPoints.Hit(PaymentConvergence.CrashAfterLedgerBeforeCommit);
        await tx.CommitAsync(ct);
        return new DisputeResult(disputeId, outcome, detail);
    }

    /// <summary>Stripe's dispute statuses after which nothing more happens to it (won or lost, or closed as a warning or prevented).</summary>
    public static readonly string[] ClosedStatuses = ["won", "lost", "warning_closed", "prevented"];

    public sealed record OpenDispute(string Id, string? EntryId, string PaymentIntentId, string Status, long Amount, string Currency, string? Reason, DateTime CreatedAt);

    /// <summary>The disputes Stripe has not closed (how many, and the first <paramref name="limit"/>), oldest first (created, then id).</summary>
    public static async Task<(long Count, IReadOnlyList<OpenDispute> Disputes)> OpenDisputesAsync(NpgsqlConnection c, int limit, CancellationToken ct)
    {
        var count = await c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT count(*) FROM disputes WHERE NOT (status = ANY(@closed))", new { closed = ClosedStatuses }, cancellationToken: ct));
        var rows = await c.QueryAsync<OpenDispute>(new CommandDefinition("""
            SELECT id AS Id, entry_id AS EntryId, payment_intent_id AS PaymentIntentId, status AS Status, amount AS Amount, currency AS Currency,
                   reason AS Reason, created_at AS CreatedAt
              FROM disputes WHERE NOT (status = ANY(@closed))
             ORDER BY created_at, id COLLATE "C" LIMIT @limit
            """, new { closed = ClosedStatuses, limit }, cancellationToken: ct));
        return (count, rows.ToList());
    }
}
