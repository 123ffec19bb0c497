using Fairway.Host.Ledger;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Npgsql;

namespace Fairway.Host.Payments;

/// <summary>
/// The one place a refund is decided, in the caller's transaction (which holds the entry and payment locks and has
/// checked the kill-switch): the refund row (REQUESTED, due now), its audit row, and the ledger entry that takes the
/// money out of where it is held into refunds owed — the contest's escrow for an entry refund (the entry leaves the
/// contest: VOID), platform revenue for a goodwill refund (the entry is untouched). From then on the contest's escrow
/// no longer counts that fee, whatever Stripe does with the refund: it is paid out of refunds owed when Stripe
/// settles it, and stays owed (retried) while Stripe fails it.
/// </summary>
public sealed class RefundRequests(LedgerRepository ledger, AuditWriter audit, FairwaySettings settings)
{
    /// <summary>
    /// When a refund that has been sent <paramref name="sends"/> times may be sent again: REFUND_RETRY_BASE_SECONDS ×
    /// 2^(sends−1), capped by REFUND_RETRY_MAX_SECONDS. Deterministic: a refund's schedule depends only on its own history.
    /// </summary>
    public TimeSpan Backoff(int sends) =>
        TimeSpan.FromSeconds(Math.Min(settings.RefundRetryBase.TotalSeconds * Math.Pow(2, Math.Min(Math.Max(sends, 1) - 1, 20)), settings.RefundRetryMax.TotalSeconds));

    /// <summary>Decides the refund of <paramref name="payment"/>. False when the entry already had its refund (nothing written).</summary>
    public async Task<bool> DecideAsync(NpgsqlTransaction tx, EntryRow entry, PaymentRow payment, long amount, string fundedFrom, string reason, string actor,
        DateTimeOffset now, CancellationToken ct, ConvergenceBatch? batch = null)
    {
        if (amount <= 0 || amount > payment.Amount) throw new ArgumentOutOfRangeException(nameof(amount), amount, $"a refund moves 1..{payment.Amount}");
        if (!await PaymentStore.InsertRefundRequestAsync(tx, payment, amount, fundedFrom, reason, actor, settings.RefundMaxAttempts, now)) return false;
        var refundId = PaymentStore.RefundIdOf(entry.Id);
        var house = fundedFrom == RefundFunding.House;
        var decided = JournalEntry.Movement(PaymentLedger.RefundDecidedKey(refundId), house ? PaymentLedger.RefundGoodwillDecided : PaymentLedger.RefundDecided,
            payment.Currency, now, "refund", refundId,
            house ? LedgerAccountRef.Revenue(payment.Currency) : LedgerAccountRef.Escrow(entry.ContestId), LedgerAccountRef.Refunds(payment.Currency), amount,
            $"refund {refundId} of entry {entry.Id} decided ({fundedFrom})");
        if (batch is { DefersWrites: true }) batch.Post(decided);
        else await ledger.PostAsync(tx, decided, ct);
        await WriteAuditAsync(tx, batch, new AuditEntry(actor, "refund.requested", "refund", refundId, reason,
            After: new { status = RefundStatuses.Requested, entry_id = entry.Id, payment_intent_id = payment.PaymentIntentId, amount, currency = payment.Currency, funded_from = fundedFrom }), ct);
        if (!house && entry.Status is EntryStatuses.Active or EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
        {
            await PaymentStore.SetEntryStatusAsync(tx, entry.Id, EntryStatuses.Void, now);
            await WriteAuditAsync(tx, batch, new AuditEntry(actor, "entry.status_changed", "entry", entry.Id, "refund requested: " + reason,
                Before: new { status = entry.Status }, After: new { status = EntryStatuses.Void }), ct);
        }
        PaymentMetrics.Refunds.WithLabels("requested").Inc();
        return true;
    }

    Task WriteAuditAsync(NpgsqlTransaction tx, ConvergenceBatch? batch, AuditEntry entry, CancellationToken ct)
    {
        if (batch is { DefersWrites: true }) { batch.Audit(audit.Pending(entry)); return Task.CompletedTask; }
        return audit.WriteAsync(tx, entry, ct);
    }
}
