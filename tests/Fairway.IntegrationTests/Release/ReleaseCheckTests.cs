using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payouts;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Release;

/// <summary>
/// `fairway release check` and `fairway payouts dry-run` against real processes: API, worker, Stripe sandbox,
/// provider sandbox, PostgreSQL, with a settled contest whose payouts are due.
/// </summary>
public sealed class ReleaseCheckTests
{
    static string EnvFile(IReadOnlyDictionary<string, string> env, params string[] without)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("fairway-env.").FullName, "fairway.env");
        File.WriteAllLines(path, env.Where(kv => !without.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        return path;
    }

    static IEnumerable<string> Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task Release_check_passes_on_a_healthy_release_and_the_payout_dry_run_lists_exactly_what_the_next_run_does()
    {
        await using var w = await MoneyOutWorld.StartAsync(provider: true);
        var s = await w.SeedCompleteContestAsync(entries: 5, holdSeconds: 0);
        await w.ConnectAccountsAsync([s.Users[0]]);   // the runner-up has no payout account
        await w.SettleNowAsync(s.ContestId);
        var envFile = EnvFile(w.HostEnvironment());

        var (exit, stdout, stderr) = await w.CliAsync("release", "check", "--env-file", envFile);
        Assert.True(exit == 0, stdout + "\n" + stderr);
        foreach (var check in new[] { "config", "schema", "api ready", "contract", "public api", "reconciliation", "connection stripe (api)", "connection stripe (worker)", "connection provider (worker)", "payout dry run" })
            Assert.Contains(Lines(stdout), l => l.StartsWith($"ok    {check}:", StringComparison.Ordinal));
        Assert.Empty(stderr.Trim());

        var (dryExit, dryOut, dryErr) = await w.CliAsync("payouts", "dry-run");
        Assert.True(dryExit == 0, dryErr);
        var dry = JsonDocument.Parse(dryOut).RootElement;
        var planned = dry.GetProperty("transfers").EnumerateArray()
            .Select(t => (Id: t.GetProperty("transfer_id").GetInt64(), User: t.GetProperty("user_id").GetString(), WouldDo: t.GetProperty("would_do").GetString())).ToList();
        Assert.Equal([(s.Users[0], "stripe_transfer"), (s.Users[1], "fail_no_payout_account")], planned.Select(p => (p.User, p.WouldDo)));
        foreach (var p in planned) Assert.Contains($"transfer {p.Id} ", stdout);   // release check printed the same plan

        var stripeTransfersBefore = await w.TransferPostsAsync();
        Assert.Equal(0, stripeTransfersBefore);   // neither the check nor the dry run moved money
        await w.RunPayoutSchedulerAsync();
        var after = await w.TransfersAsync(s.ContestId);
        Assert.Equal(planned.Select(p => (p.Id, p.WouldDo == "stripe_transfer" ? "completed" : "failed_terminal")),
            after.Where(t => t.AttemptCount == 1).Select(t => (t.Id, t.Status)));

        var (_, emptyOut, _) = await w.CliAsync("payouts", "dry-run");
        Assert.Equal(0, JsonDocument.Parse(emptyOut).RootElement.GetProperty("due_count").GetInt64());
        await w.AssertReconciledAsync();
    }

    [Fact]
    public async Task Release_check_fails_with_one_line_per_failed_check()
    {
        await using var w = await MoneyOutWorld.StartAsync(provider: true, worker: false);
        await w.StartWorkerAsync(e => e["INGESTION_API_KEY"] = "a-revoked-key");   // the provider refuses it (401)
        var env = w.HostEnvironment();
        env["DATABASE_URL"] = await TestDatabases.CreateEmptyAsync();             // never migrated
        var envFile = EnvFile(env, "STRIPE_WEBHOOK_SECRET");

        var (exit, stdout, stderr) = await w.CliAsync("release", "check", "--env-file", envFile);
        Assert.True(exit == 1, stdout + "\n" + stderr);
        var failed = Lines(stderr).ToList();
        Assert.Equal(3, failed.Count);
        Assert.StartsWith("fairway: release check failed: config: role api: STRIPE_WEBHOOK_SECRET: required variable is missing", failed[0]);
        Assert.StartsWith("fairway: release check failed: schema: ", failed[1]);
        Assert.Contains("this build expects", failed[1]);
        Assert.StartsWith("fairway: release check failed: connection provider (worker): ", failed[2]);
        Assert.Contains("HTTP 401", failed[2]);
        Assert.Contains(Lines(stdout), l => l.StartsWith("ok    connection stripe (worker):", StringComparison.Ordinal));
        Assert.Contains(Lines(stdout), l => l == "release check FAILED (3 of 10 checks)");
    }
}
