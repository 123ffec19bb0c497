using Dapper;
using Fairway.Host.Ledger.Corrections;
using Fairway.Host.Payments;
using Npgsql;
using Stripe;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>The discrepancy kinds of the reconciliation against Stripe (each one is a reconciliation violation).</summary>
public static class StripeDiscrepancies
{
    /// <summary>Money moved at Stripe (payment, refund, transfer, dispute, balance adjustment) that no Fairway record or correction explains.</summary>
    public const string StripeMoneyWithoutLocalRecord = "stripe_money_without_local_record";
    /// <summary>Fairway recorded a success (payment, refund, payout transfer) that Stripe does not have.</summary>
    public const string LocalSuccessWithoutStripeMoney = "local_success_without_stripe_money";
    public const string AmountMismatch = "amount_mismatch";
    public const string CurrencyMismatch = "currency_mismatch";
    /// <summary>A Stripe transfer whose metadata names a payout transfer that is completed with another Stripe transfer.</summary>
    public const string SecondTransferForPayout = "second_transfer_for_payout";
    /// <summary>The fee booked for a balance transaction differs from Stripe's.</summary>
    public const string FeeMismatch = "fee_mismatch";
    /// <summary>More objects in one second of one stream than a run may list: raise STRIPE_RECONCILIATION_MAX_PAGES.</summary>
    public const string StripeListingOverflow = "stripe_listing_overflow";
}

/// <summary>
/// What the reconciliation concluded about one subject (a Stripe object id): explained (<c>ok</c>), waiting for
/// Stripe to finish with it, waiting for Fairway to record it (becomes <see cref="Discrepancy"/> after the
/// grace period), or in discrepancy.
/// </summary>
public sealed record StripeVerdict(string Subject, string Status, string Detail, string? Discrepancy = null)
{
    public const string OkStatus = "ok", AwaitingStripe = "awaiting_stripe", AwaitingFairway = "awaiting_fairway", DiscrepancyStatus = "discrepancy";

    public static StripeVerdict Ok(string subject, string detail) => new(subject, OkStatus, detail);
    public static StripeVerdict WaitingForStripe(string subject, string detail) => new(subject, AwaitingStripe, detail);
    public static StripeVerdict WaitingForFairway(string subject, string detail, string escalatesTo) => new(subject, AwaitingFairway, detail, escalatesTo);
    public static StripeVerdict Discrepant(string subject, string kind, string detail) => new(subject, DiscrepancyStatus, detail, kind);
}

/// <summary>
/// Compares one Stripe object with Fairway's records (and ledger corrections), both directions, from scratch
/// each time: so a subject can be judged when it is listed and judged again later by id. Stripe objects are
/// fetched at most once per run (listed objects are remembered). Books the automatic fees of the balance
/// transactions it sees (through Payments' <see cref="ProcessingFees"/>), never anything else.
/// </summary>
public sealed class StripeObjectJudge(StripeGateway stripe, ProcessingFees fees, NpgsqlConnection c)
{
    readonly Dictionary<string, IStripeEntity?> seen = new(StringComparer.Ordinal);

    public int FeesBooked { get; private set; }

    /// <summary>
    /// Remembers a listed object, and a listed payment intent's charge (listings expand it): the balance transaction of
    /// that charge is then judged without asking Stripe for the charge (one read per payment per run, saved).
    /// </summary>
    public void Remember(string id, IStripeEntity obj)
    {
        seen[id] = obj;
        if (obj is PaymentIntent { LatestCharge: { Id.Length: > 0 } charge }) seen.TryAdd(charge.Id, charge);
    }

    /// <summary>The verdicts about a subject: one for most objects; a balance transaction may also judge its source's payment.</summary>
    public async Task<IReadOnlyList<StripeVerdict>> JudgeAsync(string subject, CancellationToken ct) => subject[..subject.IndexOf('_')] switch
    {
        "pi" => [await PaymentIntentAsync(subject, ct)],
        "re" => [await RefundAsync(subject, ct)],
        "tr" => [await TransferAsync(subject, ct)],
        "dp" => [await DisputeAsync(subject, ct)],
        "txn" => await BalanceTransactionAsync(subject, ct),
        _ => throw new ArgumentException($"not a subject the reconciliation judges: {subject}", nameof(subject)),
    };

    async Task<T?> FetchAsync<T>(string id, Func<string, CancellationToken, Task<T?>> fetch, CancellationToken ct) where T : class, IStripeEntity
    {
        if (seen.TryGetValue(id, out var known)) return known as T;
        var o = await fetch(id, ct);
        seen[id] = o;
        return o;
    }

    // ---- payment intents ------------------------------------------------------------------------

    async Task<StripeVerdict> PaymentIntentAsync(string id, CancellationToken ct)
    {
        var pi = await FetchAsync(id, stripe.FindPaymentIntentAsync, ct);
        var local = await PaymentStore.PaymentByIntentAsync(c, id);
        var localSuccess = local?.Status == PaymentStatuses.Succeeded;
        if (pi is null)
            return localSuccess
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.LocalSuccessWithoutStripeMoney, $"payment of entry {local!.EntryId} is SUCCEEDED ({local.Amount} {local.Currency}) in Fairway; Stripe has no payment intent {id}")
                : StripeVerdict.Ok(id, "not at Stripe, and Fairway has no success for it");
        var mismatch = local is null ? null : AmountOrCurrency(local.Amount, local.Currency, pi.Amount, pi.Currency, $"entry {local.EntryId}'s fee");
        if (pi.Status != "succeeded")
        {
            if (localSuccess)
                return StripeVerdict.Discrepant(id, StripeDiscrepancies.LocalSuccessWithoutStripeMoney, $"payment of entry {local!.EntryId} is SUCCEEDED in Fairway; at Stripe it is {pi.Status}");
            if (mismatch is { } m && pi.Status != "canceled")
                return StripeVerdict.Discrepant(id, m.Kind, $"payment intent {id} ({pi.Status}) asks {pi.Amount} {pi.Currency}: {m.Detail}; Fairway refuses it if it is paid");
            return StripeVerdict.Ok(id, $"{pi.Status} at Stripe: no money moved");
        }
        var correction = await LedgerCorrectionService.FindAsync(c, PaymentOutsideFairway.KindName, id);
        if (correction is not null)
            return correction.Amount == pi.AmountReceived && correction.Currency == pi.Currency
                ? StripeVerdict.Ok(id, $"explained by ledger correction {correction.Id} ({PaymentOutsideFairway.KindName})")
                : StripeVerdict.Discrepant(id, StripeDiscrepancies.AmountMismatch, $"correction {correction.Id} books {correction.Amount} {correction.Currency}; Stripe received {pi.AmountReceived} {pi.Currency}");
        if (mismatch is { } mm)
            return StripeVerdict.Discrepant(id, mm.Kind, $"Stripe received {pi.AmountReceived} {pi.Currency} for payment intent {id}: {mm.Detail}. Refund it at Stripe, then explain both: fairway ledger correct {PaymentOutsideFairway.KindName} --subject {id} and {RefundOutsideFairway.KindName}");
        if (localSuccess)
            return pi.AmountReceived == local!.Amount
                ? StripeVerdict.Ok(id, $"entry {local.EntryId}'s payment")
                : StripeVerdict.Discrepant(id, StripeDiscrepancies.AmountMismatch, $"Stripe received {pi.AmountReceived}, Fairway recorded {local.Amount} for entry {local.EntryId}");
        var named = pi.Metadata?.GetValueOrDefault("entry_id");
        if (local is not null || (named is not null && await PaymentStore.EntryAsync(c, named) is not null))
            return StripeVerdict.WaitingForFairway(id, $"succeeded at Stripe ({pi.AmountReceived} {pi.Currency}); Fairway's payment of entry {local?.EntryId ?? named} is {local?.Status ?? "not recorded"} yet (webhook or sweeper)",
                StripeDiscrepancies.StripeMoneyWithoutLocalRecord);
        return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord,
            $"payment intent {id} received {pi.AmountReceived} {pi.Currency} at Stripe and is not Fairway's; explain it: fairway ledger correct {PaymentOutsideFairway.KindName} --subject {id}");
    }

    // ---- refunds ---------------------------------------------------------------------------------

    async Task<StripeVerdict> RefundAsync(string id, CancellationToken ct)
    {
        var re = await FetchAsync(id, stripe.FindRefundAsync, ct);
        var local = await c.QuerySingleOrDefaultAsync<RefundRow>("SELECT id AS Id, entry_id AS EntryId, payment_intent_id AS PaymentIntentId, amount AS Amount, " +
            "trim(currency) AS Currency, reason AS Reason, status AS Status, stripe_refund_id AS StripeRefundId, failure_reason AS FailureReason, requested_by AS RequestedBy, " +
            "requested_at AS RequestedAt, updated_at AS UpdatedAt FROM refunds WHERE stripe_refund_id = @id", new { id });
        if (local is null && re?.Metadata?.GetValueOrDefault("refund_id") is { } rid && await PaymentStore.RefundAsync(c, rid) is { } byMetadata
            && (byMetadata.StripeRefundId is null || byMetadata.StripeRefundId == id))
            local = byMetadata;
        var localSuccess = local?.Status == RefundStatuses.Succeeded;
        if (re is null)
            return localSuccess
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.LocalSuccessWithoutStripeMoney, $"refund {local!.Id} of entry {local.EntryId} is SUCCEEDED in Fairway; Stripe has no refund {id}")
                : StripeVerdict.Ok(id, "not at Stripe, and Fairway has no success for it");
        if (re.Status is "failed" or "canceled")
            return localSuccess
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.LocalSuccessWithoutStripeMoney, $"refund {local!.Id} is SUCCEEDED in Fairway; at Stripe it is {re.Status}")
                : StripeVerdict.Ok(id, $"{re.Status} at Stripe: the money stayed");
        if (re.Status != "succeeded")
            return StripeVerdict.WaitingForStripe(id, $"{re.Status} at Stripe (Fairway: {local?.Status ?? "no record"})");
        if (local is not null)
        {
            if (AmountOrCurrency(local.Amount, local.Currency, re.Amount, re.Currency, $"refund {local.Id}") is { } m)
                return StripeVerdict.Discrepant(id, m.Kind, $"refund {id} moved {re.Amount} {re.Currency} at Stripe: {m.Detail}");
            return localSuccess
                ? StripeVerdict.Ok(id, $"refund {local.Id} of entry {local.EntryId}")
                : StripeVerdict.WaitingForFairway(id, $"succeeded at Stripe; Fairway's refund {local.Id} is {local.Status} yet", StripeDiscrepancies.StripeMoneyWithoutLocalRecord);
        }
        var correction = await LedgerCorrectionService.FindAsync(c, RefundOutsideFairway.KindName, id);
        if (correction is not null)
            return correction.Amount == re.Amount && correction.Currency == re.Currency
                ? StripeVerdict.Ok(id, $"explained by ledger correction {correction.Id} ({RefundOutsideFairway.KindName})")
                : StripeVerdict.Discrepant(id, StripeDiscrepancies.AmountMismatch, $"correction {correction.Id} books {correction.Amount} {correction.Currency}; Stripe refunded {re.Amount} {re.Currency}");
        var explain = $"explain it: fairway ledger correct {RefundOutsideFairway.KindName} --subject {id}";
        var payment = string.IsNullOrEmpty(re.PaymentIntentId) ? null : await PaymentStore.PaymentByIntentAsync(c, re.PaymentIntentId);
        if (payment is null)
            return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord, $"refund {id} of {re.PaymentIntentId} ({re.Amount} {re.Currency}) is not of a Fairway payment; {explain}");
        if (payment.Status != PaymentStatuses.Succeeded)
            return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord,
                $"refund {id} ({re.Amount} {re.Currency}) of entry {payment.EntryId}'s payment, which Fairway has as {payment.Status}: nothing of Fairway's to refund; {explain}");
        if (await PaymentStore.RefundOfEntryAsync(c, payment.EntryId) is { } other)
            return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord,
                $"a second refund of entry {payment.EntryId}'s payment ({re.Amount} {re.Currency}; Fairway's refund is {other.Id}); {explain}");
        return StripeVerdict.WaitingForFairway(id, $"made at Stripe outside Fairway on entry {payment.EntryId}'s payment; payment convergence records it as the entry's refund (POST /api/admin/payments/{payment.EntryId}/converge)",
            StripeDiscrepancies.StripeMoneyWithoutLocalRecord);
    }

    // ---- transfers -------------------------------------------------------------------------------

    async Task<StripeVerdict> TransferAsync(string id, CancellationToken ct)
    {
        var tr = await FetchAsync(id, stripe.FindTransferAsync, ct);
        var local = await c.QuerySingleOrDefaultAsync<PayoutRow>(PayoutSelect + " WHERE stripe_transfer_id = @id", new { id });
        if (tr is null)
            return local?.Status == "completed"
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.LocalSuccessWithoutStripeMoney, $"payout transfer {local.Id} is completed in Fairway; Stripe has no transfer {id}")
                : StripeVerdict.Ok(id, "not at Stripe, and Fairway has no success for it");
        var net = tr.Amount - tr.AmountReversed;
        if (local is not null)
        {
            if (AmountOrCurrency(local.Amount, local.Currency, net, tr.Currency, $"payout transfer {local.Id}") is { } m)
                return StripeVerdict.Discrepant(id, m.Kind, $"transfer {id} moved {net} {tr.Currency} net at Stripe (amount {tr.Amount}, reversed {tr.AmountReversed}): {m.Detail}");
            return local.Destination is { } d && d != tr.DestinationId
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord, $"transfer {id} went to {tr.DestinationId}; payout transfer {local.Id} names {d}")
                : StripeVerdict.Ok(id, $"payout transfer {local.Id}");
        }
        var correction = await LedgerCorrectionService.FindAsync(c, TransferOutsideFairway.KindName, id);
        if (correction is not null)
            return correction.Amount == net && correction.Currency == tr.Currency
                ? StripeVerdict.Ok(id, $"explained by ledger correction {correction.Id} ({TransferOutsideFairway.KindName})")
                : StripeVerdict.Discrepant(id, StripeDiscrepancies.AmountMismatch, $"correction {correction.Id} books {correction.Amount} {correction.Currency}; {net} {tr.Currency} left Stripe");
        if (net == 0) return StripeVerdict.Ok(id, "fully reversed at Stripe: no money left");
        var explain = $"reverse it at Stripe, or explain it: fairway ledger correct {TransferOutsideFairway.KindName} --subject {id}";
        if (tr.Metadata?.GetValueOrDefault("transfer_id") is { } v && long.TryParse(v, out var payoutId)
            && await c.QuerySingleOrDefaultAsync<PayoutRow>(PayoutSelect + " WHERE id = @payoutId", new { payoutId }) is { } named)
        {
            return named.Status == "completed"
                ? StripeVerdict.Discrepant(id, StripeDiscrepancies.SecondTransferForPayout,
                    $"second transfer for payout transfer {named.Id} (contest {named.ContestId}, user {named.UserId}), which was paid by {named.StripeTransferId}: {net} {tr.Currency} paid twice; {explain}")
                : StripeVerdict.WaitingForFairway(id, $"made for payout transfer {named.Id}, which is {named.Status}: its next attempt finds it at Stripe and records it",
                    StripeDiscrepancies.StripeMoneyWithoutLocalRecord);
        }
        return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord, $"transfer {id} of {net} {tr.Currency} to {tr.DestinationId} is not a Fairway payout; {explain}");
    }

    // ---- disputes --------------------------------------------------------------------------------

    async Task<StripeVerdict> DisputeAsync(string id, CancellationToken ct)
    {
        var dp = await FetchAsync(id, stripe.FindDisputeAsync, ct);
        if (dp is null) return StripeVerdict.Ok(id, "no such dispute at Stripe");
        if (dp.Status == "won") return StripeVerdict.Ok(id, "won: Stripe gave the money back");
        if (dp.Status != "lost") return StripeVerdict.WaitingForStripe(id, $"{dp.Status} at Stripe: {dp.Amount} {dp.Currency} held until it is decided");
        var local = await c.QuerySingleOrDefaultAsync<(string Status, string? LossLedger)?>("SELECT status, loss_ledger FROM disputes WHERE id = @id", new { id });
        if (local?.LossLedger is "posted" or "posted_from_refunds") return StripeVerdict.Ok(id, $"lost; Fairway posted the loss (dispute:{id}:lost, {local.Value.LossLedger})");
        var correction = await LedgerCorrectionService.FindAsync(c, DisputeLossOutsideEscrow.KindName, id);
        if (correction is not null) return StripeVerdict.Ok(id, $"lost; explained by ledger correction {correction.Id} ({DisputeLossOutsideEscrow.KindName})");
        if (local?.LossLedger == "not_posted")
            return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord,
                $"dispute {id} lost ({dp.Amount} {dp.Currency}) after the fee left escrow; book it: fairway ledger correct {DisputeLossOutsideEscrow.KindName} --subject {id}");
        if (local is not null)
            return StripeVerdict.WaitingForFairway(id, $"lost at Stripe; Fairway's dispute is {local.Value.Status} yet", StripeDiscrepancies.StripeMoneyWithoutLocalRecord);
        return StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord, $"dispute {id} on {dp.PaymentIntentId} lost {dp.Amount} {dp.Currency} and is not on a Fairway payment");
    }

    // ---- balance transactions --------------------------------------------------------------------

    async Task<IReadOnlyList<StripeVerdict>> BalanceTransactionAsync(string id, CancellationToken ct)
    {
        var bt = await FetchAsync(id, stripe.FindBalanceTransactionAsync, ct);
        if (bt is null) return [StripeVerdict.Ok(id, "no such balance transaction at Stripe")];
        var verdicts = new List<StripeVerdict>();
        if (ProcessingFees.IsAutomatic(bt))
        {
            var booking = await fees.BookAsync(bt, ct);
            if (booking.Outcome == FeeBookingOutcome.Booked) FeesBooked++;
            verdicts.Add(booking.Outcome switch
            {
                FeeBookingOutcome.Mismatch => StripeVerdict.Discrepant(id, StripeDiscrepancies.FeeMismatch, $"Stripe's fee of {bt.Type} {bt.SourceId} is {bt.Fee} {bt.Currency}; Fairway booked {booking.BookedFee}"),
                FeeBookingOutcome.KillSwitchEngaged => StripeVerdict.WaitingForFairway(id, $"fee {bt.Fee} {bt.Currency} of {bt.SourceId} not booked: the kill-switch is engaged", StripeDiscrepancies.FeeMismatch),
                _ => StripeVerdict.Ok(id, $"fee {bt.Fee} {bt.Currency} of {bt.SourceId} booked"),
            });
        }
        var source = bt.SourceId;
        switch (bt.Type)
        {
            case "charge" or "payment" when source is not null:
            {
                var charge = await FetchAsync(source, stripe.FindChargeAsync, ct);
                if (charge?.PaymentIntentId is { Length: > 0 } pi) verdicts.Add(await PaymentIntentAsync(pi, ct));
                else verdicts.Add(StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord, $"charge {source} ({bt.Amount} {bt.Currency}) has no payment intent: not a Fairway payment"));
                break;
            }
            case "adjustment" when source?.StartsWith("dp_", StringComparison.Ordinal) == true:
                verdicts.Add(await DisputeAsync(source, ct));
                break;
            // Judged through their own listings (each is created when the money moves).
            case "refund" or "refund_failure" or "transfer" or "transfer_refund":
                break;
            // Payouts to the platform's bank account are outside the ledger (docs/decisions.md).
            case "payout" or "payout_cancel" or "payout_failure":
                break;
            default:
            {
                var correction = await LedgerCorrectionService.FindAsync(c, ProcessingFeeAdjustment.KindName, id);
                verdicts.Add(correction is null
                    ? StripeVerdict.Discrepant(id, StripeDiscrepancies.StripeMoneyWithoutLocalRecord,
                        $"balance {bt.Type} {id} of {bt.Net} {bt.Currency} ({bt.Description}) has no source Fairway knows; if it is a fee: fairway ledger correct {ProcessingFeeAdjustment.KindName} --subject {id}")
                    : correction.Amount == Math.Abs(bt.Net)
                        ? StripeVerdict.Ok(id, $"explained by ledger correction {correction.Id} ({ProcessingFeeAdjustment.KindName})")
                        : StripeVerdict.Discrepant(id, StripeDiscrepancies.AmountMismatch, $"correction {correction.Id} books {correction.Amount}; the balance moved {bt.Net} {bt.Currency}"));
                break;
            }
        }
        return verdicts;
    }

    static (string Kind, string Detail)? AmountOrCurrency(long localAmount, string localCurrency, long stripeAmount, string stripeCurrency, string what) =>
        !string.Equals(localCurrency, stripeCurrency, StringComparison.Ordinal) ? (StripeDiscrepancies.CurrencyMismatch, $"{what} is in {localCurrency}, Stripe's in {stripeCurrency}")
        : localAmount != stripeAmount ? (StripeDiscrepancies.AmountMismatch, $"{what} is {localAmount} {localCurrency}, Stripe's {stripeAmount} {stripeCurrency}")
        : null;

    const string PayoutSelect = "SELECT id AS Id, contest_id AS ContestId, user_id AS UserId, amount AS Amount, currency AS Currency, status AS Status, " +
        "stripe_transfer_id AS StripeTransferId, destination AS Destination FROM payout_transfers";

    sealed record PayoutRow(long Id, string ContestId, string UserId, long Amount, string Currency, string Status, string? StripeTransferId, string? Destination)
    {
        public PayoutRow() : this(0, "", "", 0, "", "", null, null) { }
    }
}
