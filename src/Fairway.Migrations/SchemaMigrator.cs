using System.Reflection;
using FluentMigrator;
using FluentMigrator.Runner;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Fairway.Migrations;

public sealed record MigrationInfo(long Version, string Description);
public sealed record AppliedMigration(long Version, string Description, DateTime AppliedOnUtc);

/// <summary>
/// The only way the schema changes: FluentMigrator migrations from this assembly, plus the
/// Hangfire job-storage schema, which is installed by the same deployment step so that no
/// runtime process ever changes the schema on its own.
/// </summary>
public static class SchemaMigrator
{
    public const string JobStorageSchema = "hangfire";

    /// <summary>Every migration in this build, oldest first.</summary>
    public static IReadOnlyList<MigrationInfo> Available { get; } = typeof(SchemaMigrator).Assembly.GetTypes()
        .Select(t => (Type: t, Attr: t.GetCustomAttribute<MigrationAttribute>()))
        .Where(x => x.Attr is not null && typeof(IMigration).IsAssignableFrom(x.Type))
        .Select(x => new MigrationInfo(x.Attr!.Version, x.Attr.Description ?? x.Type.Name))
        .OrderBy(m => m.Version)
        .ToList();

    /// <summary>The schema version this build expects the database to be at.</summary>
    public static long ExpectedVersion => Available[^1].Version;

    public static void MigrateUp(string connectionString)
    {
        WithRunner(connectionString, r => r.MigrateUp());
        InstallJobStorage(connectionString);
    }

    public static void MigrateUpTo(string connectionString, long version) => WithRunner(connectionString, r => r.MigrateUp(version));

    /// <summary>Rolls back every migration newer than <paramref name="version"/> (0 = everything).</summary>
    public static void RollbackTo(string connectionString, long version)
    {
        if (version != 0 && Available.All(m => m.Version != version))
            throw new ArgumentException($"unknown schema version {version}; known versions: {string.Join(", ", Available.Select(m => m.Version))}");
        WithRunner(connectionString, r => r.MigrateDown(version));
    }

    public static long CurrentVersion(NpgsqlConnection connection)
    {
        using var cmd = new NpgsqlCommand("""SELECT to_regclass('public."VersionInfo"') IS NOT NULL""", connection);
        if (!(bool)cmd.ExecuteScalar()!) return 0;
        cmd.CommandText = """SELECT coalesce(max("Version"), 0) FROM public."VersionInfo" """;
        return (long)cmd.ExecuteScalar()!;
    }

    public static IReadOnlyList<AppliedMigration> Applied(NpgsqlConnection connection)
    {
        var result = new List<AppliedMigration>();
        if (CurrentVersion(connection) == 0) return result;
        using var cmd = new NpgsqlCommand("""SELECT "Version", coalesce("Description", ''), "AppliedOn" FROM public."VersionInfo" ORDER BY "Version" """, connection);
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) result.Add(new AppliedMigration(reader.GetInt64(0), reader.GetString(1), reader.GetDateTime(2)));
        return result;
    }

    public static bool JobStorageInstalled(NpgsqlConnection connection)
    {
        using var cmd = new NpgsqlCommand($"SELECT to_regclass('{JobStorageSchema}.job') IS NOT NULL", connection);
        return (bool)cmd.ExecuteScalar()!;
    }

    static void InstallJobStorage(string connectionString)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        Hangfire.PostgreSql.PostgreSqlObjectsInstaller.Install(connection, JobStorageSchema);
    }

    static void WithRunner(string connectionString, Action<IMigrationRunner> action)
    {
        using var services = new ServiceCollection()
            .AddFluentMigratorCore()
            .ConfigureRunner(rb => rb.AddPostgres().WithGlobalConnectionString(connectionString)
                .ScanIn(typeof(SchemaMigrator).Assembly).For.Migrations())
            .BuildServiceProvider(validateScopes: false);
        using var scope = services.CreateScope();
        action(scope.ServiceProvider.GetRequiredService<IMigrationRunner>());
    }
}
