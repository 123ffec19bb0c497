using Dapper;
using Fairway.Host.Platform.Database;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

public sealed class PooledConnectionsTests
{
    [Fact]
    public void Pooled_connections_are_not_reset_unless_the_connection_string_says_so()
    {
        var ours = new NpgsqlConnectionStringBuilder(PooledConnections.Configure("Host=h;Database=d", autoPrepare: true));
        Assert.Equal((true, PooledConnections.AutoPrepared), (ours.NoResetOnClose, ours.MaxAutoPrepare));
        var given = new NpgsqlConnectionStringBuilder(PooledConnections.Configure("Host=h;Database=d;No Reset On Close=false;Max Auto Prepare=8", autoPrepare: true));
        Assert.Equal((false, 8), (given.NoResetOnClose, given.MaxAutoPrepare));
        var hangfire = new NpgsqlConnectionStringBuilder(PooledConnections.Configure("Host=h;Database=d", autoPrepare: false));
        Assert.Equal((true, 0), (hangfire.NoResetOnClose, hangfire.MaxAutoPrepare));
    }

    [Fact]
    public async Task A_returned_connection_keeps_session_settings_but_never_an_open_transaction()
    {
        // One physical connection, so every open below gets the same session back.
        var cs = new NpgsqlConnectionStringBuilder(PooledConnections.Configure(TestDatabases.ConnectionString(TestDatabases.AdminUrl), autoPrepare: true)) { MaxPoolSize = 1 };
        await using var source = NpgsqlDataSource.Create(cs.ConnectionString);
        int pid;
        await using (var c = await source.OpenConnectionAsync())
        {
            pid = await c.ExecuteScalarAsync<int>("SELECT pg_backend_pid()");
            // Returned in the middle of a transaction: it is rolled back, with what it set.
            var tx = await c.BeginTransactionAsync();
            await c.ExecuteAsync("SET LOCAL application_name = 'inside-a-transaction'", transaction: tx);
        }
        await using (var c = await source.OpenConnectionAsync())
        {
            Assert.Equal(pid, await c.ExecuteScalarAsync<int>("SELECT pg_backend_pid()"));
            // Still open, the transaction would show its SET LOCAL here.
            Assert.NotEqual("inside-a-transaction", await c.ExecuteScalarAsync<string>("SHOW application_name"));
            // A session setting survives the return: why Fairway code never changes session state (PooledConnections).
            await c.ExecuteAsync("SET application_name = 'session-state'");
        }
        await using (var c = await source.OpenConnectionAsync())
            Assert.Equal("session-state", await c.ExecuteScalarAsync<string>("SHOW application_name"));
    }
}
