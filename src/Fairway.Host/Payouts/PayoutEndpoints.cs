using Fairway.Host.Contests;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using Hangfire;

namespace Fairway.Host.Payouts;

/// <summary>The recurring payout scheduler (seed 003 BLOCKER 2). Registered by <c>RecurringJobsRegistration</c>.</summary>
public sealed class PayoutSchedulerJob(PayoutJobService service)
{
    public const string RecurringId = "payout-scheduler";

    // Not SingleInstance: concurrent runs (several workers, a slow run overlapping the next one) are
    // safe by SKIP LOCKED, and the concurrency test runs two at once. A failed run is not retried by Hangfire:
    // the next occurrence is the retry, and every transfer carries its own retry schedule.
    [AutomaticRetry(Attempts = 0)]
    public async Task RunAsync() => await service.RunAsync("system:payout-scheduler");
}

/// <summary>Admin routes of payouts (role admin): diagnostics, retry of a failed transfer, release of a held job.</summary>
public static class PayoutEndpoints
{
    public static void MapPayoutsAdmin(this RouteGroupBuilder admin)
    {
        var payouts = admin.MapGroup("/payouts");

        payouts.MapGet("/status", async (PayoutDiagnostics d, CancellationToken ct) => Results.Ok(await d.StatusAsync(ct)));

        payouts.MapGet("/dry-run", async (PayoutDiagnostics d, CancellationToken ct) => Results.Ok(await d.DryRunAsync(ct)));

        payouts.MapGet("/contests/{contestId}", async (string contestId, int? limit, PayoutDiagnostics d, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 1000) is { } badLimit) return badLimit;
            return await d.ContestAsync(contestId, limit ?? 200, ct) is { } r ? Results.Ok(r)
                : Problems.Result(ProblemCodes.PayoutJobNotFound, "No payout job for this contest.", $"contest '{contestId}' has no payout job (not settled yet?)");
        });

        // needs_ops=true leaves out the transfers only the winner can unblock (no connected account, a refused destination):
        // they re-queue themselves on account.updated and page nobody, so an operator's list holds only what is theirs.
        payouts.MapGet("/transfers", async (string? status, int? limit, long? before, bool? needs_ops, PayoutDiagnostics d, CancellationToken ct) =>
        {
            if (status is not null && !AllTransferStatuses.Contains(status))
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("status", FieldCodes.InvalidStatus, "one of " + string.Join(", ", AllTransferStatuses))]);
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            var rows = await d.TransfersAsync(status, n + 1, before, needs_ops == true, ct);
            return Results.Ok(new { transfers = rows.Take(n), next_before = rows.Count > n ? rows[n - 1].Id : (long?)null });
        });

        payouts.MapGet("/transfers/{transferId:long}", async (long transferId, PayoutDiagnostics d, CancellationToken ct) =>
            await d.TransferAsync(transferId, ct) is { } r ? Results.Ok(r)
                : Problems.Result(ProblemCodes.PayoutTransferNotFound, "No such payout transfer.", $"no payout transfer {transferId}"));

        payouts.MapPost("/transfers/{transferId:long}/retry", async (long transferId, ReasonRequest body, HttpContext http, PayoutOrchestrationService o, CancellationToken ct) =>
            await ActAsync(async () => Results.Ok(await o.RetryAsync(transferId, Actors.Of(http.User), body.Reason!.Trim(), ct))))
            .Validate<ReasonRequest>();

        // After a Stripe outage: every retryable transfer is attempted by the next scheduler run instead of at the end of
        // a backoff that was spent against a failing API (docs/runbooks/stripe-outage.md).
        payouts.MapPost("/retry-now", async (ReasonRequest body, HttpContext http, PayoutOrchestrationService o, CancellationToken ct) =>
            Results.Ok(await o.RetryNowAsync(Actors.Of(http.User), body.Reason!.Trim(), ct)))
            .Validate<ReasonRequest>();

        payouts.MapPost("/contests/{contestId}/release", async (string contestId, ReasonRequest body, HttpContext http, PayoutOrchestrationService o, CancellationToken ct) =>
            await ActAsync(async () => Results.Ok(await o.ReleaseAsync(contestId, Actors.Of(http.User), body.Reason!.Trim(), ct))))
            .Validate<ReasonRequest>();
    }

    static readonly string[] AllTransferStatuses =
        [PayoutTransferStatuses.Pending, PayoutTransferStatuses.Processing, PayoutTransferStatuses.Retryable, PayoutTransferStatuses.Completed, PayoutTransferStatuses.FailedTerminal];

    static async Task<IResult> ActAsync(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (PayoutActionException e) { return Problems.Result(e.Code, "The payout action was refused.", e.Message); }
    }
}

public static class PayoutSetup
{
    public static void AddFairwayPayouts(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<PayoutOrchestrationService>();
        services.AddSingleton<PayoutDiagnostics>();
        services.AddHostedService<PayoutStuckCollector>();
        if ((settings.Role & HostRole.Worker) != 0)
        {
            services.AddSingleton<PayoutStripeGateway>();
            services.AddSingleton<PayoutExecutionService>();
            services.AddSingleton<PayoutJobService>();
            services.AddScoped<PayoutSchedulerJob>();
            services.AddSingleton<Platform.Jobs.IRecurringJobSet, PayoutsRecurringJobs>();
        }
    }
}

/// <summary>The Payouts capability's recurring jobs (the scheduler's cron is configurable: PAYOUT_SCHEDULER_CRON).</summary>
public sealed class PayoutsRecurringJobs(FairwaySettings settings) : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options)
    {
        recurring.AddOrUpdate<PayoutSchedulerJob>(PayoutSchedulerJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), settings.PayoutSchedulerCron, options);
        return [$"{PayoutSchedulerJob.RecurringId} ({settings.PayoutSchedulerCron})"];
    }
}
