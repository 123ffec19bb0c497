using Npgsql;

namespace Fairway.Host.Platform.Database;

/// <summary>
/// After a database restart or failover, every pooled connection is dead but still in the pool; the
/// first command on each fails (57P01, broken socket). Npgsql marks those errors transient. Fairway
/// answers them as "database unavailable, retry" and clears the pools, so the retry — and everything
/// after it — gets fresh connections instead of discovering dead ones one failure at a time.
/// </summary>
public static class TransientDatabaseErrors
{
    public static bool IsTransient(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is NpgsqlException { IsTransient: true }) return true;
        return false;
    }

    public static void ClearPools(NpgsqlDataSource? dataSource)
    {
        dataSource?.Clear();
        // Hangfire's storage opens its own pooled connections by connection string.
        NpgsqlConnection.ClearAllPools();
    }
}

/// <summary>Clears the pools when a job failed on a transient database error; Hangfire's retry then starts clean.</summary>
public sealed class TransientDatabaseJobFilter(Func<NpgsqlDataSource> dataSource, ILogger log) : Hangfire.Server.IServerFilter
{
    public void OnPerforming(Hangfire.Server.PerformingContext context) { }

    public void OnPerformed(Hangfire.Server.PerformedContext context)
    {
        if (!TransientDatabaseErrors.IsTransient(context.Exception)) return;
        log.LogWarning("Job {JobId} failed on a transient database error ({Error}); connection pools cleared before its retry",
            context.BackgroundJob.Id, context.Exception!.GetBaseException().Message);
        TransientDatabaseErrors.ClearPools(dataSource());
    }
}
