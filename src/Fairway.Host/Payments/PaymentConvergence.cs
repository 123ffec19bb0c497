using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Ledger;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Hangfire;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public static class ConvergenceOutcomes
{
    /// <summary>Local state changed.</summary>
    public const string Applied = "applied";
    /// <summary>Local state already matched Stripe (a duplicate, an older event, or an event overtaken by a newer one).</summary>
    public const string Superseded = "superseded";
    /// <summary>Not Fairway's object, or nothing Fairway acts on.</summary>
    public const string Ignored = "ignored";
}

/// <summary>A payment intent as Stripe reports it, with its refunds (empty unless it succeeded).</summary>
public sealed record StripePaymentView(PaymentIntent PaymentIntent, IReadOnlyList<Stripe.Refund> Refunds);

/// <summary>
/// What one transaction converging many payments (a webhook batch) reuses: per contest, max_entries and the ACTIVE count,
/// read once under the contest's seat lock and then counted up with the activations this transaction makes. Others cannot
/// activate while the seat lock is held, and entries leaving ACTIVE only lower the true count, so the count kept here is
/// never below the truth; before refusing a seat it is read again, so a seat is refused only on a fresh count.
/// </summary>
public sealed class ConvergenceBatch(bool deferWrites = false)
{
    readonly List<JournalEntry> postings = [];
    readonly List<PendingAudit> audits = [];

    /// <summary>
    /// Ledger entries and audit rows are collected and written together at the end of the batch
    /// (<see cref="PaymentConvergence.FlushAsync"/>), in the order they were made: one ledger call and one audit statement
    /// per batch instead of several per payment. Any failure then undoes the whole batch (its events are processed again
    /// one by one, writing as they go).
    /// </summary>
    public bool DefersWrites { get; } = deferWrites;

    public void Post(JournalEntry entry) => postings.Add(entry);
    public void Audit(PendingAudit row) => audits.Add(row);

    public (IReadOnlyList<JournalEntry> Postings, IReadOnlyList<PendingAudit> Audits) TakeDeferred()
    {
        var taken = (postings.ToList(), audits.ToList());
        postings.Clear();
        audits.Clear();
        return taken;
    }

    readonly Dictionary<string, (long MaxEntries, long Active)> seats = new(StringComparer.Ordinal);
    readonly Dictionary<string, PaymentRow> paymentsByIntent = new(StringComparer.Ordinal);
    readonly Dictionary<string, PaymentRow> paymentsByEntry = new(StringComparer.Ordinal);
    readonly Dictionary<string, EntryRow> entries = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> contestStates = new(StringComparer.Ordinal);
    readonly HashSet<string> touched = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> bookedFees = new(StringComparer.Ordinal);
    bool locked;

    /// <summary>The rows an intent's convergence starts from, read under the batch's locks (null once the batch changed the entry).</summary>
    public sealed record LockedRows(PaymentRow? Known, EntryRow? Entry, string? ContestState, PaymentRow? Payment);

    /// <summary>
    /// Takes, for all <paramref name="intents"/> at once and in the order every money path uses, the locks their convergence
    /// takes one by one: the seat locks of their contests (sorted), the contests FOR SHARE, the entries FOR UPDATE, the
    /// payments FOR UPDATE (each sorted) — and keeps the rows read. A batch then never holds a ledger account while waiting
    /// for a seat lock that a single convergence holds, and each payment costs no reads of its own.
    /// </summary>
    public async Task LockAsync(NpgsqlTransaction tx, IReadOnlyCollection<PaymentIntent> intents)
    {
        var c = tx.Connection!;
        var ids = intents.Select(pi => pi.Id).ToArray();
        var metadata = intents.Select(PaymentConvergence.MetadataEntryId).OfType<string>().ToArray();
        var found = (await c.QueryAsync<(string Entry, string Contest)>("""
            SELECT e.id, e.contest_id FROM entries e
             WHERE e.id = ANY(@metadata) OR e.id IN (SELECT p.entry_id FROM payments p WHERE p.payment_intent_id = ANY(@ids))
            """, new { metadata, ids }, tx)).ToList();
        var contestIds = found.Select(f => f.Contest).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var entryIds = found.Select(f => f.Entry).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (contestIds.Length > 0)
        {
            await c.ExecuteAsync("SELECT count(pg_advisory_xact_lock(hashtext('seats:' || s.c))) FROM (SELECT unnest(@contestIds::text[]) AS c ORDER BY 1) s", new { contestIds }, tx);
            foreach (var (id, state) in await c.QueryAsync<(string, string)>(
                "SELECT id, state FROM contests WHERE id = ANY(@contestIds) ORDER BY id FOR SHARE", new { contestIds }, tx))
                contestStates[id] = state;
            foreach (var e in await PaymentStore.EntriesForUpdateAsync(tx, entryIds)) entries[e.Id] = e;
        }
        foreach (var p in await PaymentStore.PaymentsForUpdateAsync(tx, entryIds, ids))
        {
            paymentsByEntry[p.EntryId] = p;
            paymentsByIntent[p.PaymentIntentId] = p;
        }
        var feeTransactions = intents.Select(pi => pi.LatestCharge?.BalanceTransaction?.Id).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        foreach (var (txn, fee) in await ProcessingFees.BookedFeesAsync(c, feeTransactions, tx)) bookedFees[txn] = fee;
        locked = true;
    }

    /// <summary>The booked fees of the locked intents' balance transactions were read (<see cref="LockAsync"/>).</summary>
    public bool FeesKnown => locked;

    /// <summary>The fee booked for a balance transaction of the batch's intents (before the batch, or by it); null when none is.</summary>
    public long? BookedFee(string balanceTransactionId) => bookedFees.TryGetValue(balanceTransactionId, out var fee) ? fee : null;

    public void FeeBooked(string balanceTransactionId, long fee) => bookedFees[balanceTransactionId] = fee;

    /// <summary>The locked rows of an intent's entry; null when the batch did not lock them, or already changed that entry.</summary>
    public LockedRows? Rows(PaymentIntent pi)
    {
        if (!locked) return null;
        var known = paymentsByIntent.GetValueOrDefault(pi.Id);
        var entryId = known?.EntryId ?? PaymentConvergence.MetadataEntryId(pi);
        if (entryId is not null && touched.Contains(entryId)) return null;
        var entry = entryId is null ? null : entries.GetValueOrDefault(entryId);
        return new LockedRows(known, entry, entry is null ? null : contestStates.GetValueOrDefault(entry.ContestId), entryId is null ? null : paymentsByEntry.GetValueOrDefault(entryId));
    }

    /// <summary>The entry's rows are being changed: a later payment of the batch on the same entry reads them again.</summary>
    public void Touched(string entryId) => touched.Add(entryId);

    public async Task<(long MaxEntries, long Active)> SeatsAsync(NpgsqlTransaction tx, string contestId, Func<Task<(long MaxEntries, long Active)>> read)
    {
        if (seats.TryGetValue(contestId, out var known) && known.Active < known.MaxEntries) return known;
        return seats[contestId] = await read();
    }

    public void Activated(string contestId)
    {
        if (seats.TryGetValue(contestId, out var known)) seats[contestId] = known with { Active = known.Active + 1 };
    }
}

public sealed record ConvergenceResult(string PaymentIntentId, string Outcome, string Detail, IReadOnlyList<string> RefundsToExecute)
{
    public bool Changed => Outcome == ConvergenceOutcomes.Applied;
}

/// <summary>
/// Moves local payment state to match Stripe's, never the other way round. Webhook payloads only say
/// WHICH payment intent to look at: the payment intent and its refunds are retrieved from Stripe, and the
/// difference is applied in ONE transaction together with the kill-switch check, the audit rows and the
/// ledger entries. Because the target is Stripe's current state and every step is conditional on the local
/// state, any order, repetition or loss of events converges to the same result (a refund seen before its
/// success: the success is applied first, then the refund).
/// Lock order (every money path): contest FOR SHARE → entry → payment → refund.
/// </summary>
public sealed class PaymentConvergence(
    NpgsqlDataSource db, StripeGateway stripe, LedgerRepository ledger, KillSwitchService killSwitch, AuditWriter audit, RefundRequests refundRequests,
    ContestRepository contests, TimeProvider clock, IBackgroundJobClient jobs, ILogger<PaymentConvergence> log)
{
    /// <summary>Crash point: every effect (state, audit, ledger, webhook processing row) is written, nothing committed.</summary>
    public const string CrashAfterLedgerBeforeCommit = "payments.after_ledger_before_commit";
    public const string Actor = "system:payments";

    /// <summary>
    /// Retrieves <paramref name="paymentIntentId"/> (and its refunds) from Stripe and applies the difference.
    /// <paramref name="inTransaction"/> runs last inside the same transaction (the webhook processor records the
    /// event as processed there). Throws <see cref="Operations.KillSwitch.KillSwitchEngagedException"/> when the
    /// kill-switch is engaged (nothing written); Stripe errors propagate (callers retry).
    /// </summary>
    public async Task<ConvergenceResult> ConvergeAsync(string paymentIntentId, string actor,
        Func<NpgsqlTransaction, ConvergenceResult, Task>? inTransaction = null, CancellationToken ct = default) =>
        await ConvergeAsync(await ReadAsync(paymentIntentId, ct), actor, inTransaction, ct);

    /// <summary>Converges to what the caller just read from Stripe (<see cref="ReadAsync"/>).</summary>
    public async Task<ConvergenceResult> ConvergeAsync(StripePaymentView view, string actor,
        Func<NpgsqlTransaction, ConvergenceResult, Task>? inTransaction = null, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await killSwitch.EnsureDisengagedAsync(tx, ct);
        // The ledger entries and audit rows are written last, just before the commit, as a webhook batch writes them: the
        // ledger accounts every payment shares (clearing, processing fees) stay locked for one statement and the commit,
        // not for the rest of the convergence. The sweeper and refund executions converge several payments at once, and
        // each held the clearing account from its first posting to its commit while the others queued behind it (the main
        // job, seed 1 without faults, logged 3,652 waits of more than 5 ms for ledger account rows, 42 s in all, every
        // holder a worker's transaction).
        var deferred = new ConvergenceBatch(deferWrites: true);
        var result = await ApplyAsync(tx, view, actor, inTransaction, deferred, ct);
        await FlushAsync(tx, deferred, ct);
        if (result.Changed) CrashPoints.Hit(CrashAfterLedgerBeforeCommit);
        await tx.CommitAsync(ct);
        AfterCommit(result, actor);
        return result;
    }

    /// <summary>What Stripe says about a payment intent: the intent (with its latest charge's balance transaction, for the fee), and its refunds when it succeeded.</summary>
    public async Task<StripePaymentView> ReadAsync(string paymentIntentId, CancellationToken ct)
    {
        var pi = await stripe.GetPaymentIntentWithFeeAsync(paymentIntentId, ct);
        IReadOnlyList<Stripe.Refund> stripeRefunds = pi.Status == "succeeded" ? await stripe.ListRefundsAsync(paymentIntentId, ct) : [];
        return new StripePaymentView(pi, stripeRefunds);
    }

    /// <summary>
    /// Applies <paramref name="view"/> inside the CALLER's transaction, which has checked the kill-switch; the caller commits,
    /// then calls <see cref="AfterCommit"/>. <paramref name="batch"/> (webhook batches) carries what one transaction may
    /// reuse between payments: configs and seat counts of the contests whose seat locks it holds.
    /// </summary>
    public async Task<ConvergenceResult> ApplyAsync(NpgsqlTransaction tx, StripePaymentView view, string actor,
        Func<NpgsqlTransaction, ConvergenceResult, Task>? inTransaction, ConvergenceBatch? batch, CancellationToken ct)
    {
        var result = await ApplyAsync(tx, view.PaymentIntent, view.Refunds, actor, batch, ct);
        if (inTransaction is not null) await inTransaction(tx, result);
        // A batch that defers its ledger and audit rows hits this crash point itself, once they are written.
        if (result.Changed && batch is not { DefersWrites: true }) CrashPoints.Hit(CrashAfterLedgerBeforeCommit);
        return result;
    }

    /// <summary>After the commit of <see cref="ApplyAsync(NpgsqlTransaction, StripePaymentView, string, Func{NpgsqlTransaction, ConvergenceResult, Task}?, ConvergenceBatch?, CancellationToken)"/>: the log line and the refund sends it decided.</summary>
    public void AfterCommit(ConvergenceResult result, string actor)
    {
        if (result.Changed)
            log.LogInformation("Payment {PaymentIntentId} converged by {Actor}: {Detail}", result.PaymentIntentId, actor, result.Detail);
        foreach (var refundId in result.RefundsToExecute) jobs.Enqueue<RefundExecutionJob>(j => j.RunAsync(refundId, CancellationToken.None));
    }

    internal static string? MetadataEntryId(PaymentIntent pi) => pi.Metadata is { } md && md.TryGetValue("entry_id", out var e) ? e : null;

    async Task<ConvergenceResult> ApplyAsync(NpgsqlTransaction tx, PaymentIntent pi, IReadOnlyList<Stripe.Refund> stripeRefunds, string actor, ConvergenceBatch? batch, CancellationToken ct)
    {
        var c = tx.Connection!;
        var now = clock.GetUtcNow();
        ConvergenceResult Result(string outcome, string detail, IReadOnlyList<string>? refunds = null) => new(pi.Id, outcome, detail, refunds ?? []);

        // Which entry? The recorded payment, else the metadata Fairway put on the intent when it created it.
        // (A batch has read and locked the rows of all its intents already, in the same order.)
        var locked = batch?.Rows(pi);
        var known = locked is not null ? locked.Known : await PaymentStore.PaymentByIntentAsync(c, pi.Id, tx);
        var entryId = known?.EntryId ?? MetadataEntryId(pi);
        if (entryId is null) return Result(ConvergenceOutcomes.Ignored, "not a Fairway payment intent (no entry_id metadata)");
        var entryPeek = locked is not null ? locked.Entry : await PaymentStore.EntryAsync(c, entryId, tx);
        if (entryPeek is null) return Result(ConvergenceOutcomes.Ignored, $"metadata names entry {entryId}, which does not exist");
        batch?.Touched(entryId);

        // Locks in the one order every money path uses, which starts with the contest's seat lock when the payment may take
        // a seat (Stripe says succeeded, the entry is still waiting for it): a batch takes its seat locks before its entries,
        // so a single convergence that held this entry while waiting for the seat lock would deadlock with a batch holding
        // the seat lock and waiting for the entry. (The lock is re-entrant: taking seats later in this transaction is free.)
        if (locked is null && pi.Status == "succeeded" && entryPeek.Status is EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
            await SeatLockAsync(tx, entryPeek.ContestId);
        var contestState = (locked is not null ? locked.ContestState : await PaymentStore.ContestStateForShareAsync(tx, entryPeek.ContestId))
            ?? throw new InvalidOperationException($"entry {entryId} names contest {entryPeek.ContestId}, which does not exist");
        var entry = locked is not null ? locked.Entry! : (await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true))!;
        var payment = locked is not null ? locked.Payment : await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true);

        var changes = new List<string>();
        var refundsToExecute = new List<string>();
        if (payment is null)
        {
            if (entry.EntryFee is null || entry.Currency is null)
                return Result(ConvergenceOutcomes.Ignored, $"entry {entryId} has no recorded fee; not a payable entry");
            payment = await PaymentStore.InsertPaymentAsync(tx, audit, actor, entryId, pi.Id, entry.EntryFee.Value, entry.Currency, now, ct);
            changes.Add("payment recorded");
        }
        if (payment.PaymentIntentId != pi.Id)
        {
            log.LogError("Payment intent {PaymentIntentId} names entry {EntryId}, which is paid by {RecordedIntent}: not applied", pi.Id, entryId, payment.PaymentIntentId);
            return Result(ConvergenceOutcomes.Ignored, $"entry {entryId} is paid by {payment.PaymentIntentId}, not {pi.Id}");
        }
        // Amount validation: a discrepancy is never applied silently.
        if (pi.Amount != payment.Amount || !string.Equals(pi.Currency, payment.Currency, StringComparison.Ordinal))
        {
            log.LogError("Payment intent {PaymentIntentId} is {StripeAmount} {StripeCurrency} at Stripe but {Amount} {Currency} for entry {EntryId}: AMOUNT_MISMATCH, not applied",
                pi.Id, pi.Amount, pi.Currency, payment.Amount, payment.Currency, entryId);
            return Result(ConvergenceOutcomes.Ignored, $"AMOUNT_MISMATCH: Stripe {pi.Amount} {pi.Currency}, Fairway {payment.Amount} {payment.Currency}");
        }

        switch (pi.Status)
        {
            case "succeeded" when payment.Status != PaymentStatuses.Succeeded:
            {
                await PaymentStore.SetPaymentStatusAsync(tx, entryId, PaymentStatuses.Succeeded, null, now);
                await PostAsync(tx, batch, JournalEntry.Movement(PaymentLedger.PaymentKey(pi.Id), PaymentLedger.EntryFeeCaptured, payment.Currency, now,
                    "payment", pi.Id, LedgerAccountRef.Clearing(payment.Currency), LedgerAccountRef.Escrow(entry.ContestId), payment.Amount,
                    $"entry fee of {entryId}"), ct);
                await AuditAsync(tx, batch, new AuditEntry(actor, "payment.succeeded", "payment", pi.Id, "Stripe reports the payment intent succeeded",
                    Before: new { status = payment.Status }, After: new { status = PaymentStatuses.Succeeded, amount = payment.Amount, currency = payment.Currency, entry_id = entryId }), ct);
                PaymentMetrics.PaymentTransitions.WithLabels(PaymentStatuses.Succeeded).Inc();
                payment = payment with { Status = PaymentStatuses.Succeeded };
                changes.Add("payment SUCCEEDED, fee moved clearing → escrow");

                if (entry.Status is EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
                {
                    string? voidReason = null;
                    if (contestState != ContestStates.Name(ContestState.Scheduled))
                        voidReason = $"late payment: contest is {contestState}";
                    else
                    {
                        // Seats: activations of one contest are serialised by a transaction-scoped advisory lock, so two
                        // workers converging the last payments at once cannot both see a free seat (the contest row is only
                        // held FOR SHARE here, which concurrent payments share). The loser's entry is voided and refunded.
                        var (maxEntries, active) = batch is null
                            ? await SeatsAsync(tx, entry.ContestId)
                            : await batch.SeatsAsync(tx, entry.ContestId, () => SeatsAsync(tx, entry.ContestId));
                        if (active >= maxEntries) voidReason = $"contest full: {active} active entries = max_entries {maxEntries}";
                    }
                    if (voidReason is null)
                    {
                        batch?.Activated(entry.ContestId);
                        await SetEntryAsync(tx, entry, EntryStatuses.Active, actor, "payment succeeded", now, ct, batch);
                        changes.Add("entry ACTIVE");
                        entry = entry with { Status = EntryStatuses.Active };
                    }
                    else
                    {
                        // The late or surplus fee went into escrow above and leaves it again at once, into refunds owed (the entry becomes VOID).
                        if (await refundRequests.DecideAsync(tx, entry, payment, payment.Amount, RefundFunding.Escrow, voidReason, actor, now, ct, batch))
                            refundsToExecute.Add(PaymentStore.RefundIdOf(entryId));
                        changes.Add($"entry VOID and refund requested ({voidReason})");
                        entry = entry with { Status = EntryStatuses.Void };
                    }
                }
                else if (entry.Status == EntryStatuses.Void && await PaymentStore.RefundOfEntryAsync(c, entryId, tx) is null)
                {
                    if (await refundRequests.DecideAsync(tx, entry, payment, payment.Amount, RefundFunding.Escrow, "payment succeeded for a void entry", actor, now, ct, batch))
                        refundsToExecute.Add(PaymentStore.RefundIdOf(entryId));
                    changes.Add("refund requested (entry was void)");
                }
                break;
            }
            case "canceled" when payment.Status is PaymentStatuses.Pending or PaymentStatuses.Failed:
                await PaymentStore.SetPaymentStatusAsync(tx, entryId, PaymentStatuses.Canceled, pi.CancellationReason, now);
                await AuditAsync(tx, batch, new AuditEntry(actor, "payment.canceled", "payment", pi.Id, "Stripe reports the payment intent canceled",
                    Before: new { status = payment.Status }, After: new { status = PaymentStatuses.Canceled, cancellation_reason = pi.CancellationReason }), ct);
                PaymentMetrics.PaymentTransitions.WithLabels(PaymentStatuses.Canceled).Inc();
                if (entry.Status is EntryStatuses.PendingPayment or EntryStatuses.PaymentFailed)
                    await SetEntryAsync(tx, entry, EntryStatuses.Void, actor, "payment intent canceled", now, ct, batch);
                changes.Add("payment CANCELED, entry VOID");
                break;
            case "requires_payment_method" when pi.LastPaymentError is not null && payment.Status == PaymentStatuses.Pending:
            {
                var error = PaymentStore.Truncate($"{pi.LastPaymentError.Code}/{pi.LastPaymentError.DeclineCode}: {pi.LastPaymentError.Message}", 2000);
                await PaymentStore.SetPaymentStatusAsync(tx, entryId, PaymentStatuses.Failed, error, now);
                await AuditAsync(tx, batch, new AuditEntry(actor, "payment.failed", "payment", pi.Id, "Stripe reports the payment attempt failed",
                    Before: new { status = payment.Status }, After: new { status = PaymentStatuses.Failed, last_error = error }), ct);
                PaymentMetrics.PaymentTransitions.WithLabels(PaymentStatuses.Failed).Inc();
                if (entry.Status == EntryStatuses.PendingPayment)
                    await SetEntryAsync(tx, entry, EntryStatuses.PaymentFailed, actor, "payment failed: " + error, now, ct, batch);
                changes.Add("payment FAILED");
                break;
            }
        }

        if (payment.Status == PaymentStatuses.Succeeded && stripeRefunds.Count > 0)
            await ApplyRefundsAsync(tx, entry, payment, contestState, stripeRefunds, actor, now, changes, ct, batch);
        if (changes.Count > 0 && pi.Status == "succeeded") await BookFeeAsync(tx, pi, now, changes, batch, ct);

        return changes.Count > 0
            ? Result(ConvergenceOutcomes.Applied, string.Join("; ", changes), refundsToExecute)
            : Result(ConvergenceOutcomes.Superseded, $"local state already matches Stripe ({pi.Status})");
    }

    /// <summary>
    /// Applies Stripe's refunds of a payment to its one refund row. Stripe may hold several refunds of one row: earlier
    /// sends that failed, and the live one. A refund is this row's when its id is recorded or its metadata names the row.
    /// A live refund (pending or succeeded) the row does not record yet is adopted while the row is REQUESTED or FAILED;
    /// a second live refund next to the recorded one is never applied (logged; reconciliation reports it).
    /// A refund made at Stripe outside Fairway is decided here first (from escrow while the contest is SCHEDULED, from the
    /// house once it is locked: the contest's escrow is never touched after lock).
    /// </summary>
    async Task ApplyRefundsAsync(NpgsqlTransaction tx, EntryRow entry, PaymentRow payment, string contestState, IReadOnlyList<Stripe.Refund> stripeRefunds, string actor,
        DateTimeOffset now, List<string> changes, CancellationToken ct, ConvergenceBatch? batch)
    {
        var c = tx.Connection!;
        foreach (var sr in stripeRefunds.OrderBy(r => r.Created).ThenBy(r => r.Id, StringComparer.Ordinal))
        {
            // Booked by an operator's ledger correction (the house paid it): never recorded a second time here.
            if (await Ledger.Corrections.LedgerCorrectionService.FindAsync(c, Ledger.Corrections.RefundOutsideFairway.KindName, sr.Id, tx) is not null) continue;
            var live = sr.Status is "succeeded" or "pending";
            var local = await PaymentStore.RefundOfEntryAsync(c, entry.Id, tx, forUpdate: true);
            var external = false;
            if (local is null)
            {
                if (!live) continue;
                var funding = contestState == ContestStates.Name(ContestState.Scheduled) ? RefundFunding.Escrow : RefundFunding.House;
                await refundRequests.DecideAsync(tx, entry, payment, Math.Min(sr.Amount, payment.Amount), funding, $"refunded at Stripe outside Fairway ({sr.Id})", "stripe", now, ct, batch);
                log.LogWarning("Refund {StripeRefundId} of {PaymentIntentId} was made at Stripe outside Fairway; recorded, funded from {Funding}", sr.Id, payment.PaymentIntentId, funding);
                local = (await PaymentStore.RefundOfEntryAsync(c, entry.Id, tx, forUpdate: true))!;
                external = true;
                changes.Add($"external refund {sr.Id} recorded ({funding})");
            }
            var ours = external || local.StripeRefundId == sr.Id || (sr.Metadata is { } md && md.TryGetValue("refund_id", out var rid) && rid == local.Id);
            if (!ours)
            {
                if (live)
                    log.LogError("Payment intent {PaymentIntentId} has a second refund {StripeRefundId} at Stripe besides {RefundId} ({RecordedStripeRefund}): not applied, needs an operator",
                        payment.PaymentIntentId, sr.Id, local.Id, local.StripeRefundId);
                continue;
            }
            if (sr.Amount != local.Amount)
            {
                log.LogError("Refund {StripeRefundId} is {StripeAmount} at Stripe but {Amount} for {RefundId}: AMOUNT_MISMATCH, not applied", sr.Id, sr.Amount, local.Amount, local.Id);
                continue;
            }
            if (live && local.StripeRefundId != sr.Id)
            {
                if (local.Status is not (RefundStatuses.Requested or RefundStatuses.Failed))
                {
                    log.LogError("Refund {RefundId} has two live refunds at Stripe: {RecordedStripeRefund} (recorded) and {StripeRefundId}: the second is not applied, needs an operator",
                        local.Id, local.StripeRefundId, sr.Id);
                    continue;
                }
                await SetRefundAsync(tx, local, RefundStatuses.Submitted, sr.Id, null, null, actor, $"Stripe has refund {sr.Id} ({sr.Status}) for this refund", now, ct, batch);
                local = local with { Status = RefundStatuses.Submitted, StripeRefundId = sr.Id };
                changes.Add($"refund {sr.Id} SUBMITTED");
            }
            switch (sr.Status)
            {
                case "succeeded" when local.Status != RefundStatuses.Succeeded && local.StripeRefundId == sr.Id:
                    await PostAsync(tx, batch, JournalEntry.Movement(PaymentLedger.RefundKey(sr.Id), PaymentLedger.RefundSettled, payment.Currency, now,
                        "refund", sr.Id, LedgerAccountRef.Refunds(payment.Currency), LedgerAccountRef.Clearing(payment.Currency), sr.Amount,
                        $"refund {local.Id} of entry {entry.Id}"), ct);
                    await SetRefundAsync(tx, local, RefundStatuses.Succeeded, sr.Id, null, null, actor, "Stripe reports the refund succeeded", now, ct, batch);
                    if (local.FundedFrom == RefundFunding.Escrow && entry.Status != EntryStatuses.Refunded)
                        await SetEntryAsync(tx, entry, EntryStatuses.Refunded, actor, $"refund {sr.Id} succeeded", now, ct, batch);
                    changes.Add($"refund {sr.Id} SUCCEEDED, refunds owed → clearing");
                    break;
                case "failed" or "canceled" when local.StripeRefundId == sr.Id && local.Status is RefundStatuses.Requested or RefundStatuses.Submitted:
                    var next = now + refundRequests.Backoff(local.AttemptCount);
                    await SetRefundAsync(tx, local, RefundStatuses.Failed, sr.Id, sr.FailureReason ?? sr.Status, next, actor, "Stripe reports the refund " + sr.Status, now, ct, batch);
                    log.LogError("Refund {RefundId} ({StripeRefundId}) of entry {EntryId} FAILED at Stripe: {FailureReason}; the money stays in refunds owed and is sent again at {Next:O}",
                        local.Id, sr.Id, entry.Id, sr.FailureReason, next);
                    changes.Add($"refund {sr.Id} FAILED");
                    break;
            }
        }
    }

    /// <summary>
    /// Fairway learns the charge's fee with the intent (expanded, <see cref="ReadAsync"/>) and books it in the convergence's own
    /// transaction and ledger call (a batch's one). A fee already booked is left alone (one of another amount is the
    /// reconciliation's fee mismatch, never a reason to fail the payment); a charge without its balance transaction yet is
    /// booked when the reconciliation lists it.
    /// </summary>
    async Task BookFeeAsync(NpgsqlTransaction tx, PaymentIntent pi, DateTimeOffset now, List<string> changes, ConvergenceBatch? batch, CancellationToken ct)
    {
        if (pi.LatestCharge?.BalanceTransaction is not { } bt)
        {
            log.LogWarning("Payment intent {PaymentIntentId}: charge {ChargeId} has no balance transaction yet; its fee is booked when the reconciliation lists it",
                pi.Id, pi.LatestChargeId);
            return;
        }
        if (!ProcessingFees.IsAutomatic(bt)) return;
        var booked = batch is { FeesKnown: true } ? batch.BookedFee(bt.Id) : await ProcessingFees.BookedFeeAsync(tx.Connection!, bt.Id, tx);
        if (booked is { } amount)
        {
            if (amount != bt.Fee)
                log.LogWarning("Stripe fee {Fee} of {BalanceTransaction} ({PaymentIntentId}) differs from the {Booked} booked; the reconciliation reports the mismatch",
                    bt.Fee, bt.Id, pi.Id, amount);
            return;
        }
        await PostAsync(tx, batch, ProcessingFees.Entry(bt, now), ct);
        batch?.FeeBooked(bt.Id, bt.Fee);
        changes.Add($"Stripe fee {bt.Fee} {bt.Currency} booked ({bt.Id})");
    }

    Task PostAsync(NpgsqlTransaction tx, ConvergenceBatch? batch, JournalEntry entry, CancellationToken ct)
    {
        if (batch is { DefersWrites: true }) { batch.Post(entry); return Task.CompletedTask; }
        return ledger.PostAsync(tx, entry, ct);
    }

    Task AuditAsync(NpgsqlTransaction tx, ConvergenceBatch? batch, AuditEntry entry, CancellationToken ct)
    {
        if (batch is { DefersWrites: true }) { batch.Audit(audit.Pending(entry)); return Task.CompletedTask; }
        return audit.WriteAsync(tx, entry, ct);
    }

    /// <summary>The ledger entries and audit rows a batch deferred, written in the order they were made (same transaction).</summary>
    public async Task FlushAsync(NpgsqlTransaction tx, ConvergenceBatch batch, CancellationToken ct)
    {
        var (postings, audits) = batch.TakeDeferred();
        if (postings.Count > 0) await ledger.PostManyAsync(tx, postings, ct);
        if (audits.Count > 0) await audit.WriteManyAsync(tx, audits, ct);
    }

    /// <summary>Takes the seat lock of a contest (transaction-scoped, re-entrant): activations of one contest hold it to commit.</summary>
    static Task SeatLockAsync(NpgsqlTransaction tx, string contestId) =>
        tx.Connection!.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('seats:' || @contest))", new { contest = contestId }, tx);

    /// <summary>The seat lock of a contest (held to commit), its max_entries and its ACTIVE entries now.</summary>
    async Task<(long MaxEntries, long Active)> SeatsAsync(NpgsqlTransaction tx, string contestId)
    {
        var c = tx.Connection!;
        await SeatLockAsync(tx, contestId);
        var config = await contests.ActiveConfigAsync(c, contestId, tx);
        return (config.Config.Rules.MaxEntries, await contests.CountEntriesAsync(c, contestId, EntryStatuses.Active, tx));
    }

    async Task SetEntryAsync(NpgsqlTransaction tx, EntryRow entry, string status, string actor, string reason, DateTimeOffset now, CancellationToken ct, ConvergenceBatch? batch)
    {
        await PaymentStore.SetEntryStatusAsync(tx, entry.Id, status, now);
        await AuditAsync(tx, batch, new AuditEntry(actor, "entry.status_changed", "entry", entry.Id, reason,
            Before: new { status = entry.Status }, After: new { status }), ct);
    }

    async Task SetRefundAsync(NpgsqlTransaction tx, RefundRow refund, string status, string stripeRefundId, string? failure, DateTimeOffset? nextAttemptAt, string actor,
        string reason, DateTimeOffset now, CancellationToken ct, ConvergenceBatch? batch)
    {
        await tx.Connection!.ExecuteAsync("""
            UPDATE refunds SET status = @status, stripe_refund_id = @stripeRefundId, failure_reason = @failure, next_attempt_at = coalesce(@nextAttemptAt, next_attempt_at),
                   updated_at = @now
             WHERE id = @id
            """, new { refund.Id, status, stripeRefundId, failure, nextAttemptAt, now }, tx);
        await AuditAsync(tx, batch, new AuditEntry(actor, "refund." + status.ToLowerInvariant(), "refund", refund.Id, reason,
            Before: new { status = refund.Status, stripe_refund_id = refund.StripeRefundId }, After: new { status, stripe_refund_id = stripeRefundId, failure_reason = failure }), ct);
        PaymentMetrics.Refunds.WithLabels(status.ToLowerInvariant()).Inc();
    }

}
