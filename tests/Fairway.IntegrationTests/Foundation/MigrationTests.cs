using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

public sealed class MigrationTests
{
    static async Task<List<string>> TablesAsync(string url)
    {
        await using var c = await TestDatabases.OpenAsync(url);
        await using var cmd = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1", c);
        var list = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) list.Add(r.GetString(0));
        return list;
    }

    static string Dump(string url) => SchemaSnapshot.Dump(TestDatabases.ConnectionString(url), Path.Combine(PostgresCluster.FindBinDir(), "pg_dump"));

    /// <summary>
    /// Each migration, applied on top of its predecessor, rolls back to exactly the predecessor's
    /// schema (compared as whole pg_dump output, so column- or index-only migrations are covered)
    /// and re-applies to exactly the same schema.
    /// </summary>
    [Fact]
    public async Task Every_migration_goes_up_down_and_up_again()
    {
        var url = await TestDatabases.CreateEmptyAsync();
        var cs = TestDatabases.ConnectionString(url);
        long previous = 0;
        // Version 0 as the runner leaves it: no migrations, only its own VersionInfo table.
        SchemaMigrator.RollbackTo(cs, 0);
        var previousSchema = Dump(url);
        foreach (var m in SchemaMigrator.Available)
        {
            SchemaMigrator.MigrateUpTo(cs, m.Version);
            var up = Dump(url);
            Assert.NotEqual(previousSchema, up);
            SchemaMigrator.RollbackTo(cs, previous);
            Assert.True(previousSchema == Dump(url), $"rolling back {m.Version} did not restore the schema of {previous}");
            SchemaMigrator.MigrateUpTo(cs, m.Version);
            Assert.True(up == Dump(url), $"re-applying {m.Version} produced a different schema");
            await using var c = await TestDatabases.OpenAsync(url);
            Assert.Equal(m.Version, SchemaMigrator.CurrentVersion(c));
            (previous, previousSchema) = (m.Version, up);
        }
        SchemaMigrator.RollbackTo(cs, 0);
        Assert.Equal(["VersionInfo"], await TablesAsync(url));
    }

    [Fact]
    public async Task Committed_snapshot_equals_what_the_migrations_produce()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await using var c = await TestDatabases.OpenAsync(url);
        var pgDump = Path.Combine(PostgresCluster.FindBinDir(), "pg_dump");
        var generated = SchemaSnapshot.Render(SchemaMigrator.Applied(c), SchemaSnapshot.Dump(TestDatabases.ConnectionString(url), pgDump), new DateOnly(2000, 1, 1));
        var committed = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "db", "schema.snapshot.sql"));
        Assert.True(SchemaSnapshot.WithoutGeneratedLine(committed) == SchemaSnapshot.WithoutGeneratedLine(generated),
            "db/schema.snapshot.sql is stale: run ./scripts/snapshot and commit db/schema.snapshot.sql");
        Assert.Contains($"-- Schema version: {SchemaMigrator.ExpectedVersion}", committed);
    }

    [Fact]
    public async Task Snapshot_normalisation_is_stable_across_two_dumps()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        var pgDump = Path.Combine(PostgresCluster.FindBinDir(), "pg_dump");
        var a = SchemaSnapshot.Dump(TestDatabases.ConnectionString(url), pgDump);
        var b = SchemaSnapshot.Dump(TestDatabases.ConnectionString(url), pgDump);
        Assert.Equal(a, b);
        Assert.DoesNotContain("\\restrict", a);
        Assert.Contains("CREATE TABLE public.audit_events", a);
    }
}
