using Fairway.Host.Platform.Http;
using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Faults;
using Fairway.Host.Platform.Telemetry;
using Hangfire;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record RefundOutcome(int Status, RefundRow? Refund, ProblemCode? Code = null, string? Message = null)
{
    public static RefundOutcome Fail(ProblemCode code, string message) => new(code.Status!.Value, null, code, message);
}

/// <summary>
/// Refunds: at most one per entry. Deciding one (<see cref="RefundRequests"/>) moves the money into refunds owed;
/// <see cref="ExecuteAsync"/> then asks Stripe for it, at most once whatever Stripe remembers: every send is marked and
/// committed before the call, and a refund with an earlier send is looked up at Stripe (its payment intent's refunds,
/// metadata refund_id) before anything is sent again. A refund Stripe refuses or fails stays owed (FAILED) and is sent
/// again with backoff until its budget is spent; an admin can grant a new budget. The money leaves refunds owed only
/// when Stripe reports the refund succeeded, through <see cref="PaymentConvergence"/>.
/// <para>
/// Which refunds exist: a player or admin refund of an entry while its contest is SCHEDULED (escrow-funded); the
/// refunds of a CANCELLED contest and of a payment that succeeded after lock (escrow-funded, requested by the system);
/// and a goodwill refund decided by an admin once the contest is locked, funded by the house (revenue), which never
/// touches the contest's escrow.
/// </para>
/// </summary>
public sealed class RefundService(
    NpgsqlDataSource db, KillSwitchService killSwitch, AuditWriter audit, StripeGateway stripe, PaymentConvergence convergence, RefundRequests requests,
    FairwaySettings settings, TimeProvider clock, IBackgroundJobClient jobs, ILogger<RefundService> log)
{
    /// <summary>Crash point: Stripe has created the refund, Fairway has not recorded its id yet.</summary>
    public const string CrashAfterStripeRefundBeforeRecord = "refunds.after_stripe_refund_before_record";
    public const string CancellationActor = "system:cancellation";
    public const string Worker = "refunds";

    static readonly string[] LiveAtStripe = ["succeeded", "pending", "requires_action"];

    /// <summary>
    /// Requests the refund of an entry's SUCCEEDED payment, from the contest's escrow. Only while the contest is SCHEDULED:
    /// from lock on, the escrow belongs to the contest's result (settlement), so an entry refund is refused with 409
    /// REFUND_NOT_ALLOWED (a goodwill refund from house revenue is the way then). <paramref name="ownerUserId"/> (players)
    /// restricts to the caller's own entries. Repeating it returns the same refund (200).
    /// </summary>
    public async Task<RefundOutcome> RequestAsync(string entryId, string reason, string actor, string? ownerUserId, string? contestId, CancellationToken ct)
    {
        RefundRow? created;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            var peek = await PaymentStore.EntryAsync(c, entryId, tx);
            if (peek is null || (ownerUserId is not null && peek.UserId != ownerUserId) || (contestId is not null && peek.ContestId != contestId))
                return RefundOutcome.Fail(ProblemCodes.EntryNotFound, $"no entry '{entryId}'" + (ownerUserId is not null ? " of yours" : ""));
            // FOR SHARE: a lifecycle transition (lock) waits for this decision, and this decision waits for a transition in progress.
            var state = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            var entry = (await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true))!;
            var payment = await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true);
            var existing = await PaymentStore.RefundOfEntryAsync(c, entryId, tx, forUpdate: true);
            if (existing is not null) return new RefundOutcome(200, existing);
            if (state != ContestStates.Name(ContestState.Scheduled))
                return RefundOutcome.Fail(ProblemCodes.RefundNotAllowed,
                    $"contest {entry.ContestId} is {state}; entry refunds close when the contest locks (its escrow is the prize pool from then on). " +
                    "An admin can grant a goodwill refund from house revenue: fairway payments goodwill-refund");
            if (payment is null || payment.Status != PaymentStatuses.Succeeded)
                return RefundOutcome.Fail(ProblemCodes.PaymentNotSucceeded, $"entry {entryId} has no succeeded payment to refund (payment {payment?.Status ?? "none"})");
            await killSwitch.EnsureDisengagedAsync(tx, ct);
            await requests.DecideAsync(tx, entry, payment, payment.Amount, RefundFunding.Escrow, reason, actor, clock.GetUtcNow(), ct);
            await tx.CommitAsync(ct);
            created = await PaymentStore.RefundOfEntryAsync(c, entryId);
        }
        Enqueue(created!.Id);
        log.LogInformation("Refund {RefundId} of entry {EntryId} requested by {Actor}: {Reason}", created.Id, entryId, actor, reason);
        return new RefundOutcome(202, created);
    }

    /// <summary>
    /// A goodwill refund, decided by an admin once the contest is locked (LOCKED, LIVE, COMPLETE or ERROR): funded by the
    /// house (revenue → refunds owed), never by the contest's escrow, and the entry keeps its place and its result.
    /// <paramref name="amount"/> defaults to the whole fee. Repeating it returns the same refund (200).
    /// </summary>
    public async Task<RefundOutcome> GoodwillAsync(string entryId, long? amount, string reason, string actor, CancellationToken ct)
    {
        RefundRow? created;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            var peek = await PaymentStore.EntryAsync(c, entryId, tx);
            if (peek is null) return RefundOutcome.Fail(ProblemCodes.EntryNotFound, $"no entry '{entryId}'");
            var state = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            var entry = (await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true))!;
            var payment = await PaymentStore.PaymentOfEntryAsync(c, entryId, tx, forUpdate: true);
            var existing = await PaymentStore.RefundOfEntryAsync(c, entryId, tx, forUpdate: true);
            if (existing is not null)
                return existing.FundedFrom == RefundFunding.House && (amount is null || amount == existing.Amount)
                    ? new RefundOutcome(200, existing)
                    : RefundOutcome.Fail(ProblemCodes.RefundExists, $"entry {entryId} already has refund {existing.Id} ({existing.FundedFrom}, {existing.Amount}, {existing.Status})");
            if (state is not ("LOCKED" or "LIVE" or "COMPLETE" or "ERROR"))
                return RefundOutcome.Fail(ProblemCodes.GoodwillRefundNotAllowed,
                    $"contest {entry.ContestId} is {state}: " + (state == "SCHEDULED" ? "use an entry refund (fairway payments refund), funded by the escrow"
                        : "a cancelled contest refunds every paid entry itself"));
            if (payment is null || payment.Status != PaymentStatuses.Succeeded)
                return RefundOutcome.Fail(ProblemCodes.PaymentNotSucceeded, $"entry {entryId} has no succeeded payment to refund (payment {payment?.Status ?? "none"})");
            var value = amount ?? payment.Amount;
            if (value < 1 || value > payment.Amount)
                return RefundOutcome.Fail(ProblemCodes.ValidationFailed, $"amount must be between 1 and the fee paid ({payment.Amount} {payment.Currency})");
            await killSwitch.EnsureDisengagedAsync(tx, ct);
            await requests.DecideAsync(tx, entry, payment, value, RefundFunding.House, reason, actor, clock.GetUtcNow(), ct);
            await tx.CommitAsync(ct);
            created = await PaymentStore.RefundOfEntryAsync(c, entryId);
        }
        Enqueue(created!.Id);
        log.LogWarning("Goodwill refund {RefundId} of entry {EntryId} ({Amount}) granted by {Actor} from house revenue: {Reason}", created.Id, entryId, created.Amount, actor, reason);
        return new RefundOutcome(202, created);
    }

    /// <summary>
    /// Admin exit from refunds owed: a FAILED refund gets a fresh budget of REFUND_MAX_ATTEMPTS sends and is due now
    /// (audited). Anything else is refused (409 REFUND_NOT_FAILED).
    /// </summary>
    public async Task<RefundOutcome> RetryAsync(string entryId, string reason, string actor, CancellationToken ct)
    {
        RefundRow updated;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            var refund = await PaymentStore.RefundOfEntryAsync(c, entryId, tx, forUpdate: true);
            if (refund is null) return RefundOutcome.Fail(ProblemCodes.RefundNotFound, $"entry '{entryId}' has no refund");
            if (refund.Status != RefundStatuses.Failed)
                return RefundOutcome.Fail(ProblemCodes.RefundNotFailed, $"refund {refund.Id} is {refund.Status}; only a FAILED refund (refunds owed) can be retried");
            var now = clock.GetUtcNow();
            var maxAttempts = refund.AttemptCount + settings.RefundMaxAttempts;
            await c.ExecuteAsync("UPDATE refunds SET max_attempts = @maxAttempts, next_attempt_at = @now, updated_at = @now WHERE id = @Id",
                new { refund.Id, maxAttempts, now }, tx);
            await audit.WriteAsync(tx, new AuditEntry(actor, "refund.retry_requested", "refund", refund.Id, reason,
                Before: new { status = refund.Status, attempt_count = refund.AttemptCount, max_attempts = refund.MaxAttempts, failure_reason = refund.FailureReason },
                After: new { status = refund.Status, attempt_count = refund.AttemptCount, max_attempts = maxAttempts, next_attempt_at = now }), ct);
            await tx.CommitAsync(ct);
            updated = (await PaymentStore.RefundAsync(c, refund.Id))!;
        }
        Enqueue(updated.Id);
        log.LogWarning("Refund {RefundId} (refunds owed) re-queued by {Actor}: {Reason}", updated.Id, actor, reason);
        return new RefundOutcome(200, updated);
    }

    /// <summary>The most refunds of a cancelled contest decided in one transaction and executed by one job.</summary>
    public const int CancellationBatchSize = 200;
    const int MaxCancellationPasses = 1000;

    /// <summary>
    /// Requests a refund for every SUCCEEDED payment of a CANCELLED contest that has none yet (idempotent). Each batch of
    /// at most <see cref="CancellationBatchSize"/> is decided in one transaction — the contest FOR SHARE, then its entries
    /// and their payments FOR UPDATE, each sorted, the order every money path takes — with its ledger postings and audit
    /// rows written together, and is executed at Stripe by one job (<see cref="RefundExecutionJob.RunManyAsync"/>): a
    /// contest of a thousand entries costs five transactions and five jobs, not a thousand of each. Returns the refund
    /// ids requested now.
    /// </summary>
    public async Task<IReadOnlyList<string>> RequestCancellationRefundsAsync(string contestId, CancellationToken ct)
    {
        var requested = new List<string>();
        for (var pass = 0; ; pass++)
        {
            // A contest holds at most max_entries paid entries; this bound is far beyond any (200,000 refunds).
            if (pass == MaxCancellationPasses) throw new InvalidOperationException($"contest {contestId}: cancellation refunds still found after {pass} batches");
            var decided = new List<string>();
            await using (var c = await db.OpenConnectionAsync(ct))
            await using (var tx = await c.BeginTransactionAsync(ct))
            {
                var state = await PaymentStore.ContestStateForShareAsync(tx, contestId);
                if (state != ContestStates.Name(ContestState.Cancelled))
                {
                    log.LogWarning("Cancellation refunds for contest {ContestId} skipped: it is {State}, not CANCELLED", contestId, state ?? "missing");
                    return requested;
                }
                var batch = (await c.QueryAsync<string>("""
                    SELECT p.entry_id FROM payments p JOIN entries e ON e.id = p.entry_id
                     WHERE e.contest_id = @contestId AND p.status = 'SUCCEEDED'
                       AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.entry_id = p.entry_id)
                     ORDER BY p.entry_id LIMIT @limit
                    """, new { contestId, limit = CancellationBatchSize }, tx)).ToArray();
                if (batch.Length == 0) break;
                var entries = await PaymentStore.EntriesForUpdateAsync(tx, batch);
                var payments = (await PaymentStore.PaymentsForUpdateAsync(tx, batch, [])).ToDictionary(p => p.EntryId, StringComparer.Ordinal);
                await killSwitch.EnsureDisengagedAsync(tx, ct);
                var writes = new ConvergenceBatch(deferWrites: true);
                var now = clock.GetUtcNow();
                foreach (var entry in entries)
                {
                    // Read again under the locks: a payment refunded or disputed meanwhile is not refunded by this.
                    if (payments.GetValueOrDefault(entry.Id) is not { Status: PaymentStatuses.Succeeded } payment) continue;
                    if (await requests.DecideAsync(tx, entry, payment, payment.Amount, RefundFunding.Escrow, $"contest {contestId} cancelled", CancellationActor, now, ct, writes))
                        decided.Add(PaymentStore.RefundIdOf(entry.Id));
                }
                await convergence.FlushAsync(tx, writes, ct);
                await tx.CommitAsync(ct);
                // Nothing decided: every payment of the batch changed under the locks (refunded, disputed, or given a refund
                // by a request that won the race); the next pass no longer selects them, so each pass makes progress.
                if (decided.Count == 0) continue;
            }
            requested.AddRange(decided);
            jobs.Enqueue<RefundExecutionJob>(j => j.RunManyAsync(decided.ToArray(), CancellationToken.None));
        }
        if (requested.Count > 0)
            log.LogInformation("Contest {ContestId} cancelled: {Count} refunds requested", contestId, requested.Count);
        return requested;
    }

    /// <summary>
    /// Sends one refund to Stripe, at most once (see the class comment), holding the refund's row for the whole attempt.
    /// Executors of one refund exclude each other with the transaction-scoped advisory lock <c>refund:&lt;id&gt;</c>: a
    /// concurrent executor returns at once. The row itself is then locked waiting (<c>FOR UPDATE</c>, bounded by the
    /// command timeout), not skipped: a repeated refund request or a payment's convergence holds it for a moment, and an
    /// executor that skipped it then would leave the refund unsent until the next payment sweep. It is taken at full
    /// strength from the start, because upgrading a weaker row lock while another transaction queues for it deadlocks.
    /// Returns without calling Stripe when the refund is settled, not due, being executed elsewhere, or the kill-switch is engaged.
    /// Transient Stripe errors (and a failed look-up) throw: the job retries, and the refund stays due for the sweeper.
    /// A definite refusal marks it FAILED (owed, retried after backoff).
    /// </summary>
    public async Task ExecuteAsync(string refundId, CancellationToken ct)
    {
        Refund? settled = null;
        string? paymentIntentId;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            if (!await c.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_xact_lock(hashtext('refund:' || @refundId))", new { refundId }, tx))
                return; // another executor is sending this refund right now
            var refund = await PaymentStore.RefundAsync(c, refundId, tx, forUpdate: true);
            if (refund is null) return;
            paymentIntentId = refund.PaymentIntentId;
            var now = clock.GetUtcNow();
            if (refund.Status is RefundStatuses.Succeeded or RefundStatuses.Canceled or RefundStatuses.Submitted) return;
            if (refund.Status == RefundStatuses.Failed && (refund.NextAttemptAt is { } due && PaymentStore.Utc(due) > now || refund.AttemptCount >= refund.MaxAttempts)) return;
            if (refund.AttemptCount >= refund.MaxAttempts)
            {
                await MarkFailedAsync(tx, refund, "max_attempts_exhausted: no definite answer from Stripe after every send", null, ct);
                await tx.CommitAsync(ct);
                return;
            }
            if ((await killSwitch.ReadAsync(ct)).Engaged)
            {
                log.LogWarning("Refund {RefundId} not sent to Stripe: the kill-switch is engaged (the payment sweeper resumes it when it is off)", refundId);
                return;
            }
            await killSwitch.EnsureDisengagedAsync(tx, ct);

            // An earlier send may have reached Stripe although nothing of it was recorded: look before sending again.
            var sends = await c.ExecuteScalarAsync<int>("SELECT count(*) FROM refund_sends WHERE refund_id = @refundId", new { refundId }, tx);
            if (sends > 0)
            {
                var atStripe = await stripe.ListRefundsAsync(refund.PaymentIntentId, ct); // a failed look-up throws: nothing is sent
                var live = atStripe.Where(r => IsOurs(r, refund.Id) && LiveAtStripe.Contains(r.Status)).OrderBy(r => r.Created).ThenBy(r => r.Id, StringComparer.Ordinal).FirstOrDefault();
                if (live is not null)
                {
                    await RecordSubmittedAsync(tx, refund with { AttemptCount = Math.Max(refund.AttemptCount, sends) }, live, "found at Stripe (sent before; its answer was not recorded)", ct);
                    await tx.CommitAsync(ct);
                    if (live.Status == "succeeded") await convergence.ConvergeAsync(refund.PaymentIntentId, PaymentConvergence.Actor, ct: ct);
                    return;
                }
            }

            var attempt = sends + 1;
            var key = StripeGateway.RefundKey(refund.Id, attempt);
            await using (var mark = await db.OpenConnectionAsync(ct))
            await using (var markTx = await mark.BeginTransactionAsync(ct))
            {
                await mark.ExecuteAsync("""
                    INSERT INTO refund_sends (refund_id, attempt, sent_at, idempotency_key, worker, correlation_id) VALUES (@refundId, @attempt, @now, @key, @worker, @correlation)
                    """, new { refundId, attempt, now, key, worker = Worker, correlation = Correlation.Current }, markTx);
                await markTx.CommitAsync(ct);
            }
            // The refund row is updated once in this transaction, whatever the outcome: a second update of a row this
            // transaction already changed re-runs its foreign-key checks (FOR KEY SHARE on the payment), which would
            // deadlock with a refund request holding the payment and queueing for this row.
            var counted = refund with { AttemptCount = attempt };
            async Task CountAttemptAsync() => await c.ExecuteAsync("UPDATE refunds SET attempt_count = @attempt, next_attempt_at = @next, updated_at = @now WHERE id = @refundId",
                new { refundId, attempt, next = now + requests.Backoff(attempt), now }, tx);

            Refund re;
            try
            {
                re = await stripe.CreateRefundAsync(refund.Id, refund.EntryId, refund.PaymentIntentId, refund.Amount, key, ct);
            }
            catch (StripeException e) when (!StripeGateway.IsTransient(e))
            {
                if (e.StripeError?.Code == "charge_already_refunded")
                {
                    await CountAttemptAsync();
                    await tx.CommitAsync(ct);
                    log.LogWarning("Refund {RefundId}: Stripe says the charge is already refunded; converging {PaymentIntentId}", refundId, refund.PaymentIntentId);
                    await convergence.ConvergeAsync(refund.PaymentIntentId, PaymentConvergence.Actor, ct: ct);
                    return;
                }
                await MarkFailedAsync(tx, counted, $"{e.StripeError?.Code ?? ((int)e.HttpStatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}: {e.Message}", null, ct);
                await tx.CommitAsync(ct);
                return;
            }
            catch (Exception e) when (StripeGateway.IsTransient(e))
            {
                await CountAttemptAsync();
                await tx.CommitAsync(ct);
                log.LogWarning(e, "Refund {RefundId}: transient Stripe error on send {Attempt}; it is looked up at Stripe before any further send", refundId, attempt);
                throw;
            }
            PaymentMetrics.Refunds.WithLabels("stripe_created").Inc();
            CrashPoints.Hit(CrashAfterStripeRefundBeforeRecord);
            await RecordSubmittedAsync(tx, counted, re, $"Stripe refund {re.Id} created ({re.Status}) on send {attempt}", ct);
            await tx.CommitAsync(ct);
            if (re.Status is "succeeded" or "failed" or "canceled") settled = re;
        }
        if (settled is not null) await convergence.ConvergeAsync(paymentIntentId, PaymentConvergence.Actor, ct: ct);
    }

    static bool IsOurs(Refund r, string refundId) => r.Metadata is { } md && md.TryGetValue("refund_id", out var id) && id == refundId;

    async Task RecordSubmittedAsync(NpgsqlTransaction tx, RefundRow refund, Refund re, string why, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var changed = await tx.Connection!.ExecuteAsync("""
            UPDATE refunds SET status = 'SUBMITTED', stripe_refund_id = @re, failure_reason = NULL, attempt_count = @AttemptCount, next_attempt_at = @next, updated_at = @now
             WHERE id = @id AND status IN ('REQUESTED', 'FAILED')
            """, new { id = refund.Id, re = re.Id, refund.AttemptCount, next = now + requests.Backoff(Math.Max(refund.AttemptCount, 1)), now }, tx);
        if (changed == 1)
        {
            await audit.WriteAsync(tx, new AuditEntry(PaymentConvergence.Actor, "refund.submitted", "refund", refund.Id, why,
                Before: new { status = refund.Status, stripe_refund_id = refund.StripeRefundId }, After: new { status = RefundStatuses.Submitted, stripe_refund_id = re.Id }), ct);
            PaymentMetrics.Refunds.WithLabels("submitted").Inc();
        }
    }

    /// <summary>FAILED: the money stays in refunds owed; sent again after backoff while the budget lasts (and by an admin after that).</summary>
    async Task MarkFailedAsync(NpgsqlTransaction tx, RefundRow refund, string failure, string? stripeRefundId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var next = now + requests.Backoff(refund.AttemptCount);
        var changed = await tx.Connection!.ExecuteAsync("""
            UPDATE refunds SET status = 'FAILED', failure_reason = @failure, attempt_count = @AttemptCount, next_attempt_at = @next, updated_at = @now
             WHERE id = @id AND status IN ('REQUESTED', 'SUBMITTED')
            """, new { id = refund.Id, failure = PaymentStore.Truncate(failure, 2000), refund.AttemptCount, next, now }, tx);
        if (changed == 0) return;
        await audit.WriteAsync(tx, new AuditEntry(PaymentConvergence.Actor, "refund.failed", "refund", refund.Id, "Stripe refused the refund: " + failure,
            Before: new { status = refund.Status }, After: new { status = RefundStatuses.Failed, failure_reason = failure, attempt_count = refund.AttemptCount, next_attempt_at = next }), ct);
        PaymentMetrics.Refunds.WithLabels("failed").Inc();
        log.LogError("Refund {RefundId} of entry {EntryId} FAILED ({Failure}); the money stays in refunds owed; send {Attempt} of {MaxAttempts}, next at {Next:O}",
            refund.Id, refund.EntryId, failure, refund.AttemptCount, refund.MaxAttempts, next);
    }

    void Enqueue(string refundId) => jobs.Enqueue<RefundExecutionJob>(j => j.RunAsync(refundId, CancellationToken.None));
}

/// <summary>Hangfire job: executes one refund at Stripe. Transient errors are retried by Hangfire with backoff, at most 8 times.</summary>
public sealed class RefundExecutionJob(RefundService refunds, ILogger<RefundExecutionJob> log)
{
    [AutomaticRetry(Attempts = 8)]
    public Task RunAsync(string refundId, CancellationToken ct) => refunds.ExecuteAsync(refundId, ct);

    /// <summary>Most refunds of one batch executed at the same time (each holds a database connection and waits on Stripe).</summary>
    public const int Concurrency = 4;

    /// <summary>
    /// Executes a batch of refunds (a cancelled contest's), <see cref="Concurrency"/> at a time: each is its own
    /// transaction on its own rows, so they wait on Stripe side by side instead of one after another. A refund whose
    /// attempt throws does not stop the others; the job then fails naming them, and Hangfire's retry runs the batch again,
    /// where every refund already sent returns at once (<see cref="RefundService.ExecuteAsync"/> never sends a refund
    /// twice). Those it cannot finish stay due for the payment sweeper.
    /// </summary>
    [AutomaticRetry(Attempts = 8)]
    public async Task RunManyAsync(string[] refundIds, CancellationToken ct)
    {
        if (refundIds.Length > RefundService.CancellationBatchSize)
            throw new ArgumentOutOfRangeException(nameof(refundIds), refundIds.Length, $"a refund batch holds at most {RefundService.CancellationBatchSize} refunds");
        var failed = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(refundIds, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct }, async (id, token) =>
        {
            try { await refunds.ExecuteAsync(id, token); }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                log.LogWarning(e, "Refund {RefundId} of a batch of {Count} not executed this time; the batch is retried", id, refundIds.Length);
                failed.Add(id);
            }
        });
        if (!failed.IsEmpty)
            throw new RefundBatchIncompleteException($"{failed.Count} of {refundIds.Length} refunds not executed this time: {string.Join(", ", failed.Order(StringComparer.Ordinal).Take(10))}{(failed.Count > 10 ? ", ..." : "")}");
    }
}

/// <summary>Some refunds of a batch threw (transient Stripe errors, most often); Hangfire retries the batch.</summary>
public sealed class RefundBatchIncompleteException(string message) : Exception(message);
