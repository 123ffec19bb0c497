using Dapper;
using Fairway.Host.Payments;
using Npgsql;
using Stripe;

namespace Fairway.Host.Ledger.Corrections;

/// <summary>
/// A dispute Fairway recorded as lost after the fee had left escrow (<c>disputes.loss_ledger = not_posted</c>:
/// the contest was COMPLETE or the entry refunded). Stripe took the money; the house bears it.
/// </summary>
public sealed class DisputeLossOutsideEscrow : CorrectionKind
{
    public const string KindName = "dispute_loss_outside_escrow";
    public override string Name => KindName;
    public override string SubjectPrefix => "dp_";
    public override string Subject => "a dispute Fairway recorded (dp_…)";
    public override string Movement => "revenue:<ccy> → clearing:<ccy>";
    public override string AmountRule => "the dispute's amount, at most the disputed payment's amount (what Stripe took)";
    public override string Preconditions => "the dispute is lost and Fairway did not post its loss (loss_ledger not_posted: the fee was no longer in escrow)";

    public override async Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct)
    {
        var c = tx.Connection!;
        var d = await c.QuerySingleOrDefaultAsync<DisputeRow>(
            "SELECT id AS Id, payment_intent_id AS PaymentIntentId, entry_id AS EntryId, amount AS Amount, trim(currency) AS Currency FROM disputes WHERE id = @subject",
            new { subject }, tx) ?? throw NotFound($"Fairway has no dispute '{subject}' (it records the disputes of its payments from Stripe)");
        PaymentRow? payment = null;
        string? contestId = null;
        if (d.EntryId is { } entryId && await PaymentStore.EntryAsync(c, entryId, tx) is { } peek)
        {
            contestId = peek.ContestId;
            await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true);
            payment = await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true);
        }
        var (status, lossLedger) = await c.QuerySingleAsync<(string, string?)>("SELECT status, loss_ledger FROM disputes WHERE id = @subject FOR UPDATE", new { subject }, tx);
        if (status != "lost") throw NotApplicable($"dispute {subject} is {status}; only a lost dispute takes money");
        if (lossLedger is "posted" or "posted_from_refunds") throw NotApplicable($"Fairway posted this loss itself (dispute:{subject}:lost, {lossLedger})");
        if (lossLedger != "not_posted") throw NotApplicable($"Fairway has not handled the loss of {subject} yet; it posts it from escrow when the fee is still there");
        var amount = payment is null ? d.Amount : Math.Min(d.Amount, payment.Amount);
        return new CorrectionPlan(d.Currency, amount, LedgerAccountRef.Revenue(d.Currency), LedgerAccountRef.Clearing(d.Currency),
            $"dispute {subject} lost after the fee left escrow (entry {d.EntryId ?? "none"}, contest {contestId ?? "none"})",
            new { dispute_id = subject, payment_intent_id = d.PaymentIntentId, entry_id = d.EntryId, contest_id = contestId, dispute_amount = d.Amount, payment_amount = payment?.Amount, loss_ledger = lossLedger });
    }

    sealed record DisputeRow(string Id, string PaymentIntentId, string? EntryId, long Amount, string Currency)
    {
        public DisputeRow() : this("", "", null, 0, "") { }
    }
}

/// <summary>
/// A refund made at Stripe outside Fairway (e.g. in the Dashboard) that Fairway never records as an entry's
/// refund: not Fairway's payment, a second refund of one payment, or a refund of a payment Fairway has not
/// recorded as succeeded. The house pays it.
/// </summary>
public sealed class RefundOutsideFairway(StripeGateway stripe) : CorrectionKind
{
    public const string KindName = "refund_outside_fairway";
    public override string Name => KindName;
    public override string SubjectPrefix => "re_";
    public override string Subject => "a Stripe refund (re_…)";
    public override string Movement => "revenue:<ccy> → clearing:<ccy>";
    public override string AmountRule => "the refund's amount at Stripe";
    public override string Preconditions => "the refund succeeded at Stripe; it is not a refund Fairway recorded or is sending, nor one Fairway will record (a refund of a succeeded Fairway payment whose entry has no refund yet: converge the payment)";

    public override async Task<object?> FetchAsync(string subject, CancellationToken ct) => await stripe.FindRefundAsync(subject, ct);

    public override async Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct)
    {
        var re = fetched as Stripe.Refund ?? throw NotFound($"Stripe has no refund '{subject}'");
        if (re.Status != "succeeded") throw NotApplicable($"refund {subject} is {re.Status} at Stripe; only a succeeded refund moved money");
        var c = tx.Connection!;
        var payment = string.IsNullOrEmpty(re.PaymentIntentId) ? null : await PaymentStore.PaymentByIntentAsync(c, re.PaymentIntentId, tx);
        string? contestState = null;
        if (payment is not null)
        {
            var peek = (await PaymentStore.EntryAsync(c, payment.EntryId, tx))!;
            contestState = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            await PaymentStore.EntryAsync(c, payment.EntryId, tx, forUpdate: true);
            payment = await PaymentStore.PaymentOfEntryAsync(c, payment.EntryId, tx, forUpdate: true);
            var local = await PaymentStore.RefundOfEntryAsync(c, payment!.EntryId, tx, forUpdate: true);
            if (local?.StripeRefundId == subject)
                throw NotApplicable($"it is refund {local.Id} of entry {local.EntryId} ({local.Status}); Fairway's own ledger entries explain it");
            if (local is not null && local.StripeRefundId is null && re.Metadata?.GetValueOrDefault("refund_id") == local.Id)
                throw NotApplicable($"it is Fairway's refund {local.Id} of entry {local.EntryId}, being sent ({local.Status}); Fairway records it");
            // Payment convergence records a refund made outside Fairway as the entry's refund (from escrow while the contest is
            // SCHEDULED, from the house after) whenever the entry has none yet: that is its way out, not a correction.
            if (local is null && payment.Status == PaymentStatuses.Succeeded)
                throw NotApplicable($"Fairway records it as entry {payment.EntryId}'s refund (contest {contestState}): converge the payment (POST /api/admin/payments/{payment.EntryId}/converge)");
        }
        return new CorrectionPlan(re.Currency, re.Amount, LedgerAccountRef.Revenue(re.Currency), LedgerAccountRef.Clearing(re.Currency),
            $"refund {subject} made at Stripe outside Fairway (payment {re.PaymentIntentId})",
            new { refund_id = re.Id, amount = re.Amount, currency = re.Currency, status = re.Status, payment_intent_id = re.PaymentIntentId, charge_id = re.ChargeId,
                  created = re.Created, fairway_entry_id = payment?.EntryId, contest_state = contestState });
    }
}

/// <summary>
/// A transfer made at Stripe outside Fairway, or a second transfer for one payout (a duplicate): money left
/// Fairway's Stripe balance that no payout transfer accounts for. The house bears what was not reversed.
/// </summary>
public sealed class TransferOutsideFairway(StripeGateway stripe) : CorrectionKind
{
    public const string KindName = "transfer_outside_fairway";
    public override string Name => KindName;
    public override string SubjectPrefix => "tr_";
    public override string Subject => "a Stripe transfer (tr_…)";
    public override string Movement => "revenue:<ccy> → clearing:<ccy>";
    public override string AmountRule => "the transfer's amount less what was reversed, at Stripe";
    public override string Preconditions => "no payout transfer recorded it; if its metadata names a payout transfer, that one is completed with another Stripe transfer (a duplicate); something is left unreversed";

    public override async Task<object?> FetchAsync(string subject, CancellationToken ct) => await stripe.FindTransferAsync(subject, ct);

    public override async Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct)
    {
        var tr = fetched as Transfer ?? throw NotFound($"Stripe has no transfer '{subject}'");
        var c = tx.Connection!;
        var recorded = await c.QuerySingleOrDefaultAsync<long?>("SELECT id FROM payout_transfers WHERE stripe_transfer_id = @subject", new { subject }, tx);
        if (recorded is { } id) throw NotApplicable($"it is payout transfer {id}'s transfer; Fairway's own ledger entry explains it");
        long? named = tr.Metadata?.GetValueOrDefault("transfer_id") is { } v && long.TryParse(v, out var n) ? n : null;
        (string Status, string? StripeTransferId)? payout = null;
        if (named is { } payoutId)
        {
            payout = await c.QuerySingleOrDefaultAsync<(string, string?)?>("SELECT status, stripe_transfer_id FROM payout_transfers WHERE id = @payoutId FOR UPDATE", new { payoutId }, tx);
            if (payout is { } p && p.Status != "completed")
                throw NotApplicable($"its metadata names payout transfer {payoutId}, which is {p.Status}: that transfer's next attempt finds it at Stripe and records it (fairway payouts retry {payoutId} if it is failed_terminal)");
        }
        var unreversed = tr.Amount - tr.AmountReversed;
        if (unreversed <= 0) throw NotApplicable($"transfer {subject} is fully reversed: no money is missing");
        return new CorrectionPlan(tr.Currency, unreversed, LedgerAccountRef.Revenue(tr.Currency), LedgerAccountRef.Clearing(tr.Currency),
            payout is { } q ? $"second Stripe transfer {subject} for payout transfer {named} (recorded: {q.StripeTransferId})" : $"transfer {subject} made at Stripe outside Fairway",
            new { transfer_id = tr.Id, amount = tr.Amount, amount_reversed = tr.AmountReversed, currency = tr.Currency, destination = tr.DestinationId,
                  transfer_group = tr.TransferGroup, created = tr.Created, payout_transfer_id = named, payout_recorded_stripe_transfer = payout?.StripeTransferId });
    }
}

/// <summary>
/// Money received at Stripe that Fairway will never record as an entry's payment: not Fairway's payment intent,
/// or one whose amount or currency differs from the entry's fee (payment convergence refuses those).
/// It is the house's until it is refunded (then <c>refund_outside_fairway</c>).
/// </summary>
public sealed class PaymentOutsideFairway(StripeGateway stripe) : CorrectionKind
{
    public const string KindName = "payment_outside_fairway";
    public override string Name => KindName;
    public override string SubjectPrefix => "pi_";
    public override string Subject => "a Stripe payment intent (pi_…)";
    public override string Movement => "clearing:<ccy> → revenue:<ccy>";
    public override string AmountRule => "the amount Stripe received for it";
    public override string Preconditions => "it succeeded at Stripe; Fairway does not and will not record it as an entry's payment (no entry, or Stripe's amount or currency differs from the entry's fee)";

    public override async Task<object?> FetchAsync(string subject, CancellationToken ct) => await stripe.FindPaymentIntentAsync(subject, ct);

    public override async Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct)
    {
        var pi = fetched as PaymentIntent ?? throw NotFound($"Stripe has no payment intent '{subject}'");
        if (pi.Status != "succeeded" || pi.AmountReceived <= 0) throw NotApplicable($"payment intent {subject} is {pi.Status} at Stripe; no money was received");
        var c = tx.Connection!;
        var entryId = (await PaymentStore.PaymentByIntentAsync(c, subject, tx))?.EntryId ?? pi.Metadata?.GetValueOrDefault("entry_id");
        var entry = entryId is null ? null : await PaymentStore.EntryAsync(c, entryId, tx);
        if (entry is not null)
        {
            await PaymentStore.ContestStateForShareAsync(tx, entry.ContestId);
            entry = await PaymentStore.EntryAsync(c, entry.Id, tx, forUpdate: true);
            var payment = await PaymentStore.PaymentOfEntryAsync(c, entry!.Id, tx, forUpdate: true);
            var recordable = (payment is null || payment.PaymentIntentId == subject)
                && (payment?.Amount ?? entry.EntryFee) == pi.Amount && (payment?.Currency ?? entry.Currency) == pi.Currency;
            if (payment?.PaymentIntentId == subject && payment.Status == PaymentStatuses.Succeeded)
                throw NotApplicable($"it is entry {entry.Id}'s payment, recorded SUCCEEDED; Fairway's own ledger entry explains it");
            if (recordable)
                throw NotApplicable($"it pays entry {entry.Id} with the entry's fee: Fairway records it (POST /api/admin/payments/{entry.Id}/converge)");
        }
        return new CorrectionPlan(pi.Currency, pi.AmountReceived, LedgerAccountRef.Clearing(pi.Currency), LedgerAccountRef.Revenue(pi.Currency),
            entry is null ? $"payment {subject} received at Stripe outside Fairway" : $"payment {subject} names entry {entry.Id} but differs from its fee",
            new { payment_intent_id = pi.Id, amount = pi.Amount, amount_received = pi.AmountReceived, currency = pi.Currency, status = pi.Status,
                  created = pi.Created, entry_id = entry?.Id, entry_fee = entry?.EntryFee, entry_currency = entry?.Currency });
    }
}

/// <summary>
/// A movement of Fairway's Stripe balance without a source object that an operator identified as a fee
/// (a fee correction or credit, Stripe billing): fees on charges and disputes are booked automatically.
/// </summary>
public sealed class ProcessingFeeAdjustment(StripeGateway stripe) : CorrectionKind
{
    public const string KindName = "processing_fee_adjustment";
    public override string Name => KindName;
    public override string SubjectPrefix => "txn_";
    public override string Subject => "a Stripe balance transaction (txn_…) with no source object";
    public override string Movement => "processing_fees:<ccy> → clearing:<ccy> when Stripe took money, clearing:<ccy> → processing_fees:<ccy> when it credited";
    public override string AmountRule => "the balance transaction's net amount at Stripe (absolute value)";
    public override string Preconditions => "the balance transaction has no source object (charges, refunds, transfers and disputes are explained by their own records) and moved money";

    public override async Task<object?> FetchAsync(string subject, CancellationToken ct) => await stripe.FindBalanceTransactionAsync(subject, ct);

    public override Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct)
    {
        var bt = fetched as BalanceTransaction ?? throw NotFound($"Stripe has no balance transaction '{subject}'");
        if (!string.IsNullOrEmpty(bt.SourceId))
            throw NotApplicable($"balance transaction {subject} is the {bt.Type} of {bt.SourceId}; that object's own records explain it" +
                (ProcessingFees.IsAutomatic(bt) ? " (its fee is booked automatically)" : ""));
        if (bt.Net == 0) throw NotApplicable($"balance transaction {subject} moved no money");
        var (from, to) = bt.Net < 0
            ? (LedgerAccountRef.ProcessingFees(bt.Currency), LedgerAccountRef.Clearing(bt.Currency))
            : (LedgerAccountRef.Clearing(bt.Currency), LedgerAccountRef.ProcessingFees(bt.Currency));
        return Task.FromResult(new CorrectionPlan(bt.Currency, Math.Abs(bt.Net), from, to, $"Stripe {bt.Type} {subject}: {bt.Description}",
            new { balance_transaction_id = bt.Id, type = bt.Type, reporting_category = bt.ReportingCategory, amount = bt.Amount, fee = bt.Fee, net = bt.Net,
                  currency = bt.Currency, description = bt.Description, created = bt.Created }));
    }
}
