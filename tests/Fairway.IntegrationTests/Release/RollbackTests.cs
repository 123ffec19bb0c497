using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payments;
using Fairway.Migrations;
using Xunit.Abstractions;

namespace Fairway.IntegrationTests.Release;

/// <summary>
/// infra/deploy/ROLLBACK_STRATEGY.md, case B (the new release added migrations), executed: the previous build is the
/// commit before the newest migration, built from git history; the new one is this build. Money has moved under the
/// new release before it is abandoned.
/// </summary>
public sealed class RollbackTests(ITestOutputHelper output)
{
    static async Task<string> RunAsync(string file, params string[] args)
    {
        var (exit, stdout, stderr) = await ManagedProcess.RunAsync(file, args, new Dictionary<string, string>(), TimeSpan.FromMinutes(10));
        Assert.True(exit == 0, $"{file} {string.Join(' ', args)} exited {exit}:\n{stdout}\n{stderr}");
        return stdout.Trim();
    }

    /// <summary>The schema version a commit's build expects: its highest migration (versions come from ranges, so not the last one added).</summary>
    static async Task<long> ExpectedVersionAtAsync(string commit) =>
        (await RunAsync("git", "-C", RepoPaths.Root, "ls-tree", "--name-only", commit, "src/Fairway.Migrations/Versions/")).Split('\n')
            .Select(f => System.Text.RegularExpressions.Regex.Match(f, @"/M(\d{12})_")).Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();

    /// <summary>PREV: the last commit whose build expects an older schema than this one, checked out from git history and built (host and CLI).</summary>
    static async Task<(string Commit, string Root)> BuildPreviousAsync()
    {
        var current = await ExpectedVersionAtAsync("HEAD");
        string? prev = null;
        foreach (var commit in (await RunAsync("git", "-C", RepoPaths.Root, "log", "--format=%H", "--", "src/Fairway.Migrations/Versions")).Split('\n'))
            if (await ExpectedVersionAtAsync(commit + "^") < current) { prev = await RunAsync("git", "-C", RepoPaths.Root, "rev-parse", "--short=12", commit + "^"); break; }
        Assert.True(prev is not null, "no earlier schema version in the history (a shallow clone?)");
        var dir = Directory.CreateTempSubdirectory("fairway-prev.").FullName;
        await RunAsync("bash", "-c", $"git -C '{RepoPaths.Root}' archive {prev} | tar -x -C '{dir}'");
        foreach (var project in new[] { "Fairway.Host", "Fairway.Cli" })
            await RunAsync("dotnet", "build", Path.Combine(dir, "src", project), "-c", "Release", "-v", "quiet", "-nologo", "-p:FairwaySkipDocs=true");
        return (prev, dir);
    }

    [Fact]
    public async Task Case_B_schema_rolled_back_with_the_cli_and_the_previous_build_runs_healthy_and_reconciled_against_it()
    {
        var building = BuildPreviousAsync();   // meanwhile, the new release runs and moves money

        var f = new PaymentsFixture();
        await f.InitializeAsync();
        string contest;
        try
        {
            contest = await f.CreateContestAsync();
            await f.PaidEntryAsync(contest);
            await f.PaidEntryAsync(contest);
            Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
            foreach (var host in new[] { f.Api, f.Worker })   // `$C stop api worker`
            {
                host.Process.SendSigterm();
                Assert.Equal(0, await host.Process.WaitForExitAsync(TimeSpan.FromSeconds(40)));
            }
        }
        finally { await f.DisposeAsync(); }

        var (prevCommit, prevRoot) = await building;
        var cli = new Dictionary<string, string> { ["DATABASE_URL"] = f.DatabaseUrl };
        var prevCli = Path.Combine(prevRoot, "src/Fairway.Cli/bin/Release/net10.0/fairway.dll");

        // The previous build refuses the newer schema (exit 1) and names the version it expects: the rollback target.
        var (refused, refusal, _) = await ManagedProcess.RunDotnetAsync(prevCli, ["db", "status"], cli);
        Assert.True(refused == 1, refusal);
        var target = long.Parse(System.Text.RegularExpressions.Regex.Match(refusal, @"build expects: (\d+)").Groups[1].Value);
        Assert.True(target < SchemaMigrator.ExpectedVersion, $"{prevCommit} expects {target}, not older than {SchemaMigrator.ExpectedVersion}");
        var (rb, rbOut, rbErr) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["db", "rollback", "--to", target.ToString()], cli, TimeSpan.FromMinutes(3));
        Assert.True(rb == 0, rbOut + rbErr);
        var (st, stOut, stErr) = await ManagedProcess.RunDotnetAsync(prevCli, ["db", "status"], cli);
        Assert.True(st == 0, stOut + stErr);

        var port = PostgresCluster.FreePort();
        var env = FairwayHostProcess.Environment(f.DatabaseUrl, port);
        var started = Stopwatch.StartNew();
        using var previous = ManagedProcess.StartDotnet(Path.Combine(prevRoot, "src/Fairway.Host/bin/Release/net10.0/Fairway.Host.dll"), ["--role", "all"], env);
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", TestAuth.Admin);
        while (true)
        {
            Assert.False(previous.HasExited, $"the previous build exited: {string.Join('\n', previous.Stderr)}");
            try { if ((await admin.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK) break; }
            catch (HttpRequestException) when (started.Elapsed < TimeSpan.FromSeconds(60)) { }
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(60), "the previous build did not become ready");
            await Task.Delay(200);
        }
        var run = await admin.PostAsync("/api/admin/reconciliation/run", null);
        var body = JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement;
        Assert.True(run.StatusCode == HttpStatusCode.OK && body.GetProperty("violation_count").GetInt32() == 0, body.ToString());
        // The money that moved under the new release is still in the ledger the previous build reads.
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));

        previous.SendSigterm();
        Assert.Equal(0, await previous.WaitForExitAsync(TimeSpan.FromSeconds(40)));
        Directory.Delete(prevRoot, recursive: true);
        output.WriteLine($"rolled back from {SchemaMigrator.ExpectedVersion} to {target} ({prevCommit}); previous build ready after {started.Elapsed.TotalSeconds:F1} s");
    }
}
