using Hangfire;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// The recurring jobs one capability owns. Each capability declares its own set (and adds it to the container in its
/// setup, worker role); Platform only runs the registration and knows no capability.
/// </summary>
public interface IRecurringJobSet
{
    /// <summary>Registers (AddOrUpdate, idempotent) every recurring job of the capability; returns their ids as registered (with the cron where it is configurable).</summary>
    IReadOnlyList<string> Register(IRecurringJobManager recurring, RecurringJobOptions options);
}

/// <summary>
/// Worker processes register every capability's recurring jobs at start-up (AddOrUpdate is idempotent, so several
/// workers starting together agree); Hangfire runs each occurrence once across all servers. Registration takes a
/// Hangfire distributed lock per job; a worker killed while holding one leaves it until it expires, so a failed
/// registration is retried in the background (bounded) instead of failing the start-up: the schedules registered by
/// earlier runs stay in force meanwhile.
/// </summary>
public sealed class RecurringJobsRegistration(IRecurringJobManager recurring, IEnumerable<IRecurringJobSet> sets, ILogger<RecurringJobsRegistration> log) : BackgroundService
{
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);
    public const int MaxAttempts = 120;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        var pending = sets.ToList();
        var registered = new List<string>();
        for (var attempt = 1; pending.Count > 0 && attempt <= MaxAttempts && !stoppingToken.IsCancellationRequested; attempt++)
        {
            foreach (var set in pending.ToList())
            {
                try
                {
                    registered.AddRange(set.Register(recurring, options));
                    pending.Remove(set);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning("Recurring jobs of {Set} not registered (attempt {Attempt} of {Max}): {Error}; retrying in {Delay}",
                        set.GetType().Name, attempt, MaxAttempts, e.Message, RetryDelay);
                }
            }
            if (pending.Count > 0) await Task.Delay(RetryDelay, stoppingToken);
        }
        if (pending.Count > 0)
            log.LogError("Recurring jobs of {Sets} could not be registered; the schedules stored by earlier registrations stay in force", string.Join(", ", pending.Select(p => p.GetType().Name)));
        // Their failure series start at 0, so the first failure after a start is an increase Prometheus can see.
        JobFailureMetrics.Initialise(registered.Select(r => r.Split(' ')[0]));
        log.LogInformation("Recurring jobs registered: {Jobs}", string.Join(", ", registered));
    }
}
