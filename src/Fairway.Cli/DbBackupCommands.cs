using System.CommandLine;
using Fairway.Host.Operations.Reconciliation;
using Fairway.Host.Platform.Audit;
using Fairway.Migrations;
using Fairway.Migrations.Backups;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fairway.Cli;

/// <summary>
/// <c>fairway db backup|restore|verify|base-backup|pitr-prepare</c>: backups and restores without a human composing
/// pg_dump flags at 3 a.m. Machine-readable results (an archive path) go to stdout, so a runbook can capture them;
/// the human report goes to stderr.
/// </summary>
public static class DbBackupCommands
{
    public static IEnumerable<Command> Build()
    {
        var to = new Option<string>("--to") { Description = "Directory to write the archive and its manifest to (created if missing).", Required = true };
        var pgDump = new Option<string>("--pg-dump") { Description = "pg_dump executable (its major version must be at least the server's).", DefaultValueFactory = _ => "pg_dump" };
        var keep = new Option<int?>("--keep") { Description = "Afterwards, keep only the newest N archives of the directory (1..1000)." };
        var backup = new Command("backup", "Consistent backup of DATABASE_URL: pg_dump custom-format archive plus a manifest (schema version, checksum, row counts, ledger balances), from one snapshot. Recorded in database_backups. Prints the archive path.") { to, pgDump, keep };
        backup.SetAction(p => DbCommands.WithDatabase(cs =>
        {
            if (p.GetValue(keep) is < 1 or > 1000) return CliOutput.Error(CliOutput.Usage, "--keep must be between 1 and 1000");
            var result = DatabaseBackups.Create(cs, p.GetValue(to)!, p.GetValue(pgDump)!, $"cli:{Environment.UserName}@{Environment.MachineName}", TimeProvider.System);
            var m = result.Manifest;
            Console.Error.WriteLine($"backup of {m.Database} (schema version {m.SchemaVersion}) written: {m.ArchiveBytes} bytes, sha256 {m.ArchiveSha256}");
            Console.Error.WriteLine($"  {m.Tables.Count} tables, {m.Tables.Sum(t => t.Rows)} rows; ledger: {m.LedgerAccounts.Count} accounts, {m.LedgerEntries} entries, postings sum {m.LedgerPostingsSum}");
            Console.Error.WriteLine($"  manifest: {result.ManifestPath}");
            if (p.GetValue(keep) is { } n)
                foreach (var old in DatabaseBackups.Prune(p.GetValue(to)!, n)) Console.Error.WriteLine($"  pruned {old}");
            Console.WriteLine(result.ArchivePath);
            return CliOutput.Ok;
        }));

        var from = new Option<string>("--from") { Description = "The archive (its manifest must lie next to it).", Required = true };
        var into = new Option<string>("--into") { Description = "DATABASE_URL of a new, EMPTY database to restore into.", Required = true };
        var pgRestore = new Option<string>("--pg-restore") { Description = "pg_restore executable.", DefaultValueFactory = _ => "pg_restore" };
        var restore = new Command("restore", "Check an archive's checksum against its manifest, restore it into an empty database, and compare the result with the manifest. Exit 1 on any difference.") { from, into, pgRestore };
        restore.SetAction(p =>
        {
            if (!DatabaseUrl.TryParse(p.GetValue(into), out var target, out var error)) return CliOutput.Error(CliOutput.Usage, $"--into: malformed: {error}");
            return DbCommands.Guard(target, () =>
            {
                var (manifest, differences) = DatabaseBackups.Restore(p.GetValue(from)!, target, p.GetValue(pgRestore)!);
                Console.WriteLine($"restored {manifest.Archive} (backup of {manifest.Database} at {manifest.CreatedAt:O}, schema version {manifest.SchemaVersion}) into {DatabaseUrl.Describe(target)}");
                foreach (var d in differences) Console.WriteLine($"  DIFFERENT: {d}");
                Console.WriteLine(differences.Count == 0
                    ? $"restore matches the manifest: {manifest.Tables.Count} tables, {manifest.LedgerAccounts.Count} ledger accounts, {manifest.LedgerEntries} ledger entries"
                    : $"restore does NOT match the manifest: {differences.Count} difference(s)");
                return differences.Count == 0 ? CliOutput.Ok : CliOutput.Failed;
            });
        });

        var archiveOption = new Option<string?>("--archive") { Description = "Also compare the database with the manifest of this backup archive (row counts, ledger balances)." };
        var databaseUrl = new Option<string?>("--database-url") { Description = "The database to verify (default: DATABASE_URL), e.g. a restored copy." };
        var verify = new Command("verify", "Check a database (e.g. a restored one): schema at this build's version, every ledger reconciliation invariant (recorded as a reconciliation run; a violation engages its kill-switch), and optionally a backup's manifest. Exit 1 on any violation.") { archiveOption, databaseUrl };
        verify.SetAction(async p =>
        {
            var manifest = p.GetValue(archiveOption) is { } archive ? BackupManifest.ManifestPathOf(archive) : null;
            if (p.GetValue(databaseUrl) is not { } url) return await DbCommands.WithDatabaseAsync(cs => VerifyAsync(cs, manifest));
            if (!DatabaseUrl.TryParse(url, out var cs, out var error)) return CliOutput.Error(CliOutput.Usage, $"--database-url: malformed: {error}");
            return await DbCommands.GuardAsync(cs, () => VerifyAsync(cs, manifest));
        });

        var recent = new Option<int>("--limit") { Description = "At most this many attempts, newest first (1..100).", DefaultValueFactory = _ => 5 };
        var maxAge = new Option<int>("--max-age-hours") { Description = "Exit 1 when the last successful backup is older than this (1..720).", DefaultValueFactory = _ => 26 };
        var backups = new Command("backups", "Recent backup attempts of DATABASE_URL (database_backups) and the age of the last successful one. Exit 1 when it is older than --max-age-hours or there is none.") { recent, maxAge };
        backups.SetAction(p => DbCommands.WithDatabase(cs => ListBackups(cs, p.GetValue(recent), p.GetValue(maxAge))));

        var baseTo = new Option<string>("--to") { Description = "Directory under which the base backup's directory is created.", Required = true };
        var pgBasebackup = new Option<string>("--pg-basebackup") { Description = "pg_basebackup executable.", DefaultValueFactory = _ => "pg_basebackup" };
        var baseBackup = new Command("base-backup", "Point-in-time recovery: a base backup of the server of DATABASE_URL (pg_basebackup, plain format, with the WAL it needs). Needs a role with REPLICATION. Prints its directory.") { baseTo, pgBasebackup };
        baseBackup.SetAction(p => DbCommands.WithDatabase(cs =>
        {
            var dir = PointInTimeRecovery.BaseBackup(cs, p.GetValue(baseTo)!, p.GetValue(pgBasebackup)!, TimeProvider.System);
            Console.Error.WriteLine($"base backup of {DatabaseUrl.Describe(cs)} written to {dir}");
            Console.WriteLine(dir);
            return CliOutput.Ok;
        }));

        var baseDir = new Option<string>("--base-backup") { Description = "A directory written by `fairway db base-backup`.", Required = true };
        var walArchive = new Option<string>("--wal-archive") { Description = "The WAL archive directory the server's archive_command writes to.", Required = true };
        var targetTime = new Option<string>("--target-time") { Description = "Recover up to this instant (UTC, e.g. 2026-11-30T03:12:00Z).", Required = true };
        var dataDir = new Option<string>("--data-dir") { Description = "New, empty data directory for the recovered server.", Required = true };
        var prepare = new Command("pitr-prepare", "Point-in-time recovery: copy a base backup into a new data directory configured to replay the WAL archive up to --target-time and promote. Start it with pg_ctl, then `fairway db verify` it.") { baseDir, walArchive, targetTime, dataDir };
        prepare.SetAction(p =>
        {
            if (!DateTimeOffset.TryParse(p.GetValue(targetTime), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
                || !p.GetValue(targetTime)!.EndsWith('Z'))
                return CliOutput.Error(CliOutput.Usage, "--target-time must be a UTC instant ending in Z, e.g. 2026-11-30T03:12:00Z");
            try
            {
                PointInTimeRecovery.Prepare(p.GetValue(baseDir)!, p.GetValue(walArchive)!, at, p.GetValue(dataDir)!);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            { return CliOutput.Error(CliOutput.Failed, e.Message); }
            Console.WriteLine($"{p.GetValue(dataDir)} prepared: recovers to {at.UtcDateTime:yyyy-MM-ddTHH:mm:ss.ffffffZ} from {p.GetValue(walArchive)}, then promotes (archiving off)");
            return CliOutput.Ok;
        });
        return [backup, restore, verify, backups, baseBackup, prepare];
    }

    static int ListBackups(string cs, int limit, int maxAgeHours)
    {
        if (limit is < 1 or > 100 || maxAgeHours is < 1 or > 720) return CliOutput.Error(CliOutput.Usage, "--limit must be 1..100 and --max-age-hours 1..720");
        using var c = new NpgsqlConnection(cs);
        c.Open();
        using var cmd = new NpgsqlCommand("""
            SELECT id, finished_at, outcome, actor, coalesce(archive, ''), coalesce(size_bytes, 0), coalesce(error, '')
              FROM database_backups ORDER BY id DESC LIMIT @limit
            """, c);
        cmd.Parameters.AddWithValue("limit", limit);
        DateTimeOffset? lastSuccess = null;
        using (var r = cmd.ExecuteReader())
            while (r.Read())
            {
                var at = new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(1), DateTimeKind.Utc));
                if (r.GetString(2) == "succeeded") lastSuccess ??= at;
                Console.WriteLine($"{r.GetInt64(0),6}  {at:yyyy-MM-ddTHH:mm:ssZ}  {r.GetString(2),-9}  {r.GetString(3)}  {r.GetString(4)}{(r.GetInt64(5) > 0 ? $" ({r.GetInt64(5)} bytes)" : "")}{(r.GetString(6).Length > 0 ? "  error: " + r.GetString(6) : "")}");
            }
        using var last = new NpgsqlCommand("SELECT max(finished_at) FROM database_backups WHERE outcome = 'succeeded'", c);
        if (last.ExecuteScalar() is DateTime l) lastSuccess = new DateTimeOffset(DateTime.SpecifyKind(l, DateTimeKind.Utc));
        if (lastSuccess is null) { Console.WriteLine("last successful backup: none"); return CliOutput.Failed; }
        var age = TimeProvider.System.GetUtcNow() - lastSuccess.Value;
        Console.WriteLine($"last successful backup: {lastSuccess:yyyy-MM-ddTHH:mm:ssZ} ({(long)age.TotalMinutes} minutes ago)");
        return age <= TimeSpan.FromHours(maxAgeHours) ? CliOutput.Ok : CliOutput.Failed;
    }

    static async Task<int> VerifyAsync(string cs, string? manifestPath)
    {
        var failures = 0;
        await using (var c = new NpgsqlConnection(cs))
        {
            await c.OpenAsync();
            var version = SchemaMigrator.CurrentVersion(c);
            Console.WriteLine($"database {DatabaseUrl.Describe(cs)}: schema version {version}, this build expects {SchemaMigrator.ExpectedVersion}");
            if (version != SchemaMigrator.ExpectedVersion)
            {
                Console.WriteLine("  VIOLATION: schema version: run `fairway db migrate` with the build matching the backup, or restore a backup of this build's version");
                return CliOutput.Failed;
            }
            if (manifestPath is not null)
            {
                var manifest = BackupManifest.Read(manifestPath);
                var differences = DatabaseContent.Read(c).Differences(manifest);
                foreach (var d in differences) Console.WriteLine($"  VIOLATION: manifest: {d}");
                Console.WriteLine(differences.Count == 0 ? $"manifest {Path.GetFileName(manifestPath)}: content matches" : $"manifest {Path.GetFileName(manifestPath)}: {differences.Count} difference(s)");
                failures += differences.Count;
            }
        }
        await using var db = NpgsqlDataSource.Create(cs);
        var clock = TimeProvider.System;
        var killSwitch = new Fairway.Host.Operations.KillSwitch.KillSwitch(db, new AuditWriter(clock), clock, NullLogger<Fairway.Host.Operations.KillSwitch.KillSwitch>.Instance);
        var run = await new ReconciliationService(db, killSwitch, clock, NullLogger<ReconciliationService>.Instance).RunAsync($"cli:{Environment.UserName}@{Environment.MachineName}");
        foreach (var v in run.Violations) Console.WriteLine($"  VIOLATION: {v.Check}: {v.SubjectId}: {v.Detail}");
        Console.WriteLine($"reconciliation run {run.Id}: {run.Checks.Count} checks, {run.ViolationCount} violation(s)" + (run.ViolationCount > 0 ? "; the kill-switch of this database is engaged" : ""));
        failures += run.ViolationCount;
        Console.WriteLine(failures == 0 ? "verify: OK" : $"verify: FAILED ({failures} violation(s))");
        return failures == 0 ? CliOutput.Ok : CliOutput.Failed;
    }
}
