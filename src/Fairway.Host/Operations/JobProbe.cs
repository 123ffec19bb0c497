using Dapper;
using Fairway.Host.Platform.Http;
using FluentValidation;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Operations;

public sealed record JobProbeRequest(int? DelayMs, int? WaitSeconds);

public sealed record JobProbeResult(
    Guid ProbeId, int RequestedByPid, int ApiPid, string? ExecutedByServer, int? ExecutedByPid, DateTimeOffset? ExecutedAt, string Status);

public sealed class JobProbeRequestValidator : AbstractValidator<JobProbeRequest>
{
    public JobProbeRequestValidator()
    {
        RuleFor(r => r.DelayMs).InclusiveBetween(0, 60_000).WithErrorCode(FieldCodes.OutOfRange);
        RuleFor(r => r.WaitSeconds).InclusiveBetween(0, 120).WithErrorCode(FieldCodes.OutOfRange);
    }
}

/// <summary>
/// The job probe: an operator (or a smoke test) asks the API to enqueue a tiny job and sees which
/// worker process ran it and when. It proves the whole path API → job storage → worker works.
/// </summary>
public sealed class JobProbeJob(NpgsqlDataSource db, TimeProvider clock, ILogger<JobProbeJob> log)
{
    [AutomaticRetry(Attempts = 3)]
    public async Task RunAsync(Guid probeId, int requestedByPid, int delayMs)
    {
        log.LogInformation("Job probe {ProbeId} running (delay {DelayMs} ms)", probeId, delayMs);
        // Deliberately not cancelled by shutdown: the probe is how tests prove an in-flight job is
        // allowed to finish when the worker receives SIGTERM.
        await Task.Delay(delayMs);
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO job_probe_results (probe_id, requested_by_pid, executed_by_server, executed_by_pid, executed_at)
            VALUES (@probeId, @requestedByPid, @server, @pid, @at) ON CONFLICT (probe_id) DO NOTHING
            """, new { probeId, requestedByPid, server = Environment.MachineName, pid = Environment.ProcessId, at = clock.GetUtcNow() });
        log.LogInformation("Job probe {ProbeId} done", probeId);
    }
}

public static class JobProbeEndpoints
{
    public static void MapJobProbe(this RouteGroupBuilder admin)
    {
        admin.MapPost("/jobs/probes", async (JobProbeRequest body, IBackgroundJobClient jobs, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var id = Guid.NewGuid();
            jobs.Enqueue<JobProbeJob>(j => j.RunAsync(id, Environment.ProcessId, body.DelayMs ?? 0));
            var deadline = TimeSpan.FromSeconds(body.WaitSeconds ?? 0);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            // Bounded wait (<= 120 s) so a caller can see the result in one request.
            while (true)
            {
                var result = await ReadAsync(db, id, ct);
                if (result.Status == "executed" || waited.Elapsed >= deadline)
                    return result.Status == "executed" ? Results.Ok(result) : Results.Accepted($"/api/admin/jobs/probes/{id}", result);
                await Task.Delay(200, CancellationToken.None);
            }
        }).Validate<JobProbeRequest>();

        admin.MapGet("/jobs/probes/{id:guid}", async (Guid id, NpgsqlDataSource db, CancellationToken ct) => Results.Ok(await ReadAsync(db, id, ct)));
    }

    static async Task<JobProbeResult> ReadAsync(NpgsqlDataSource db, Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<(int RequestedByPid, string Server, int Pid, DateTime At)?>(
            "SELECT requested_by_pid, executed_by_server, executed_by_pid, executed_at FROM job_probe_results WHERE probe_id = @id", new { id });
        return row is { } r
            ? new JobProbeResult(id, r.RequestedByPid, Environment.ProcessId, r.Server, r.Pid, new DateTimeOffset(DateTime.SpecifyKind(r.At, DateTimeKind.Utc)), "executed")
            : new JobProbeResult(id, Environment.ProcessId, Environment.ProcessId, null, null, null, "pending");
    }
}
