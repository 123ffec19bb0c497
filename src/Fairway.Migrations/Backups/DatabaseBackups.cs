using System.Data;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;

namespace Fairway.Migrations.Backups;

public sealed record BackupTableCount(string Table, long Rows);

/// <summary>One ledger account as the backup saw it: its stored balance and the sum of its postings (equal when the ledger is sound).</summary>
public sealed record BackupLedgerAccount(string Account, long Balance, long Postings);

/// <summary>
/// What a backup archive holds, computed in the very snapshot pg_dump dumped (an exported snapshot), so a restore can be
/// checked against it exactly: schema version, row count of every table of the public schema, every ledger account's
/// balance and postings, and the archive's size and SHA-256.
/// </summary>
public sealed record BackupManifest(
    string Format, DateTimeOffset CreatedAt, string Database, long SchemaVersion, string Archive, long ArchiveBytes, string ArchiveSha256,
    IReadOnlyList<BackupTableCount> Tables, IReadOnlyList<BackupLedgerAccount> LedgerAccounts, long LedgerEntries, long LedgerPostingsSum)
{
    public const string FormatV1 = "fairway.backup/1";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string ManifestPathOf(string archivePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(archivePath))!, Path.GetFileNameWithoutExtension(archivePath) + ".manifest.json");

    public static BackupManifest Read(string path)
    {
        var m = JsonSerializer.Deserialize<BackupManifest>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path}: empty manifest");
        return m.Format == FormatV1 ? m : throw new InvalidDataException($"{path}: format '{m.Format}' is not {FormatV1}");
    }
}

/// <summary>The content of a database, in the terms of a manifest (used for the backup and to check a restore).</summary>
public sealed record DatabaseContent(long SchemaVersion, IReadOnlyList<BackupTableCount> Tables, IReadOnlyList<BackupLedgerAccount> LedgerAccounts, long LedgerEntries, long LedgerPostingsSum)
{
    /// <summary>Every difference from <paramref name="manifest"/>, one line each (empty: identical).</summary>
    public IReadOnlyList<string> Differences(BackupManifest manifest)
    {
        var d = new List<string>();
        if (SchemaVersion != manifest.SchemaVersion) d.Add($"schema version {SchemaVersion}, backup has {manifest.SchemaVersion}");
        var rows = Tables.ToDictionary(t => t.Table, t => t.Rows, StringComparer.Ordinal);
        foreach (var t in manifest.Tables)
            if (!rows.TryGetValue(t.Table, out var n)) d.Add($"table {t.Table} is missing (backup has {t.Rows} rows)");
            else if (n != t.Rows) d.Add($"table {t.Table} has {n} rows, backup has {t.Rows}");
        foreach (var t in Tables.Where(t => manifest.Tables.All(m => m.Table != t.Table))) d.Add($"table {t.Table} is not in the backup");
        var accounts = LedgerAccounts.ToDictionary(a => a.Account, StringComparer.Ordinal);
        foreach (var a in manifest.LedgerAccounts)
            if (!accounts.TryGetValue(a.Account, out var x)) d.Add($"ledger account {a.Account} is missing (backup: balance {a.Balance})");
            else if (x != a) d.Add($"ledger account {a.Account}: balance {x.Balance} / postings {x.Postings}, backup has {a.Balance} / {a.Postings}");
        foreach (var a in LedgerAccounts.Where(a => manifest.LedgerAccounts.All(m => m.Account != a.Account))) d.Add($"ledger account {a.Account} is not in the backup");
        if (LedgerEntries != manifest.LedgerEntries) d.Add($"{LedgerEntries} ledger entries, backup has {manifest.LedgerEntries}");
        if (LedgerPostingsSum != manifest.LedgerPostingsSum) d.Add($"postings sum to {LedgerPostingsSum}, backup has {manifest.LedgerPostingsSum}");
        return d;
    }

    public static DatabaseContent Read(NpgsqlConnection c, NpgsqlTransaction? tx = null)
    {
        var version = ScalarLong(c, tx, """SELECT CASE WHEN to_regclass('public."VersionInfo"') IS NULL THEN 0 ELSE (SELECT coalesce(max("Version"), 0) FROM public."VersionInfo") END""");
        var tables = new List<BackupTableCount>();
        foreach (var table in Strings(c, tx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename COLLATE \"C\""))
            tables.Add(new BackupTableCount(table, ScalarLong(c, tx, $"SELECT count(*) FROM public.\"{table.Replace("\"", "\"\"")}\"")));
        var accounts = new List<BackupLedgerAccount>();
        long entries = 0, sum = 0;
        if (tables.Any(t => t.Table == "ledger_accounts"))
        {
            using (var cmd = new NpgsqlCommand("""
                SELECT a.id, a.balance, coalesce((SELECT sum(p.amount) FROM ledger_postings p WHERE p.account_id = a.id), 0)::bigint
                  FROM ledger_accounts a ORDER BY a.id COLLATE "C"
                """, c, tx))
            using (var r = cmd.ExecuteReader())
                while (r.Read()) accounts.Add(new BackupLedgerAccount(r.GetString(0), r.GetInt64(1), r.GetInt64(2)));
            entries = ScalarLong(c, tx, "SELECT count(*) FROM ledger_entries");
            sum = ScalarLong(c, tx, "SELECT coalesce(sum(amount), 0)::bigint FROM ledger_postings");
        }
        return new DatabaseContent(version, tables, accounts, entries, sum);
    }

    static long ScalarLong(NpgsqlConnection c, NpgsqlTransaction? tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    static List<string> Strings(NpgsqlConnection c, NpgsqlTransaction? tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }
}

/// <summary>
/// <c>fairway db backup</c> and the database-backup job: a consistent <c>pg_dump -Fc</c> archive and its manifest, both
/// from one exported snapshot, written under a temporary name and renamed when complete (a half-written archive never
/// carries the final name), recorded in <c>database_backups</c> (succeeded or failed). Restore: checksum first, an empty
/// target only, <c>pg_restore --single-transaction --exit-on-error</c>, then the restored content compared with the
/// manifest.
/// </summary>
public static class DatabaseBackups
{
    public const string ArchivePrefix = "fairway-";
    public const string ArchiveExtension = ".dump";
    static readonly TimeSpan ToolTimeout = TimeSpan.FromHours(2);

    public sealed record BackupResult(string ArchivePath, string ManifestPath, BackupManifest Manifest);

    /// <summary>Backs up the database of <paramref name="connectionString"/> into <paramref name="directory"/>. <paramref name="clock"/> is real time: archives are real-world files.</summary>
    public static BackupResult Create(string connectionString, string directory, string pgDump, string actor, TimeProvider clock)
    {
        var started = clock.GetUtcNow();
        long schemaVersion = 0;
        try
        {
            Directory.CreateDirectory(directory);
            var stamp = started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            var archive = Path.Combine(Path.GetFullPath(directory), $"{ArchivePrefix}{stamp}{ArchiveExtension}");
            for (var n = 2; File.Exists(archive); n++) archive = Path.Combine(Path.GetFullPath(directory), $"{ArchivePrefix}{stamp}-{n}{ArchiveExtension}");
            var partial = archive + ".partial";

            DatabaseContent content;
            using (var c = new NpgsqlConnection(connectionString))
            {
                c.Open();
                // The snapshot stays exported while this transaction is open: pg_dump reads exactly what the manifest counted.
                using var tx = c.BeginTransaction(IsolationLevel.RepeatableRead);
                using (var ro = new NpgsqlCommand("SET TRANSACTION READ ONLY", c, tx)) ro.ExecuteNonQuery();
                string snapshot;
                using (var cmd = new NpgsqlCommand("SELECT pg_export_snapshot()", c, tx)) snapshot = (string)cmd.ExecuteScalar()!;
                content = DatabaseContent.Read(c, tx);
                schemaVersion = content.SchemaVersion;
                PostgresTools.Run(pgDump, [.. PostgresTools.ConnectionArguments(connectionString), "--format=custom", "--no-owner", "--no-privileges",
                    $"--snapshot={snapshot}", $"--file={partial}", PostgresTools.DatabaseName(connectionString)], connectionString, ToolTimeout);
                tx.Commit();
            }
            var (bytes, sha) = Checksum(partial);
            File.Move(partial, archive);
            var manifest = new BackupManifest(BackupManifest.FormatV1, started, DatabaseUrl.Describe(connectionString), content.SchemaVersion,
                Path.GetFileName(archive), bytes, sha, content.Tables, content.LedgerAccounts, content.LedgerEntries, content.LedgerPostingsSum);
            var manifestPath = BackupManifest.ManifestPathOf(archive);
            File.WriteAllText(manifestPath + ".partial", JsonSerializer.Serialize(manifest, BackupManifest.Json) + "\n");
            File.Move(manifestPath + ".partial", manifestPath);
            Record(connectionString, started, clock.GetUtcNow(), "succeeded", actor, archive, bytes, sha, content.SchemaVersion, manifest, null);
            return new BackupResult(archive, manifestPath, manifest);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException or UnauthorizedAccessException)
        {
            try { Record(connectionString, started, clock.GetUtcNow(), "failed", actor, null, null, null, schemaVersion, null, e.Message); }
            catch (NpgsqlException) { /* the database itself is what failed; the caller reports the original error */ }
            throw;
        }
    }

    /// <summary>Deletes the oldest archives (and their manifests) of <paramref name="directory"/> beyond the newest <paramref name="keep"/>. Only files this tool names.</summary>
    public static IReadOnlyList<string> Prune(string directory, int keep)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), "keep at least one backup");
        var archives = Directory.GetFiles(directory, $"{ArchivePrefix}*{ArchiveExtension}").Order(StringComparer.Ordinal).ToList();
        var deleted = new List<string>();
        foreach (var old in archives.Take(Math.Max(0, archives.Count - keep)))
        {
            File.Delete(old);
            var manifest = BackupManifest.ManifestPathOf(old);
            if (File.Exists(manifest)) File.Delete(manifest);
            deleted.Add(old);
        }
        return deleted;
    }

    /// <summary>Checks the archive against its manifest, restores it into the empty database of <paramref name="targetConnectionString"/>, and compares the result.</summary>
    public static (BackupManifest Manifest, IReadOnlyList<string> Differences) Restore(string archivePath, string targetConnectionString, string pgRestore)
    {
        var manifestPath = BackupManifest.ManifestPathOf(archivePath);
        if (!File.Exists(archivePath)) throw new InvalidOperationException($"{archivePath}: no such archive");
        if (!File.Exists(manifestPath)) throw new InvalidOperationException($"{manifestPath}: the archive's manifest is missing; refusing to restore an archive that cannot be checked");
        var manifest = BackupManifest.Read(manifestPath);
        var (bytes, sha) = Checksum(archivePath);
        if (bytes != manifest.ArchiveBytes || sha != manifest.ArchiveSha256)
            throw new InvalidOperationException($"{archivePath}: checksum mismatch: {bytes} bytes sha256 {sha}, the manifest says {manifest.ArchiveBytes} bytes sha256 {manifest.ArchiveSha256}; the archive is damaged or not the one the manifest describes");
        using (var c = new NpgsqlConnection(targetConnectionString))
        {
            c.Open();
            using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", c);
            var tables = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (tables > 0) throw new InvalidOperationException($"target database {DatabaseUrl.Describe(targetConnectionString)} is not empty ({tables} tables); restore only into a new, empty database");
        }
        PostgresTools.Run(pgRestore, [.. PostgresTools.ConnectionArguments(targetConnectionString), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
            $"--dbname={PostgresTools.DatabaseName(targetConnectionString)}", archivePath], targetConnectionString, ToolTimeout);
        using var target = new NpgsqlConnection(targetConnectionString);
        target.Open();
        return (manifest, DatabaseContent.Read(target).Differences(manifest));
    }

    public static (long Bytes, string Sha256) Checksum(string path)
    {
        using var f = File.OpenRead(path);
        return (f.Length, Convert.ToHexStringLower(SHA256.HashData(f)));
    }

    static void Record(string connectionString, DateTimeOffset started, DateTimeOffset finished, string outcome, string actor, string? archive, long? bytes, string? sha,
        long schemaVersion, BackupManifest? manifest, string? error)
    {
        using var c = new NpgsqlConnection(connectionString);
        c.Open();
        // A database at a schema older than this build has no database_backups table: the archive is still good.
        using (var exists = new NpgsqlCommand("SELECT to_regclass('public.database_backups') IS NOT NULL", c))
            if (!(bool)exists.ExecuteScalar()!) return;
        using var cmd = new NpgsqlCommand("""
            INSERT INTO database_backups (started_at, finished_at, outcome, actor, archive, size_bytes, sha256, schema_version, manifest, error)
            VALUES (@started, @finished, @outcome, @actor, @archive, @bytes, @sha, @version, @manifest::jsonb, @error)
            """, c);
        cmd.Parameters.AddWithValue("started", started);
        cmd.Parameters.AddWithValue("finished", finished < started ? started : finished);
        cmd.Parameters.AddWithValue("outcome", outcome);
        cmd.Parameters.AddWithValue("actor", actor.Length > 200 ? actor[..200] : actor);
        cmd.Parameters.AddWithValue("archive", (object?)archive ?? DBNull.Value);
        cmd.Parameters.AddWithValue("bytes", (object?)bytes ?? DBNull.Value);
        cmd.Parameters.AddWithValue("sha", (object?)sha ?? DBNull.Value);
        cmd.Parameters.AddWithValue("version", schemaVersion);
        cmd.Parameters.AddWithValue("manifest", manifest is null ? DBNull.Value : JsonSerializer.Serialize(manifest, BackupManifest.Json));
        cmd.Parameters.AddWithValue("error", error is null ? DBNull.Value : error.Length > 4000 ? error[..4000] : error);
        cmd.ExecuteNonQuery();
    }
}
