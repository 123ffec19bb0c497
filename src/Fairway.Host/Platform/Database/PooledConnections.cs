using Npgsql;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// How Fairway's processes pool their PostgreSQL connections (its own data source and Hangfire's storage), unless the
/// connection string says otherwise.
/// </summary>
public static class PooledConnections
{
    /// <summary>Statements prepared once per physical connection (webhook convergence, standings, audit rows) when auto-prepare is wanted.</summary>
    public const int AutoPrepared = 64;

    /// <summary>
    /// A connection returned to the pool is not reset (No Reset On Close). Npgsql otherwise sends, with the next use of
    /// that connection, the statements that undo session state (with auto-prepared statements: CLOSE ALL, SET SESSION
    /// AUTHORIZATION DEFAULT, RESET ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD SEQUENCES, DISCARD TEMP; without:
    /// DISCARD ALL). No Fairway code leaves session state behind: settings are per transaction (SET TRANSACTION, never
    /// SET SESSION), nothing LISTENs or creates temporary tables, and the two session advisory locks (exclusive jobs, the
    /// Stripe reconciliation run) are released in a finally block, or die with a broken connection, which the pool drops; an unlock that fails
    /// clears that connection's pool (NpgsqlConnection.ClearPool), so a lock never stays on a pooled connection.
    /// An open transaction is still rolled back when its connection is returned. In the main job's season these resets were
    /// 600,000 of PostgreSQL's 1.3 million statements.
    /// </summary>
    public static string Configure(string connectionString, bool autoPrepare)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "No Reset On Close", "NoResetOnClose")) b.NoResetOnClose = true;
        if (autoPrepare && b.MaxAutoPrepare == 0) b.MaxAutoPrepare = AutoPrepared;
        return b.ConnectionString;
    }

    static bool Names(string connectionString, params string[] keywords)
    {
        var parsed = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keywords.Any(parsed.ContainsKey);
    }
}
