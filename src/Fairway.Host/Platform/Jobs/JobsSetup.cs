using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Migrations;
using Hangfire;
using Hangfire.Dashboard;
using Hangfire.PostgreSql;

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
            .UseFilter(new JobFailureMetrics())
            .UseFilter(new Database.TransientDatabaseJobFilter(sp.GetRequiredService<Npgsql.NpgsqlDataSource>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            .UseFilter(new RecurringJobPauseFilter(sp.GetRequiredService<RecurringJobPauses>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            // Failed jobs are retried by Hangfire itself with its backoff, a bounded number of times.
            .UseFilter(new AutomaticRetryAttribute { Attempts = 10 })
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(settings.DatabaseConnectionString), new PostgreSqlStorageOptions
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
                DistributedLockTimeout = TimeSpan.FromMinutes(1),
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
            // The server is built by hand only to add one process: a recurring-job scheduler whose "now" is the host's
            // TimeProvider (the same cron expressions and due-time rules, read on Fairway's clock). In production that is
            // the system clock, equivalent to Hangfire's own scheduler (both take the same per-job lock and advance the
            // same NextExecution, so nothing runs twice); under the test clock the schedules come due on simulated time.
            services.AddHangfireServer(sp =>
            {
                // The same parts Hangfire's own registration uses (from the container when present, its defaults otherwise).
                var filters = sp.GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers;
                var activator = sp.GetService<JobActivator>() ?? JobActivator.Current;
                var factory = sp.GetService<Hangfire.Client.IBackgroundJobFactory>() ?? new Hangfire.Client.BackgroundJobFactory(filters);
                var performer = sp.GetService<Hangfire.Server.IBackgroundJobPerformer>() ?? new Hangfire.Server.BackgroundJobPerformer(filters, activator);
                var stateChanger = sp.GetService<Hangfire.States.IBackgroundJobStateChanger>() ?? new Hangfire.States.BackgroundJobStateChanger(filters);
                var clock = sp.GetRequiredService<TimeProvider>();
                return new BackgroundJobServer(ServerOptions(settings), sp.GetRequiredService<JobStorage>(),
                    [new Hangfire.Server.RecurringJobScheduler(factory, settings.JobPollInterval, new DefaultTimeZoneResolver(), () => clock.GetUtcNow().UtcDateTime)],
                    filters, activator, factory, performer, stateChanger);
            });
        }
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
