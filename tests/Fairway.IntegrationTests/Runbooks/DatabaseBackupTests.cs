using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// The scheduled backup (the worker's recurring database-backup job) writes the same archive and manifest as
/// `fairway db backup`, records it, prunes to the retention count, and its age is exported; a damaged archive or a
/// non-empty target is refused by `fairway db restore` before anything is written.
/// </summary>
public sealed class DatabaseBackupTests
{
    static Task<(int ExitCode, string Stdout, string Stderr)> Cli(string databaseUrl, params string[] args) =>
        ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, args, new Dictionary<string, string> { ["DATABASE_URL"] = databaseUrl }, TimeSpan.FromSeconds(120));

    [Fact]
    public async Task The_scheduled_backup_job_writes_records_prunes_and_its_age_is_exported()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        var dir = Directory.CreateTempSubdirectory("fairway-backups.").FullName;
        using var api = await FairwayHostProcess.StartAsync("api", db);
        using var worker = await FairwayHostProcess.StartAsync("worker", db, env => { env["BACKUP_DIR"] = dir; env["BACKUP_RETENTION_COUNT"] = "2"; });
        using var admin = api.Client(TestAuth.Admin);
        using var http = new HttpClient();
        Assert.Contains("database_backup_age_seconds Infinity", await http.GetStringAsync(new Uri(api.BaseUrl, "/metrics")));

        for (var i = 0; i < 3; i++)
        {
            var r = await admin.PostAsync("/api/admin/jobs/recurring/database-backup/trigger?wait_seconds=110", null);
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, text);
            Assert.Equal("Succeeded", JsonDocument.Parse(text).RootElement.GetProperty("state").GetString());
            await Task.Delay(1100); // archives are named by the second they were taken
        }
        // Three backups taken, the oldest pruned: two archives with their manifests remain.
        Assert.Equal(2, Directory.GetFiles(dir, "fairway-*.dump").Length);
        Assert.Equal(2, Directory.GetFiles(dir, "fairway-*.manifest.json").Length);
        await using var c = await TestDatabases.OpenAsync(db);
        Assert.Equal(3L, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM database_backups WHERE outcome = 'succeeded' AND actor = 'system:database-backup'"));
        var age = double.Parse(System.Text.RegularExpressions.Regex.Match(await http.GetStringAsync(new Uri(api.BaseUrl, "/metrics")), @"^database_backup_age_seconds (\S+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(age, 0, 120);
        var (exit, stdout, _) = await Cli(db, "db", "backups");
        Assert.Equal(0, exit);
        Assert.Contains("system:database-backup", stdout);
    }

    [Fact]
    public async Task A_damaged_archive_or_a_non_empty_target_is_refused_and_nothing_is_restored()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        var dir = Directory.CreateTempSubdirectory("fairway-backups.").FullName;
        var (exit, archive, err) = await Cli(db, "db", "backup", "--to", dir);
        Assert.True(exit == 0, err);
        archive = archive.Trim();

        var nonEmpty = await TestDatabases.CreateMigratedAsync();
        (exit, var stdout, err) = await Cli(db, "db", "restore", "--from", archive, "--into", nonEmpty);
        Assert.Equal(1, exit);
        Assert.Contains("is not empty", err);

        var bytes = await File.ReadAllBytesAsync(archive);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(archive, bytes);
        var empty = await TestDatabases.CreateEmptyAsync();
        (exit, stdout, err) = await Cli(db, "db", "restore", "--from", archive, "--into", empty);
        Assert.Equal(1, exit);
        Assert.Contains("checksum mismatch", err);
        await using var c = await TestDatabases.OpenAsync(empty);
        Assert.Equal(0L, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));

        // `fairway db verify` fails on a database that does not match a backup's manifest.
        (exit, stdout, _) = await Cli(nonEmpty, "db", "verify", "--archive", archive);
        Assert.Equal(0, exit); // an identical fresh schema: same tables, same (empty) ledger
        await TestDatabases.ExecAsync(nonEmpty, "INSERT INTO audit_events (occurred_at, actor, action, entity_type, entity_id, reason) VALUES ('2026-01-01Z', 't', 'x', 'y', '1', 'extra row')");
        (exit, stdout, _) = await Cli(nonEmpty, "db", "verify", "--archive", archive);
        Assert.Equal(1, exit);
        Assert.Contains("VIOLATION: manifest: table audit_events has", stdout);
    }
}
