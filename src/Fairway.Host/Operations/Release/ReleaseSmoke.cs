using Dapper;
using Fairway.Host.Ingestion;
using Fairway.Host.Payments;
using Fairway.Host.Platform.Jobs;
using Hangfire;
using Hangfire.Common;
using Npgsql;

namespace Fairway.Host.Operations.Release;

public sealed record ConnectionCheck(string Name, bool Ok, string Detail);

public sealed record ReleaseSmokeReport(bool Ok, IReadOnlyList<ConnectionCheck> Checks);

/// <summary>
/// The connection half of `fairway release check`: Stripe from the API process, and Stripe and the golf data provider
/// from a worker (through a job, which also proves API → job storage → worker), each with the deployment's own
/// configuration and read-only calls only. No money moves, no object is created, no ingestion event is recorded.
/// </summary>
public static class ReleaseSmoke
{
    /// <summary>Asked for when no tournament is registered yet: an unknown id answers 404 from an authenticated provider.</summary>
    public const string PlaceholderEventId = "fairway-release-smoke";
    const int WaitSeconds = 60;

    public static async Task<ConnectionCheck> StripeAsync(StripeGateway stripe, string where, CancellationToken ct)
    {
        try
        {
            var n = await stripe.ProbeAsync(ct);
            return new ConnectionCheck($"stripe ({where})", true, $"GET /v1/transfers?limit=1 answered ({n} listed)");
        }
        catch (Exception e) when (e is Stripe.StripeException or HttpRequestException or TaskCanceledException)
        {
            return new ConnectionCheck($"stripe ({where})", false, $"{e.GetType().Name}: {e.Message}");
        }
    }

    public static void MapReleaseSmoke(this RouteGroupBuilder admin) =>
        admin.MapPost("/release/smoke", async (StripeGateway stripe, IBackgroundJobClient jobs, JobStorage storage, ILoggerFactory logs, CancellationToken ct) =>
        {
            var checks = new List<ConnectionCheck> { await StripeAsync(stripe, "api", ct) };
            var jobId = jobs.Enqueue<ReleaseSmokeJob>(j => j.RunAsync(CancellationToken.None));
            var (state, final) = await JobWaiter.WaitAsync(storage, jobId, TimeSpan.FromSeconds(WaitSeconds));
            if (state == Hangfire.States.SucceededState.StateName)
            {
                using var connection = storage.GetConnection();
                var data = connection.GetStateData(jobId)?.Data;
                var result = data is not null && data.TryGetValue("Result", out var r) ? r : null;
                checks.AddRange(result is null ? [new ConnectionCheck("worker", false, $"job {jobId} recorded no result")]
                    : SerializationHelper.Deserialize<List<ConnectionCheck>>(result, SerializationOption.User)!);
            }
            else checks.Add(new ConnectionCheck("worker", false, final
                ? $"smoke job {jobId} ended {state}" : $"no worker ran smoke job {jobId} within {WaitSeconds} s (state {state ?? "unknown"})"));
            var report = new ReleaseSmokeReport(checks.All(c => c.Ok), checks);
            logs.CreateLogger("Fairway.Release").Log(report.Ok ? LogLevel.Information : LogLevel.Error,
                "Release smoke test {Outcome}: {Checks}", report.Ok ? "passed" : "FAILED", checks.Select(c => $"{c.Name}={(c.Ok ? "ok" : c.Detail)}"));
            return Results.Ok(report);
        });
}

/// <summary>The worker half of the release smoke test.</summary>
public sealed class ReleaseSmokeJob(StripeGateway stripe, ProviderClient provider, NpgsqlDataSource db)
{
    // One attempt: the operator asked now and reads the answer now; a retry later would answer nobody.
    [AutomaticRetry(Attempts = 0)]
    public async Task<List<ConnectionCheck>> RunAsync(CancellationToken ct)
    {
        string eventId;
        await using (var c = await db.OpenConnectionAsync(ct))
            eventId = await c.QuerySingleOrDefaultAsync<string?>("SELECT provider_event_id FROM tournaments ORDER BY created_at DESC, id DESC LIMIT 1")
                      ?? ReleaseSmoke.PlaceholderEventId;
        var fetch = await provider.FetchLeaderboardAsync(eventId, ct);
        // 200: the leaderboard; 404: an authenticated provider that does not know the id. Anything else (401/403: key
        // refused, 5xx, no answer) means ingestion would fail.
        var providerCheck = fetch.HttpStatus is 200 or 404
            ? new ConnectionCheck("provider (worker)", true, $"GET {provider.LeaderboardUri(eventId)} answered {fetch.HttpStatus} in {fetch.Duration.TotalMilliseconds:F0} ms")
            : new ConnectionCheck("provider (worker)", false, $"GET {provider.LeaderboardUri(eventId)}: {(fetch.HttpStatus is { } s ? $"HTTP {s}" : fetch.TransportError)}");
        return [await ReleaseSmoke.StripeAsync(stripe, "worker", ct), providerCheck];
    }
}
