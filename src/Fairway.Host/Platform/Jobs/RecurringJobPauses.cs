using Dapper;
using Fairway.Host.Platform.Audit;
using Hangfire.Server;
using Npgsql;

namespace Fairway.Host.Platform.Jobs;

public sealed record RecurringJobPause(string RecurringJobId, DateTimeOffset PausedAt, string PausedBy, string Reason)
{
    public RecurringJobPause() : this("", default, "", "") { }
}

/// <summary>
/// Pausing one recurring job (seed 002: "pause payout worker only, not the full kill-switch"). The
/// pause lives in the database, so it holds across every worker and across restarts; the recurring
/// schedule itself stays registered and resumes where it was.
/// </summary>
public sealed class RecurringJobPauses(NpgsqlDataSource db, AuditWriter audit, TimeProvider clock)
{
    public async Task<IReadOnlyList<RecurringJobPause>> ListAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<RecurringJobPause>("SELECT recurring_job_id AS RecurringJobId, paused_at AS PausedAt, paused_by AS PausedBy, reason AS Reason FROM recurring_job_pauses ORDER BY recurring_job_id")).ToList();
    }

    public bool IsPaused(string recurringJobId)
    {
        using var c = db.OpenConnection();
        return c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM recurring_job_pauses WHERE recurring_job_id = @recurringJobId)", new { recurringJobId });
    }

    /// <summary>Returns true when the state changed (pausing a paused job, or resuming a running one, writes nothing).</summary>
    public async Task<bool> SetAsync(string recurringJobId, bool paused, string actor, string reason, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var changed = paused
            ? await c.ExecuteAsync("INSERT INTO recurring_job_pauses VALUES (@recurringJobId, @now, @actor, @reason) ON CONFLICT DO NOTHING",
                new { recurringJobId, now = clock.GetUtcNow(), actor, reason }, tx) == 1
            : await c.ExecuteAsync("DELETE FROM recurring_job_pauses WHERE recurring_job_id = @recurringJobId", new { recurringJobId }, tx) == 1;
        if (!changed) return false;
        await audit.WriteAsync(tx, new AuditEntry(actor, paused ? "recurring_job.paused" : "recurring_job.resumed", "recurring_job", recurringJobId, reason), ct);
        await tx.CommitAsync(ct);
        return true;
    }
}

/// <summary>Skips the occurrences of a paused recurring job (Hangfire marks the recurring job id on every job it creates).</summary>
public sealed class RecurringJobPauseFilter(Func<RecurringJobPauses> pauses, ILogger log) : IServerFilter
{
    public void OnPerforming(PerformingContext context)
    {
        var id = context.GetJobParameter<string>("RecurringJobId");
        if (id is null || !pauses().IsPaused(id)) return;
        log.LogWarning("Recurring job {RecurringJobId} is paused; occurrence {JobId} skipped", id, context.BackgroundJob.Id);
        context.Canceled = true;
    }

    public void OnPerformed(PerformedContext context) { }
}
