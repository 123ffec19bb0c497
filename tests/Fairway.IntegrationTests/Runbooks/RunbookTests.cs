using Fairway.Host.Operations.Runbooks;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;
using Fairway.Host.Payouts;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// One test per runbook: induce the failure in the shared deployment (sandbox faults, a stopped database, killed
/// processes, paused jobs, a tampered ledger), check the signal its alert reads on a real /metrics, run the runbook's own
/// commands as written (<see cref="RunbookRunner"/>, which also records the execution through the runbook API), then
/// assert the deployment is healthy and the money invariants hold. The tests share one deployment and run one after
/// another; each leaves it healthy, which is what its runbook's Verify section proves.
/// </summary>
[Collection(RunbookCollection.Name)]
public sealed class RunbookTests(RunbookWorld world)
{
    MoneyOutWorld W => world.World;
    RunbookRunner Runner => new(world);

    static Dictionary<string, string> Inputs(string runbook, params (string Name, string Value)[] more)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["INCIDENT"] = "INC-" + runbook };
        foreach (var (n, v) in more) d[n] = v;
        return d;
    }

    async Task<string> MetricsAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri(W.Api.BaseUrl, "/metrics"));
    }

    static double Gauge(string metrics, string name)
    {
        var m = Regex.Match(metrics, $"^{Regex.Escape(name)} (?<v>\\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"{name} not exported");
        return m.Groups["v"].Value == "Infinity" ? double.PositiveInfinity : double.Parse(m.Groups["v"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits (bounded) until the scraped gauge satisfies <paramref name="condition"/>, i.e. the alert's signal shows.</summary>
    async Task<double> SignalAsync(string gauge, Func<double, bool> condition)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var v = Gauge(await MetricsAsync(), gauge);
            if (condition(v)) return v;
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"{gauge} stayed {v}");
            await Task.Delay(250);
        }
    }

    Task HealthyAsync() => world.AssertHealthyAsync();

    /// <summary>The newest failed transfer at or before <paramref name="transfer"/> that the admin list shows (with or without needs_ops).</summary>
    async Task<long?> ListedFailedTransferAsync(long transfer, bool needsOps)
    {
        var r = await W.Admin.GetAsync($"/api/admin/payouts/transfers?status=failed_terminal&limit=1&before={transfer + 1}{(needsOps ? "&needs_ops=true" : "")}");
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        using var d = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return d.RootElement.GetProperty("transfers").EnumerateArray().Select(t => (long?)t.GetProperty("id").GetInt64()).FirstOrDefault();
    }

    async Task<string> ContestAsync(int entries, int unfunded = 0, DateTimeOffset? lockTime = null)
    {
        var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:tournament:" + Guid.NewGuid().ToString("N")[..8]);
        (await W.Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "Runbook Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, c, pe, lockTime ?? W.Now.AddDays(30), minEntries: 2, rosterSize: 3, fieldSize: 30, ingestionBase: W.IngestionBase);
        var created = await W.Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Runbook main", config });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        await W.FundEntriesAsync(c, Enumerable.Range(0, entries).Select(i => ($"{c}-e{i}", $"u-{c}-{i}", new[] { MoneyOutWorld.Golfer(i), MoneyOutWorld.Golfer(10 + i), MoneyOutWorld.Golfer(20 + i) })).ToList(),
            1000, unfunded);
        return c;
    }

    async Task PauseAsync(string job) =>
        (await W.Admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{job}/pause", new { reason = "test induces the failure" })).EnsureSuccessStatusCode();

    [Fact]
    [RunbookTest("kill-switch-engaged")]
    public async Task Kill_switch_engaged()
    {
        await W.KillSwitchAsync(true);
        await SignalAsync("kill_switch_engaged", v => v == 1);
        await Runner.RunAsync("kill-switch-engaged", Inputs("kill-switch-engaged"));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("settlement-failed")]
    public async Task Settlement_failed()
    {
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        await W.AdvanceAsync(TimeSpan.FromMinutes(2));
        await W.KillSwitchAsync(true);
        // The settlement is due and refused by the switch: its failure is recorded (what the scheduler would do).
        var r = await W.Admin.PostAsync($"/api/admin/settlements/{contest.ContestId}/run?wait_seconds=5", null);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        await SignalAsync("settlement_status", v => v == 0);
        Assert.Contains("KILL_SWITCH_ACTIVE", (await W.SettlementAsync(contest.ContestId)).GetRawText());

        // The alert names no contest: the runbook's first Diagnose step finds it (sets=), as the paged operator has only the alert.
        var runner = Runner;
        await runner.RunAsync("settlement-failed", Inputs("settlement-failed"));
        Assert.Equal(contest.ContestId, runner.Variables["CONTEST"]);
        Assert.Equal(1, await SignalAsync("settlement_status", v => v == 1));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("contest-lock-failed")]
    public async Task Contest_lock_failed()
    {
        await PauseAsync("contest-lifecycle-clock");
        var contest = await ContestAsync(entries: 2, lockTime: W.Now.AddMinutes(30));
        await W.AdvanceAsync(TimeSpan.FromMinutes(40));
        await SignalAsync("contests_lock_overdue", v => v >= 1);

        await Runner.RunAsync("contest-lock-failed", Inputs("contest-lock-failed", ("CONTEST", contest)));
        Assert.Equal("LOCKED", (await W.GetAsync($"/api/admin/contests/{contest}")).GetProperty("state").GetString());
        Assert.DoesNotContain("\"contest-lifecycle-clock\"", JsonSerializer.Serialize(await W.QueryAsync<string>("SELECT recurring_job_id FROM recurring_job_pauses")));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("database-connection-failure")]
    public async Task Database_connection_failure()
    {
        world.Cluster.StopServer();
        try
        {
            await SignalAsync("database_up", v => v == 0);
            // Executions are stored in the database that is down: recorded once it is back, as the runbook says.
            await Runner.RunAsync("database-connection-failure", Inputs("database-connection-failure"), "succeeded", recordAfterwards: true);
        }
        finally
        {
            // Whatever happened, the next runbook test gets its database back.
            try { world.Cluster.StartServer(); } catch (InvalidOperationException) { /* already running: the runbook started it */ }
        }
        Assert.Equal(1, await SignalAsync("database_up", v => v == 1));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("database-backup")]
    public async Task Database_backup()
    {
        await ContestAsync(entries: 2);
        var dir = Path.Combine(world.WorkDir, "backups");
        await Runner.RunAsync("database-backup", Inputs("database-backup", ("BACKUP_DIR", dir), ("SCRATCH_DATABASE_URL", world.DatabaseUrlOf("fairway_restore_check"))));
        Assert.Single(Directory.GetFiles(dir, "fairway-*.dump"));
        Assert.Single(Directory.GetFiles(dir, "fairway-*.manifest.json"));
        Assert.True(await SignalAsync("database_backup_age_seconds", v => v < 600) < 600);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("restart-services")]
    public async Task Restart_services()
    {
        var (api, worker) = (W.Api.Process.Pid, W.Workers.Single().Process.Pid);
        await Runner.RunAsync("restart-services", Inputs("restart-services"));
        Assert.NotEqual(api, W.Api.Process.Pid);
        Assert.NotEqual(worker, W.Workers.Single().Process.Pid);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("crash-loop")]
    public async Task Crash_loop()
    {
        // The worker dies (SIGKILL): nothing runs jobs.
        W.StopWorkers();
        Assert.Empty(W.Workers);
        await Runner.RunAsync("crash-loop", Inputs("crash-loop"));
        Assert.Single(W.Workers);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("escrow-held-overdue")]
    public async Task Escrow_held_overdue()
    {
        await PauseAsync("settlement-scheduler");
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        Assert.Equal(3000, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        await W.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5));
        await SignalAsync("escrow_held_overdue_contests", v => v >= 1);

        // The alert names no contest: the runbook's first step finds it (sets=), as the paged operator has only the alert.
        var runner = Runner;
        await runner.RunAsync("escrow-held-overdue", Inputs("escrow-held-overdue"));
        Assert.Equal(contest.ContestId, runner.Variables["CONTEST"]);
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        Assert.Empty(await W.QueryAsync<string>("SELECT recurring_job_id FROM recurring_job_pauses WHERE recurring_job_id IN ('settlement-scheduler', 'payout-scheduler')"));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("stripe-outage")]
    public async Task Stripe_outage()
    {
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        await W.ConnectAccountsAsync(contest.Users);
        await W.AdvanceAsync(TimeSpan.FromMinutes(2));
        await W.SettleNowAsync(contest.ContestId);
        // Stripe answers 503 to every transfer: attempts are retryable, and an hour later the transfers are stuck.
        await W.Stripe.PostAsync("/_sandbox/faults", new Dictionary<string, object> { ["method"] = "POST", ["path_prefix"] = "/v1/transfers", ["kind"] = "http_503", ["count"] = -1 });
        try
        {
            await W.RunPayoutSchedulerAsync();
            await W.AdvanceAsync(TimeSpan.FromHours(2));
            // A second failed attempt just before ops are paged: every transfer waits out a backoff that ends after now (the
            // clock stands still while the runbook runs), so running the scheduler alone would attempt none of them.
            await W.RunPayoutSchedulerAsync();
            var waiting = "SELECT count(*) FROM payout_transfers WHERE contest_id = @c AND status = 'retryable' AND attempt_count = 2 AND next_attempt_at > @now";
            var transfers = await W.ScalarAsync<long>("SELECT count(*) FROM payout_transfers WHERE contest_id = @c", new { c = contest.ContestId });
            Assert.True(transfers >= 1);
            Assert.Equal(transfers, await W.ScalarAsync<long>(waiting, new { c = contest.ContestId, now = W.Now }));
            await SignalAsync("payout_transfers_stuck", v => v >= 1);
            var runner = new RunbookRunner(world)
            {
                // Stripe's status page reports the API operational before ops recover.
                BeforeSection = async section => { if (section == "Recover") await W.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); },
            };
            // The alert names no contest: the first step finds it (sets=), as the paged operator has only the alert.
            await runner.RunAsync("stripe-outage", Inputs("stripe-outage"));
            Assert.Equal(contest.ContestId, runner.Variables["CONTEST"]);
            // The table decided "retryable: continue" (pause, then Recover).
            Assert.Equal([(RunbookDecision.Continue, null)], runner.Decisions.Select(d => (d.Decision, d.Party)));
        }
        finally { await W.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }
        Assert.Equal(0, await SignalAsync("payout_transfers_stuck", v => v == 0));
        var byKey = await W.TransfersByKeyAsync();
        var ids = await W.QueryAsync<long>("SELECT id FROM payout_transfers WHERE contest_id = @c", new { c = contest.ContestId });
        Assert.All(ids, id => Assert.Equal(1, byKey.GetValueOrDefault($"payout:{id}")));
        // Each transfer made due by hand is audited with the operator's reason; the attempt budget was not touched.
        Assert.Equal(ids.Count, await W.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE action = 'payout_transfer.retry_now' AND entity_id = ANY(@ids)
               AND actor LIKE 'admin:%' AND reason LIKE '%INC-stripe-outage%'
            """, new { ids = ids.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray() }));
        Assert.All(await W.QueryAsync<int>("SELECT attempt_count FROM payout_transfers WHERE contest_id = @c", new { c = contest.ContestId }), n => Assert.Equal(3, n));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("payout-transfer-failed")]
    public async Task Payout_transfer_failed()
    {
        // Stripe answered every transfer with 503 for longer than the attempt budget (PAYOUT_MAX_ATTEMPTS, with backoff):
        // the transfers fail terminally (max_attempts_exhausted) though the winners' accounts are fine; the money stays payable.
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        await W.ConnectAccountsAsync(contest.Users);
        long transfer; string user;
        await W.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "http_503", count = -1 });
        try
        {
            await W.AdvanceAsync(TimeSpan.FromMinutes(2));
            await W.SettleNowAsync(contest.ContestId);
            const string failed = "SELECT count(*) FROM payout_transfers WHERE contest_id = @c AND status = 'failed_terminal'";
            for (var round = 0; round < 10 && await W.ScalarAsync<long>(failed, new { c = contest.ContestId }) == 0; round++)
            {
                await W.RunPayoutSchedulerAsync();
                await W.AdvanceAsync(TimeSpan.FromHours(1));
            }
            await SignalAsync("payout_transfers_failed_terminal", v => v >= 1);
            (transfer, user) = (await W.QueryAsync<(long, string)>(
                "SELECT id, user_id FROM payout_transfers WHERE contest_id = @c AND status = 'failed_terminal' ORDER BY id LIMIT 1", new { c = contest.ContestId })).Single();
            Assert.Equal(PayoutFailureReasons.AttemptsExhausted, await W.ScalarAsync<string>("SELECT failure_reason FROM payout_transfers WHERE id = @transfer", new { transfer }));
        }
        finally
        {
            // Stripe is healthy again before ops work the runbook (docs/runbooks/stripe-outage.md covers the outage itself).
            await W.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults");
        }
        Assert.True(await W.BalanceAsync($"payable:{user}:usd") > 0);
        // The runbook's finding step lists failed transfers that need ops (--needs-ops): this one does.
        Assert.Equal(transfer, await ListedFailedTransferAsync(transfer, needsOps: true));

        var runner = new RunbookRunner(world);
        await runner.RunAsync("payout-transfer-failed", Inputs("payout-transfer-failed", ("TRANSFER", transfer.ToString())));
        // The table decided "retry" (continue to Recover), and Verify's decided "completed" (continue).
        Assert.Equal([(RunbookDecision.Continue, null), (RunbookDecision.Continue, null)], runner.Decisions.Select(d => (d.Decision, d.Party)));
        Assert.Equal(0, await W.BalanceAsync($"payable:{user}:usd"));
        Assert.Equal(1, (await W.TransfersByKeyAsync()).GetValueOrDefault($"payout:{transfer}"));
        await HealthyAsync();
    }

    [Fact]
    public async Task A_winner_without_a_Stripe_account_is_not_paged_and_is_paid_by_itself_once_the_account_is_usable()
    {
        // The winners never connected a Stripe account: their transfers fail terminally and the money stays payable, but
        // only the winner can fix that, so it is counted apart and pages nobody; onboarding (account.updated) pays it.
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        var pagedBefore = Gauge(await MetricsAsync(), "payout_transfers_failed_terminal");
        await W.AdvanceAsync(TimeSpan.FromMinutes(2));
        await W.SettleNowAsync(contest.ContestId);
        await W.RunPayoutSchedulerAsync();
        var (transfer, user) = (await W.QueryAsync<(long, string)>(
            "SELECT id, user_id FROM payout_transfers WHERE contest_id = @c AND status = 'failed_terminal' ORDER BY id LIMIT 1", new { c = contest.ContestId })).Single();
        Assert.Equal(PayoutFailureReasons.AccountNotConnected, await W.ScalarAsync<string>("SELECT failure_reason FROM payout_transfers WHERE id = @transfer", new { transfer }));
        var ours = await W.ScalarAsync<long>("SELECT count(*) FROM payout_transfers WHERE contest_id = @c AND status = 'failed_terminal'", new { c = contest.ContestId });
        // The world is shared with other tests: the gauges count their transfers too, so they are compared, not zeroed.
        var awaiting = await SignalAsync("payout_transfers_awaiting_winner_account", v => v >= ours);
        Assert.Equal(pagedBefore, Gauge(await MetricsAsync(), "payout_transfers_failed_terminal"));
        // Nor is it in the list the payout-transfer-failed runbook works from (--needs-ops), though it is failed_terminal.
        Assert.Equal(transfer, await ListedFailedTransferAsync(transfer, needsOps: false));
        Assert.NotEqual(transfer, await ListedFailedTransferAsync(transfer, needsOps: true));
        var winners = await W.QueryAsync<string>("SELECT DISTINCT user_id FROM payout_transfers WHERE contest_id = @c AND status = 'failed_terminal'", new { c = contest.ContestId });
        // Days later the winners onboard (Stripe's account.updated is what re-queues their transfers).
        await W.AdvanceAsync(TimeSpan.FromDays(2));
        await W.ConnectAccountsAsync(winners);
        await Wait.UntilAsync(async () => await W.ScalarAsync<bool>("SELECT coalesce(bool_and(payouts_enabled), false) FROM user_stripe_accounts WHERE user_id = @user", new { user }),
            "account.updated applied", 60);
        await W.RunPayoutSchedulerAsync();
        await Wait.UntilAsync(async () => await W.BalanceAsync($"payable:{user}:usd") == 0, "the winner paid once the account is usable", 60);
        Assert.Equal(1, (await W.TransfersByKeyAsync()).GetValueOrDefault($"payout:{transfer}"));
        Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM payout_transfers WHERE contest_id = @c AND status <> 'completed'", new { c = contest.ContestId }));
        Assert.True(await SignalAsync("payout_transfers_awaiting_winner_account", v => v <= awaiting - ours) <= awaiting - ours);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("launch")]
    public async Task Launch()
    {
        // As on a fresh deployment: the kill-switch is on until the launch's smoke tests pass.
        await W.KillSwitchAsync(true);
        await Runner.RunAsync("launch", Inputs("launch", ("BACKUP_DIR", Path.Combine(world.WorkDir, "launch-backups")),
            ("BASE_BACKUP_DIR", Path.Combine(world.WorkDir, "launch-base")), ("SCRATCH_DATABASE_URL", world.DatabaseUrlOf("fairway_restore_check"))));
        Assert.Single(Directory.GetDirectories(Path.Combine(world.WorkDir, "launch-base")));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("escalation")]
    public async Task Escalation()
    {
        // Something no runbook explains: a person engaged the kill-switch for a reason ops must hand over.
        await W.KillSwitchAsync(true);
        var steps = await Runner.RunAsync("escalation", Inputs("escalation"), "escalated");
        Assert.Contains("test engages the switch", steps.Single(s => s.Step == "kill-switch").Output);
        await W.KillSwitchAsync(false);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("ledger-invariant-violation")]
    public async Task Ledger_invariant_violation()
    {
        // A SUCCEEDED payment whose ledger entry is missing: the reconciler finds it and engages the kill-switch.
        var contest = await ContestAsync(entries: 2, unfunded: 1);
        var entry = $"{contest}-e1";
        var run = await W.Admin.PostAsync("/api/admin/reconciliation/run", null);
        Assert.True(run.IsSuccessStatusCode, await run.Content.ReadAsStringAsync());
        await SignalAsync("kill_switch_engaged", v => v == 1);
        Assert.True(Regex.IsMatch(await MetricsAsync(), "^reconciliation_violations\\{check=\"payment_has_ledger_entry\"\\} 1$", RegexOptions.Multiline));

        // Ops: confirm the switch, diagnose, escalate (no correction without engineering).
        await Runner.RunAsync("ledger-invariant-violation", Inputs("ledger-invariant-violation", ("ENTRY", entry)), "escalated", "Immediate action", "Diagnose", "Recover");
        Assert.Equal(1, Gauge(await MetricsAsync(), "kill_switch_engaged"));

        // Engineering's audited correction (the posting the payment should have made), then ops resume with Verify.
        await W.PostMissingPaymentAsync(contest, entry, 1000);
        await Runner.RunAsync("ledger-invariant-violation", Inputs("ledger-invariant-violation", ("ENTRY", entry)), "succeeded", "Verify");
        await HealthyAsync();
    }
}
