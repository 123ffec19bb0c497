using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;
using Fairway.Migrations;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// One deployment shared by every runbook test (they run one after another and each must leave it healthy, which is
/// what its runbook's Verify section proves): its own PostgreSQL cluster (so a runbook can have the database stopped),
/// the Stripe and provider sandboxes, an API and a worker under the test clock, and the `fairway` CLI on PATH.
/// <see cref="ComposeAsync"/> stands in for Docker Compose: `restart|stop|start|up -d` of api, worker, postgres act
/// on the real processes (SIGTERM/SIGKILL and start, pg_ctl), with the deployment's env file applied on start.
/// </summary>
public sealed class RunbookWorld : IAsyncLifetime
{
    public static readonly Regex Compose = new(@"^(?:FAIRWAY_VERSION=""\$(?<version>[A-Z_]+)"" )?docker compose -f infra/compose/docker-compose\.prod\.yml (?:(?<verb>restart|stop|start|up -d) (?<services>(?:(?:api|worker|postgres) ?)+)|exec -T postgres (?<dbverb>createdb|dropdb) -U fairway (?<db>[a-z_]+))$", RegexOptions.CultureInvariant);

    /// <summary>Process-control commands run for real on the database server (point-in-time recovery).</summary>
    public static readonly Regex HostCommand = new(@"^(chown -R postgres ""\$[A-Z_]+""|runuser -u postgres -- ""\$PG_BIN/pg_ctl"" -D ""\$[A-Z_]+"" .*)$", RegexOptions.CultureInvariant);

    public PostgresCluster Cluster { get; private set; } = null!;
    public MoneyOutWorld World { get; private set; } = null!;
    public string DatabaseUrl { get; private set; } = "";
    public string BinDir { get; private set; } = "";
    /// <summary>The deployment's env file (/etc/fairway/fairway.env in production): read by api and worker when they start.</summary>
    public string EnvFile { get; private set; } = "";
    public string WorkDir { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Cluster = PostgresCluster.Start();
        DatabaseUrl = await TestDatabases.CreateEmptyAsync(Cluster.AdminUrl);
        SchemaMigrator.MigrateUp(TestDatabases.ConnectionString(DatabaseUrl));
        Npgsql.NpgsqlConnection.ClearAllPools();
        WorkDir = Directory.CreateTempSubdirectory("fairway-runbooks.").FullName;
        BinDir = Directory.CreateDirectory(Path.Combine(WorkDir, "bin")).FullName;
        var wrapper = Path.Combine(BinDir, "fairway");
        File.WriteAllText(wrapper, $"#!/usr/bin/env bash\nexec dotnet '{RepoPaths.CliDll}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        EnvFile = Path.Combine(WorkDir, "fairway.env");
        File.WriteAllText(EnvFile, "# the deployment's env file; api and worker read it when (re)started\n");
        World = await MoneyOutWorld.StartAsync(provider: true, databaseUrl: DatabaseUrl, env: ApplyEnvFile);
        // The complete env file of the deployment, as /etc/fairway/fairway.env holds it: `fairway config check` and
        // `fairway release check` read it, `fairway env set` edits it, and api and worker apply it when (re)started.
        File.WriteAllLines(EnvFile, ["# the deployment's env file; api and worker read it when (re)started",
            .. World.HostEnvironment().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")]);
    }

    /// <summary>What every runbook test ends with: the money invariants hold, the API is ready, the kill-switch is off.</summary>
    public async Task AssertHealthyAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        World.Db.Clear();
        await MoneyInvariants.AssertHoldAsync(DatabaseUrl);
        using var http = World.Api.Client();
        var ready = await http.GetAsync("/readyz");
        Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
        Assert.Matches(new Regex("^kill_switch_engaged 0$", RegexOptions.Multiline), await http.GetStringAsync("/metrics"));
    }

    /// <summary>What an operator's shell has: the admin API and token, the database, the env file, the PostgreSQL binaries.</summary>
    public Dictionary<string, string> Environment() => new(StringComparer.Ordinal)
    {
        ["FAIRWAY_API_URL"] = World.Api.BaseUrl.ToString().TrimEnd('/'),
        ["FAIRWAY_API_TOKEN"] = TestAuth.Admin,
        ["DATABASE_URL"] = DatabaseUrl,
        ["FAIRWAY_ENV_FILE"] = EnvFile,
        ["PG_BIN"] = Cluster.BinDir,
    };

    void ApplyEnvFile(Dictionary<string, string> env)
    {
        if (EnvFile.Length == 0) return;
        foreach (var line in File.ReadAllLines(EnvFile).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var eq = line.IndexOf('=');
            // Each container listens on the same address in its own network namespace; here api and worker share
            // one host, so each process keeps the port the test deployment gave it.
            if (eq > 0 && line[..eq] != "FAIRWAY_LISTEN_URL") env[line[..eq]] = line[(eq + 1)..];
        }
    }

    /// <summary>`docker compose … &lt;verb&gt; &lt;services&gt;` on this deployment's processes.</summary>
    public async Task<string> ComposeAsync(Match compose)
    {
        if (compose.Groups["dbverb"].Success)
        {
            var name = compose.Groups["db"].Value;
            await TestDatabases.ExecAsync(Cluster.AdminUrl, compose.Groups["dbverb"].Value == "createdb" ? $"CREATE DATABASE {name}" : $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            return $"{compose.Groups["dbverb"].Value} {name}: done";
        }
        // `up -d` with another FAIRWAY_VERSION recreates the containers from that release's image. The test deployment
        // has one build, so the processes are recreated from it (RollbackTests runs a real previous build).
        var verb = compose.Groups["version"].Success && compose.Groups["verb"].Value == "up -d" ? "restart" : compose.Groups["verb"].Value;
        return await ComposeAsync(verb, compose.Groups["services"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>The URL of a database of this deployment's cluster by name (what a `createdb` step made).</summary>
    public string DatabaseUrlOf(string name) => TestDatabases.UrlFor(Cluster.AdminUrl, name);

    public async Task<string> ComposeAsync(string verb, IReadOnlyList<string> services)
    {
        var done = new List<string>();
        foreach (var service in services)
        {
            switch (service, verb)
            {
                case ("postgres", "stop"): Cluster.StopServer(); break;
                case ("postgres", "start" or "up -d"): Cluster.StartServer(); break;
                case ("postgres", "restart"): Cluster.StopServer(); Cluster.StartServer(); break;
                case ("worker", "stop"): StopWorkersGracefully(); break;
                case ("worker", "start" or "up -d"): if (World.Workers.Count == 0) await World.StartWorkerAsync(ApplyEnvFile); break;
                case ("worker", "restart"): StopWorkersGracefully(); await World.StartWorkerAsync(ApplyEnvFile); break;
                case ("api", "stop"): await StopApiGracefullyAsync(); break;
                case ("api", "start" or "up -d" or "restart"): await World.RestartApiAsync(); break;
                default: throw new InvalidOperationException($"docker compose {verb} {service}: not supported by the test deployment");
            }
            done.Add($"{verb} {service}: done");
        }
        return string.Join('\n', done);
    }

    void StopWorkersGracefully()
    {
        foreach (var w in World.Workers)
        {
            w.Process.SendSigterm();
            w.Process.WaitForExitAsync(TimeSpan.FromSeconds(40)).GetAwaiter().GetResult();
        }
        World.StopWorkers();
    }

    async Task StopApiGracefullyAsync()
    {
        World.Api.Process.SendSigterm();
        await World.Api.Process.WaitForExitAsync(TimeSpan.FromSeconds(40));
    }

    public async Task DisposeAsync()
    {
        if (World is not null) await World.DisposeAsync();
        Cluster?.Dispose();
        try { Directory.Delete(WorkDir, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class RunbookCollection : ICollectionFixture<RunbookWorld>
{
    public const string Name = "runbooks on one deployment";
}
