using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>The host refuses to start, with a message naming the problem, whenever its configuration or persistence is wrong.</summary>
public sealed class StartupContractTests
{
    static async Task<(int Exit, string Stderr)> RunHost(Action<Dictionary<string, string>> configure, string role = "all")
    {
        var env = FairwayHostProcess.Environment(await TestDatabases.CreateMigratedAsync(), PostgresCluster.FreePort());
        configure(env);
        var (exit, _, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.HostDll, ["--role", role], env);
        return (exit, stderr);
    }

    [Fact]
    public async Task Missing_database_variable_exits_2_naming_it()
    {
        var (exit, stderr) = await RunHost(env => env.Remove("DATABASE_URL"));
        Assert.Equal(2, exit);
        Assert.Contains("DATABASE_URL: required variable is missing", stderr);
    }

    [Fact]
    public async Task Malformed_database_variable_exits_2_naming_it()
    {
        var (exit, stderr) = await RunHost(env => env["DATABASE_URL"] = "Host=localhost;Database=x");
        Assert.Equal(2, exit);
        Assert.Contains("DATABASE_URL: malformed", stderr);
    }

    [Fact]
    public async Task Every_offending_variable_gets_its_own_line()
    {
        var (exit, stderr) = await RunHost(env =>
        {
            env.Remove("STRIPE_API_KEY");
            env["FAIRWAY_PRODUCTION"] = "yes";
            env["FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS"] = "0";
            env["AUTH_JWT_SIGNING_KEY"] = Convert.ToBase64String(new byte[8]);
        });
        Assert.Equal(2, exit);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.Contains("STRIPE_API_KEY: required variable is missing"));
        Assert.Single(lines, l => l.Contains("FAIRWAY_PRODUCTION: malformed"));
        Assert.Single(lines, l => l.Contains("FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS: out of range"));
        Assert.Single(lines, l => l.Contains("AUTH_JWT_SIGNING_KEY: too short"));
        Assert.Equal(4, lines.Length);
    }

    [Fact]
    public async Task Worker_role_needs_the_provider_settings_and_api_role_does_not()
    {
        var (workerExit, workerErr) = await RunHost(env => env.Remove("INGESTION_API_KEY"), role: "worker");
        Assert.Equal(2, workerExit);
        Assert.Contains("INGESTION_API_KEY: required variable is missing", workerErr);
    }

    [Fact]
    public async Task Unknown_role_exits_2()
    {
        var (exit, stderr) = await RunHost(_ => { }, role: "scheduler");
        Assert.Equal(2, exit);
        Assert.Contains("--role: 'scheduler' is not one of api, worker, all", stderr);
    }

    [Fact]
    public async Task Test_clock_is_refused_in_production()
    {
        var (exit, stderr) = await RunHost(env => { env["FAIRWAY_PRODUCTION"] = "true"; env["FAIRWAY_TEST_CLOCK_ENABLED"] = "true"; });
        Assert.Equal(2, exit);
        Assert.Contains("FAIRWAY_TEST_CLOCK_ENABLED: must not be true when FAIRWAY_PRODUCTION=true", stderr);
    }

    [Fact]
    public async Task Database_down_exits_3_naming_the_database()
    {
        var deadPort = PostgresCluster.FreePort();
        var (exit, stderr) = await RunHost(env => env["DATABASE_URL"] = $"postgresql://postgres@127.0.0.1:{deadPort}/fairway");
        Assert.Equal(3, exit);
        Assert.Contains($"database unreachable at 127.0.0.1:{deadPort}/fairway", stderr);
    }

    [Fact]
    public async Task Schema_one_migration_behind_exits_3_naming_both_versions()
    {
        var url = await TestDatabases.CreateEmptyAsync();
        var behind = SchemaMigrator.Available[^2].Version;
        SchemaMigrator.MigrateUpTo(TestDatabases.ConnectionString(url), behind);
        var (exit, stderr) = await RunHost(env => env["DATABASE_URL"] = url);
        Assert.Equal(3, exit);
        Assert.Contains($"database is at {behind}, this build expects {SchemaMigrator.ExpectedVersion}", stderr);
        Assert.Contains("fairway db migrate", stderr);
    }

    [Fact]
    public async Task Empty_database_exits_3()
    {
        var url = await TestDatabases.CreateEmptyAsync();
        var (exit, stderr) = await RunHost(env => env["DATABASE_URL"] = url);
        Assert.Equal(3, exit);
        Assert.Contains("database is at 0", stderr);
    }
}
