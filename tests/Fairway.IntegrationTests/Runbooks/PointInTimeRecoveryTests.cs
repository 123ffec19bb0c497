using Dapper;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;
using Fairway.Migrations;
using Fairway.Migrations.Backups;
using Npgsql;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// Point-in-time recovery drill on a throwaway cluster with WAL archiving (infra/db/pitr/postgresql.pitr.conf): a base
/// backup, paid entries written (entries, SUCCEEDED payments and their ledger entries, as the payments capability leaves
/// them), the instant T between two batches of writes, more writes, then the runbook's own commands recover a copy to T.
/// The recovered database reconciles (`fairway db verify`) and holds exactly what existed at T: every table's row count
/// and every ledger account as read at T on the live database, none of the later writes.
/// </summary>
[Collection(RunbookCollection.Name)]
public sealed class PointInTimeRecoveryTests(RunbookWorld world)
{
    [Fact]
    [RunbookTest("database-point-in-time-recovery")]
    public async Task Recovery_to_an_instant_between_two_writes_holds_exactly_what_existed_then()
    {
        using var cluster = PostgresCluster.Start("wal_level = replica\narchive_mode = on\narchive_timeout = 60\narchive_command = 'test ! -f {base}/wal-archive/%f && cp %p {base}/wal-archive/%f'\nfull_page_writes = on");
        var archive = Path.Combine(cluster.BaseDir, "wal-archive");
        Directory.CreateDirectory(archive);
        File.SetUnixFileMode(archive, (UnixFileMode)Convert.ToInt32("777", 8));
        var db = await TestDatabases.CreateEmptyAsync(cluster.AdminUrl);
        SchemaMigrator.MigrateUp(TestDatabases.ConnectionString(db));
        NpgsqlConnection.ClearAllPools();

        // The base backup, taken the way the runbook's set-up says.
        var runner = new RunbookRunner(world);
        var vars = new Dictionary<string, string> { ["DATABASE_URL"] = db };
        var baseBackup = await runner.CliAsync(vars, "db", "base-backup", "--to", Path.Combine(cluster.BaseDir, "base"), "--pg-basebackup", Path.Combine(cluster.BinDir, "pg_basebackup"));
        Assert.True(baseBackup.ExitCode == 0, baseBackup.Output);

        await using var deployment = await MoneyOutWorld.StartAsync(worker: false, databaseUrl: db);
        var contest = (await deployment.SeedCompleteContestAsync(entries: 3)).ContestId;
        await using var c = await TestDatabases.OpenAsync(db);
        var target = await c.ExecuteScalarAsync<DateTime>("SELECT clock_timestamp()");
        var atTarget = DatabaseContent.Read(c);
        await Task.Delay(1100);
        var later = (await deployment.SeedCompleteContestAsync(entries: 4)).ContestId;
        await deployment.FundEntriesAsync(contest, [($"{contest}-late", "u-late", new[] { MoneyOutWorld.Golfer(1), MoneyOutWorld.Golfer(2), MoneyOutWorld.Golfer(3) })], 1000, insertEntries: true);
        await c.ExecuteAsync("SELECT pg_switch_wal()");
        var afterwards = DatabaseContent.Read(c);
        Assert.NotEmpty(afterwards.Differences(ManifestOf(atTarget)));

        var restorePort = PostgresCluster.FreePort();
        var restoreData = Path.Combine(cluster.BaseDir, "recovered");
        var restoredUrl = $"postgresql://postgres@127.0.0.1:{restorePort}/{new NpgsqlConnectionStringBuilder(TestDatabases.ConnectionString(db)).Database}";
        await WaitArchivedAsync(c, archive);
        try
        {
            await runner.RunAsync("database-point-in-time-recovery", new Dictionary<string, string>
            {
                ["INCIDENT"] = "INC-pitr",
                ["BASE_BACKUP"] = baseBackup.Stdout.Trim(),
                ["WAL_ARCHIVE"] = archive,
                ["TARGET_TIME"] = DateTime.SpecifyKind(target, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'"),
                ["RESTORE_DATA"] = restoreData,
                ["RESTORE_PORT"] = restorePort.ToString(),
                ["RESTORED_DATABASE_URL"] = restoredUrl,
                ["PG_BIN"] = cluster.BinDir,
            });
            await using var restored = await TestDatabases.OpenAsync(restoredUrl);
            var content = DatabaseContent.Read(restored);
            // Exactly what existed at T, except the reconciliation run `fairway db verify` recorded on the copy.
            var differences = content.Differences(ManifestOf(atTarget)).Where(d => !d.StartsWith("table reconciliation_runs ", StringComparison.Ordinal)).ToList();
            Assert.True(differences.Count == 0, string.Join('\n', differences));
            Assert.Equal(0L, await restored.ExecuteScalarAsync<long>("SELECT count(*) FROM contests WHERE id = @later", new { later }));
            Assert.Equal(3000L, await restored.ExecuteScalarAsync<long>("SELECT balance FROM ledger_accounts WHERE id = @id", new { id = $"escrow:{contest}" }));
            await MoneyInvariants.AssertHoldAsync(restoredUrl);
        }
        finally
        {
            await runner.BashAsync($"runuser -u postgres -- '{cluster.BinDir}/pg_ctl' -D '{restoreData}' -m immediate -w stop", new Dictionary<string, string>());
        }
    }

    static BackupManifest ManifestOf(DatabaseContent c) =>
        new(BackupManifest.FormatV1, DateTimeOffset.UnixEpoch, "", c.SchemaVersion, "", 0, "", c.Tables, c.LedgerAccounts, c.LedgerEntries, c.LedgerPostingsSum);

    /// <summary>Waits until the segment holding everything written so far is in the archive (archiving is asynchronous).</summary>
    static async Task WaitArchivedAsync(NpgsqlConnection c, string archive)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var (archived, failed) = await c.QuerySingleAsync<(long, long)>("SELECT archived_count, failed_count FROM pg_stat_archiver");
            var last = await c.ExecuteScalarAsync<string?>("SELECT last_archived_wal FROM pg_stat_archiver");
            var current = await c.ExecuteScalarAsync<string>("SELECT pg_walfile_name(pg_current_wal_lsn())");
            if (last is not null && string.CompareOrdinal(last, current) < 0 && File.Exists(Path.Combine(archive, last))) return;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"WAL not archived: archived {archived}, failed {failed}, last {last}, current {current}");
            await Task.Delay(200);
        }
    }
}
