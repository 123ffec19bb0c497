using Dapper;
using Fairway.Host.Platform.Database;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Hardening;

/// <summary>
/// Issue 10 §2: every transient database error is answered as "retry", but the connection pools are cleared only
/// when the connection itself was lost. The errors are real ones from PostgreSQL: a backend terminated under an open
/// connection, and a lock timeout (transient, the connection healthy). Whether the pool was cleared shows in
/// pg_stat_activity: cleared pools close their idle connections.
/// </summary>
public sealed class TransientDatabaseErrorTests
{
    [Fact]
    public async Task A_lost_connection_clears_the_pools_and_a_lock_timeout_keeps_them()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        var app = "pool-probe-" + Guid.NewGuid().ToString("N")[..8];
        await using var pool = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestDatabases.ConnectionString(url)) { ApplicationName = app }.ConnectionString);

        var lockTimeout = await LockTimeoutAsync(url, pool);
        var lost = await LostConnectionAsync(url, pool);
        Assert.Equal(PostgresErrorCodes.LockNotAvailable, Assert.IsType<PostgresException>(lockTimeout).SqlState);
        Assert.True(TransientDatabaseErrors.IsTransient(lockTimeout));
        Assert.False(TransientDatabaseErrors.IsConnectionFailure(lockTimeout));
        Assert.True(TransientDatabaseErrors.IsTransient(lost));
        Assert.True(TransientDatabaseErrors.IsConnectionFailure(lost), $"{lost.GetType().Name}: {lost.Message}");

        // Three idle pooled connections.
        var held = new List<NpgsqlConnection>();
        for (var i = 0; i < 3; i++) held.Add(await pool.OpenConnectionAsync());
        foreach (var c in held) await c.DisposeAsync();
        Assert.Equal(3, await BackendsAsync(url, app));

        Assert.False(TransientDatabaseErrors.ClearPoolsIfConnectionLost(lockTimeout, pool));
        Assert.Equal(3, await BackendsAsync(url, app));

        Assert.True(TransientDatabaseErrors.ClearPoolsIfConnectionLost(lost, pool));
        await WaitUntilAsync(async () => await BackendsAsync(url, app) == 0, "the cleared pool's idle connections closed");
    }

    /// <summary>A real 55P03: another session holds the kill-switch row and this one may wait 100 ms for it.</summary>
    static async Task<Exception> LockTimeoutAsync(string url, NpgsqlDataSource pool)
    {
        await using var holder = await TestDatabases.OpenAsync(url);
        await using var holding = await holder.BeginTransactionAsync();
        await holder.ExecuteAsync("SELECT 1 FROM kill_switch WHERE id = 1 FOR UPDATE", transaction: holding);
        await using var c = await pool.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SET LOCAL lock_timeout = '100ms'", transaction: tx);
        return await Assert.ThrowsAnyAsync<NpgsqlException>(() => c.ExecuteAsync("SELECT 1 FROM kill_switch WHERE id = 1 FOR UPDATE", transaction: tx));
    }

    /// <summary>A real lost connection: its backend is terminated, then the connection is used.</summary>
    static async Task<Exception> LostConnectionAsync(string url, NpgsqlDataSource pool)
    {
        await using var c = await pool.OpenConnectionAsync();
        var pid = c.ProcessID;
        await TestDatabases.ExecAsync(url, $"SELECT pg_terminate_backend({pid})");
        await WaitUntilAsync(async () =>
        {
            await using var admin = await TestDatabases.OpenAsync(url);
            return !await admin.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = @pid)", new { pid });
        }, "the backend gone");
        return await Assert.ThrowsAnyAsync<NpgsqlException>(() => c.ExecuteAsync("SELECT 1"));
    }

    static async Task<long> BackendsAsync(string url, string app)
    {
        await using var c = await TestDatabases.OpenAsync(url);
        return await c.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = @app", new { app });
    }

    static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException(what);
            await Task.Delay(50);
        }
    }
}
