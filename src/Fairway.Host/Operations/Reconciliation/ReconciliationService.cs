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
    ];

    public IReadOnlyList<string> CheckNames => Checks.Select(c => c.Name).ToList();

    public async Task<ReconciliationRunResult> RunAsync(string triggeredBy = Actor, CancellationToken ct = default)
    {
        var startedAt = clock.GetUtcNow();
        var checks = Checks;
        var found = new List<ReconciliationViolation>();
        await using (var c = await db.OpenConnectionAsync(ct))
        // One consistent snapshot for every check, so a posting committed mid-run cannot look like drift.
        await using (var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct))
        {
            await c.ExecuteAsync(new CommandDefinition("SET TRANSACTION READ ONLY", transaction: tx, cancellationToken: ct));
            foreach (var (name, run) in checks)
            {
                var violations = await run(c, tx, ct);
                found.AddRange(violations);
                if (violations.Count >= MaxViolationsPerCheck)
                    log.LogError("Reconciliation check {Check} hit its limit of {Limit} reported violations; there may be more", name, MaxViolationsPerCheck);
            }
            await tx.CommitAsync(ct);
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

    static async Task<IReadOnlyList<ReconciliationViolation>> QueryAsync(NpgsqlConnection c, NpgsqlTransaction tx, string check, string sql, CancellationToken ct)
    {
        var rows = await c.QueryAsync<(string Subject, string Detail)>(new CommandDefinition(sql, new { limit = MaxViolationsPerCheck }, tx, cancellationToken: ct));
        return rows.Select(r => new ReconciliationViolation(check, r.Subject, r.Detail)).ToList();
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    sealed record StoredViolation(string check, string subject_id, string detail);
}
