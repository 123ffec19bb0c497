using Fairway.Host.Contests;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using Fairway.Host.Platform.Jobs;
using Hangfire;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>The recurring Hangfire job <c>stripe-reconciliation</c> (twice an hour, UTC).</summary>
public sealed class StripeReconciliationJob(StripeReconciliationService service, ILogger<StripeReconciliationJob> log)
{
    public const string RecurringJobId = "stripe-reconciliation";
    public const string Cron = "5,35 * * * *";

    // Not retried: the next run is at most 30 minutes away and continues from the cursors. A run that could not
    // read Stripe is recorded (outcome failed) and fails the job, so it shows.
    [AutomaticRetry(Attempts = 0)]
    [SingleInstance(timeoutInSeconds: 600)]
    public async Task RunAsync(CancellationToken ct)
    {
        StripeReconciliationRunResult run;
        try { run = await service.RunAsync(ReconciliationService.Actor, ct); }
        catch (StripeReconciliationBusyException)
        {
            log.LogInformation("Stripe reconciliation skipped: another run is in progress");
            return;
        }
        if (run.Outcome != "completed") throw new InvalidOperationException($"Stripe reconciliation run {run.Id} failed: {run.Error}");
    }
}

/// <summary>The recurring job of the reconciliation against Stripe (registered by worker processes).</summary>
public sealed class StripeReconciliationRecurringJobs : IRecurringJobSet
{
    public IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options)
    {
        recurring.AddOrUpdate<StripeReconciliationJob>(StripeReconciliationJob.RecurringJobId, JobQueues.Default, j => j.RunAsync(CancellationToken.None),
            StripeReconciliationJob.Cron, options);
        return [StripeReconciliationJob.RecurringJobId];
    }
}

/// <summary>Computes <c>stripe_reconciliation_open_items</c> at scrape time (every role).</summary>
public sealed class StripeReconciliationMetrics(StripeReconciliationService reconciliation, ILogger<StripeReconciliationMetrics> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                var counts = await reconciliation.OpenCountsAsync(timeout.Token);
                foreach (var status in new[] { "discrepancy", "awaiting_stripe", "awaiting_fairway" })
                    StripeReconciliationService.OpenItems.WithLabels(status).Set(counts.GetValueOrDefault(status));
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                log.LogWarning("stripe_reconciliation_open_items not computed for this scrape: {Error}", e.Message);
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Admin routes of the reconciliation against Stripe, under /api/admin/reconciliation/stripe.</summary>
public static class StripeReconciliationEndpoints
{
    public static void AddFairwayStripeReconciliation(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<StripeReconciliationService>();
        services.AddScoped<StripeReconciliationJob>();
        services.AddHostedService<StripeReconciliationMetrics>();
        if ((settings.Role & HostRole.Worker) != 0) services.AddSingleton<IRecurringJobSet, StripeReconciliationRecurringJobs>();
    }

    public static void MapStripeReconciliation(this RouteGroupBuilder admin)
    {
        var stripe = admin.MapGroup("/reconciliation/stripe");

        stripe.MapGet("", async (StripeReconciliationService service, CancellationToken ct) =>
        {
            var runs = await service.RecentRunsAsync(1, ct);
            var counts = await service.OpenCountsAsync(ct);
            return Results.Ok(new
            {
                discrepancy_count = counts.GetValueOrDefault("discrepancy"),
                awaiting_count = counts.GetValueOrDefault("awaiting_stripe") + counts.GetValueOrDefault("awaiting_fairway"),
                discrepancies = await service.ItemsAsync("discrepancy", null, 200, ct),
                awaiting = (await service.ItemsAsync("awaiting_fairway", null, 100, ct)).Concat(await service.ItemsAsync("awaiting_stripe", null, 100, ct)),
                last_run = runs.Count > 0 ? runs[0] : (object?)null,
                cursors = await service.CursorsAsync(ct),
            });
        });

        stripe.MapGet("/runs", async (int? limit, StripeReconciliationService service, CancellationToken ct) =>
            Problems.PageLimitError(limit, 200) ?? Results.Ok(new { runs = await service.RecentRunsAsync(limit ?? 20, ct) }));

        stripe.MapPost("/run", async (HttpContext http, StripeReconciliationService service, CancellationToken ct) =>
        {
            try { return Results.Ok(await service.RunAsync(Actors.Of(http.User), ct)); }
            catch (StripeReconciliationBusyException e) { return Problems.Result(ProblemCodes.ReconciliationRunning, "A reconciliation run is in progress.", e.Message); }
        });

        stripe.MapGet("/items", async (string? status, int? limit, StripeReconciliationService service, CancellationToken ct) =>
        {
            if (status is not (null or "awaiting_stripe" or "awaiting_fairway" or "discrepancy" or "resolved" or "dismissed"))
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("status", FieldCodes.UnknownStatus,
                    "status must be one of awaiting_stripe, awaiting_fairway, discrepancy, resolved, dismissed")]);
            if (Problems.PageLimitError(limit, 1000) is { } badLimit) return badLimit;
            return Results.Ok(new { items = await service.ItemsAsync(status, null, limit ?? 100, ct) });
        });

        stripe.MapPost("/items/{subject}/dismiss", async (string subject, ReasonRequest body, HttpContext http, StripeReconciliationService service, CancellationToken ct) =>
            await service.DismissAsync(subject, Actors.Of(http.User), body.Reason!.Trim(), ct) is { } item
                ? Results.Ok(item)
                : Problems.Result(ProblemCodes.DiscrepancyNotFound, "No open discrepancy.", $"'{subject}' is not an open discrepancy of the reconciliation against Stripe"))
            .Validate<ReasonRequest>();
    }
}
