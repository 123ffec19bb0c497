using Fairway.Host.Operations.Backups;
using Fairway.Host.Operations.Runbooks;
using Fairway.Host.Operations.Signals;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Database;

namespace Fairway.Host.Operations;

public static class OperationsSetup
{
    public static void AddFairwayOperations(this IServiceCollection services, FairwaySettings settings)
    {
        MetricFamilies.EnsureRegistered();
        services.AddHostedService<OperationalSignalsCollector>();
        services.AddHostedService<ConnectionPoolMetrics>();
        // The parameterless constructor (the embedded runbooks); DI would pick the other one with an empty list.
        services.AddSingleton(_ => new RunbookCatalog());
        services.AddSingleton<RunbookExecutionService>();
        if ((settings.Role & HostRole.Worker) != 0)
        {
            if (settings.BackupDir is not null) services.AddScoped<DatabaseBackupJob>();
            services.AddSingleton<Platform.Jobs.IRecurringJobSet, BackupRecurringJobs>();
        }
    }
}

/// <summary>The scheduled backup: registered when BACKUP_DIR is set, removed when it is not (all workers read one env file).</summary>
public sealed class BackupRecurringJobs(FairwaySettings settings) : Platform.Jobs.IRecurringJobSet
{
    public IReadOnlyList<string> Register(Hangfire.IRecurringJobManager recurring, Hangfire.RecurringJobOptions options)
    {
        if (settings.BackupDir is null)
        {
            recurring.RemoveIfExists(DatabaseBackupJob.RecurringId);
            return [];
        }
        Hangfire.RecurringJobManagerExtensions.AddOrUpdate<DatabaseBackupJob>(recurring, DatabaseBackupJob.RecurringId, Platform.Jobs.JobQueues.Default, j => j.RunAsync(), settings.BackupCron, options);
        return [$"{DatabaseBackupJob.RecurringId} ({settings.BackupCron})"];
    }
}

/// <summary>
/// Every Fairway metric family exists on /metrics from start-up (with HELP and TYPE), not only after the code that
/// owns it first ran: an alert rule can then rely on the family being exported, and a test checks every name the rules
/// use against a fresh host's /metrics.
/// </summary>
public static class MetricFamilies
{
    public static void EnsureRegistered()
    {
        // Every type of the host that holds a metric (Platform/Telemetry/MetricFamilies: by reflection, so a new family
        // cannot be forgotten here).
        Platform.Telemetry.MetricFamilies.RegisterAll();
        // The label values alert rules count, at 0 from the start: the first increase after a process start is then
        // visible to increase()/rate() (a series that appears at 1 shows no increase).
        foreach (var outcome in new[] { "completed", "retryable", "failed_terminal", "internal_error" }) Payouts.PayoutMetrics.Transfers.WithLabels(outcome);
        foreach (var outcome in new[] { "accepted", "duplicate", "rejected", "fetch_failed" }) Ingestion.IngestionMetrics.Events.WithLabels(outcome);
        foreach (var status in new[] { "warning_needs_response", "needs_response", "under_review", "won", "lost" }) Payments.PaymentMetrics.Disputes.WithLabels(status);
    }
}
