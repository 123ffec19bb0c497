using Dapper;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>A background job as Hangfire recorded it: its current state and every state it went through (with the reason).</summary>
public sealed record JobRecord(long Id, string Type, string? State, IReadOnlyList<(string Name, string? Reason)> History)
{
    /// <summary>The job will not run again by itself (succeeded, failed for good, deleted).</summary>
    public bool Finished => State is "Succeeded" or "Failed" or "Deleted";
    /// <summary>It ran and failed at least once (Hangfire then schedules its retry, with the exception as the reason).</summary>
    public bool FailedOnce => History.Any(h => h.Name == "Scheduled" && h.Reason?.StartsWith("Retry attempt", StringComparison.Ordinal) == true);
}

/// <summary>
/// Reads Hangfire's own job storage: the recorded outcome tests wait for instead of sleeping ("the job ran and
/// recorded its outcome"). Jobs are found by their type and an argument (e.g. a webhook event id).
/// </summary>
public static class HangfireJobs
{
    public static async Task<IReadOnlyList<JobRecord>> OfAsync(string databaseUrl, string jobType, string argument)
    {
        await using var c = await TestDatabases.OpenAsync(databaseUrl);
        var jobs = (await c.QueryAsync<(long Id, string Type, string? State)>("""
            SELECT id, invocationdata->>'Type', statename FROM hangfire.job
             WHERE invocationdata->>'Type' LIKE '%' || @jobType || '%' AND arguments::text LIKE '%' || @argument || '%' ORDER BY id
            """, new { jobType, argument })).ToList();
        var history = (await c.QueryAsync<(long JobId, string Name, string? Reason)>(
            "SELECT jobid, name, reason FROM hangfire.state WHERE jobid = ANY(@ids) ORDER BY id", new { ids = jobs.Select(j => j.Id).ToArray() })).ToList();
        return jobs.Select(j => new JobRecord(j.Id, j.Type, j.State, history.Where(h => h.JobId == j.Id).Select(h => (h.Name, h.Reason)).ToList())).ToList();
    }

    /// <summary>Waits (bounded) until <paramref name="done"/> holds for the jobs of <paramref name="jobType"/> with <paramref name="argument"/>; returns them.</summary>
    public static async Task<IReadOnlyList<JobRecord>> WaitUntilAsync(string databaseUrl, string jobType, string argument, Func<IReadOnlyList<JobRecord>, bool> done,
        string what, int seconds = 60)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var jobs = await OfAsync(databaseUrl, jobType, argument);
            if (done(jobs)) return jobs;
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds))
                throw new TimeoutException($"not reached within {seconds}s: {what}; jobs: {string.Join(", ", jobs.Select(j => $"{j.Id} {j.State}"))}");
            await Task.Delay(100);
        }
    }
}
