using System.Data;
using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Telemetry;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>One broken invariant: which check, which subject (entry id, account id), and what was found.</summary>
public sealed record ReconciliationViolation(string Check, string SubjectId, string Detail);

public sealed record ReconciliationRunResult(
    long Id, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string TriggeredBy, IReadOnlyList<string> Checks,
    int ViolationCount, IReadOnlyList<ReconciliationViolation> Violations, bool KillSwitchEngagedByThisRun);

/// <summary>
/// Checks the ledger's invariants with explicit SQL, all in one read-only snapshot, and records every
/// run in <c>reconciliation_runs</c>. On any violation: <c>ledger_invariant_violation_total{check}</c> is
/// incremented per violation, each is logged at Error level, and the kill-switch is engaged by
/// <c>reconciler</c> (when it is not already). It never repairs anything: drift is for a human to
/// explain (seed 002: do not auto-fix when the drift source is unknown).
///
/// To add a check: write a method with the <see cref="Check"/> signature (a query returning one row per
/// violation, bounded by <see cref="MaxViolationsPerCheck"/>) and add it to <see cref="Checks"/>.
/// </summary>
public sealed class ReconciliationService(NpgsqlDataSource db, KillSwitch.KillSwitch killSwitch, TimeProvider clock, ILogger<ReconciliationService> log)
{
    public const string Actor = "reconciler";
    public const int MaxViolationsPerCheck = 1000;
    /// <summary>How many checks run at once, each on its own connection reading the same snapshot.</summary>
    public const int Parallelism = 3;

    static readonly Counter Violations = Metrics.CreateCounter("ledger_invariant_violation_total",
        "Ledger invariant violations found by reconciliation runs of this process, by check.",
        new CounterConfiguration { LabelNames = ["check"] });

    public delegate Task<IReadOnlyList<ReconciliationViolation>> Check(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct);

    /// <summary>The checks, run in this order. Plain methods; add new ones here.</summary>
    IReadOnlyList<(string Name, Check Run)> Checks =>
    [
        ("entry_balanced", EntriesBalanceAsync),
        ("account_balance_matches_postings", BalancesMatchPostingsAsync),
        ("escrow_not_negative", EscrowNotNegativeAsync),
        ("posting_currency_matches_entry", PostingCurrencyMatchesEntryAsync),
        // Payments (money in): the ledger against the business records that caused it.
        ("escrow_matches_payments", EscrowMatchesPaymentsAsync),
        ("payment_has_ledger_entry", PaymentHasLedgerEntryAsync),
        ("refund_has_ledger_entry", RefundHasLedgerEntryAsync),
        ("refunds_owed_matches_open_refunds", RefundsOwedMatchesOpenRefundsAsync),
        ("ledger_entry_has_cause", LedgerEntryHasCauseAsync),
        // Money out: settlement and payouts.
        ("payout_completed_has_stripe_id_and_ledger_entry", PayoutCompletedHasStripeIdAndLedgerEntryAsync),
        ("winnings_payable_matches_settlements_and_payouts", WinningsPayableMatchesAsync),
        // Corrections (Ledger/Corrections): each one exactly its own entry.
        (CorrectionChecks.Name, CorrectionChecks.CorrectionsMatchLedgerAsync),
    ];

    public IReadOnlyList<string> CheckNames => Checks.Select(c => c.Name).ToList();

    public async Task<ReconciliationRunResult> RunAsync(string triggeredBy = Actor, CancellationToken ct = default)
    {
        var startedAt = clock.GetUtcNow();
        var checks = Checks;
        var results = new IReadOnlyList<ReconciliationViolation>[checks.Count];
        // One consistent snapshot for every check, so a posting committed mid-run cannot look like drift: the first
        // connection exports its snapshot and the others import it (what pg_dump --jobs does), so the checks run
        // Parallelism at a time and still read one instant of the database.
        await using (var first = await db.OpenConnectionAsync(ct))
        await using (var firstTx = await first.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct))
        {
            await first.ExecuteAsync(new CommandDefinition("SET TRANSACTION READ ONLY", transaction: firstTx, cancellationToken: ct));
            var snapshot = await first.ExecuteScalarAsync<string>(new CommandDefinition("SELECT pg_export_snapshot()", transaction: firstTx, cancellationToken: ct));
            var next = -1;
            async Task RunChecksAsync(NpgsqlConnection c, NpgsqlTransaction tx)
            {
                for (int i; (i = Interlocked.Increment(ref next)) < checks.Count;)
                    results[i] = await checks[i].Run(c, tx, ct);
            }
            async Task OnSnapshotAsync()
            {
                await using var c = await db.OpenConnectionAsync(ct);
                await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
                await c.ExecuteAsync(new CommandDefinition($"SET TRANSACTION READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'", transaction: tx, cancellationToken: ct));
                await RunChecksAsync(c, tx);
                await tx.CommitAsync(ct);
            }
            await Task.WhenAll([RunChecksAsync(first, firstTx), .. Enumerable.Range(1, Parallelism - 1).Select(_ => OnSnapshotAsync())]);
            await firstTx.CommitAsync(ct);
        }
        var found = new List<ReconciliationViolation>();
        for (var i = 0; i < checks.Count; i++)
        {
            found.AddRange(results[i]);
            if (results[i].Count >= MaxViolationsPerCheck)
                log.LogError("Reconciliation check {Check} hit its limit of {Limit} reported violations; there may be more", checks[i].Name, MaxViolationsPerCheck);
        }

        foreach (var v in found)
        {
            Violations.WithLabels(v.Check).Inc();
            log.LogError("Ledger invariant violation: check {Check}, subject {SubjectId}: {Detail}", v.Check, v.SubjectId, v.Detail);
        }

        var engagedNow = false;
        if (found.Count > 0)
        {
            var names = found.Select(v => v.Check).Distinct().ToList();
            var reason = $"reconciliation found {found.Count} ledger invariant violation(s): {string.Join(", ", names)}";
            var change = await killSwitch.SetAsync(true, Actor, reason, ct);
            engagedNow = change.Changed;
            log.LogError("Reconciliation found {ViolationCount} violation(s) in checks {Checks}; kill-switch {KillSwitchAction}",
                found.Count, names, change.Changed ? "ENGAGED by the reconciler" : "was already engaged");
        }

        var finishedAt = clock.GetUtcNow();
        await using var w = await db.OpenConnectionAsync(ct);
        var id = await w.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO reconciliation_runs (started_at, finished_at, triggered_by, checks, violation_count, violations, correlation_id)
            VALUES (@startedAt, @finishedAt, @triggeredBy, @checks, @count, @violations::jsonb, @correlation)
            RETURNING id
            """, new
        {
            startedAt, finishedAt, triggeredBy,
            checks = checks.Select(c => c.Name).ToArray(),
            count = found.Count,
            violations = JsonSerializer.Serialize(found.Select(v => new { check = v.Check, subject_id = v.SubjectId, detail = v.Detail })),
            correlation = Correlation.Current,
        }, cancellationToken: ct));
        log.LogInformation("Reconciliation run {RunId} finished: {ViolationCount} violation(s) across {CheckCount} checks", id, found.Count, checks.Count);
        return new ReconciliationRunResult(id, startedAt, finishedAt, triggeredBy, checks.Select(c => c.Name).ToList(), found.Count, found, engagedNow);
    }

    /// <summary>The most recent runs, newest first.</summary>
    public async Task<IReadOnlyList<ReconciliationRunResult>> RecentRunsAsync(int limit, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<(long Id, DateTime StartedAt, DateTime FinishedAt, string TriggeredBy, string[] Checks, int Count, string Violations)>(
            new CommandDefinition("""
                SELECT id, started_at, finished_at, triggered_by, checks, violation_count, violations::text
                  FROM reconciliation_runs ORDER BY id DESC LIMIT @limit
                """, new { limit = Math.Clamp(limit, 1, 200) }, cancellationToken: ct));
        return rows.Select(r => new ReconciliationRunResult(r.Id, Utc(r.StartedAt), Utc(r.FinishedAt), r.TriggeredBy, r.Checks, r.Count,
            JsonSerializer.Deserialize<List<StoredViolation>>(r.Violations)!.Select(v => new ReconciliationViolation(v.check, v.subject_id, v.detail)).ToList(),
            false)).ToList();
    }

    // ---- checks -------------------------------------------------------------------------------

    /// <summary>Every journal entry's postings sum to exactly zero, and it has at least two postings.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> EntriesBalanceAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "entry_balanced", """
            SELECT e.id::text, format('entry %s (%s) has %s posting(s) summing to %s', e.id, e.idempotency_key, count(p.id), coalesce(sum(p.amount), 0))
              FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
             GROUP BY e.id
            HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.id) < 2
             ORDER BY e.id
             LIMIT @limit
            """, ct);

    /// <summary>Every account's stored balance equals the sum of its postings.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> BalancesMatchPostingsAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "account_balance_matches_postings", """
            SELECT a.id, format('stored balance %s, sum of postings %s (drift %s)', a.balance, s.total, a.balance - s.total)
              FROM ledger_accounts a
              CROSS JOIN LATERAL (SELECT coalesce(sum(p.amount), 0) AS total FROM ledger_postings p WHERE p.account_id = a.id) s
             WHERE a.balance <> s.total
             ORDER BY a.id
             LIMIT @limit
            """, ct);

    /// <summary>No contest escrow is below zero, by its stored balance or by its postings.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> EscrowNotNegativeAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "escrow_not_negative", """
            SELECT a.id, format('escrow of contest %s: stored balance %s, sum of postings %s', a.contest_id, a.balance, s.total)
              FROM ledger_accounts a
              CROSS JOIN LATERAL (SELECT coalesce(sum(p.amount), 0) AS total FROM ledger_postings p WHERE p.account_id = a.id) s
             WHERE a.kind = 'contest_escrow' AND (a.balance < 0 OR s.total < 0)
             ORDER BY a.id
             LIMIT @limit
            """, ct);

    /// <summary>Every posting's account is in its entry's currency.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> PostingCurrencyMatchesEntryAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "posting_currency_matches_entry", """
            SELECT p.id::text, format('posting %s of entry %s: account %s is in %s, the entry in %s', p.id, e.id, a.id, a.currency, e.currency)
              FROM ledger_postings p
              JOIN ledger_entries e ON e.id = p.entry_id
              JOIN ledger_accounts a ON a.id = p.account_id
             WHERE a.currency <> e.currency
             ORDER BY p.id
             LIMIT @limit
            """, ct);

    /// <summary>
    /// Each contest's escrow (sum of its postings) equals SUCCEEDED payments − refunds decided from escrow (whatever became of them
    /// at Stripe: the money moved to refunds owed when they were decided) − disputes lost while the fee was in escrow − settlement
    /// releases (postings of entries of kind <c>settlement_release</c>). Any other movement of an escrow is a violation. Over the
    /// contests of the contests table.
    /// </summary>
    static Task<IReadOnlyList<ReconciliationViolation>> EscrowMatchesPaymentsAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "escrow_matches_payments", """
            WITH paid AS (SELECT e.contest_id, sum(p.amount) AS v FROM payments p JOIN entries e ON e.id = p.entry_id WHERE p.status = 'SUCCEEDED' GROUP BY e.contest_id),
                 refunded AS (SELECT e.contest_id, sum(r.amount) AS v FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE r.funded_from = 'escrow' GROUP BY e.contest_id),
                 lost AS (SELECT e.contest_id, sum(LEAST(d.amount, p.amount)) AS v FROM disputes d JOIN entries e ON e.id = d.entry_id JOIN payments p ON p.entry_id = d.entry_id
                           WHERE d.loss_ledger = 'posted' GROUP BY e.contest_id),
                 released AS (SELECT a.contest_id, -sum(lp.amount) AS v FROM ledger_postings lp JOIN ledger_entries le ON le.id = lp.entry_id JOIN ledger_accounts a ON a.id = lp.account_id
                               WHERE a.kind = 'contest_escrow' AND le.kind = 'settlement_release' GROUP BY a.contest_id),
                 held AS (SELECT a.contest_id, sum(lp.amount) AS v FROM ledger_accounts a JOIN ledger_postings lp ON lp.account_id = a.id WHERE a.kind = 'contest_escrow' GROUP BY a.contest_id)
            SELECT k.id, format('escrow of contest %s holds %s by its postings; payments %s − refunds decided %s − disputes lost %s − releases %s = %s',
                   k.id, coalesce(held.v, 0), coalesce(paid.v, 0), coalesce(refunded.v, 0), coalesce(lost.v, 0), coalesce(released.v, 0),
                   coalesce(paid.v, 0) - coalesce(refunded.v, 0) - coalesce(lost.v, 0) - coalesce(released.v, 0))
              FROM contests k
              LEFT JOIN paid ON paid.contest_id = k.id LEFT JOIN refunded ON refunded.contest_id = k.id LEFT JOIN lost ON lost.contest_id = k.id
              LEFT JOIN released ON released.contest_id = k.id LEFT JOIN held ON held.contest_id = k.id
             WHERE coalesce(held.v, 0) <> coalesce(paid.v, 0) - coalesce(refunded.v, 0) - coalesce(lost.v, 0) - coalesce(released.v, 0)
             ORDER BY k.id
             LIMIT @limit
            """, ct);

    /// <summary>Every SUCCEEDED payment has its entry <c>payment:&lt;pi&gt;:succeeded</c>, moving exactly its amount into its contest's escrow.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> PaymentHasLedgerEntryAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "payment_has_ledger_entry", """
            SELECT p.payment_intent_id, format('payment %s of entry %s (%s %s) is SUCCEEDED; its ledger entry %s', p.payment_intent_id, p.entry_id, p.amount, trim(p.currency),
                   CASE WHEN le.id IS NULL THEN 'is missing' ELSE format('moves %s into escrow:%s', coalesce(lp.amount, 0), e.contest_id) END)
              FROM payments p JOIN entries e ON e.id = p.entry_id
              LEFT JOIN ledger_entries le ON le.idempotency_key = 'payment:' || p.payment_intent_id || ':succeeded'
              LEFT JOIN ledger_postings lp ON lp.entry_id = le.id AND lp.account_id = 'escrow:' || e.contest_id
             WHERE p.status = 'SUCCEEDED' AND (le.id IS NULL OR lp.amount IS DISTINCT FROM p.amount)
             ORDER BY p.payment_intent_id
             LIMIT @limit
            """, ct);

    /// <summary>
    /// Every refund has its decision entry <c>refund:&lt;id&gt;:decided</c>, moving exactly its amount from its contest's escrow
    /// (or from revenue, for a goodwill refund) into refunds owed; every SUCCEEDED refund has its entry
    /// <c>refund:&lt;re&gt;:succeeded</c>, moving exactly its amount out of refunds owed.
    /// </summary>
    static Task<IReadOnlyList<ReconciliationViolation>> RefundHasLedgerEntryAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "refund_has_ledger_entry", """
            SELECT r.id, format('refund %s (%s, %s %s, funded from %s) of entry %s: decision entry %s; settlement entry %s', r.id, r.status, r.amount, trim(r.currency), r.funded_from,
                   r.entry_id, CASE WHEN d.id IS NULL THEN 'MISSING' ELSE format('moves %s out of %s', coalesce(-dp.amount, 0), src) END,
                   CASE WHEN r.status <> 'SUCCEEDED' THEN 'not due' WHEN s.id IS NULL THEN 'MISSING' ELSE format('moves %s out of refunds owed', coalesce(-sp.amount, 0)) END)
              FROM refunds r JOIN entries e ON e.id = r.entry_id
              CROSS JOIN LATERAL (SELECT CASE r.funded_from WHEN 'house' THEN 'revenue:' || trim(r.currency) ELSE 'escrow:' || e.contest_id END AS src) a
              LEFT JOIN ledger_entries d ON d.idempotency_key = 'refund:' || r.id || ':decided'
              LEFT JOIN ledger_postings dp ON dp.entry_id = d.id AND dp.account_id = a.src
              LEFT JOIN ledger_entries s ON r.status = 'SUCCEEDED' AND s.idempotency_key = 'refund:' || r.stripe_refund_id || ':succeeded'
              LEFT JOIN ledger_postings sp ON sp.entry_id = s.id AND sp.account_id = 'refunds:' || trim(r.currency)
             WHERE d.id IS NULL OR dp.amount IS DISTINCT FROM -r.amount
                OR (r.status = 'SUCCEEDED' AND (s.id IS NULL OR sp.amount IS DISTINCT FROM -r.amount))
             ORDER BY r.id
             LIMIT @limit
            """, ct);

    /// <summary>
    /// Each refunds-owed account holds exactly the refunds decided and not yet paid (REQUESTED, SUBMITTED, FAILED): nothing stays
    /// there once Stripe paid a refund or a lost dispute made it moot.
    /// </summary>
    static Task<IReadOnlyList<ReconciliationViolation>> RefundsOwedMatchesOpenRefundsAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "refunds_owed_matches_open_refunds", """
            WITH open AS (SELECT 'refunds:' || trim(currency) AS account_id, sum(amount) AS v FROM refunds WHERE status IN ('REQUESTED', 'SUBMITTED', 'FAILED') GROUP BY 1),
                 held AS (SELECT a.id AS account_id, sum(lp.amount) AS v FROM ledger_accounts a JOIN ledger_postings lp ON lp.account_id = a.id WHERE a.kind = 'refunds' GROUP BY a.id)
            SELECT coalesce(held.account_id, open.account_id),
                   format('refunds owed holds %s by its postings; open refunds (REQUESTED, SUBMITTED, FAILED) add up to %s', coalesce(held.v, 0), coalesce(open.v, 0))
              FROM held FULL JOIN open ON open.account_id = held.account_id
             WHERE coalesce(held.v, 0) <> coalesce(open.v, 0)
             ORDER BY 1
             LIMIT @limit
            """, ct);

    /// <summary>
    /// No ledger entry lacks its cause: an entry caused by a payment names a SUCCEEDED payment (and is its entry-fee capture); one caused
    /// by a refund is either its decision (names the refund row) or its settlement (names the Stripe refund of a SUCCEEDED refund); one
    /// caused by a dispute names a dispute whose loss was posted (from escrow or from refunds owed).
    /// </summary>
    static Task<IReadOnlyList<ReconciliationViolation>> LedgerEntryHasCauseAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "ledger_entry_has_cause", """
            SELECT le.id::text, format('ledger entry %s (%s, kind %s) names %s %s, which %s', le.id, le.idempotency_key, le.kind, le.cause_type, le.cause_id,
                   CASE le.cause_type
                        WHEN 'payment' THEN CASE WHEN p.payment_intent_id IS NULL THEN 'does not exist' ELSE format('is %s (key or kind does not match)', p.status) END
                        WHEN 'refund' THEN CASE WHEN coalesce(r.id, rd.id) IS NULL THEN 'does not exist' ELSE format('is %s (key or kind does not match)', coalesce(r.status, rd.status)) END
                        ELSE CASE WHEN d.id IS NULL THEN 'does not exist' ELSE format('has loss_ledger %s (key or kind does not match)', coalesce(d.loss_ledger, 'null')) END
                   END)
              FROM ledger_entries le
              LEFT JOIN payments p ON le.cause_type = 'payment' AND p.payment_intent_id = le.cause_id
              LEFT JOIN refunds r ON le.cause_type = 'refund' AND r.stripe_refund_id = le.cause_id
              LEFT JOIN refunds rd ON le.cause_type = 'refund' AND rd.id = le.cause_id
              LEFT JOIN disputes d ON le.cause_type = 'dispute' AND d.id = le.cause_id
             WHERE (le.cause_type = 'payment' AND (p.status IS DISTINCT FROM 'SUCCEEDED' OR le.kind <> 'entry_fee.captured' OR le.idempotency_key <> 'payment:' || le.cause_id || ':succeeded'))
                OR (le.cause_type = 'refund' AND NOT (
                        (rd.id IS NOT NULL AND le.kind = CASE rd.funded_from WHEN 'house' THEN 'refund.goodwill_decided' ELSE 'refund.decided' END
                                         AND le.idempotency_key = 'refund:' || le.cause_id || ':decided')
                     OR (r.status = 'SUCCEEDED' AND le.kind = 'refund.settled' AND le.idempotency_key = 'refund:' || le.cause_id || ':succeeded')))
                OR (le.cause_type = 'dispute' AND (d.loss_ledger IS NULL OR d.loss_ledger NOT IN ('posted', 'posted_from_refunds') OR le.kind <> 'dispute.lost'
                                                   OR le.idempotency_key <> 'dispute:' || le.cause_id || ':lost'))
             ORDER BY le.id
             LIMIT @limit
            """, ct);

    /// <summary>
    /// Every completed payout transfer has its Stripe transfer id and its ledger entry <c>payout:&lt;id&gt;:completed</c>, which moves
    /// exactly its amount out of the winner's payable account (and that entry is the one the transfer names).
    /// </summary>
    static Task<IReadOnlyList<ReconciliationViolation>> PayoutCompletedHasStripeIdAndLedgerEntryAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "payout_completed_has_stripe_id_and_ledger_entry", """
            SELECT t.id::text, format('payout transfer %s (contest %s, user %s, %s %s) is completed; Stripe transfer %s; ledger entry %s',
                   t.id, t.contest_id, t.user_id, t.amount, t.currency, coalesce(t.stripe_transfer_id, 'MISSING'),
                   CASE WHEN le.id IS NULL THEN 'MISSING' ELSE format('%s moves %s on payable:%s:%s (transfer names entry %s)', le.id, coalesce(lp.amount, 0), t.user_id, t.currency, t.ledger_entry_id) END)
              FROM payout_transfers t
              LEFT JOIN ledger_entries le ON le.idempotency_key = 'payout:' || t.id || ':completed'
              LEFT JOIN ledger_postings lp ON lp.entry_id = le.id AND lp.account_id = 'payable:' || t.user_id || ':' || t.currency
             WHERE t.status = 'completed'
               AND (t.stripe_transfer_id IS NULL OR le.id IS NULL OR lp.amount IS DISTINCT FROM -t.amount OR t.ledger_entry_id IS DISTINCT FROM le.id)
             ORDER BY t.id
             LIMIT @limit
            """, ct);

    /// <summary>Every winnings payable account holds exactly its settlement credits minus its completed payout transfers.</summary>
    static Task<IReadOnlyList<ReconciliationViolation>> WinningsPayableMatchesAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        QueryAsync(c, tx, "winnings_payable_matches_settlements_and_payouts", """
            WITH credits AS (SELECT 'payable:' || r.user_id || ':' || s.currency AS account_id, sum(r.prize) AS v
                               FROM settlement_results r JOIN settlements s ON s.id = r.settlement_id WHERE r.prize > 0 GROUP BY 1),
                 paid AS (SELECT 'payable:' || user_id || ':' || currency AS account_id, sum(amount) AS v FROM payout_transfers WHERE status = 'completed' GROUP BY 1),
                 held AS (SELECT a.id AS account_id, sum(lp.amount) AS v FROM ledger_accounts a JOIN ledger_postings lp ON lp.account_id = a.id
                           WHERE a.kind = 'winnings_payable' GROUP BY a.id)
            SELECT coalesce(held.account_id, credits.account_id, paid.account_id),
                   format('payable holds %s by its postings; settlement credits %s − completed transfers %s = %s',
                          coalesce(held.v, 0), coalesce(credits.v, 0), coalesce(paid.v, 0), coalesce(credits.v, 0) - coalesce(paid.v, 0))
              FROM held FULL JOIN credits ON credits.account_id = held.account_id FULL JOIN paid ON paid.account_id = coalesce(held.account_id, credits.account_id)
             WHERE coalesce(held.v, 0) <> coalesce(credits.v, 0) - coalesce(paid.v, 0)
             ORDER BY 1
             LIMIT @limit
            """, ct);

    static async Task<IReadOnlyList<ReconciliationViolation>> QueryAsync(NpgsqlConnection c, NpgsqlTransaction tx, string check, string sql, CancellationToken ct)
    {
        var rows = await c.QueryAsync<(string Subject, string Detail)>(new CommandDefinition(sql, new { limit = MaxViolationsPerCheck }, tx, cancellationToken: ct));
        return rows.Select(r => new ReconciliationViolation(check, r.Subject, r.Detail)).ToList();
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    sealed record StoredViolation(string check, string subject_id, string detail);
}
