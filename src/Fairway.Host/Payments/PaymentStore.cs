using Dapper;
using Fairway.Host.Platform.Audit;
using Npgsql;

namespace Fairway.Host.Payments;

public static class PaymentStatuses
{
    public const string Pending = "PENDING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";
    public const string Canceled = "CANCELED";
}

/// <summary>
/// REQUESTED (decided, not yet known to Stripe) → SUBMITTED (Stripe has a pending refund) → SUCCEEDED; FAILED (Stripe
/// refused or failed it: the money is owed and the refund is retried with backoff, or by an admin); CANCELED (made moot,
/// e.g. a lost dispute already took the money back).
/// </summary>
public static class RefundStatuses
{
    public const string Requested = "REQUESTED";
    public const string Submitted = "SUBMITTED";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";
    public const string Canceled = "CANCELED";
}

/// <summary>Refunds owed in one currency: how many, and how much in minor units.</summary>
public sealed record RefundsOwed(string Currency, long Count, long Amount)
{
    public RefundsOwed() : this("", 0, 0) { }
}

/// <summary>Where a refund's money comes from when it is decided: the contest's escrow, or the house (platform revenue).</summary>
public static class RefundFunding
{
    public const string Escrow = "escrow";
    public const string House = "house";
}

public static class EntryStatuses
{
    public const string PendingPayment = "PENDING_PAYMENT";
    public const string Active = "ACTIVE";
    public const string Void = "VOID";
    public const string Refunded = "REFUNDED";
    public const string PaymentFailed = "PAYMENT_FAILED";
}

/// <summary>
/// Ledger kinds and idempotency keys written by the payments capability. Reconciliation relies on them:
/// an escrow moves only by these kinds and by <see cref="SettlementRelease"/> (written by settlement).
/// </summary>
public static class PaymentLedger
{
    public const string EntryFeeCaptured = "entry_fee.captured";
    /// <summary>An entry refund decided: escrow → refunds owed.</summary>
    public const string RefundDecided = "refund.decided";
    /// <summary>A goodwill refund decided, funded by the house: revenue → refunds owed.</summary>
    public const string RefundGoodwillDecided = "refund.goodwill_decided";
    /// <summary>Stripe settled a refund: refunds owed → clearing.</summary>
    public const string RefundSettled = "refund.settled";
    public const string DisputeLost = "dispute.lost";
    /// <summary>The kind settlement must use for escrow → payable/revenue releases (reconciliation subtracts these).</summary>
    public const string SettlementRelease = "settlement_release";

    public static string PaymentKey(string paymentIntentId) => $"payment:{paymentIntentId}:succeeded";
    public static string RefundKey(string stripeRefundId) => $"refund:{stripeRefundId}:succeeded";
    public static string RefundDecidedKey(string refundId) => $"refund:{refundId}:decided";
    /// <summary>A dispute lost while its entry's refund was still owed: refunds owed → clearing.</summary>
    public static string DisputeFromRefundsKey(string disputeId) => $"dispute:{disputeId}:lost";
    public static string DisputeKey(string disputeId) => $"dispute:{disputeId}:lost";
}

public sealed record EntryRow(string Id, string ContestId, string UserId, string Golfers, string Status, long? EntryFee, string? Currency,
    string? ClientIdempotencyKey, string? RequestHash, DateTime CreatedAt, DateTime UpdatedAt)
{
    public EntryRow() : this("", "", "", "[]", "", null, null, null, null, default, default) { }
}

public sealed record PaymentRow(string EntryId, string PaymentIntentId, long Amount, string Currency, string Status, string? LastError, DateTime CreatedAt, DateTime UpdatedAt)
{
    public PaymentRow() : this("", "", 0, "", "", null, default, default) { }
}

/// <summary>A payment still pending long after creation (<see cref="PaymentStore.OverduePaymentSql"/>), with what the sweeper last read.</summary>
public sealed record OverduePaymentRow(string EntryId, string ContestId, string PaymentIntentId, long Amount, string Currency, DateTime CreatedAt,
    string? StripeStatus, int SweepCount, DateTime? NextSweepAt)
{
    public OverduePaymentRow() : this("", "", "", 0, "", default, null, 0, null) { }
}

public sealed record PaymentSweepRow(string? StripeStatus, int SweepCount, DateTime? NextSweepAt, bool Overdue)
{
    public PaymentSweepRow() : this(null, 0, null, false) { }
}

public sealed record RefundRow(string Id, string EntryId, string PaymentIntentId, long Amount, string Currency, string Reason, string Status,
    string? StripeRefundId, string? FailureReason, string RequestedBy, DateTime RequestedAt, DateTime UpdatedAt, string FundedFrom, int AttemptCount,
    int MaxAttempts, DateTime? NextAttemptAt)
{
    public RefundRow() : this("", "", "", 0, "", "", "", null, null, "", default, default, RefundFunding.Escrow, 0, 1, null) { }
}

/// <summary>Explicit SQL shared by the payment services. Every write takes the caller's transaction.</summary>
public static class PaymentStore
{
    const string EntryColumns = "id AS Id, contest_id AS ContestId, user_id AS UserId, golfers::text AS Golfers, status AS Status, entry_fee AS EntryFee, " +
        "trim(currency) AS Currency, client_idempotency_key AS ClientIdempotencyKey, request_hash AS RequestHash, created_at AS CreatedAt, updated_at AS UpdatedAt";
    const string PaymentColumns = "entry_id AS EntryId, payment_intent_id AS PaymentIntentId, amount AS Amount, trim(currency) AS Currency, status AS Status, " +
        "last_error AS LastError, created_at AS CreatedAt, updated_at AS UpdatedAt";
    public const string RefundColumns = "id AS Id, entry_id AS EntryId, payment_intent_id AS PaymentIntentId, amount AS Amount, trim(currency) AS Currency, reason AS Reason, " +
        "status AS Status, stripe_refund_id AS StripeRefundId, failure_reason AS FailureReason, requested_by AS RequestedBy, requested_at AS RequestedAt, updated_at AS UpdatedAt, " +
        "funded_from AS FundedFrom, attempt_count AS AttemptCount, max_attempts AS MaxAttempts, next_attempt_at AS NextAttemptAt";

    public static Task<EntryRow?> EntryAsync(NpgsqlConnection c, string id, NpgsqlTransaction? tx = null, bool forUpdate = false) =>
        c.QuerySingleOrDefaultAsync<EntryRow>($"SELECT {EntryColumns} FROM entries WHERE id = @id" + (forUpdate ? " FOR UPDATE" : ""), new { id }, tx);

    public static Task<EntryRow?> EntryByClientKeyAsync(NpgsqlConnection c, string userId, string key, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<EntryRow>($"SELECT {EntryColumns} FROM entries WHERE user_id = @userId AND client_idempotency_key = @key", new { userId, key }, tx);

    public static async Task<IReadOnlyList<EntryRow>> EntriesOfUserAsync(NpgsqlConnection c, string userId, string? after, int limit) =>
        (await c.QueryAsync<EntryRow>($"SELECT {EntryColumns} FROM entries WHERE user_id = @userId AND (@after::text IS NULL OR id > @after) ORDER BY id LIMIT @limit",
            new { userId, after, limit })).ToList();

    public static Task<PaymentRow?> PaymentOfEntryAsync(NpgsqlConnection c, string entryId, NpgsqlTransaction? tx = null, bool forUpdate = false) =>
        c.QuerySingleOrDefaultAsync<PaymentRow>($"SELECT {PaymentColumns} FROM payments WHERE entry_id = @entryId" + (forUpdate ? " FOR UPDATE" : ""), new { entryId }, tx);

    /// <summary>Entries locked FOR UPDATE in id order (many at once, as a batch takes them).</summary>
    public static async Task<IReadOnlyList<EntryRow>> EntriesForUpdateAsync(NpgsqlTransaction tx, string[] entryIds) =>
        entryIds.Length == 0 ? [] : (await tx.Connection!.QueryAsync<EntryRow>($"SELECT {EntryColumns} FROM entries WHERE id = ANY(@entryIds) ORDER BY id FOR UPDATE", new { entryIds }, tx)).ToList();

    /// <summary>Payments of the entries or with the intents, locked FOR UPDATE in entry id order.</summary>
    public static async Task<IReadOnlyList<PaymentRow>> PaymentsForUpdateAsync(NpgsqlTransaction tx, string[] entryIds, string[] paymentIntentIds) =>
        (await tx.Connection!.QueryAsync<PaymentRow>($"SELECT {PaymentColumns} FROM payments WHERE entry_id = ANY(@entryIds) OR payment_intent_id = ANY(@paymentIntentIds) ORDER BY entry_id FOR UPDATE",
            new { entryIds, paymentIntentIds }, tx)).ToList();

    public static Task<PaymentRow?> PaymentByIntentAsync(NpgsqlConnection c, string paymentIntentId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<PaymentRow>($"SELECT {PaymentColumns} FROM payments WHERE payment_intent_id = @paymentIntentId", new { paymentIntentId }, tx);

    public static async Task<IReadOnlyDictionary<string, PaymentRow>> PaymentsOfEntriesAsync(NpgsqlConnection c, IReadOnlyCollection<string> entryIds) =>
        entryIds.Count == 0 ? new Dictionary<string, PaymentRow>()
            : (await c.QueryAsync<PaymentRow>($"SELECT {PaymentColumns} FROM payments WHERE entry_id = ANY(@ids)", new { ids = entryIds.ToArray() })).ToDictionary(p => p.EntryId);

    public static Task<RefundRow?> RefundOfEntryAsync(NpgsqlConnection c, string entryId, NpgsqlTransaction? tx = null, bool forUpdate = false) =>
        c.QuerySingleOrDefaultAsync<RefundRow>($"SELECT {RefundColumns} FROM refunds WHERE entry_id = @entryId" + (forUpdate ? " FOR UPDATE" : ""), new { entryId }, tx);

    public static Task<RefundRow?> RefundAsync(NpgsqlConnection c, string id, NpgsqlTransaction? tx = null, bool forUpdate = false) =>
        c.QuerySingleOrDefaultAsync<RefundRow>($"SELECT {RefundColumns} FROM refunds WHERE id = @id" + (forUpdate ? " FOR UPDATE" : ""), new { id }, tx);

    /// <summary>Refunds of one status (or all) and of one contest (or all), the most recently changed first (then id), at most <paramref name="limit"/>.</summary>
    public static async Task<IReadOnlyList<RefundRow>> RefundsAsync(NpgsqlConnection c, string? status, string? contestId, int limit) =>
        (await c.QueryAsync<RefundRow>($"""
            SELECT {RefundColumns} FROM refunds
             WHERE (@status::text IS NULL OR status = @status)
               AND (@contestId::text IS NULL OR entry_id IN (SELECT id FROM entries WHERE contest_id = @contestId))
             ORDER BY updated_at DESC, id LIMIT @limit
            """, new { status, contestId, limit })).ToList();

    /// <summary>Refunds owed: decided, FAILED at Stripe and not settled since (waiting for a retry), per currency (ordered by currency).</summary>
    public static async Task<IReadOnlyList<RefundsOwed>> RefundsOwedAsync(NpgsqlConnection c, CancellationToken ct) =>
        (await c.QueryAsync<RefundsOwed>(new CommandDefinition(
            "SELECT trim(currency) AS Currency, count(*) AS Count, coalesce(sum(amount), 0)::bigint AS Amount FROM refunds WHERE status = 'FAILED' GROUP BY 1 ORDER BY 1",
            cancellationToken: ct))).ToList();

    /// <summary>
    /// A payment is overdue when it is still PENDING twice the sweeper's age after it was created, unless the sweeper last
    /// read it at Stripe waiting for the player (an unfinished checkout) and its next look is not late by a sweeper age:
    /// the sweeper has then not resolved a payment it should have. What <c>payments_pending_overdue</c> counts (alert
    /// PaymentsPendingOverdue) and <see cref="OverduePaymentsAsync"/> lists; payments aliased <c>p</c>, parameters from
    /// <see cref="OverdueCutoffs"/>.
    /// </summary>
    public const string OverduePaymentSql = "p.status = 'PENDING' AND p.created_at < @pendingCutoff" +
        " AND NOT COALESCE(p.stripe_status = ANY(@awaitingPlayer) AND p.next_sweep_at > @sweepLateCutoff, false)";

    public sealed record OverdueCutoffs(DateTimeOffset PendingCutoff, string[] AwaitingPlayer, DateTimeOffset SweepLateCutoff)
    {
        public static OverdueCutoffs At(DateTimeOffset now, TimeSpan sweeperPendingAge) =>
            new(now - 2 * sweeperPendingAge, PaymentSweeper.AwaitingPlayerStatuses, now - sweeperPendingAge);
    }

    /// <summary>The overdue payments (<see cref="OverduePaymentSql"/>), oldest first (created_at, then entry id), at most <paramref name="limit"/>, and how many there are.</summary>
    public static async Task<(long Count, IReadOnlyList<OverduePaymentRow> Payments)> OverduePaymentsAsync(NpgsqlConnection c, OverdueCutoffs at, int limit, CancellationToken ct)
    {
        var args = new { pendingCutoff = at.PendingCutoff, awaitingPlayer = at.AwaitingPlayer, sweepLateCutoff = at.SweepLateCutoff, limit };
        var count = await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM payments p WHERE {OverduePaymentSql}", args, cancellationToken: ct));
        var rows = await c.QueryAsync<OverduePaymentRow>(new CommandDefinition($"""
            SELECT p.entry_id AS EntryId, e.contest_id AS ContestId, p.payment_intent_id AS PaymentIntentId, p.amount AS Amount, trim(p.currency) AS Currency,
                   p.created_at AS CreatedAt, p.stripe_status AS StripeStatus, p.sweep_count AS SweepCount, p.next_sweep_at AS NextSweepAt
              FROM payments p JOIN entries e ON e.id = p.entry_id
             WHERE {OverduePaymentSql}
             ORDER BY p.created_at, p.entry_id LIMIT @limit
            """, args, cancellationToken: ct));
        return (count, rows.ToList());
    }

    /// <summary>The sweeper's bookkeeping of an entry's payment and whether it is overdue now (<see cref="OverduePaymentSql"/>); null without a payment.</summary>
    public static Task<PaymentSweepRow?> SweepOfEntryAsync(NpgsqlConnection c, string entryId, OverdueCutoffs at, CancellationToken ct) =>
        c.QuerySingleOrDefaultAsync<PaymentSweepRow?>(new CommandDefinition($"""
            SELECT p.stripe_status AS StripeStatus, p.sweep_count AS SweepCount, p.next_sweep_at AS NextSweepAt, ({OverduePaymentSql}) AS Overdue
              FROM payments p WHERE p.entry_id = @entryId
            """, new { entryId, pendingCutoff = at.PendingCutoff, awaitingPlayer = at.AwaitingPlayer, sweepLateCutoff = at.SweepLateCutoff }, cancellationToken: ct));

    /// <summary>The contest's state, read FOR SHARE: a lifecycle transition (FOR UPDATE) waits for this transaction, and vice versa.</summary>
    public static Task<string?> ContestStateForShareAsync(NpgsqlTransaction tx, string contestId) =>
        tx.Connection!.QuerySingleOrDefaultAsync<string?>("SELECT state FROM contests WHERE id = @contestId FOR SHARE", new { contestId }, tx);

    public static Task SetEntryStatusAsync(NpgsqlTransaction tx, string entryId, string status, DateTimeOffset at) =>
        tx.Connection!.ExecuteAsync("UPDATE entries SET status = @status, updated_at = @at WHERE id = @entryId", new { entryId, status, at }, tx);

    public static Task SetPaymentStatusAsync(NpgsqlTransaction tx, string entryId, string status, string? lastError, DateTimeOffset at) =>
        tx.Connection!.ExecuteAsync("UPDATE payments SET status = @status, last_error = @lastError, updated_at = @at WHERE entry_id = @entryId",
            new { entryId, status, lastError, at }, tx);

    /// <summary>
    /// Records the payment intent of an entry (once; a second call is a no-op) with its audit row (<c>payment.recorded</c>)
    /// in the same transaction. Returns the row now stored.
    /// </summary>
    public static async Task<PaymentRow> InsertPaymentAsync(NpgsqlTransaction tx, AuditWriter audit, string actor, string entryId, string paymentIntentId, long amount, string currency,
        DateTimeOffset at, CancellationToken ct = default)
    {
        var inserted = await tx.Connection!.ExecuteAsync("""
            INSERT INTO payments (entry_id, payment_intent_id, amount, currency, status, last_error, created_at, updated_at)
            VALUES (@entryId, @paymentIntentId, @amount, @currency, 'PENDING', NULL, @at, @at)
            ON CONFLICT DO NOTHING
            """, new { entryId, paymentIntentId, amount, currency, at }, tx) == 1;
        if (inserted)
            await audit.WriteAsync(tx, new AuditEntry(actor, "payment.recorded", "payment", paymentIntentId, $"payment intent of entry {entryId} recorded",
                After: new { status = PaymentStatuses.Pending, entry_id = entryId, amount, currency }), ct);
        return (await PaymentOfEntryAsync(tx.Connection!, entryId, tx))
            ?? throw new InvalidOperationException($"payment intent {paymentIntentId} is already recorded for another entry than {entryId}");
    }

    /// <summary>Inserts the one refund of an entry in REQUESTED, due now (no-op when the entry already has its refund). True when created now.</summary>
    public static async Task<bool> InsertRefundRequestAsync(NpgsqlTransaction tx, PaymentRow payment, long amount, string fundedFrom, string reason, string actor,
        int maxAttempts, DateTimeOffset at) =>
        await tx.Connection!.ExecuteAsync("""
            INSERT INTO refunds (id, entry_id, payment_intent_id, amount, currency, reason, status, stripe_refund_id, failure_reason, requested_by, requested_at, updated_at,
                                 funded_from, attempt_count, max_attempts, next_attempt_at)
            VALUES ('rf_' || @EntryId, @EntryId, @PaymentIntentId, @amount, @Currency, @reason, 'REQUESTED', NULL, NULL, @actor, @at, @at, @fundedFrom, 0, @maxAttempts, @at)
            ON CONFLICT DO NOTHING
            """, new { payment.EntryId, payment.PaymentIntentId, amount, payment.Currency, reason = Truncate(reason, 500), actor, at, fundedFrom, maxAttempts }, tx) == 1;

    public static string RefundIdOf(string entryId) => "rf_" + entryId;

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    public static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));
}
