using Fairway.Migrations;
using Npgsql;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// Seed 004: if persistence is unavailable the runtime must not start. Checked once before the host
/// is built; each failure is one line that names the problem and what to do about it.
/// </summary>
public static class StartupGuard
{
    public static string? Check(string connectionString)
    {
        var where = DatabaseUrl.Describe(connectionString);
        var b = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5, Pooling = false };
        try
        {
            using var connection = new NpgsqlConnection(b.ConnectionString);
            connection.Open();
            var current = SchemaMigrator.CurrentVersion(connection);
            var expected = SchemaMigrator.ExpectedVersion;
            if (current != expected)
                return $"database schema version mismatch at {where}: database is at {current}, this build expects {expected}; run `fairway db migrate` (or `fairway db status` to see the difference)";
            if (!SchemaMigrator.JobStorageInstalled(connection))
                return $"job storage schema '{SchemaMigrator.JobStorageSchema}' is missing at {where}; run `fairway db migrate`";
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return $"database unreachable at {where}: {e.Message}";
        }
    }
}
