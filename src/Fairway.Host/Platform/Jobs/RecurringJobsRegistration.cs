using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Operations.Reconciliation;
using Hangfire;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// Declares every recurring job in one place. Worker processes register them at start-up
/// (AddOrUpdate is idempotent, so several workers starting together agree); Hangfire runs each
/// occurrence once across all servers.
/// </summary>
public sealed class RecurringJobsRegistration(IRecurringJobManager recurring, ILogger<RecurringJobsRegistration> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        recurring.AddOrUpdate<LifecycleClockJob>(LifecycleClockJob.RecurringId, JobQueues.Default, j => j.RunAsync(), LifecycleClockJob.Cron, options);
        recurring.AddOrUpdate<IngestionSchedulerJob>(IngestionSchedulerJob.RecurringId, JobQueues.Default, j => j.RunAsync(), IngestionSchedulerJob.Cron, options);
        recurring.AddOrUpdate<ReconciliationJob>(ReconciliationJob.RecurringJobId, JobQueues.Default, j => j.RunAsync(CancellationToken.None), ReconciliationJob.Cron, options);
        log.LogInformation("Recurring jobs registered: {Jobs}", string.Join(", ", LifecycleClockJob.RecurringId, IngestionSchedulerJob.RecurringId, ReconciliationJob.RecurringJobId));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
