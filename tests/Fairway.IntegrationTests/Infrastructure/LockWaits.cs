using Dapper;
using Npgsql;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// Proof that work really ran concurrently, read from PostgreSQL itself: a test holds a lock the work needs
/// (<see cref="LockBlocker"/>), starts N callers, and waits until N sessions are blocked behind that lock at the
/// same moment — all N were in flight together — before it releases them to race. Also used to see that one
/// session waits for another (instead of sleeping and hoping).
/// </summary>
public static class LockWaits
{
    /// <summary>Sessions waiting, directly or behind another waiter, on a lock held by backend <paramref name="pid"/>.</summary>
    public static async Task<int> BlockedByAsync(string url, int pid)
    {
        await using var c = new NpgsqlConnection(TestDatabases.ConnectionString(url) + ";Pooling=false");
        await c.OpenAsync();
        return await c.ExecuteScalarAsync<int>("""
            WITH RECURSIVE blocked(pid) AS (
                SELECT a.pid FROM pg_stat_activity a WHERE @pid = ANY(pg_blocking_pids(a.pid))
                UNION
                SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY(pg_blocking_pids(a.pid))
            )
            SELECT count(*)::int FROM blocked
            """, new { pid });
    }

    /// <summary>
    /// Runs <paramref name="n"/> calls at once while <paramref name="lockSql"/> holds a lock each of them needs, waits until all
    /// <paramref name="n"/> are blocked behind it together (the proof they overlapped), then releases them to race. Returns
    /// the calls' results and how many sessions were blocked at that moment.
    /// </summary>
    public static async Task<(T[] Results, int Together)> RaceAsync<T>(string url, string lockSql, object? args, int n, Func<int, Task<T>> call)
    {
        await using var blocker = await LockBlocker.HoldAsync(url, lockSql, args);
        var calls = Enumerable.Range(0, n).Select(i => Task.Run(() => call(i))).ToList();
        int together;
        try { together = await blocker.WaitForBlockedAsync(n); }
        finally { await blocker.ReleaseAsync(); }
        return (await Task.WhenAll(calls), together);
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> sessions are blocked by <paramref name="pid"/>; returns how many are.</summary>
    public static async Task<int> WaitForSessionsBlockedByAsync(string url, int pid, int count, int seconds = 60)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var n = await BlockedByAsync(url, pid);
            if (n >= count) return n;
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"only {n} of {count} sessions blocked by backend {pid} within {seconds}s");
            await Task.Delay(25);
        }
    }
}

/// <summary>A transaction holding a lock (whatever <c>lockSql</c> takes) until released.</summary>
public sealed class LockBlocker : IAsyncDisposable
{
    readonly NpgsqlConnection connection;
    readonly NpgsqlTransaction transaction;
    readonly string url;

    public int Pid => connection.ProcessID;

    LockBlocker(string url, NpgsqlConnection connection, NpgsqlTransaction transaction) { this.url = url; this.connection = connection; this.transaction = transaction; }

    public static async Task<LockBlocker> HoldAsync(string url, string lockSql, object? args = null)
    {
        var c = new NpgsqlConnection(TestDatabases.ConnectionString(url) + ";Pooling=false");
        await c.OpenAsync();
        var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync(lockSql, args, tx);
        return new LockBlocker(url, c, tx);
    }

    /// <summary>Waits until <paramref name="count"/> sessions are blocked behind this lock at once; returns how many were.</summary>
    public Task<int> WaitForBlockedAsync(int count) => LockWaits.WaitForSessionsBlockedByAsync(url, Pid, count);

    bool released;

    /// <summary>Ends the holding transaction: everything blocked behind it proceeds.</summary>
    public async Task ReleaseAsync()
    {
        if (released) return;
        released = true;
        await transaction.RollbackAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await transaction.DisposeAsync();
        await connection.DisposeAsync();
    }
}
