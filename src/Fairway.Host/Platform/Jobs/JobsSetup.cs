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
            .UseFilter(new Database.TransientDatabaseJobFilter(sp.GetRequiredService<Npgsql.NpgsqlDataSource>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            .UseFilter(new RecurringJobPauseFilter(sp.GetRequiredService<RecurringJobPauses>, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Jobs")))
            // Failed jobs are retried by Hangfire itself with its backoff, a bounded number of times.
            .UseFilter(new AutomaticRetryAttribute { Attempts = 10 })
            .UsePostgreSqlStorage(o => o.UseNpgsqlConnection(settings.DatabaseConnectionString), new PostgreSqlStorageOptions
            {
                SchemaName = SchemaMigrator.JobStorageSchema,
                PrepareSchemaIfNecessary = false,
                QueuePollInterval = TimeSpan.FromSeconds(1),
                EnableLongPolling = true,
                InvisibilityTimeout = TimeSpan.FromMinutes(30),
                DistributedLockTimeout = TimeSpan.FromMinutes(1),
            }));

        if ((settings.Role & HostRole.Worker) != 0)
        {
            services.AddHangfireServer(o =>
            {
                o.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}";
                o.WorkerCount = settings.WorkerCount;
                o.Queues = JobQueues.All;
                // In-flight jobs get the shutdown window less one second (half of it when it is 1 s) before their
                // cancellation token fires; the remainder lets Hangfire record their state before the host exits.
                o.StopTimeout = settings.ShutdownTimeout - TimeSpan.FromSeconds(Math.Min(1, settings.ShutdownTimeout.TotalSeconds / 2));
                o.ShutdownTimeout = settings.ShutdownTimeout;
                o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
            });
        }
    }

    public static void MapJobsDashboard(this WebApplication app) =>
        app.MapHangfireDashboard("/admin/jobs", new DashboardOptions
        {
            Authorization = [new AdminOnlyDashboardFilter()],
            DisplayStorageConnectionString = false,
            AppPath = null,
        }).RequireAuthorization(Roles.AdminPolicy);

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
