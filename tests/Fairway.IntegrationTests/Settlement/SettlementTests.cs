using System.Net.Http.Json;
using System.Text.Json;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Ledger;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Settlement;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fairway.IntegrationTests.Settlement;

public sealed class MoneyOutWorldFixture : IAsyncLifetime
{
    public MoneyOutWorld World { get; private set; } = null!;
    public async Task InitializeAsync() => World = await MoneyOutWorld.StartAsync();
    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>
/// Settlement on real processes and a real database (seed 000 settlement invariants, seed 002 E2/E4/E5):
/// automatic after the hold and not before, one settlement per contest under re-runs and concurrency,
/// failures write nothing and are retried, the kill-switch blocks it, and the exported bundle replays to the
/// stored output hash. The tests of this class share one calendar that only moves forward.
/// </summary>
public sealed class SettlementTests(MoneyOutWorldFixture fixture) : IClassFixture<MoneyOutWorldFixture>
{
    MoneyOutWorld W => fixture.World;

    /// <summary>The settlement service in-process on the world's database and clock (for concurrency and failure injection).</summary>
    /// <summary>
    /// With <paramref name="at"/>, the service runs on its own clock: contests seeded with a long hold are due for it
    /// but not for the worker's scheduler (test clock), so no background run interleaves.
    /// </summary>
    SettlementService InProcess(DateTimeOffset? at = null)
    {
        TimeProvider clock = at is { } t ? new Microsoft.Extensions.Time.Testing.FakeTimeProvider(t) : W.Clock;
        var audit = new AuditWriter(clock);
        return new SettlementService(W.Db, new ContestRepository(), new SettlementRepository(), new IngestionEventStore(), new EntrySetCache(), W.Ledger,
            new KillSwitchService(W.Db, audit, clock, NullLogger<KillSwitchService>.Instance), audit,
            new ContestLifecycleService(W.Db, new ContestRepository(), audit, clock, NullLogger<ContestLifecycleService>.Instance),
            ContestSetup.Settings(W.DatabaseUrl), clock, NullLogger<SettlementService>.Instance);
    }

    const long LongHold = 10 * 86400;

    Task<long> Count(string table, string contestId) => W.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE contest_id = @contestId", new { contestId });

    [Fact]
    public async Task E2_a_complete_contest_is_settled_automatically_once_its_hold_is_over_and_not_before_and_its_payout_job_follows()
    {
        var s = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 3600);
        var completedAt = W.Now;

        await W.AdvanceAsync(TimeSpan.FromSeconds(3599));
        Assert.Equal("Succeeded", await W.TriggerAsync(SettlementSchedulerJob.RecurringId));
        // The scheduler's run is over (its job succeeded) and it enqueued nothing for the contest: it records every
        // enqueue in settlement_requests, and no settlement job names the contest.
        Assert.Equal(0, await Count("settlement_requests", s.ContestId));
        Assert.Empty(await HangfireJobs.OfAsync(W.DatabaseUrl, "SettlementJob", s.ContestId));
        Assert.False((await W.SettlementAsync(s.ContestId)).GetProperty("settled").GetBoolean());
        Assert.Equal(3000, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        // An admin cannot jump the hold either.
        var early = await W.Admin.PostAsync($"/api/admin/settlements/{s.ContestId}/run", null);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, early.StatusCode);
        Assert.Contains("SETTLEMENT_HOLD_NOT_OVER", await early.Content.ReadAsStringAsync());

        await W.SetTimeAsync(completedAt.AddSeconds(3600));
        Assert.Equal("Succeeded", await W.TriggerAsync(SettlementSchedulerJob.RecurringId));
        var shown = await W.WaitSettledAsync(s.ContestId);
        var st = shown.GetProperty("settlement");
        Assert.Equal((3000L, 300L, 2700L, 3, 2), (st.GetProperty("gross").GetInt64(), st.GetProperty("rake").GetInt64(), st.GetProperty("net").GetInt64(),
            st.GetProperty("entry_count").GetInt32(), st.GetProperty("winners").GetInt32()));
        Assert.Equal(s.EventId, st.GetProperty("leaderboard_event_id").GetInt64());
        Assert.Equal(s.EventId, st.GetProperty("complete_event_id").GetInt64());
        Assert.Equal("system:settlement", st.GetProperty("settled_by").GetString());
        var results = shown.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([(1, 1620L), (2, 1080L), (3, 0L)], results.Select(r => (r.GetProperty("rank").GetInt32(), r.GetProperty("prize").GetInt64())));
        Assert.Equal([s.Users[0], s.Users[1], s.Users[2]], results.Select(r => r.GetProperty("user_id").GetString()));

        // The ledger release, once: escrow → payable per winner, escrow → revenue; the escrow is empty.
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.Equal(1620, await W.BalanceAsync(LedgerAccountRef.Payable(s.Users[0], "usd").Id));
        Assert.Equal(1080, await W.BalanceAsync(LedgerAccountRef.Payable(s.Users[1], "usd").Id));
        Assert.Equal(3, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'settlement_release' AND cause_id = @c", new { c = s.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @k", new { k = SettlementService.RakeKey(s.ContestId) }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM scoring_audits WHERE contest_id = @c AND purpose = 'settlement'", new { c = s.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'settlement' AND entity_id = @c AND action = 'settlement.committed'", new { c = s.ContestId }));
        // Purity: settlement changed no lifecycle state.
        Assert.Equal("COMPLETE", shown.GetProperty("contest_state").GetString());

        // The payout job followed automatically: one transfer per winner, pending.
        var job = shown.GetProperty("payout_job");
        Assert.Equal(("pending", 2, 2700L), (job.GetProperty("status").GetString(), job.GetProperty("transfer_count").GetInt32(), job.GetProperty("total_amount").GetInt64()));
        Assert.Equal(2, await Count("payout_transfers", s.ContestId));
        Assert.Empty(await MoneyInvariants.ViolationsAsync(W.DatabaseUrl));
    }

    [Fact]
    public async Task E4_settling_again_and_concurrently_gives_one_settlement_with_one_hash_and_writes_nothing_new()
    {
        var s = await W.SeedCompleteContestAsync(entries: 4, holdSeconds: LongHold);
        var service = InProcess(W.Now.AddSeconds(LongHold));
        // Six at once: all six were blocked together on the contest row (settlement holds it FOR UPDATE) before they raced.
        var (runs, together) = await LockWaits.RaceAsync(W.DatabaseUrl, "SELECT 1 FROM contests WHERE id = @c FOR UPDATE", new { c = s.ContestId }, 6,
            _ => service.SettleAsync(s.ContestId, "test:concurrent"));
        Assert.True(together >= 6, $"{together} runs overlapped");
        Assert.Single(runs, r => r.Outcome == SettleOutcome.Settled);
        Assert.Single(runs.Select(r => r.Settlement.OutputHash).Distinct());
        Assert.Single(runs.Select(r => r.Settlement.Id).Distinct());

        var before = (await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries"), await W.ScalarAsync<long>("SELECT count(*) FROM audit_events"),
            await W.ScalarAsync<long>("SELECT count(*) FROM settlement_runs"));
        var again = await service.SettleAsync(s.ContestId, "test:again");
        Assert.Equal(SettleOutcome.AlreadySettled, again.Outcome);
        Assert.Equal(runs[0].Settlement.OutputHash, again.Settlement.OutputHash);
        // Through the job system too (the stored result; the payout job is created once).
        await W.AdvanceAsync(TimeSpan.FromSeconds(LongHold));
        await W.SettleNowAsync(s.ContestId);
        await W.SettleNowAsync(s.ContestId);
        Assert.Equal(1, await Count("settlements", s.ContestId));
        Assert.Equal(1, await Count("settlement_runs", s.ContestId));
        Assert.Equal(1, await Count("payout_jobs", s.ContestId));
        Assert.Equal(4, await W.ScalarAsync<long>("SELECT count(*) FROM settlement_results r JOIN settlements x ON x.id = r.settlement_id WHERE x.contest_id = @c", new { c = s.ContestId }));
        Assert.Equal(before.Item1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries"));
        Assert.Equal(before.Item3, await W.ScalarAsync<long>("SELECT count(*) FROM settlement_runs"));
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
    }

    [Fact]
    public async Task An_escrow_mismatch_fails_the_settlement_writing_nothing_it_is_recorded_alerted_and_settles_once_repaired()
    {
        var s = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: LongHold, unfunded: 1);
        var ledgerBefore = await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries");
        var service = InProcess(W.Now.AddSeconds(LongHold));
        var failure = await Assert.ThrowsAsync<SettlementFailedException>(() => service.SettleAsync(s.ContestId, "test:mismatch"));
        Assert.Equal(SettlementCodes.EscrowMismatch, failure.Code);

        Assert.Equal(0, await Count("settlements", s.ContestId));
        Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM settlement_results"
            + " WHERE settlement_id NOT IN (SELECT id FROM settlements)"));
        Assert.Equal(ledgerBefore, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries"));
        Assert.Equal(2000, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        var run = await W.QueryAsync<(string Outcome, string Code, string Error)>("SELECT outcome, error_code, error_json::text FROM settlement_runs WHERE contest_id = @c", new { c = s.ContestId });
        var r = Assert.Single(run);
        Assert.Equal(("failed", "ESCROW_MISMATCH"), (r.Outcome, r.Code));
        var error = JsonDocument.Parse(r.Error).RootElement;
        Assert.Equal((2000L, 3000L), (error.GetProperty("detail").GetProperty("escrow_balance").GetInt64(), error.GetProperty("detail").GetProperty("gross").GetInt64()));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'settlement' AND entity_id = @c AND action = 'settlement.failed'", new { c = s.ContestId }));
        Assert.Contains("settlement_status 0", await W.Api.Client().GetStringAsync("/metrics"));
        var shown = await W.SettlementAsync(s.ContestId);
        Assert.False(shown.GetProperty("settled").GetBoolean());
        Assert.Equal("ESCROW_MISMATCH", shown.GetProperty("runs")[0].GetProperty("error_code").GetString());

        // Repaired (the missing payment posting arrives): the retry settles.
        await W.PostMissingPaymentAsync(s.ContestId, $"{s.ContestId}-e0002", 1000);
        Assert.Equal(SettleOutcome.Settled, (await service.SettleAsync(s.ContestId, "test:retry")).Outcome);
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.DoesNotContain("settlement_status 0", await W.Api.Client().GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task The_kill_switch_blocks_settlement_writing_nothing_and_the_job_system_retries_it_after_the_switch_is_off()
    {
        var s = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        await W.AdvanceAsync(TimeSpan.FromSeconds(60));
        await W.KillSwitchAsync(true);
        try
        {
            Assert.Equal("Succeeded", await W.TriggerAsync(SettlementSchedulerJob.RecurringId));
            // The job runs, fails with KILL_SWITCH_ACTIVE (recorded), and Hangfire schedules its retry.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (await Count("settlement_runs", s.ContestId) == 0 && sw.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(200);
            Assert.Equal("KILL_SWITCH_ACTIVE", await W.ScalarAsync<string>("SELECT error_code FROM settlement_runs WHERE contest_id = @c ORDER BY id LIMIT 1", new { c = s.ContestId }));
            Assert.Equal(0, await Count("settlements", s.ContestId));
            Assert.Equal(3000, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        }
        finally { await W.KillSwitchAsync(false); }
        // No human action: Hangfire's retry (its own backoff, under a minute for the first retry) settles it.
        var shown = await W.WaitSettledAsync(s.ContestId, TimeSpan.FromSeconds(100));
        Assert.True(shown.GetProperty("settled").GetBoolean());
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.Equal(["failed", "settled"], (await W.QueryAsync<string>("SELECT outcome FROM settlement_runs WHERE contest_id = @c ORDER BY id", new { c = s.ContestId })).Distinct());
    }

    [Fact]
    public async Task The_exported_bundle_replays_offline_to_the_stored_output_hash_and_show_prints_the_settlement()
    {
        var s = await W.SeedCompleteContestAsync(entries: 5, holdSeconds: 0);
        var settled = await W.SettleNowAsync(s.ContestId);
        var stored = settled.GetProperty("settlement").GetProperty("output_hash").GetString();

        var file = Path.Combine(Path.GetTempPath(), $"bundle-{s.ContestId}.json");
        try
        {
            var export = await W.CliAsync("settlement", "export", s.ContestId, "--output", file);
            Assert.True(export.ExitCode == 0, export.Stderr);
            var replay = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["settlement", "replay", file], new Dictionary<string, string>());
            Assert.True(replay.ExitCode == 0, replay.Stderr);
            Assert.Equal(stored, JsonDocument.Parse(replay.Stdout).RootElement.GetProperty("output_hash").GetString());
            // The bundle is built from the stored rows: the entries as settled, the stored payload.
            var bundle = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
            Assert.Equal(5, bundle.GetProperty("entries").GetArrayLength());
            Assert.Equal(s.ContestId, bundle.GetProperty("contest").GetProperty("id").GetString());
        }
        finally { File.Delete(file); }

        var show = await W.CliAsync("settlement", "show", s.ContestId, "--limit", "2");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains(stored!, show.Stdout);
        var notSettled = await W.CliAsync("settlement", "export", "no-such-contest");
        Assert.Equal(1, notSettled.ExitCode);
    }

    [Fact]
    public async Task E5_a_worker_killed_inside_the_settlement_transaction_leaves_nothing_and_a_restarted_worker_settles_once()
    {
        // Not due yet for anyone: the worker's own settlement scheduler must not settle it before the crash-armed worker can.
        var s = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        var crashing = await W.StartWorkerAsync(e => e["FAIRWAY_CRASH_POINTS"] = SettlementService.CrashBeforeCommit);
        try
        {
            // Only the crash-armed worker may pick the job up.
            W.Workers.Where(w => w != crashing).ToList().ForEach(w => { w.Dispose(); W.Workers.Remove(w); });
            await W.AdvanceAsync(TimeSpan.FromSeconds(60));
            var r = await W.Admin.PostAsync($"/api/admin/settlements/{s.ContestId}/run?wait_seconds=0", null);
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            Assert.NotEqual(0, await crashing.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(crashing.Process.Stderr, l => l.Contains(SettlementService.CrashBeforeCommit));
            Assert.Equal(0, await Count("settlements", s.ContestId));
            Assert.Equal(0, await Count("settlement_runs", s.ContestId));
            Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'settlement' AND cause_id = @c", new { c = s.ContestId }));
            Assert.Equal(3000, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        }
        finally
        {
            // Whatever happened, the shared world gets an ordinary worker back for what follows.
            W.Workers.Remove(crashing);
            crashing.Dispose();
            await W.StartWorkerAsync();
        }

        await W.SettleNowAsync(s.ContestId);
        Assert.Equal(1, await Count("settlements", s.ContestId));
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.Equal(3, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'settlement' AND cause_id = @c", new { c = s.ContestId }));
        Assert.Empty(await MoneyInvariants.ViolationsAsync(W.DatabaseUrl));
    }

    [Fact]
    public async Task A_job_held_by_a_worker_killed_inside_it_is_run_by_the_next_worker_by_itself_once_the_invisibility_timeout_passes()
    {
        // Every worker of this test takes a dead worker's job after 15 s (production default: 300 s); live workers renew theirs.
        static void ShortInvisibility(Dictionary<string, string> e) => e[Fairway.Host.Platform.Configuration.EnvironmentSchema.JobInvisibilityTimeoutSeconds] = "15";
        var s = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60);
        // With the settlement schedule paused, only the job the crashed worker held can settle this contest.
        (await W.Admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{SettlementSchedulerJob.RecurringId}/pause", new { reason = "test: only the held job may settle" })).EnsureSuccessStatusCode();
        var crashing = await W.StartWorkerAsync(e => { ShortInvisibility(e); e["FAIRWAY_CRASH_POINTS"] = SettlementService.CrashBeforeCommit; });
        try
        {
            W.Workers.Where(w => w != crashing).ToList().ForEach(w => { w.Dispose(); W.Workers.Remove(w); });
            await W.AdvanceAsync(TimeSpan.FromSeconds(60));
            var r = await W.Admin.PostAsync($"/api/admin/settlements/{s.ContestId}/run?wait_seconds=0", null);
            Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
            var jobId = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("job_id").GetString();
            Assert.NotEqual(0, await crashing.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains(crashing.Process.Stderr, l => l.Contains(SettlementService.CrashBeforeCommit));
            W.Workers.Remove(crashing);
            crashing.Dispose();
            // The dead worker's job is still fetched (invisible) and nothing settled; nobody triggers anything from here on.
            Assert.Equal(0, await Count("settlements", s.ContestId));
            Assert.Equal(1L, await W.ScalarAsync<long>("SELECT count(*) FROM hangfire.jobqueue WHERE jobid = @id::bigint AND fetchedat IS NOT NULL", new { id = jobId }));
            await W.StartWorkerAsync(ShortInvisibility);
            var deadline = DateTime.UtcNow.AddSeconds(120);
            string? state = null;
            while (DateTime.UtcNow < deadline && (state = await W.ScalarAsync<string?>("SELECT statename FROM hangfire.job WHERE id = @id::bigint", new { id = jobId })) != "Succeeded")
                await Task.Delay(250);
            Assert.Equal("Succeeded", state);
            Assert.Equal(1, await Count("settlements", s.ContestId));
            Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
            Assert.Empty(await MoneyInvariants.ViolationsAsync(W.DatabaseUrl));
        }
        finally
        {
            (await W.Admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{SettlementSchedulerJob.RecurringId}/resume", new { reason = "test done" })).EnsureSuccessStatusCode();
            if (W.Workers.Count == 0) await W.StartWorkerAsync();
        }
    }
}
