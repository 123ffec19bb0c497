using Fairway.Host.Platform.Http;
using Fairway.Host.Platform.Jobs;
using FluentValidation;
using Hangfire;

namespace Fairway.Host.Operations;

public sealed record RecurringJobTriggerResult(string RecurringJobId, string JobId, string? State);
public sealed record RecurringJobPauseRequest(string? Reason);
/// <summary><c>RecurringDue</c>: recurring jobs whose next execution is at or before Fairway's clock (at most 50, by due time),
/// i.e. not yet run by a worker's scheduler; empty when every schedule is ahead of the clock.</summary>
public sealed record JobStatsView(long Enqueued, long Processing, long Scheduled, long Failed, long Succeeded, long Servers, long Recurring,
    IReadOnlyList<string> RecurringDue, IReadOnlyList<JobQueueView> Queues);
/// <summary>
/// One queue: jobs waiting for a worker, and jobs a worker fetched (invisible to others until it finishes them, or until
/// FAIRWAY_JOB_INVISIBILITY_TIMEOUT_SECONDS after it died). <c>Oldest</c>: the first waiting and fetched jobs (at most 5
/// of each), so a backlog that does not drain names its jobs.
/// </summary>
public sealed record JobQueueView(string Queue, long Waiting, long Fetched, IReadOnlyList<QueuedJobView> Oldest);
public sealed record QueuedJobView(string Id, string Job, string? State, DateTime? At, bool Fetched);
public sealed record RecurringJobView(string Id, string Cron, DateTime? NextExecution, DateTime? LastExecution, string? LastJobState, RecurringJobPause? Pause);

public sealed class RecurringJobPauseRequestValidator : AbstractValidator<RecurringJobPauseRequest>
{
    public RecurringJobPauseRequestValidator() =>
        RuleFor(r => r.Reason).NotEmpty().WithErrorCode(FieldCodes.Required).Length(3, 500).WithErrorCode(FieldCodes.OutOfRange);
}

/// <summary>
/// <c>POST /api/admin/jobs/recurring/{id}/trigger?wait_seconds=</c>: runs a recurring job now (ops,
/// tests and the simulation; Hangfire's own schedule runs on real time). With <c>wait_seconds</c>
/// (0..120) the call waits until the created job is Succeeded, Failed or Deleted.
/// </summary>
public static class RecurringJobEndpoints
{
    public static void MapRecurringJobTrigger(this RouteGroupBuilder admin)
    {
        admin.MapPost("/jobs/recurring/{id}/trigger", async (string id, int? wait_seconds, IRecurringJobManagerV2 manager, JobStorage storage, RecurringJobPauses pauses, ILoggerFactory logs, HttpContext http) =>
        {
            if (JobWaiter.WaitSecondsError(wait_seconds) is { } badWait) return badWait;
            using (var connection = storage.GetConnection())
                if (connection.GetAllEntriesFromHash($"recurring-job:{id}") is not { Count: > 0 })
                    return Problems.Result(ProblemCodes.RecurringJobNotFound, "No such recurring job.", $"no recurring job '{id}' is registered (workers register them at start-up)");
            if (pauses.IsPaused(id))
                return Problems.Result(ProblemCodes.RecurringJobPaused, "The recurring job is paused.", $"resume it first: fairway jobs resume {id} --reason ...");
            string? jobId;
            // Hangfire takes the recurring job's distributed lock to trigger it; the schedulers (real time and Fairway's
            // clock) take the same lock each time they look at it. Losing that race is not a server error: nothing was
            // triggered, and the caller may simply ask again.
            try { jobId = manager.TriggerJob(id); }
            catch (Hangfire.Storage.DistributedLockTimeoutException)
            {
                return Problems.Result(ProblemCodes.RecurringJobBusy, "The recurring job is busy.", $"recurring job '{id}' is being scheduled right now; retry");
            }
            if (jobId is null)
                return Problems.Result(ProblemCodes.RecurringJobNotFound, "No such recurring job.", $"recurring job '{id}' could not be triggered");
            logs.CreateLogger("Fairway.Operations").LogInformation("Recurring job {RecurringJobId} triggered by {Actor}: job {JobId}", id, Platform.Auth.Actors.Of(http.User), jobId);

            var (state, final) = await JobWaiter.WaitAsync(storage, jobId, TimeSpan.FromSeconds(wait_seconds ?? 0));
            var result = new RecurringJobTriggerResult(id, jobId, state);
            return final ? Results.Ok(result) : Results.Accepted((string?)null, result);
        });
    }

    const int MaxRecurringDueShown = 50;

    /// <summary>List, pause and resume recurring jobs (a pause holds across workers and restarts; the schedule stays registered).</summary>
    public static void MapRecurringJobControl(this RouteGroupBuilder admin)
    {
        admin.MapGet("/jobs/recurring", async (JobStorage storage, RecurringJobPauses pauses, CancellationToken ct) =>
        {
            var paused = (await pauses.ListAsync(ct)).ToDictionary(p => p.RecurringJobId);
            using var connection = storage.GetConnection();
            return Results.Ok(Hangfire.Storage.StorageConnectionExtensions.GetRecurringJobs(connection).OrderBy(j => j.Id, StringComparer.Ordinal)
                .Select(j => new RecurringJobView(j.Id, j.Cron, j.NextExecution, j.LastExecution, j.LastJobState, paused.GetValueOrDefault(j.Id))));
        });
        // Read-only counts of Hangfire's job states: what a clock-driven caller (the main job) waits on to know the work a
        // clock step made due has finished (nothing enqueued or processing), and what ops read to see a backlog.
        admin.MapGet("/jobs/stats", (JobStorage storage, TimeProvider clock) =>
        {
            var monitoring = storage.GetMonitoringApi();
            // The schedulers keep every recurring job in one set scored by its next execution (Unix seconds; -1: none):
            // the due ones are one range read, the same read a worker's scheduler makes on the same clock.
            List<string> due;
            using (var connection = (Hangfire.Storage.JobStorageConnection)storage.GetConnection())
                due = connection.GetFirstByLowestScoreFromSet("recurring-jobs", -1, clock.GetUtcNow().ToUnixTimeSeconds(), MaxRecurringDueShown);
            var s = monitoring.GetStatistics();
            const int shown = 5;
            static string Name(Hangfire.Common.Job? job) => job is null ? "(job type not loadable)" : $"{job.Type.Name}.{job.Method.Name}";
            var queues = JobQueues.All.Select(q =>
            {
                long waiting = monitoring.EnqueuedCount(q), fetched = monitoring.FetchedCount(q);
                // Polled after every clock step of the main job: the job lists are read only when there is something to name.
                List<QueuedJobView> oldest = [];
                if (waiting > 0) oldest.AddRange(monitoring.EnqueuedJobs(q, 0, shown).Select(j => new QueuedJobView(j.Key, Name(j.Value.Job), j.Value.State, j.Value.EnqueuedAt, false)));
                if (fetched > 0) oldest.AddRange(monitoring.FetchedJobs(q, 0, shown).Select(j => new QueuedJobView(j.Key, Name(j.Value.Job), j.Value.State, j.Value.FetchedAt, true)));
                return new JobQueueView(q, waiting, fetched, oldest);
            }).ToList();
            return Results.Ok(new JobStatsView(s.Enqueued, s.Processing, s.Scheduled, s.Failed, s.Succeeded, s.Servers, s.Recurring, due, queues));
        });
        admin.MapPost("/jobs/recurring/{id}/pause", async (string id, RecurringJobPauseRequest body, RecurringJobPauses pauses, HttpContext http, CancellationToken ct) =>
            Results.Ok(new { recurring_job_id = id, paused = true, changed = await pauses.SetAsync(id, true, Platform.Auth.Actors.Of(http.User), body.Reason!, ct) }))
            .Validate<RecurringJobPauseRequest>();
        admin.MapPost("/jobs/recurring/{id}/resume", async (string id, RecurringJobPauseRequest body, RecurringJobPauses pauses, HttpContext http, CancellationToken ct) =>
            Results.Ok(new { recurring_job_id = id, paused = false, changed = await pauses.SetAsync(id, false, Platform.Auth.Actors.Of(http.User), body.Reason!, ct) }))
            .Validate<RecurringJobPauseRequest>();
    }
}
