using Fairway.Host.Platform.Jobs;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using Hangfire;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>The Hangfire job that runs the ledger reconciliation (recurring, every 15 minutes).</summary>
public sealed class ReconciliationJob(ReconciliationService service)
{
    public const string RecurringJobId = "ledger-reconciliation";
    public const string Cron = "*/15 * * * *";

    // A failed run is not retried by Hangfire: the next scheduled run is at most 15 minutes away, and a
    // run that cannot read the ledger fails loudly (job state Failed, logged).
    [AutomaticRetry(Attempts = 0)]
    [SingleInstance(timeoutInSeconds: 600)]
    public async Task RunAsync(CancellationToken ct) => await service.RunAsync(ReconciliationService.Actor, ct);
}

/// <summary>The reconciliation's recurring jobs.</summary>
public sealed class ReconciliationRecurringJobs : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options)
    {
        recurring.AddOrUpdate<ReconciliationJob>(ReconciliationJob.RecurringJobId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(CancellationToken.None), ReconciliationJob.Cron, options);
        return [ReconciliationJob.RecurringJobId];
    }
}

public static class ReconciliationSetup
{
    public static void AddFairwayReconciliation(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<ReconciliationService>();
        services.AddScoped<ReconciliationJob>();
        if ((settings.Role & HostRole.Worker) != 0) services.AddSingleton<Platform.Jobs.IRecurringJobSet, ReconciliationRecurringJobs>();
        services.AddFairwayStripeReconciliation(settings);
    }

    public static void MapReconciliation(this RouteGroupBuilder admin)
    {
        admin.MapGet("/reconciliation/runs", async (int? limit, ReconciliationService service, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            return Results.Ok(new { runs = await service.RecentRunsAsync(limit ?? 20, ct) });
        });
        admin.MapPost("/reconciliation/run", async (HttpContext http, ReconciliationService service, CancellationToken ct) =>
            Results.Ok(await service.RunAsync(Platform.Auth.Actors.Of(http.User), ct)));
        admin.MapStripeReconciliation();
    }
}
