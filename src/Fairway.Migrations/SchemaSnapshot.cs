using System.Diagnostics;
using System.Text;
using Npgsql;

namespace Fairway.Migrations;

/// <summary>
/// db/schema.snapshot.sql: what the migrations produce, as pg_dump prints it, with the parts pg_dump
/// varies between runs removed so that two dumps of the same schema are byte-identical.
/// </summary>
public static class SchemaSnapshot
{
    public const string GeneratedPrefix = "-- Generated: ";

    public static string Dump(string connectionString, string pgDump = "pg_dump")
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var psi = new ProcessStartInfo(pgDump)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--schema-only", "--no-owner", "--no-privileges", "--no-comments", $"--exclude-schema={SchemaMigrator.JobStorageSchema}",
                     "-h", b.Host!, "-p", b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", b.Username!, b.Database! })
            psi.ArgumentList.Add(a);
        if (!string.IsNullOrEmpty(b.Password)) psi.Environment["PGPASSWORD"] = b.Password;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {pgDump}");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException("pg_dump did not finish within 60 s"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"pg_dump exited {p.ExitCode}: {stderr.Result.Trim()}");
        return Normalise(stdout);
    }

    /// <summary>Removes what pg_dump varies between runs and versions: its version lines and the random \restrict key.</summary>
    public static string Normalise(string dump)
    {
        var sb = new StringBuilder();
        var blank = false;
        foreach (var raw in dump.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.StartsWith("-- Dumped from database version", StringComparison.Ordinal) ||
                line.StartsWith("-- Dumped by pg_dump version", StringComparison.Ordinal) ||
                line.StartsWith("\\restrict", StringComparison.Ordinal) ||
                line.StartsWith("\\unrestrict", StringComparison.Ordinal))
                continue;
            if (line.Length == 0) { if (blank) continue; blank = true; } else blank = false;
            sb.Append(line).Append('\n');
        }
        return sb.ToString().Trim('\n') + "\n";
    }

    public static string Render(IReadOnlyList<AppliedMigration> applied, string normalisedDump, DateOnly generatedOn)
    {
        var sb = new StringBuilder();
        sb.Append("-- Fairway schema snapshot: what the FluentMigrator migrations produce (public schema; Hangfire's schema excluded).\n");
        sb.Append("-- Schema version: ").Append(applied.Count == 0 ? 0 : applied[^1].Version).Append('\n');
        sb.Append(GeneratedPrefix).Append(generatedOn.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)).Append(" by `fairway db snapshot`\n");
        sb.Append("-- Changes (migrations applied, oldest first):\n");
        foreach (var m in applied) sb.Append("--   ").Append(m.Version).Append(' ').Append(m.Description).Append('\n');
        sb.Append('\n').Append(normalisedDump);
        return sb.ToString();
    }

    /// <summary>The snapshot with its generation date removed, for comparing two snapshots.</summary>
    public static string WithoutGeneratedLine(string snapshot) =>
        string.Join('\n', snapshot.Replace("\r\n", "\n").Split('\n').Where(l => !l.StartsWith(GeneratedPrefix, StringComparison.Ordinal)));
}
