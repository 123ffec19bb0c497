using System.CommandLine;
using Fairway.Migrations;
using Npgsql;

namespace Fairway.Cli;

/// <summary>`fairway db migrate|rollback|status|snapshot|backup|restore|verify|base-backup|pitr-prepare`: the only commands that touch the database directly.</summary>
public static class DbCommands
{
    public static Command Build()
    {
        var db = new Command("db", "Schema migrations (FluentMigrator) and the schema snapshot. Reads DATABASE_URL.");

        var migrate = new Command("migrate", "Apply every pending migration and install the job storage schema.");
        migrate.SetAction(_ => WithDatabase(cs =>
        {
            using (var c = Open(cs)) Console.WriteLine($"schema version before: {SchemaMigrator.CurrentVersion(c)}");
            SchemaMigrator.MigrateUp(cs);
            using (var c = Open(cs)) Console.WriteLine($"schema version now: {SchemaMigrator.CurrentVersion(c)} (build expects {SchemaMigrator.ExpectedVersion})");
            return CliOutput.Ok;
        }));

        var to = new Option<long>("--to") { Description = "Schema version to roll back to (0 = before the first migration).", Required = true };
        var rollback = new Command("rollback", "Roll back every migration newer than --to.") { to };
        rollback.SetAction(parse => WithDatabase(cs =>
        {
            var target = parse.GetValue(to);
            if (target != 0 && SchemaMigrator.Available.All(m => m.Version != target))
                return CliOutput.Error(CliOutput.Usage, $"--to: unknown schema version {target}; known: 0, {string.Join(", ", SchemaMigrator.Available.Select(m => m.Version))}");
            SchemaMigrator.RollbackTo(cs, target);
            using var c = Open(cs);
            Console.WriteLine($"schema version now: {SchemaMigrator.CurrentVersion(c)}");
            return CliOutput.Ok;
        }));

        var status = new Command("status", "Show applied and pending migrations. Exit 0 when the database is at the version this build expects, 1 otherwise.");
        status.SetAction(_ => WithDatabase(cs =>
        {
            using var c = Open(cs);
            var applied = SchemaMigrator.Applied(c).ToDictionary(m => m.Version);
            var current = SchemaMigrator.CurrentVersion(c);
            Console.WriteLine($"database: {DatabaseUrl.Describe(cs)}");
            Console.WriteLine($"schema version: {current}; build expects: {SchemaMigrator.ExpectedVersion}");
            foreach (var m in SchemaMigrator.Available)
                Console.WriteLine(applied.TryGetValue(m.Version, out var a)
                    ? $"  applied  {m.Version}  {a.AppliedOnUtc:yyyy-MM-ddTHH:mm:ssZ}  {m.Description}"
                    : $"  pending  {m.Version}  -                     {m.Description}");
            Console.WriteLine($"job storage schema: {(SchemaMigrator.JobStorageInstalled(c) ? "installed" : "missing")}");
            return current == SchemaMigrator.ExpectedVersion && SchemaMigrator.JobStorageInstalled(c) ? CliOutput.Ok : CliOutput.Failed;
        }));

        var output = new Option<string>("--output") { Description = "Where to write the snapshot.", DefaultValueFactory = _ => "db/schema.snapshot.sql" };
        var pgDump = new Option<string>("--pg-dump") { Description = "pg_dump executable (its major version must match the server's).", DefaultValueFactory = _ => "pg_dump" };
        var compare = new Option<string?>("--compare") { Description = "Instead of writing, compare the database's schema with this snapshot (e.g. db/schema.snapshot.sql of the release); exit 1 and print the first difference when they differ." };
        var snapshot = new Command("snapshot", "Write the schema snapshot (pg_dump of the migrated schema, normalised) with its header.") { output, pgDump, compare };
        snapshot.SetAction(parse => WithDatabase(cs =>
        {
            using var c = Open(cs);
            var applied = SchemaMigrator.Applied(c);
            var text = SchemaSnapshot.Render(applied, SchemaSnapshot.Dump(cs, parse.GetValue(pgDump)!), DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime));
            if (parse.GetValue(compare) is { } expectedPath)
            {
                var expected = SchemaSnapshot.WithoutGeneratedLine(File.ReadAllText(expectedPath)).Split('\n');
                var actual = SchemaSnapshot.WithoutGeneratedLine(text).Split('\n');
                var at = Enumerable.Range(0, Math.Max(expected.Length, actual.Length)).FirstOrDefault(i => i >= expected.Length || i >= actual.Length || expected[i] != actual[i], -1);
                if (at < 0) { Console.WriteLine($"schema of {DatabaseUrl.Describe(cs)} matches {expectedPath}"); return CliOutput.Ok; }
                Console.WriteLine($"schema of {DatabaseUrl.Describe(cs)} differs from {expectedPath} at line {at + 1}:");
                Console.WriteLine($"  snapshot: {(at < expected.Length ? expected[at] : "(end)")}");
                Console.WriteLine($"  database: {(at < actual.Length ? actual[at] : "(end)")}");
                return CliOutput.Failed;
            }
            var path = parse.GetValue(output)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, text);
            Console.WriteLine($"wrote {path} (schema version {(applied.Count == 0 ? 0 : applied[^1].Version)})");
            return CliOutput.Ok;
        }));

        db.Add(migrate);
        db.Add(rollback);
        db.Add(status);
        db.Add(snapshot);
        foreach (var command in DbBackupCommands.Build()) db.Add(command);
        return db;
    }

    static NpgsqlConnection Open(string cs)
    {
        var c = new NpgsqlConnection(cs);
        c.Open();
        return c;
    }

    internal static int WithDatabase(Func<string, int> action) =>
        WithDatabaseAsync(cs => Task.FromResult(action(cs))).GetAwaiter().GetResult();

    internal static async Task<int> WithDatabaseAsync(Func<string, Task<int>> action)
    {
        var url = CliOutput.Env("DATABASE_URL");
        if (url is null) return CliOutput.Error(CliOutput.Usage, "DATABASE_URL is not set");
        if (!DatabaseUrl.TryParse(url, out var cs, out var error)) return CliOutput.Error(CliOutput.Usage, $"DATABASE_URL: malformed: {error}");
        return await GuardAsync(cs, () => action(cs));
    }

    /// <summary>Turns the failures a database command can meet into one line on stderr and exit code 1.</summary>
    internal static int Guard(string cs, Func<int> action) => GuardAsync(cs, () => Task.FromResult(action())).GetAwaiter().GetResult();

    internal static async Task<int> GuardAsync(string cs, Func<Task<int>> action)
    {
        try { return await action(); }
        catch (NpgsqlException e) { return CliOutput.Error(CliOutput.Failed, $"database {DatabaseUrl.Describe(cs)}: {e.Message}"); }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        { return CliOutput.Error(CliOutput.Failed, e.Message); }
    }
}
