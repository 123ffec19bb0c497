using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Payouts;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Settlement;
using Fairway.Host.Payments;
using Fairway.Host.Operations.Reconciliation;
using Hangfire;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// Declares every recurring job in one place. Worker processes register them at start-up
/// (AddOrUpdate is idempotent, so several workers starting together agree); Hangfire runs each
/// occurrence once across all servers.
/// </summary>
public sealed class RecurringJobsRegistration(IRecurringJobManager recurring, FairwaySettings settings, ILogger<RecurringJobsRegistration> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        recurring.AddOrUpdate<LifecycleClockJob>(LifecycleClockJob.RecurringId, JobQueues.Default, j => j.RunAsync(), LifecycleClockJob.Cron, options);
        recurring.AddOrUpdate<IngestionSchedulerJob>(IngestionSchedulerJob.RecurringId, JobQueues.Default, j => j.RunAsync(), IngestionSchedulerJob.Cron, options);
        recurring.AddOrUpdate<ReconciliationJob>(ReconciliationJob.RecurringJobId, JobQueues.Default, j => j.RunAsync(CancellationToken.None), ReconciliationJob.Cron, options);
        recurring.AddOrUpdate<WebhookDrainJob>(WebhookDrainJob.RecurringId, JobQueues.Default, j => j.RunAsync(CancellationToken.None), WebhookDrainJob.Cron, options);
        recurring.AddOrUpdate<PaymentSweeperJob>(PaymentSweeperJob.RecurringId, JobQueues.Default, j => j.RunAsync(CancellationToken.None), PaymentSweeperJob.Cron, options);
        recurring.AddOrUpdate<SettlementSchedulerJob>(SettlementSchedulerJob.RecurringId, JobQueues.Default, j => j.RunAsync(), SettlementSchedulerJob.Cron, options);
        recurring.AddOrUpdate<SettlementCorrectionWatchJob>(SettlementCorrectionWatchJob.RecurringId, JobQueues.Default, j => j.RunAsync(), SettlementCorrectionWatchJob.Cron, options);
        recurring.AddOrUpdate<PayoutSchedulerJob>(PayoutSchedulerJob.RecurringId, JobQueues.Default, j => j.RunAsync(), settings.PayoutSchedulerCron, options);
        log.LogInformation("Recurring jobs registered: {Jobs}", string.Join(", ", LifecycleClockJob.RecurringId, IngestionSchedulerJob.RecurringId, ReconciliationJob.RecurringJobId,
            WebhookDrainJob.RecurringId, PaymentSweeperJob.RecurringId, SettlementSchedulerJob.RecurringId, SettlementCorrectionWatchJob.RecurringId,
            $"{PayoutSchedulerJob.RecurringId} ({settings.PayoutSchedulerCron})"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
