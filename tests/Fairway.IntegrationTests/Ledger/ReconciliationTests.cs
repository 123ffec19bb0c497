using Dapper;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.Reconciliation;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>
/// Seed 002 incident "Ledger Invariant Violation" / "Wallet Balance Mismatch": the reconciliation finds
/// drift, records the run, and turns the kill-switch on by itself (actor <c>reconciler</c>, audited).
/// The tampering is what the database does NOT prevent: an UPDATE of a stored balance (the accounts table
/// is not append-only), and a balanced entry written directly, bypassing the posting function.
/// In-process service on a real database; the same job through a real worker is in <see cref="ReconciliationJobTests"/>.
/// </summary>
public sealed class ReconciliationTests
{
    static async Task<LedgerTestDatabase> LedgerWithActivityAsync(string contest)
    {
        var t = await LedgerTestDatabase.CreateAsync();
        await t.KillSwitch.SetAsync(false, "admin:ops-1", "smoke tests passed");
        await t.PostAsync(t.Fund(contest, 3000));
        await t.PostAsync(t.Fund(contest, 2000));
        await t.PostAsync(t.Release(contest, 500));
        return t;
    }

    [Fact]
    public async Task A_clean_ledger_has_zero_violations_the_run_is_recorded_and_the_switch_is_left_alone()
    {
        var contest = LedgerTestDatabase.Contest();
        await using var t = await LedgerWithActivityAsync(contest);

        var run = await t.Reconciliation.RunAsync();

        Assert.Equal(0, run.ViolationCount);
        Assert.Empty(run.Violations);
        // Every registered check ran, including the ledger's own four (payments, settlement and payouts add theirs).
        Assert.Equal(t.Reconciliation.CheckNames, run.Checks);
        Assert.Subset(run.Checks.ToHashSet(), new HashSet<string> { "entry_balanced", "account_balance_matches_postings", "escrow_not_negative", "posting_currency_matches_entry",
            "escrow_matches_payments", "payment_has_ledger_entry", "refund_has_ledger_entry", "ledger_entry_has_cause" });
        Assert.False(run.KillSwitchEngagedByThisRun);
        Assert.False((await t.KillSwitch.ReadAsync()).Engaged);
        var stored = Assert.Single(await t.Reconciliation.RecentRunsAsync(5));
        Assert.Equal((run.Id, 0), (stored.Id, stored.ViolationCount));
    }

    [Fact]
    public async Task A_tampered_stored_balance_is_detected_and_engages_the_kill_switch_as_reconciler()
    {
        var contest = LedgerTestDatabase.Contest();
        await using var t = await LedgerWithActivityAsync(contest);
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        // "Money minted": someone edits the stored balance directly.
        await t.ExecAsync("UPDATE ledger_accounts SET balance = balance + 500 WHERE id = @escrow", new { escrow });

        var run = await t.Reconciliation.RunAsync();

        var v = Assert.Single(run.Violations);
        Assert.Equal(("account_balance_matches_postings", escrow), (v.Check, v.SubjectId));
        Assert.Contains("stored balance 5000, sum of postings 4500", v.Detail);
        Assert.True(run.KillSwitchEngagedByThisRun);
        var ks = await t.KillSwitch.ReadAsync();
        Assert.True(ks.Engaged);
        Assert.Equal(ReconciliationService.Actor, ks.ChangedBy);
        Assert.Contains("account_balance_matches_postings", ks.Reason);
        Assert.Equal(1, await t.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch' AND actor = 'reconciler' AND action = 'kill_switch.engaged'"));
        var stored = (await t.Reconciliation.RecentRunsAsync(1)).Single();
        Assert.Equal(1, stored.ViolationCount);
        Assert.Equal(escrow, stored.Violations.Single().SubjectId);

        // A second run finds the same drift but does not engage (or audit) again.
        var again = await t.Reconciliation.RunAsync();
        Assert.Equal(1, again.ViolationCount);
        Assert.False(again.KillSwitchEngagedByThisRun);
        Assert.Equal(1, await t.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch' AND actor = 'reconciler'"));
        Assert.Equal(2, await t.ScalarAsync<long>("SELECT count(*) FROM reconciliation_runs"));
    }

    [Fact]
    public async Task A_balanced_entry_written_around_the_posting_function_that_drains_escrow_below_zero_is_detected()
    {
        var contest = LedgerTestDatabase.Contest();
        await using var t = await LedgerWithActivityAsync(contest);
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        // Balanced (so the commit-time trigger accepts it) but written directly: stored balances not
        // updated, and the escrow's postings now sum below zero.
        await using (var c = await t.Db.OpenConnectionAsync())
        {
            await using var tx = await c.BeginTransactionAsync();
            var id = await c.ExecuteScalarAsync<long>("""
                INSERT INTO ledger_entries (idempotency_key, kind, currency, occurred_at, cause_type, cause_id, content_hash)
                VALUES ('attacker', 'refund.settled', 'usd', now(), 'manual', 'x', repeat('0', 64)) RETURNING id
                """, transaction: tx);
            await c.ExecuteAsync("INSERT INTO ledger_postings (entry_id, account_id, amount) VALUES (@id, @escrow, -6000), (@id, 'clearing:usd', 6000)", new { id, escrow }, tx);
            await tx.CommitAsync();
        }

        var run = await t.Reconciliation.RunAsync();

        Assert.Contains(run.Violations, v => v.Check == "escrow_not_negative" && v.SubjectId == escrow && v.Detail.Contains("sum of postings -1500"));
        Assert.Contains(run.Violations, v => v.Check == "account_balance_matches_postings" && v.SubjectId == escrow);
        Assert.Contains(run.Violations, v => v.Check == "account_balance_matches_postings" && v.SubjectId == "clearing:usd");
        Assert.DoesNotContain(run.Violations, v => v.Check == "entry_balanced");
        Assert.Equal(3, run.ViolationCount);
        Assert.True((await t.KillSwitch.ReadAsync()).Engaged);
    }

    [Fact]
    public async Task The_entry_and_currency_checks_find_what_only_a_superuser_disabling_triggers_could_write()
    {
        // The database refuses these at commit, so the test must do what only a superuser can: switch
        // triggers off for its session. This proves the checks themselves, not a realistic path.
        var contest = LedgerTestDatabase.Contest();
        await using var t = await LedgerWithActivityAsync(contest);
        long entryId;
        await using (var c = await t.Db.OpenConnectionAsync())
        {
            await using var tx = await c.BeginTransactionAsync();
            await c.ExecuteAsync("SET LOCAL session_replication_role = replica", transaction: tx);
            entryId = await c.ExecuteScalarAsync<long>("""
                INSERT INTO ledger_entries (idempotency_key, kind, currency, occurred_at, cause_type, cause_id, content_hash)
                VALUES ('bypass', 'x', 'eur', now(), 'manual', 'x', repeat('0', 64)) RETURNING id
                """, transaction: tx);
            await c.ExecuteAsync("INSERT INTO ledger_postings (entry_id, account_id, amount) VALUES (@entryId, 'clearing:usd', 70)", new { entryId }, tx);
            await tx.CommitAsync();
        }

        var run = await t.Reconciliation.RunAsync();

        Assert.Contains(run.Violations, v => v.Check == "entry_balanced" && v.SubjectId == entryId.ToString());
        Assert.Contains(run.Violations, v => v.Check == "posting_currency_matches_entry" && v.Detail.Contains("the entry in eur"));
        Assert.True((await t.KillSwitch.ReadAsync()).Engaged);
    }
}
