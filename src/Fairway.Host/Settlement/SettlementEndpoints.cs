using System.Text;
using System.Text.Json;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Payouts;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using Fairway.Host.Platform.Jobs;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Settlement;

public sealed record SettlementShowView(
    string ContestId, string ContestState, bool Settled, SettlementView? Settlement, IReadOnlyList<SettlementResultRowView> Results, int ResultsShown,
    IReadOnlyList<SettlementRunView> Runs, IReadOnlyList<CorrectionCheckView> CorrectionChecks, PayoutJobView? PayoutJob);

public sealed record SettlementResultRowView(string EntryId, string UserId, int Rank, long Score, long Prize, JsonElement Golfers);

public sealed record SettlementRunRequestResult(string ContestId, string JobId, string? JobState);

/// <summary>Rebuilds the engine's settlement bundle of a settled contest from the database alone.</summary>
public sealed class SettlementExport(NpgsqlDataSource db, ContestRepository contests, SettlementRepository settlements, IngestionEventStore events)
{
    /// <summary>
    /// The <c>fairway.settlement-bundle/1</c> JSON: the rules of the config version settled on, the exact stored
    /// leaderboard payload settled on, and the entries as settled (settlement_results). Null when not settled.
    /// </summary>
    public async Task<string?> BundleAsync(string contestId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var s = await settlements.ByContestAsync(c, contestId);
        if (s is null) return null;
        var config = await contests.ConfigVersionAsync(c, contestId, s.ConfigVersion) ?? throw new InvalidOperationException($"config v{s.ConfigVersion} of {contestId} is missing");
        var body = await events.BodyAsync(c, s.LeaderboardHash) ?? throw new InvalidOperationException($"payload {s.LeaderboardHash} is missing");
        var entries = (await settlements.ResultsAsync(c, s.Id))
            .Select(r => new SettlementEntry(r.EntryId, r.UserId, JsonSerializer.Deserialize<List<string>>(r.Golfers)!)).ToList();
        var bundle = SettlementBundle.Write(s.RulesOf(config.Config), Encoding.UTF8.GetString(body), entries);
        return bundle.IsSuccess ? bundle.Value
            : throw new InvalidOperationException("stored settlement inputs no longer form a valid bundle: " + string.Join("; ", bundle.Errors.Select(e => $"{e.Path}: {e.Code}")));
    }
}

public static class SettlementEndpoints
{
    public static void MapSettlementsAdmin(this RouteGroupBuilder admin)
    {
        // The exits of ERROR (docs/runbooks): retry the settlement, or cancel the contest and refund every paid entry.
        admin.MapPost("/contests/{contestId}/resolve", async (string contestId, ResolveContestRequest body, HttpContext http, ContestErrorResolution resolution, CancellationToken ct) =>
        {
            try { return Results.Ok(await resolution.ResolveAsync(contestId, body.Action!, Actors.Of(http.User), body.Reason!.Trim(), ct)); }
            catch (ContestTransitionException e)
            {
                return Problems.Result(e.Code, "The contest was not resolved.", e.Message);
            }
        }).Validate<ResolveContestRequest>();

        // What alert SettlementFailed counts (settlement_failed_contests), one contest per row, oldest failure first: the
        // page names no contest, this list is how the on-call finds it.
        admin.MapGet("/signals/settlement_failed_contests", async (int? limit, NpgsqlDataSource db, SettlementRepository settlements, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var (count, rows) = await settlements.FailingContestsAsync(c, limit ?? 50, ct);
            return Results.Ok(new
            {
                signal = "settlement_failed_contests", count,
                contests = rows.Select(r => new
                {
                    contest_id = r.ContestId, tournament_id = r.TournamentId, last_run_id = r.LastRunId, error_code = r.ErrorCode,
                    failed_at = r.FailedAt.ToUniversalTime(), failed_runs = r.FailedRuns,
                }),
            });
        });

        var group = admin.MapGroup("/settlements");

        group.MapGet("/{contestId}", async (string contestId, int? limit, NpgsqlDataSource db, ContestRepository contests, SettlementRepository settlements, CancellationToken ct) =>
        {
            if (limit is < 0 or > 1000)
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("limit", FieldCodes.OutOfRange, "limit must be between 0 and 1000")]);
            await using var c = await db.OpenConnectionAsync(ct);
            var contest = await contests.GetAsync(c, contestId);
            if (contest is null) return Problems.Result(ProblemCodes.ContestNotFound, "No such contest.", $"no contest '{contestId}'");
            var s = await settlements.ByContestAsync(c, contestId);
            var results = s is null ? [] : await settlements.ResultsAsync(c, s.Id, limit ?? 50);
            var runs = await settlements.RunsAsync(c, contestId);
            var checks = s is null ? [] : await settlements.CorrectionChecksAsync(c, s.Id);
            var job = s is null ? null : await PayoutOrchestrationService.JobBySettlementAsync(c, s.Id);
            return Results.Ok(new SettlementShowView(contestId, contest.State, s is not null, s,
                results.Select(r => new SettlementResultRowView(r.EntryId, r.UserId, r.Rank, r.Score, r.Prize, JsonDocument.Parse(r.Golfers).RootElement)).ToList(),
                results.Count, runs, checks, job));
        });

        group.MapGet("/{contestId}/bundle", async (string contestId, SettlementExport export, CancellationToken ct) =>
            await export.BundleAsync(contestId, ct) is { } json
                ? Results.Text(json, "application/json", Encoding.UTF8)
                : Problems.Result(ProblemCodes.SettlementNotFound, "This contest is not settled.", $"contest '{contestId}' has no settlement"));

        // Runs the settlement job now (ops; normally the scheduler does it after the hold). Refused before the hold is over.
        group.MapPost("/{contestId}/run", async (string contestId, int? wait_seconds, HttpContext http, SettlementService service, IBackgroundJobClient jobs, JobStorage storage, CancellationToken ct) =>
        {
            if (wait_seconds is < 0 or > JobWaiter.MaxWaitSeconds)
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("wait_seconds", FieldCodes.OutOfRange, "wait_seconds must be between 0 and 120")]);
            if (await service.CheckDueAsync(contestId, ct) is { } refused)
                return Problems.Result(refused.Code, "The contest cannot be settled now.", refused.Message);
            var actor = Actors.Of(http.User);
            var jobId = jobs.Enqueue<SettlementJob>(j => j.RunAsync(contestId, actor));
            var (state, final) = await JobWaiter.WaitAsync(storage, jobId, TimeSpan.FromSeconds(wait_seconds ?? 0));
            var result = new SettlementRunRequestResult(contestId, jobId, state);
            return final ? Results.Ok(result) : Results.Accepted((string?)null, result);
        });
    }
}

public static class SettlementSetup
{
    public static void AddFairwaySettlement(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<SettlementRepository>();
        services.AddSingleton<SettlementService>();
        services.AddSingleton<SettlementExport>();
        services.AddSingleton<SettlementCorrectionService>();
        services.AddSingleton<ContestErrorResolution>();
        services.AddHostedService<SettlementStatusCollector>();
        if ((settings.Role & HostRole.Worker) != 0)
        {
            services.AddScoped<SettlementJob>();
            services.AddScoped<SettlementSchedulerJob>();
            services.AddScoped<SettlementCorrectionWatchJob>();
            services.AddSingleton<Platform.Jobs.IRecurringJobSet, SettlementRecurringJobs>();
        }
    }
}

/// <summary>The Settlement capability's recurring jobs.</summary>
public sealed class SettlementRecurringJobs : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options)
    {
        recurring.AddOrUpdate<SettlementSchedulerJob>(SettlementSchedulerJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), SettlementSchedulerJob.Cron, options);
        recurring.AddOrUpdate<SettlementCorrectionWatchJob>(SettlementCorrectionWatchJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), SettlementCorrectionWatchJob.Cron, options);
        return [SettlementSchedulerJob.RecurringId, SettlementCorrectionWatchJob.RecurringId];
    }
}
