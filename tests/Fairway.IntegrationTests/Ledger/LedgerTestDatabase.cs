using Dapper;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.Reconciliation;
using Fairway.Host.Platform.Audit;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>
/// A fresh migrated database with the ledger services constructed in-process on a real
/// <see cref="NpgsqlDataSource"/> (no mocks): repository, kill-switch, reconciliation.
/// </summary>
public sealed class LedgerTestDatabase : IAsyncDisposable
{
    public string Url { get; }
    public NpgsqlDataSource Db { get; }
    public LedgerRepository Ledger { get; }
    public KillSwitchService KillSwitch { get; }
    public ReconciliationService Reconciliation { get; }
    public TimeProvider Clock { get; } = TimeProvider.System;

    LedgerTestDatabase(string url)
    {
        Url = url;
        Db = NpgsqlDataSource.Create(TestDatabases.ConnectionString(url));
        Ledger = new LedgerRepository(Db);
        KillSwitch = new KillSwitchService(Db, new AuditWriter(Clock), Clock, NullLogger<KillSwitchService>.Instance);
        Reconciliation = new ReconciliationService(Db, KillSwitch, Clock, NullLogger<ReconciliationService>.Instance);
    }

    public static async Task<LedgerTestDatabase> CreateAsync() => new(await TestDatabases.CreateMigratedAsync());

    /// <summary>Opens the database for a host process's in-process helpers (same database, own pool).</summary>
    public static LedgerTestDatabase On(string url) => new(url);

    public static string Key() => "test:" + Guid.NewGuid().ToString("N");

    public static string Contest() => "c_" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Money in: <paramref name="amount"/> moves from Stripe clearing to the contest's escrow (an entry fee); the cause id is the key.</summary>
    public JournalEntry Fund(string contestId, long amount, string? key = null)
    {
        key ??= Key();
        return JournalEntry.Movement(key, "entry_fee.captured", "usd", Clock.GetUtcNow(), "test_payment", key,
            LedgerAccountRef.Clearing("usd"), LedgerAccountRef.Escrow(contestId), amount);
    }

    /// <summary>Money out: <paramref name="amount"/> moves from the contest's escrow back to clearing (a refund).</summary>
    public JournalEntry Release(string contestId, long amount, string? key = null)
    {
        key ??= Key();
        return JournalEntry.Movement(key, "refund.settled", "usd", Clock.GetUtcNow(), "test_refund", key,
            LedgerAccountRef.Escrow(contestId), LedgerAccountRef.Clearing("usd"), amount);
    }

    /// <summary>Posts in its own transaction and commits.</summary>
    public async Task<PostResult> PostAsync(JournalEntry entry)
    {
        await using var c = await Db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var r = await Ledger.PostAsync(tx, entry);
        await tx.CommitAsync();
        return r;
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var c = await Db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<T>(sql, args);
    }

    public async Task ExecAsync(string sql, object? args = null)
    {
        await using var c = await Db.OpenConnectionAsync();
        await c.ExecuteAsync(sql, args);
    }

    public Task<long> EntriesWithKeyAsync(string key) => ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @key", new { key });
    public Task<long> EntryCountAsync() => ScalarAsync<long>("SELECT count(*) FROM ledger_entries");
    public Task<long> PostingCountAsync() => ScalarAsync<long>("SELECT count(*) FROM ledger_postings");
    public Task<long?> StoredBalanceAsync(string account) => ScalarAsync<long?>("SELECT balance FROM ledger_accounts WHERE id = @account", new { account });
    public Task<long> PostingsSumAsync(string account) => ScalarAsync<long>("SELECT coalesce(sum(amount), 0)::bigint FROM ledger_postings WHERE account_id = @account", new { account });

    /// <summary>Terminates a server backend (a real crash of that session: its open transaction is rolled back by PostgreSQL).</summary>
    public async Task TerminateBackendAsync(int pid)
    {
        await using var admin = new NpgsqlConnection(TestDatabases.ConnectionString(Url) + ";Pooling=false");
        await admin.OpenAsync();
        Assert.True(await admin.ExecuteScalarAsync<bool>("SELECT pg_terminate_backend(@pid)", new { pid }), $"backend {pid} was not terminated");
        // Wait until it is really gone, so the test asserts on the state after the crash.
        for (var i = 0; i < 100 && await admin.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = @pid)", new { pid }); i++)
            await Task.Delay(50);
    }

    public async ValueTask DisposeAsync() => await Db.DisposeAsync();
}
