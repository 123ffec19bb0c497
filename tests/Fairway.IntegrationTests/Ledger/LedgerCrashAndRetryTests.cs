using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>
/// Seed 002 W4 (crash mid-transaction: either both the postings and the balance update persist, or
/// neither) and W5 (retry after a transient failure: a single entry), on a real PostgreSQL.
/// <para>
/// W4 here kills the database session of the writer (<c>pg_terminate_backend</c>) after the postings and
/// balance updates are written and before COMMIT: a real crash of that session, rolled back by
/// PostgreSQL itself. The process-kill variant (a host killed at the crash point
/// <c>ledger.after_postings_before_commit</c> through a real money route) comes with the payments
/// capability, the first route that posts; the crash-point mechanism itself is proven on a real host
/// process in <c>KillSwitch.KillSwitchCrashTests</c>.
/// </para>
/// </summary>
public sealed class LedgerCrashAndRetryTests
{
    [Fact]
    public async Task W4_a_session_killed_after_the_postings_and_before_commit_leaves_nothing_and_balances_unchanged()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.PostAsync(t.Fund(contest, 1000));
        var before = (await t.EntryCountAsync(), await t.PostingCountAsync(), await t.StoredBalanceAsync(escrow), await t.StoredBalanceAsync("clearing:usd"));

        var entry = t.Fund(contest, 400);
        await using var c = new NpgsqlConnection(t.Db.ConnectionString + ";Pooling=false");
        await c.OpenAsync();
        var pid = c.ProcessID;
        var tx = await c.BeginTransactionAsync();
        var posted = await t.Ledger.PostAsync(tx, entry);
        Assert.True(posted.Created);
        // Inside the doomed transaction the work is done: entry, postings and new balance are all there.
        Assert.Equal(1400, await c.ExecuteScalarAsync<long>("SELECT balance FROM ledger_accounts WHERE id = @escrow", new { escrow }, tx));

        await t.TerminateBackendAsync(pid);
        await Assert.ThrowsAnyAsync<Exception>(() => tx.CommitAsync());

        Assert.Equal(0, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(before, (await t.EntryCountAsync(), await t.PostingCountAsync(), await t.StoredBalanceAsync(escrow), await t.StoredBalanceAsync("clearing:usd")));
        Assert.Equal(1000, await t.PostingsSumAsync(escrow));

        // Recovery: the same message processed again after the crash posts exactly once.
        Assert.True((await t.PostAsync(entry)).Created);
        Assert.Equal(1400, await t.StoredBalanceAsync(escrow));
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
    }

    [Fact]
    public async Task W5_a_call_whose_connection_is_terminated_mid_call_then_retried_with_the_same_key_gives_a_single_entry()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.PostAsync(t.Fund(contest, 1000));
        var entry = t.Release(contest, 250);

        // Another session holds the escrow row, so the first attempt blocks INSIDE the posting function;
        // its connection is then terminated mid-call (a transient failure as the caller sees it).
        await using var blocker = await t.Db.OpenConnectionAsync();
        await using var blockTx = await blocker.BeginTransactionAsync();
        await blocker.ExecuteAsync("SELECT 1 FROM ledger_accounts WHERE id = @escrow FOR UPDATE", new { escrow }, blockTx);

        await using var c = new NpgsqlConnection(t.Db.ConnectionString + ";Pooling=false");
        await c.OpenAsync();
        var pid = c.ProcessID;
        var attempt = Task.Run(async () =>
        {
            await using var tx = await c.BeginTransactionAsync();
            await t.Ledger.PostAsync(tx, entry);
            await tx.CommitAsync();
        });
        await WaitUntilAsync(async () => await t.ScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = @pid AND wait_event_type = 'Lock')", new { pid }));
        await t.TerminateBackendAsync(pid);
        await Assert.ThrowsAnyAsync<Exception>(() => attempt);
        await blockTx.RollbackAsync();

        Assert.Equal(0, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(1000, await t.StoredBalanceAsync(escrow));

        // The retry (new connection, same key) posts once; a second retry is a no-op.
        var retry = await t.PostAsync(entry);
        var again = await t.PostAsync(entry);
        Assert.True(retry.Created);
        Assert.False(again.Created);
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(750, await t.StoredBalanceAsync(escrow));
        Assert.Equal(750, await t.PostingsSumAsync(escrow));
    }

    [Fact]
    public async Task W5_a_commit_whose_answer_was_lost_then_retried_with_the_same_key_is_not_posted_twice()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var entry = t.Fund(contest, 900);

        // The caller talks to PostgreSQL through a proxy that lets its COMMIT through and loses PostgreSQL's answer.
        var direct = new NpgsqlConnectionStringBuilder(t.Db.ConnectionString);
        await using var proxy = CommitAnswerDroppingProxy.Start(direct.Host!, direct.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(t.Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, SslMode = SslMode.Disable };
        await using (var c = new NpgsqlConnection(viaProxy.ConnectionString))
        {
            await c.OpenAsync();
            await using var tx = await c.BeginTransactionAsync();
            Assert.True((await t.Ledger.PostAsync(tx, entry)).Created);
            proxy.DropNextCommitAnswer();
            // The caller never learns whether its commit happened: as far as it knows, the posting may not exist.
            await Assert.ThrowsAnyAsync<Exception>(() => tx.CommitAsync());
        }
        Assert.Equal(1, proxy.DroppedCommitAnswers);
        // It did happen.
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));

        var retry = await t.PostAsync(entry);
        Assert.False(retry.Created);
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(900, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
    }

    static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException("condition not reached");
            await Task.Delay(50);
        }
    }
}
