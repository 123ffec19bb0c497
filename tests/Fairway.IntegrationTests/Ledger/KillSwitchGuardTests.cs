using Dapper;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations.Versions;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>
/// Seed 002 W6 / E6: with the kill-switch ON, a money mutation (guarded by
/// <c>KillSwitch.EnsureDisengagedAsync</c> and posting in the same transaction) changes nothing; after it
/// is turned OFF the same mutation succeeds. Also: engaging waits for money transactions already past the check.
/// </summary>
public sealed class KillSwitchGuardTests
{
    static async Task<PostResult> GuardedPostAsync(LedgerTestDatabase t, JournalEntry entry)
    {
        await using var c = await t.Db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await t.KillSwitch.EnsureDisengagedAsync(tx);
        var r = await t.Ledger.PostAsync(tx, entry);
        await tx.CommitAsync();
        return r;
    }

    [Fact]
    public async Task A_fresh_database_starts_with_the_kill_switch_engaged_by_the_migration()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var s = await t.KillSwitch.ReadAsync();
        Assert.True(s.Engaged);
        Assert.Equal("migration", s.ChangedBy);
        Assert.Equal(M202611230010_KillSwitchAndReconciliation.InitialReason, s.Reason);
    }

    [Fact]
    public async Task W6_with_the_kill_switch_engaged_a_guarded_posting_writes_nothing_and_after_disengaging_it_succeeds()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var entry = t.Fund(contest, 1500);
        Assert.True((await t.KillSwitch.ReadAsync()).Engaged);

        var refused = await Assert.ThrowsAsync<KillSwitchEngagedException>(() => GuardedPostAsync(t, entry));
        Assert.Equal("migration", refused.State.ChangedBy);
        Assert.Equal(0, await t.EntryCountAsync());
        Assert.Equal(0, await t.PostingCountAsync());
        Assert.Null(await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));

        var off = await t.KillSwitch.SetAsync(false, "admin:ops-1", "smoke tests passed");
        Assert.True(off.Changed);
        Assert.True((await GuardedPostAsync(t, entry)).Created);
        Assert.Equal(1500, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));

        await t.KillSwitch.SetAsync(true, "admin:ops-1", "incident drill");
        await Assert.ThrowsAsync<KillSwitchEngagedException>(() => GuardedPostAsync(t, t.Release(contest, 100)));
        Assert.Equal(1500, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
        Assert.Equal(1, await t.EntryCountAsync());
    }

    [Fact]
    public async Task Engaging_waits_for_a_money_transaction_already_past_the_check_and_blocks_the_next_one()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        await t.KillSwitch.SetAsync(false, "admin:ops-1", "open for business");
        var contest = LedgerTestDatabase.Contest();

        await using var c = await t.Db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await t.KillSwitch.EnsureDisengagedAsync(tx);
        await t.Ledger.PostAsync(tx, t.Fund(contest, 800));

        var engage = t.KillSwitch.SetAsync(true, "admin:ops-1", "incident");
        // PostgreSQL itself reports the engaging session blocked by the money transaction's lock (FOR SHARE vs FOR UPDATE).
        var blocked = await LockWaits.WaitForSessionsBlockedByAsync(t.Url, c.ProcessID, 1);
        Assert.Equal(1, blocked);
        Assert.False(engage.IsCompleted, "engaging must wait for the in-flight money transaction");
        await tx.CommitAsync();
        Assert.True((await engage).Changed);

        Assert.Equal(800, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
        await Assert.ThrowsAsync<KillSwitchEngagedException>(() => GuardedPostAsync(t, t.Fund(contest, 1)));
        Assert.Equal(800, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
    }

    [Fact]
    public async Task A_refusal_reaching_the_http_pipeline_becomes_a_409_KILL_SWITCH_ACTIVE_problem()
    {
        var state = new KillSwitchState(true, DateTimeOffset.UnixEpoch, "reconciler", "drift found");
        var middleware = new KillSwitchProblemMiddleware(_ => throw new KillSwitchEngagedException(state),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<KillSwitchProblemMiddleware>.Instance);
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        http.Response.Body = new MemoryStream();

        await middleware.InvokeAsync(http);

        Assert.Equal(409, http.Response.StatusCode);
        Assert.Equal("application/problem+json", http.Response.ContentType);
        http.Response.Body.Position = 0;
        var body = System.Text.Json.JsonDocument.Parse(http.Response.Body).RootElement;
        Assert.Equal("KILL_SWITCH_ACTIVE", body.GetProperty("code").GetString());
        Assert.Contains("reconciler", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Setting_the_switch_writes_one_audit_row_per_change_and_none_for_a_repeat()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        const string count = "SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch'";

        Assert.False((await t.KillSwitch.SetAsync(true, "admin:a", "already on")).Changed);
        Assert.Equal(0, await t.ScalarAsync<long>(count));
        Assert.True((await t.KillSwitch.SetAsync(false, "admin:a", "go")).Changed);
        Assert.Equal(1, await t.ScalarAsync<long>(count));
        var row = await t.ScalarAsync<string>("SELECT actor || '|' || action || '|' || reason || '|' || (before_state->>'engaged') || '|' || (after_state->>'engaged') FROM audit_events WHERE entity_type = 'kill_switch'");
        Assert.Equal("admin:a|kill_switch.disengaged|go|true|false", row);
        await using var c = await t.Db.OpenConnectionAsync();
        Assert.Equal("FWA01", (await Assert.ThrowsAsync<Npgsql.PostgresException>(() => c.ExecuteAsync("DELETE FROM kill_switch"))).SqlState);
    }
}
