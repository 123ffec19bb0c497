using System.Globalization;

namespace Fairway.Migrations.Backups;

/// <summary>
/// Point-in-time recovery with PostgreSQL's own mechanism (infra/db/PITR.md): a base backup (<c>pg_basebackup</c>, plain
/// format, the WAL it needs included) plus the WAL archive the server writes with <c>archive_command</c>. Preparing a
/// restore copies a base backup into a new data directory and configures recovery to stop at a target time and promote;
/// starting that data directory with <c>pg_ctl</c> replays the archive up to the target.
/// </summary>
public static class PointInTimeRecovery
{
    public const string BasePrefix = "base-";

    /// <summary>Takes a base backup of the server of <paramref name="connectionString"/> into a new directory under <paramref name="directory"/>; returns its path.</summary>
    public static string BaseBackup(string connectionString, string directory, string pgBasebackup, TimeProvider clock)
    {
        Directory.CreateDirectory(directory);
        var stamp = clock.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var target = Path.Combine(Path.GetFullPath(directory), BasePrefix + stamp);
        if (Directory.Exists(target)) throw new InvalidOperationException($"{target} already exists");
        PostgresTools.Run(pgBasebackup, [.. PostgresTools.ConnectionArguments(connectionString), "--pgdata=" + target, "--format=plain", "--wal-method=fetch",
            "--checkpoint=fast", "--label=fairway-" + stamp, "--no-password"], connectionString, TimeSpan.FromHours(4));
        return target;
    }

    /// <summary>
    /// Copies <paramref name="baseBackup"/> into the new data directory <paramref name="dataDirectory"/> (must not exist or be empty) and configures
    /// recovery from <paramref name="walArchive"/> up to <paramref name="targetTime"/>, then promotion. Archiving is switched off in the copy, so the
    /// restored server never writes into the archive of the server it was restored from.
    /// </summary>
    public static void Prepare(string baseBackup, string walArchive, DateTimeOffset targetTime, string dataDirectory)
    {
        if (!File.Exists(Path.Combine(baseBackup, "PG_VERSION"))) throw new InvalidOperationException($"{baseBackup} is not a base backup (no PG_VERSION)");
        if (!Directory.Exists(walArchive)) throw new InvalidOperationException($"{walArchive}: no such WAL archive directory");
        if (Directory.Exists(dataDirectory) && Directory.EnumerateFileSystemEntries(dataDirectory).Any())
            throw new InvalidOperationException($"{dataDirectory} is not empty; prepare into a new directory");
        Copy(new DirectoryInfo(baseBackup), Directory.CreateDirectory(dataDirectory));
        File.Delete(Path.Combine(dataDirectory, "postmaster.pid"));
        File.WriteAllText(Path.Combine(dataDirectory, "recovery.signal"), "");
        var archive = Path.GetFullPath(walArchive).Replace("'", "''");
        File.AppendAllText(Path.Combine(dataDirectory, "postgresql.auto.conf"), string.Join('\n',
            "# fairway db pitr-prepare: recover to a point in time, then promote",
            $"restore_command = 'cp \"{archive}/%f\" \"%p\"'",
            $"recovery_target_time = '{targetTime.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'",
            "recovery_target_inclusive = true",
            "recovery_target_action = 'promote'",
            "archive_mode = 'off'",
            "") );
        Chmod700(dataDirectory);
    }

    static void Copy(DirectoryInfo from, DirectoryInfo to)
    {
        foreach (var f in from.GetFiles()) f.CopyTo(Path.Combine(to.FullName, f.Name));
        foreach (var d in from.GetDirectories()) Copy(d, to.CreateSubdirectory(d.Name));
    }

    static void Chmod700(string dir)
    {
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
