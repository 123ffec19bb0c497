using Npgsql;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// After a database restart or failover, every pooled connection is dead but still in the pool; the
/// first command on each fails (57P01, broken socket). Npgsql marks those errors transient. Fairway
/// answers every transient error as "database unavailable, retry"; it clears the pools only when the
/// error says the connection itself is gone, so the retry — and everything after it — gets fresh
/// connections instead of discovering dead ones one failure at a time. Other transient errors (a
/// serialization failure, a deadlock, a lock timeout, too many connections) leave healthy pooled
/// connections alone: closing them under load would only add reconnects to the trouble.
/// </summary>
public static class TransientDatabaseErrors
{
    public static bool IsTransient(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is NpgsqlException { IsTransient: true }) return true;
        return false;
    }

    /// <summary>
    /// The connection is gone: a server-side termination (class 08 connection exception, 57P01 admin shutdown,
    /// 57P02 crash shutdown, 57P03 cannot connect now) or a broken socket under an Npgsql error.
    /// </summary>
    public static bool IsConnectionFailure(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is PostgresException pg)
                return pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                    || pg.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;
            if (x is NpgsqlException && HasSocketCause(x)) return true;
        }
        return false;
    }

    static bool HasSocketCause(Exception e)
    {
        for (var x = e.InnerException; x is not null; x = x.InnerException)
            if (x is IOException or System.Net.Sockets.SocketException) return true;
        return false;
    }

    /// <summary>Clears the pools when <paramref name="e"/> is a connection failure. True when it cleared them.</summary>
    public static bool ClearPoolsIfConnectionLost(Exception? e, NpgsqlDataSource? dataSource)
    {
        if (!IsConnectionFailure(e)) return false;
        dataSource?.Clear();
        // Hangfire's storage opens its own pooled connections by connection string.
        NpgsqlConnection.ClearAllPools();
        return true;
    }
}

/// <summary>Clears the pools when a job failed because its connection was lost; Hangfire's retry then starts clean.</summary>
public sealed class TransientDatabaseJobFilter(Func<NpgsqlDataSource> dataSource, ILogger log) : Hangfire.Server.IServerFilter
{
    public void OnPerforming(Hangfire.Server.PerformingContext context) { }

    public void OnPerformed(Hangfire.Server.PerformedContext context)
    {
        if (!TransientDatabaseErrors.IsTransient(context.Exception)) return;
        var cleared = TransientDatabaseErrors.ClearPoolsIfConnectionLost(context.Exception, dataSource());
        log.LogWarning("Job {JobId} failed on a transient database error ({Error}); {Pools} before its retry",
            context.BackgroundJob.Id, context.Exception!.GetBaseException().Message, cleared ? "connection lost, pools cleared" : "pools kept (not a connection failure)");
    }
}
