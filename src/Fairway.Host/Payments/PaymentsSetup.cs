using Fairway.Host.Platform.Configuration;

namespace Fairway.Host.Payments;

public static class PaymentsSetup
{
    /// <summary>Services of the payments capability (every role: the API creates intents and enqueues jobs, workers run them).</summary>
    public static void AddFairwayPayments(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<StripeGateway>();
        services.AddSingleton<PaymentConvergence>();
        services.AddSingleton<EntryService>();
        services.AddSingleton<RefundService>();
        services.AddSingleton<DisputeService>();
        services.AddSingleton<PayoutAccountService>();
        services.AddSingleton<WebhookProcessor>();
        services.AddSingleton<PaymentSweeper>();
        services.AddScoped<WebhookProcessingJob>();
        services.AddScoped<WebhookDrainJob>();
        services.AddScoped<RefundExecutionJob>();
        services.AddScoped<CancellationRefundsJob>();
        services.AddScoped<PaymentSweeperJob>();
    }
}
