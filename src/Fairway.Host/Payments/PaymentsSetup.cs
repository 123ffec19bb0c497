using Fairway.Host.Platform.Configuration;

namespace Fairway.Host.Payments;

public static class PaymentsSetup
{
    /// <summary>Services of the payments capability (every role: the API creates intents and enqueues jobs, workers run them).</summary>
    public static void AddFairwayPayments(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<StripeGateway>();
        services.AddSingleton<ProcessingFees>();
        services.AddSingleton<PaymentConvergence>();
        services.AddSingleton<EntryService>();
        services.AddSingleton<RefundService>();
        services.AddSingleton<DisputeService>();
        services.AddSingleton<PayoutAccountService>();
        services.AddSingleton<WebhookProcessor>();
        services.AddSingleton<PaymentSweeper>();
        services.AddScoped<WebhookProcessingJob>();
        services.AddScoped<WebhookDrainJob>();
        services.AddScoped<WebhookBatchJob>();
        services.AddScoped<RefundExecutionJob>();
        services.AddScoped<PaymentSweeperJob>();
        services.AddSingleton<ContestPaymentsCloser>();
        services.AddScoped<ContestPaymentsCloserJob>();
        services.AddSingleton<RefundRequests>();
        services.AddSingleton<WebhookDeadLetters>();
        services.AddHostedService<PaymentsStateCollector>();
        if ((settings.Role & HostRole.Worker) != 0) services.AddSingleton<Platform.Jobs.IRecurringJobSet, PaymentsRecurringJobs>();
    }
}

/// <summary>The Payments capability's recurring jobs.</summary>
public sealed class PaymentsRecurringJobs : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(Hangfire.IRecurringJobManager recurring, Hangfire.RecurringJobOptions options)
    {
        Hangfire.RecurringJobManagerExtensions.AddOrUpdate<WebhookDrainJob>(recurring, WebhookDrainJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(CancellationToken.None), WebhookDrainJob.Cron, options);
        Hangfire.RecurringJobManagerExtensions.AddOrUpdate<PaymentSweeperJob>(recurring, PaymentSweeperJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(CancellationToken.None), PaymentSweeperJob.Cron, options);
        Hangfire.RecurringJobManagerExtensions.AddOrUpdate<ContestPaymentsCloserJob>(recurring, ContestPaymentsCloserJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(CancellationToken.None), ContestPaymentsCloserJob.Cron, options);
        return [WebhookDrainJob.RecurringId, PaymentSweeperJob.RecurringId, ContestPaymentsCloserJob.RecurringId];
    }
}
