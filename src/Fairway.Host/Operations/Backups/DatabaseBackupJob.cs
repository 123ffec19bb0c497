using Fairway.Host.Platform.Jobs;
using Fairway.Host.Platform.Configuration;
using Fairway.Migrations.Backups;
using Hangfire;

namespace Fairway.Host.Operations.Backups;

/// <summary>
/// The scheduled backup (decision log 2026-11-30): the same archive and manifest as <c>fairway db backup</c>, written
/// to BACKUP_DIR by a worker on BACKUP_CRON, recorded in <c>database_backups</c> (so its age is a metric and an
/// alert whoever runs it), then the directory is pruned to BACKUP_RETENTION_COUNT archives. A failure is recorded and
/// fails the job; the next occurrence is the retry (no Hangfire retries stacking pg_dumps).
/// </summary>
public sealed class DatabaseBackupJob(FairwaySettings settings, ILogger<DatabaseBackupJob> log)
{
    public const string RecurringId = "database-backup";
    public const string Actor = "system:database-backup";

    [AutomaticRetry(Attempts = 0)]
    [SingleInstance(timeoutInSeconds: 60)]
    public Task<string> RunAsync()
    {
        var dir = settings.BackupDir ?? throw new InvalidOperationException($"{EnvironmentSchema.BackupDir} is not set");
        // Real time, not the deployment clock: an archive is a real-world file, and its age is alerted in real time.
        var result = DatabaseBackups.Create(settings.DatabaseConnectionString, dir, settings.BackupPgDumpPath, Actor, TimeProvider.System);
        var pruned = DatabaseBackups.Prune(dir, settings.BackupRetentionCount);
        log.LogInformation("Database backup written to {Archive} ({Bytes} bytes, sha256 {Sha256}, schema version {SchemaVersion}); {Pruned} old archive(s) pruned",
            result.ArchivePath, result.Manifest.ArchiveBytes, result.Manifest.ArchiveSha256, result.Manifest.SchemaVersion, pruned.Count);
        return Task.FromResult(result.ArchivePath);
    }
}
