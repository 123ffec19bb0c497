using Hangfire.Server;
using Prometheus;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// <c>job_failures_total{job_name}</c>: every job execution that ended in an exception on this worker (each one is then
/// retried by Hangfire, or waits for its next occurrence). <c>job_name</c> (not <c>job</c>, which Prometheus reserves for
/// the scrape job) is the recurring job id when the execution is an
/// occurrence of one, otherwise <c>Type.Method</c>. Executions cancelled by a shutdown are not failures.
/// </summary>
public sealed class JobFailureMetrics : IServerFilter
{
    public static readonly Counter Failures = Metrics.CreateCounter("job_failures_total",
        "Background job executions that failed with an exception on this worker, by job_name (recurring job id, or Type.Method).", "job_name");

    /// <summary>Creates the series of known jobs at 0, so the first failure is an increase Prometheus can see.</summary>
    public static void Initialise(IEnumerable<string> jobs)
    {
        foreach (var job in jobs) Failures.WithLabels(job);
    }

    public void OnPerforming(PerformingContext context) { }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Exception is null || context.ExceptionHandled || context.CancellationToken.ShutdownToken.IsCancellationRequested) return;
        var job = context.GetJobParameter<string>("RecurringJobId") is { Length: > 0 } recurring
            ? recurring
            : $"{context.BackgroundJob.Job.Type.Name}.{context.BackgroundJob.Job.Method.Name}";
        Failures.WithLabels(job).Inc();
    }
}
