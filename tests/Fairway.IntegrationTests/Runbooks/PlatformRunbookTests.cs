using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// The runbooks of the platform around the money: provider ingestion, score corrections, the auth service, the error
/// budget, configuration deploys, database scaling and release rollback. Same shape as <see cref="RunbookTests"/>, on
/// the same shared deployment: induce the failure for real (provider sandbox faults and corrections, an unreachable
/// identity provider, 5xx answers, a broken env file), see the alert's signal on a real /metrics, run the runbook's own
/// commands as written, then assert the deployment is healthy and the money invariants hold.
/// </summary>
[Collection(RunbookCollection.Name)]
public sealed class PlatformRunbookTests(RunbookWorld world)
{
    MoneyOutWorld W => world.World;
    RunbookRunner Runner => new(world);

    static Dictionary<string, string> Inputs(string runbook, params (string Name, string Value)[] more) =>
        new[] { ("INCIDENT", "INC-" + runbook) }.Concat(more).ToDictionary(x => x.Item1, x => x.Item2, StringComparer.Ordinal);

    /// <summary>One sample of a process's /metrics: the series with exactly these labels (none when empty).</summary>
    static double? Sample(string metrics, string name, string labels = "")
    {
        var series = labels.Length == 0 ? Regex.Escape(name) : Regex.Escape($"{name}{{{labels}}}");
        var m = Regex.Match(metrics, $"^{series} (?<v>\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Waits (bounded) until a series scraped from <paramref name="process"/> satisfies the alert's condition.</summary>
    static async Task<double> SignalAsync(FairwayHostProcess process, string name, string labels, Func<double, bool> condition)
    {
        using var http = process.Client();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var v = Sample(await http.GetStringAsync("/metrics"), name, labels);
            if (v is { } value && condition(value)) return value;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"{name}{{{labels}}} stayed {v?.ToString(CultureInfo.InvariantCulture) ?? "absent"} on the {process.Role}");
            await Task.Delay(250);
        }
    }

    Task HealthyAsync() => world.AssertHealthyAsync();

    static string Outcome(JsonElement ingestionEvent) => ingestionEvent.GetProperty("outcome").GetString()!;

    [Fact]
    [RunbookTest("ingestion-lag")]
    public async Task Ingestion_lag()
    {
        var firstPoll = W.Now;
        var p = await W.PlayToLiveAsync(seed: 61, entries: 2);
        var provider = W.Provider!;
        try
        {
            // The provider is down (503 to every request) for an hour ...
            await provider.FaultAsync(new { tournament_id = p.SandboxId, kind = "http_503" });
            for (var i = 0; i < 3; i++)
            {
                await W.AdvanceAsync(TimeSpan.FromMinutes(20));
                Assert.Equal("fetch_failed", Outcome(await W.PollAsync(p.TournamentId)));
            }
            // ... then serves a stale feed (the leaderboard of the first poll again) and malformed payloads.
            await provider.ClearFaultsAsync();
            await provider.FaultAsync(new { tournament_id = p.SandboxId, kind = "stale_repeat", count = 1, as_of = firstPoll.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
            await provider.FaultAsync(new { tournament_id = p.SandboxId, kind = "float_strokes", count = 1 });
            for (var i = 0; i < 2; i++)
            {
                await W.AdvanceAsync(TimeSpan.FromMinutes(10));
                Assert.Equal("rejected", Outcome(await W.PollAsync(p.TournamentId)));
            }
            // Another broken payload is waiting when ops start: the provider has not recovered yet.
            await provider.FaultAsync(new { tournament_id = p.SandboxId, kind = "truncated_json" });
            Assert.True(await SignalAsync(W.Api, "ingestion_lag_seconds", $"tournament=\"{p.TournamentId}\"", v => v > 3600) > 3600);
            var stale = await W.QueryAsync<string>("SELECT anomalies::text FROM ingestion_events WHERE tournament_id = @t AND outcome = 'rejected' ORDER BY id", new { t = p.TournamentId });
            Assert.Contains("STALE_PAYLOAD", stale[0]);

            var runner = new RunbookRunner(world)
            {
                // The provider's status page reports its feed healthy again before ops poll.
                BeforeSection = async section => { if (section == "Recover") await provider.ClearFaultsAsync(); },
            };
            // Paged by IngestionPayloadsRejected (no tournament label): the first step finds the LIVE tournament in trouble,
            // although this shared deployment's other tournaments (unknown to the provider) keep failing at the same instants.
            await runner.RunAsync("ingestion-lag", Inputs("ingestion-lag"));
            Assert.Equal(p.TournamentId, runner.Variables["TOURNAMENT"]);
        }
        finally { await provider.ClearFaultsAsync(); }

        Assert.True(await SignalAsync(W.Api, "ingestion_lag_seconds", $"tournament=\"{p.TournamentId}\"", v => v < 60) < 60);
        Assert.Equal("LIVE", await W.StateAsync(p.ContestId));
        // Rejected payloads were never scored: the standings come from the last accepted event.
        var latestAccepted = await W.ScalarAsync<long>("SELECT max(id) FROM ingestion_events WHERE tournament_id = @t AND outcome = 'accepted'", new { t = p.TournamentId });
        Assert.Equal(latestAccepted, await W.ScalarAsync<long>("SELECT max(id) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId }));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("score-discrepancy")]
    public async Task Score_discrepancy()
    {
        var p = await W.PlayToLiveAsync(seed: 67, entries: 3);
        await W.FinishAsync(p);
        await W.ConnectAccountsAsync(p.Users);
        await W.AdvanceAsync(TimeSpan.FromSeconds(7200));
        var settled = (await W.SettleNowAsync(p.ContestId)).GetProperty("settlement").GetProperty("output_hash").GetString();

        // After settlement the provider corrects a round of a rostered golfer: a new accepted event whose recomputation
        // differs from the settled result.
        var worker = W.Workers.Single();
        double before;
        using (var metrics = worker.Client()) before = Sample(await metrics.GetStringAsync("/metrics"), "score_audit_mismatches") ?? 0;
        (await provider().Control.PostAsJsonAsync($"/_control/tournaments/{p.SandboxId}/corrections", new { player_id = p.Rosters[0][0], round = 1, strokes = 90 })).EnsureSuccessStatusCode();
        await W.AdvanceAsync(TimeSpan.FromMinutes(10));
        // The settlement-correction-watch may have polled the corrected leaderboard first: then this poll is its duplicate.
        Assert.Contains(Outcome(await W.PollAsync(p.TournamentId)), new[] { "accepted", "duplicate" });
        await SignalAsync(worker, "score_audit_mismatches", "", v => v > before);
        Assert.Equal("held", (await W.SettlementAsync(p.ContestId)).GetProperty("payout_job").GetProperty("status").GetString());

        var bundle = Path.Combine(world.WorkDir, $"settlement-{p.ContestId}.json");
        var steps = await Runner.RunAsync("score-discrepancy", Inputs("score-discrepancy", ("CONTEST", p.ContestId), ("TOURNAMENT", p.TournamentId), ("BUNDLE", bundle)));

        // The settlement stands: the bundle reproduces the settled hash, and there is still exactly one settlement.
        Assert.Matches($"\"output_hash\":\\s*\"{settled}\"", steps.Single(s => s.Step == "settlement-reproduces").Output);
        Assert.Equal(settled, (await W.SettlementAsync(p.ContestId)).GetProperty("settlement").GetProperty("output_hash").GetString());
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM settlements WHERE contest_id = @c", new { c = p.ContestId }));
        var byKey = await W.TransfersByKeyAsync();
        Assert.All(await W.QueryAsync<long>("SELECT id FROM payout_transfers WHERE contest_id = @c", new { c = p.ContestId }),
            id => Assert.Equal(1, byKey.GetValueOrDefault($"payout:{id}")));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{p.ContestId}"));
        await HealthyAsync();

        ProviderSandboxProcess provider() => W.Provider!;
    }

    [Fact]
    [RunbookTest("auth-service-unavailable")]
    public async Task Auth_service_unavailable()
    {
        // Players sign in with the identity provider (RS256 tokens); ops keep the locally signed break-glass token.
        using var idp = new OidcIssuer(issuer: TestAuth.Issuer);
        var original = await File.ReadAllTextAsync(world.EnvFile);
        try
        {
            await File.AppendAllTextAsync(world.EnvFile, $"AUTH_OIDC_AUTHORITY={idp.Authority}\n");
            // The identity provider goes down; the API is restarted meanwhile (a deploy), so it has no keys cached.
            idp.Available = false;
            await W.RestartApiAsync();
            using var player = W.Api.Client(idp.Token("idp-player", admin: false));
            for (var i = 0; i < 5; i++)
            {
                var refused = await player.GetAsync("/api/me");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Contains("AUTH_SERVICE_UNAVAILABLE", await refused.Content.ReadAsStringAsync());
            }
            Assert.True(await SignalAsync(W.Api, "auth_service_error_rate", "", v => v > 0.05) > 0.05);

            var runner = new RunbookRunner(world)
            {
                // The identity provider's status page reports it operational again before ops recover.
                BeforeSection = section => { if (section == "Recover") idp.Available = true; return Task.CompletedTask; },
            };
            await runner.RunAsync("auth-service-unavailable", Inputs("auth-service-unavailable"));

            // Valid users sign in again, and the error rate is back to zero.
            using var again = W.Api.Client(idp.Token("idp-player", admin: false));
            var me = await again.GetAsync("/api/me");
            Assert.True(me.IsSuccessStatusCode, await me.Content.ReadAsStringAsync());
            Assert.Equal("idp-player", JsonDocument.Parse(await me.Content.ReadAsStringAsync()).RootElement.GetProperty("subject").GetString());
            Assert.Equal(0, await SignalAsync(W.Api, "auth_service_error_rate", "", v => v == 0));
        }
        finally
        {
            // The next runbook test gets the deployment's own configuration back.
            await File.WriteAllTextAsync(world.EnvFile, original);
            await W.RestartApiAsync();
        }
        await HealthyAsync();
    }

    /// <summary>
    /// What is left of the error budget by this API process's counters: 1 - (share of 5xx answers) / 0.1 %, the
    /// expression of the recording rule error_budget_remaining over the process's lifetime instead of 30 days.
    /// </summary>
    static double BudgetRemaining(string metrics)
    {
        double all = 0, failed = 0;
        foreach (Match m in Regex.Matches(metrics, "^http_requests_received_total\\{(?<labels>[^}]*)\\} (?<v>\\S+)$", RegexOptions.Multiline))
        {
            var v = double.Parse(m.Groups["v"].Value, CultureInfo.InvariantCulture);
            all += v;
            if (Regex.IsMatch(m.Groups["labels"].Value, "(^|,)code=\"5\\d\\d\"")) failed += v;
        }
        Assert.True(all > 0, "http_requests_received_total not exported");
        return 1 - failed / all / (1 - 0.999);
    }

    [Fact]
    [RunbookTest("error-budget-low")]
    public async Task Error_budget_low()
    {
        // An outage burns the budget: the database is down while players keep calling the API (503 DATABASE_UNAVAILABLE).
        using var http = W.Api.Client();
        world.Cluster.StopServer();
        try
        {
            for (var round = 0; BudgetRemaining(await http.GetStringAsync("/metrics")) >= 0.10; round++)
            {
                Assert.True(round < 100, "the budget did not fall below 10 % after 2000 failed requests");
                for (var i = 0; i < 20; i++)
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/api/contests?limit=1")).StatusCode);
            }
        }
        finally { world.Cluster.StartServer(); }
        Assert.True(BudgetRemaining(await http.GetStringAsync("/metrics")) < 0.10);
        // The outage is over when the budget alert is looked at (it is a monthly figure).
        await W.Api.WaitReadyAsync(TimeSpan.FromSeconds(120));

        var steps = await Runner.RunAsync("error-budget-low", Inputs("error-budget-low"));
        Assert.DoesNotContain("FAIL", steps.Single(s => s.Step == "release-gate").Output);
        await HealthyAsync();
    }

    static string[] EnvLines(RunbookWorld world) => File.ReadAllLines(world.EnvFile);

    [Fact]
    [RunbookTest("config-deploy")]
    public async Task Config_deploy_and_its_rollback()
    {
        var (api, worker) = (W.Api.Process.Pid, W.Workers.Single().Process.Pid);
        var inputs = Inputs("config-deploy", ("SETTING", "INGESTION_HTTP_TIMEOUT_SECONDS"), ("VALUE", "5"), ("PREVIOUS_VALUE", "2"));
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS=2", EnvLines(world));

        var steps = await Runner.RunAsync("config-deploy", inputs);
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS: 2 -> 5", steps.Single(s => s.Step == "set").Output);
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS=5", EnvLines(world));
        Assert.NotEqual(api, W.Api.Process.Pid);
        Assert.NotEqual(worker, W.Workers.Single().Process.Pid);

        await Runner.RunAsync("config-deploy", inputs, "rolled_back", "Rollback");
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS=2", EnvLines(world));
        Assert.DoesNotContain("INGESTION_HTTP_TIMEOUT_SECONDS=5", EnvLines(world));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("config-deploy")]
    public async Task Config_deploy_repairs_a_bad_configuration_that_was_deployed()
    {
        var original = await File.ReadAllTextAsync(world.EnvFile);
        try
        {
            await RepairAsync();
        }
        finally
        {
            // Whatever happened, the next runbook test gets the deployment's configuration and a worker back.
            if (W.Workers.Count == 0)
            {
                await File.WriteAllTextAsync(world.EnvFile, original);
                await world.ComposeAsync("up -d", ["worker"]);
            }
        }
        await HealthyAsync();
    }

    async Task RepairAsync()
    {
        // Someone edited the env file by hand and restarted the worker: it refuses the configuration and exits 2.
        await File.WriteAllLinesAsync(world.EnvFile, EnvLines(world).Select(l => l.StartsWith("INGESTION_HTTP_TIMEOUT_SECONDS=", StringComparison.Ordinal) ? "INGESTION_HTTP_TIMEOUT_SECONDS=2s" : l));
        await world.ComposeAsync("stop", ["worker"]);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => world.ComposeAsync("up -d", ["worker"]));
        Assert.Contains("exited with 2", refused.Message);
        Assert.Empty(W.Workers);

        var steps = await Runner.RunAsync("config-deploy", Inputs("config-deploy", ("SETTING", "INGESTION_HTTP_TIMEOUT_SECONDS"), ("VALUE", "5"), ("PREVIOUS_VALUE", "2")),
            "succeeded", "Repair (a bad configuration was deployed)", "Verify");
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS: 2s -> 2", steps.Single(s => s.Step == "repair").Output);
        Assert.Contains("INGESTION_HTTP_TIMEOUT_SECONDS=2", EnvLines(world));
        Assert.Single(W.Workers);
    }

    [Fact]
    [RunbookTest("release-rollback")]
    public async Task Release_rollback()
    {
        var (api, worker) = (W.Api.Process.Pid, W.Workers.Single().Process.Pid);
        var inputs = Inputs("release-rollback", ("PREV_VERSION", "0.9.0"), ("NEW_VERSION", "1.0.0"));
        var steps = await Runner.RunAsync("release-rollback", inputs);
        // Both processes were recreated (from the one build a test run has: RollbackTests starts a real previous build
        // against a rolled-back schema), the gate passed, and money is back on.
        Assert.NotEqual(api, W.Api.Process.Pid);
        Assert.NotEqual(worker, W.Workers.Single().Process.Pid);
        Assert.DoesNotContain("FAIL", steps.Single(s => s.Step == "release-gate").Output);
        var audit = await W.QueryAsync<string>("SELECT reason FROM audit_events WHERE action LIKE 'kill_switch%' AND reason LIKE '%runbook release-rollback%' ORDER BY id");
        Assert.Equal(2, audit.Count);

        (api, worker) = (W.Api.Process.Pid, W.Workers.Single().Process.Pid);
        await Runner.RunAsync("release-rollback", inputs, "succeeded", "Rollback");
        Assert.NotEqual(api, W.Api.Process.Pid);
        Assert.NotEqual(worker, W.Workers.Single().Process.Pid);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("scale-database")]
    public async Task Scale_database()
    {
        var original = await File.ReadAllTextAsync(world.EnvFile);
        string Url(int pool) => world.DatabaseUrl + (world.DatabaseUrl.Contains('?') ? "&" : "?") + $"maximum_pool_size={pool}";
        var backups = Path.Combine(world.WorkDir, "scale-backups");
        try
        {
            // The deployment runs with small pools, and DatabasePoolLow keeps coming back after restarts: time to scale.
            await File.WriteAllLinesAsync(world.EnvFile, EnvLines(world).Select(l => l.StartsWith("DATABASE_URL=", StringComparison.Ordinal) ? "DATABASE_URL=" + Url(6) : l));
            await world.ComposeAsync("restart", ["api", "worker"]);
            Assert.True(await SignalAsync(W.Api, "database_connection_pool_available", "", v => v <= 6) <= 6);

            var inputs = Inputs("scale-database", ("BACKUP_DIR", backups), ("NEW_DATABASE_URL", Url(40)), ("PREVIOUS_DATABASE_URL", Url(6)));
            // Everything is stopped in the window, the API too: the execution is recorded once it is back.
            await Runner.RunAsync("scale-database", inputs, "succeeded", recordAfterwards: true);
            Assert.True(await SignalAsync(W.Api, "database_connection_pool_available", "", v => v > 6) > 6);
            Assert.Single(Directory.GetFiles(backups, "fairway-*.dump"));
            await HealthyAsync();

            await Runner.RunAsync("scale-database", inputs, "rolled_back", recordAfterwards: false, "Rollback");
            Assert.True(await SignalAsync(W.Api, "database_connection_pool_available", "", v => v <= 6) <= 6);
        }
        finally
        {
            // The next runbook test gets the deployment's own configuration back.
            await File.WriteAllTextAsync(world.EnvFile, original);
            await world.ComposeAsync("restart", ["api", "worker"]);
        }
        await HealthyAsync();
    }
}
