using Fairway.Host.Platform.Jobs;
using Hangfire;

namespace Fairway.Host.Contests;

/// <summary>
/// The time-driven half of the lifecycle: every minute, contests whose lock time has come are locked
/// (or cancelled when under-filled). Runs once across all workers (Hangfire recurring job).
/// </summary>
public sealed class LifecycleClockJob(ContestLifecycleService lifecycle, ILogger<LifecycleClockJob> log)
{
    public const string RecurringId = "contest-lifecycle-clock";
    public const string Cron = "* * * * *";

    [SingleInstance(timeoutInSeconds: 60)]
    [AutomaticRetry(Attempts = 0)] // the next minute's run is the retry
    public async Task RunAsync()
    {
        var results = await lifecycle.LockDueContestsAsync(limit: 100);
        if (results.Count > 0)
            log.LogInformation("Lifecycle clock: {Count} contests reached lock time: {Results}", results.Count,
                string.Join(", ", results.Select(r => $"{r.ContestId} {ContestStates.Name(r.From)}->{ContestStates.Name(r.To)} ({r.Outcome})")));
    }
}

/// <summary>The Contests capability's recurring jobs.</summary>
public sealed class ContestsRecurringJobs : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(Hangfire.IRecurringJobManager recurring, Hangfire.RecurringJobOptions options)
    {
        Hangfire.RecurringJobManagerExtensions.AddOrUpdate<LifecycleClockJob>(recurring, LifecycleClockJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), LifecycleClockJob.Cron, options);
        return [LifecycleClockJob.RecurringId];
    }
}
