using Fairway.Migrations;
using Npgsql;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// Fresh databases for tests on the shared cluster (FAIRWAY_TEST_PG_ADMIN_URL, started by
/// ./scripts/test; or a cluster of this test process's own). Migrated databases are cloned from a
/// template migrated once, so each test gets its own database in milliseconds.
/// </summary>
public static class TestDatabases
{
    static readonly Lazy<string> adminUrl = new(() =>
        Environment.GetEnvironmentVariable("FAIRWAY_TEST_PG_ADMIN_URL") is { Length: > 0 } url ? url : OwnCluster.Value.AdminUrl);
    static readonly Lazy<PostgresCluster> OwnCluster = new(() =>
    {
        var cluster = PostgresCluster.Start();
        // Nothing else stops it: a `dotnet test` run without ./scripts/test's cluster left its server running after it ended.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Dispose();
        return cluster;
    });
    static readonly SemaphoreSlim templateLock = new(1, 1);
    static string? templateName;

    public static string AdminUrl => adminUrl.Value;

    public static string UrlFor(string adminUrl, string database)
    {
        var u = new UriBuilder(adminUrl) { Path = "/" + database };
        return u.Uri.ToString();
    }

    /// <summary>Application name of every connection the test process opens (Fairway's own processes say <c>fairway</c>); see <see cref="AuditTrail"/>.</summary>
    public const string TestApplicationName = "fairway-test";

    public static string ConnectionString(string url) =>
        DatabaseUrl.TryParse(url, out var cs, out var e)
            ? new NpgsqlConnectionStringBuilder(cs) { ApplicationName = TestApplicationName }.ConnectionString
            : throw new ArgumentException(e);

    /// <summary>An empty database (no schema). Returns its DATABASE_URL.</summary>
    public static async Task<string> CreateEmptyAsync(string? onAdminUrl = null)
    {
        var admin = onAdminUrl ?? AdminUrl;
        var name = "fw_" + Guid.NewGuid().ToString("N")[..16];
        await ExecAsync(admin, $"CREATE DATABASE {name}");
        return UrlFor(admin, name);
    }

    /// <summary>A database migrated to the version this build expects. Returns its DATABASE_URL.</summary>
    public static async Task<string> CreateMigratedAsync()
    {
        await templateLock.WaitAsync();
        try
        {
            if (templateName is null)
            {
                var name = "fw_template_" + Guid.NewGuid().ToString("N")[..12];
                await ExecAsync(AdminUrl, $"CREATE DATABASE {name}");
                SchemaMigrator.MigrateUp(ConnectionString(UrlFor(AdminUrl, name)));
                NpgsqlConnection.ClearAllPools();
                templateName = name;
            }
            var db = "fw_" + Guid.NewGuid().ToString("N")[..16];
            await ExecAsync(AdminUrl, $"CREATE DATABASE {db} TEMPLATE {templateName}");
            return UrlFor(AdminUrl, db);
        }
        finally { templateLock.Release(); }
    }

    public static async Task ExecAsync(string url, string sql)
    {
        await using var c = new NpgsqlConnection(ConnectionString(url) + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public static async Task<NpgsqlConnection> OpenAsync(string url)
    {
        var c = new NpgsqlConnection(ConnectionString(url));
        await c.OpenAsync();
        return c;
    }
}
