using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Migrations;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.PostgreSql;
using Hangfire.Server;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// Hangfire on PostgreSQL. Every role can enqueue; only worker roles run a server. The schema is
/// installed by `fairway db migrate`, never by a running process.
/// </summary>
public static class JobsSetup
{
    public static void AddFairwayJobs(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddSingleton<RecurringJobPauses>();
        services.AddHangfire((sp, cfg) => cfg
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseFilter(new CorrelationJobFilter())
            .UseFilter(new ClockInstantJobFilter())
            .UseFilter(new JobFailureMetrics())
            // Exclusive jobs ([SingleInstance]) hold a session advisory lock for the run: freed at once when the holder dies.
            .UseFilter(new SingleInstanceJobFilter(sp.GetRequiredService<Npgsql.NpgsqlDataSource>))
            .UseFilter(new Database.TransientDatabaseJobFilter(sp.GetRequiredService<Npgsql.NpgsqlDataSource>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            .UseFilter(new RecurringJobPauseFilter(sp.GetRequiredService<RecurringJobPauses>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            // Failed jobs are retried by Hangfire itself with its backoff, a bounded number of times.
            .UseFilter(new AutomaticRetryAttribute { Attempts = 10 })
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(Database.PooledConnections.Configure(settings.DatabaseConnectionString, autoPrepare: false)), new PostgreSqlStorageOptions
            {
                SchemaName = SchemaMigrator.JobStorageSchema,
                PrepareSchemaIfNecessary = false,
                QueuePollInterval = settings.JobPollInterval,
                // No long polling (LISTEN/NOTIFY): after a fetch, Hangfire.PostgreSql 1.21 cancels its listener and waits
                // for it without a bound, and a listener blocked in its wait never returns: the worker thread hung holding
                // a fetched job that nobody ran (seen in the main job, and a cause of its clock steps that never settled).
                // Polling every FAIRWAY_JOB_POLL_INTERVAL_MILLISECONDS bounds the wait instead.
                EnableLongPolling = false,
                // A job fetched by a worker that then died is fetched again once this has passed. Live workers renew the
                // fetch in the background (sliding), so a long job is never taken by a second worker while its own runs;
                // without sliding, the timeout had to exceed the longest job (30 min), and one killed worker parked its
                // job for that long.
                InvisibilityTimeout = settings.JobInvisibilityTimeout,
                UseSlidingInvisibilityTimeout = true,
                DistributedLockTimeout = StaleLockTimeout,
            }));

        // Recurring jobs are registered and triggered on Fairway's clock too, so their next occurrence is computed from the
        // same "now" the worker's scheduler reads (a schedule registered on real time would look overdue on simulated time).
        services.AddSingleton(sp => new RecurringJobManager(sp.GetRequiredService<JobStorage>(),
            sp.GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers, new DefaultTimeZoneResolver(),
            () => sp.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime));
        services.AddSingleton<IRecurringJobManager>(sp => sp.GetRequiredService<RecurringJobManager>());
        services.AddSingleton<IRecurringJobManagerV2>(sp => sp.GetRequiredService<RecurringJobManager>());

        if ((settings.Role & HostRole.Worker) != 0)
        {
            // The server is built by hand for two reasons. (1) Its recurring-job scheduler reads "now" from the host's
            // TimeProvider (the same cron expressions and due-time rules, read on Fairway's clock) instead of Hangfire's
            // own, which reads the system clock. In production that is the system clock, so it does exactly what Hangfire's
            // would; under the test clock the schedules come due on simulated time. (2) A bounded retry delay for the
            // server's processes (ProcessRetryDelay): see there.
            services.AddHangfireServer(sp =>
            {
                // The same parts Hangfire's own registration uses (from the container when present, its defaults otherwise).
                var filters = sp.GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers;
                var activator = sp.GetService<JobActivator>() ?? JobActivator.Current;
                var factory = sp.GetService<Hangfire.Client.IBackgroundJobFactory>() ?? new Hangfire.Client.BackgroundJobFactory(filters);
                var performer = sp.GetService<Hangfire.Server.IBackgroundJobPerformer>() ?? new Hangfire.Server.BackgroundJobPerformer(filters, activator);
                var stateChanger = sp.GetService<Hangfire.States.IBackgroundJobStateChanger>() ?? new Hangfire.States.BackgroundJobStateChanger(filters);
                var clock = sp.GetRequiredService<TimeProvider>();
                return Server(ServerOptions(settings), sp.GetRequiredService<JobStorage>(),
                    new Hangfire.Server.RecurringJobScheduler(factory, settings.JobPollInterval, new DefaultTimeZoneResolver(), () => clock.GetUtcNow().UtcDateTime),
                    performer, stateChanger);
            });
        }
    }

    /// <summary>
    /// When a Hangfire lock row counts as abandoned. Hangfire.PostgreSql takes its short locks (a job's state change, the
    /// recurring schedulers' pass) by inserting a row that the holder deletes afterwards; a process killed in between
    /// leaves the row, and every other process treats it as held until it is this old. With the one minute it had, a worker
    /// that died while recording a finished job's state parked that job (and a step of the main job) for 62 s. Every
    /// holder keeps these locks for milliseconds (exclusive jobs do not use them: <see cref="SingleInstanceAttribute"/>),
    /// so 15 s is long past any live holder; were one slower, the worst is one state change applied twice, which
    /// Hangfire's expected-state checks absorb.
    /// </summary>
    public static readonly TimeSpan StaleLockTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The longest a server process (a worker, a scheduler) waits before trying again after an error such as the
    /// database being unreachable. Hangfire's own delay grows with the square of the failures in a row (1, 4, 9, … s, up
    /// to 5 minutes): after a database outage of a minute and a half the workers slept up to 64 s more with the database
    /// back (measured in the main job), and after one of five minutes they would sleep up to 81 s. Retrying an
    /// unreachable database every 5 s costs each process one refused connection per try; the jobs come back within 5 s.
    /// </summary>
    public static readonly TimeSpan MaxProcessRetryDelay = TimeSpan.FromSeconds(5);

    public static TimeSpan ProcessRetryDelay(int failuresInARow) =>
        TimeSpan.FromSeconds(Math.Min((double)failuresInARow * failuresInARow, MaxProcessRetryDelay.TotalSeconds));

    /// <summary>
    /// How often the delayed-job scheduler looks for scheduled jobs that came due: the job poll interval, but not more
    /// often than once a second. Scheduled jobs are Hangfire's retry backoff (15 s and more), a failed webhook's first
    /// retry (15 s) and live ingestion polls spaced by their cadence (15 s and more), so a second more is nothing to
    /// them; each look takes and frees a lock row in its own transaction (six statements), which at the 50–100 ms the
    /// queues are polled in tests and the main job was a third of an idle worker's statements.
    /// </summary>
    public static TimeSpan DelayedJobPollInterval(TimeSpan jobPollInterval) =>
        jobPollInterval < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : jobPollInterval;

    /// <summary>
    /// The processes of Hangfire's BackgroundJobServer (workers, the delayed-job scheduler) and a recurring-job scheduler
    /// on Fairway's clock in place of Hangfire's own on the system clock, in a processing server whose options differ from
    /// BackgroundJobServer's only in <see cref="ProcessRetryDelay"/> (BackgroundJobServer does not expose it). Hangfire's
    /// own recurring-job scheduler is not run: in production it did what the clock scheduler does (the same lock, the
    /// same NextExecution) a second time, and under the test clock it found nothing due; it cost a lock round trip per
    /// poll interval.
    /// </summary>
    static Hangfire.Server.IBackgroundProcessingServer Server(BackgroundJobServerOptions o, JobStorage storage, Hangfire.Server.IBackgroundProcess clockScheduler,
        Hangfire.Server.IBackgroundJobPerformer performer, Hangfire.States.IBackgroundJobStateChanger stateChanger)
    {
        Hangfire.Server.IBackgroundProcessDispatcherBuilder[] processes =
        [
            new Hangfire.Server.Worker(o.Queues, performer, stateChanger).UseBackgroundPool(o.WorkerCount),
            new Hangfire.Server.DelayedJobScheduler(DelayedJobPollInterval(o.SchedulePollingInterval), stateChanger).UseBackgroundPool(1),
            clockScheduler.UseBackgroundPool(1),
        ];
        storage.WriteOptionsToLog(Hangfire.Logging.LogProvider.GetLogger(typeof(JobsSetup)));
        return new Hangfire.Server.BackgroundProcessingServer(storage, processes,
            new Dictionary<string, object> { ["Queues"] = o.Queues, ["WorkerCount"] = o.WorkerCount },
            new Hangfire.Server.BackgroundProcessingServerOptions
            {
                ServerName = o.ServerName,
                StopTimeout = o.StopTimeout,
                ShutdownTimeout = o.ShutdownTimeout,
                HeartbeatInterval = o.HeartbeatInterval,
                ServerCheckInterval = o.ServerCheckInterval,
                ServerTimeout = o.ServerTimeout,
                CancellationCheckInterval = o.CancellationCheckInterval,
                RetryDelay = ProcessRetryDelay,
            });
    }

    static BackgroundJobServerOptions ServerOptions(FairwaySettings settings) => new()
    {
        ServerName = $"{Environment.MachineName}:{Environment.ProcessId}",
        WorkerCount = settings.WorkerCount,
        Queues = JobQueues.All,
        // In-flight jobs get the shutdown window less one second (half of it when it is 1 s) before their
        // cancellation token fires; the remainder lets Hangfire record their state before the host exits.
        StopTimeout = settings.ShutdownTimeout - TimeSpan.FromSeconds(Math.Min(1, settings.ShutdownTimeout.TotalSeconds / 2)),
        ShutdownTimeout = settings.ShutdownTimeout,
        SchedulePollingInterval = settings.JobPollInterval,
    };

    public static void MapJobsDashboard(this WebApplication app)
    {
        app.UseWhen(c => c.Request.Path.StartsWithSegments(JobsDashboardGate.Prefix), b => b.UseMiddleware<JobsDashboardGate>());
        app.MapHangfireDashboard(JobsDashboardGate.Prefix, new DashboardOptions
        {
            Authorization = [new AdminOnlyDashboardFilter()],
            DisplayStorageConnectionString = false,
            AppPath = null,
        }).RequireAuthorization(Roles.AdminPolicy).WithMetadata(Http.RequestBodyClass.JobsDashboard);
    }

    sealed class AdminOnlyDashboardFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => context.GetHttpContext().User.IsInRole(Roles.Admin);
    }
}

public static class JobQueues
{
    public const string Default = "default";
    public static readonly string[] All = [Default];
}
