using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Ledger;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Settlement;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.IntegrationTests.Settlement;

/// <summary>
/// A settlement that keeps failing for a cause Fairway cannot resolve moves the contest to ERROR (bounded attempts, audited,
/// alerted) and waits for an admin; the exits are tested here and in the payments tests. Settlement and refunds take the
/// same contest lock. Each test owns its world: they control time, the kill-switch and locks.
/// </summary>
public sealed class SettlementErrorTests
{
    const long LongHold = 10 * 86400;

    /// <summary>The settlement service in-process, on its own clock (due for it, not yet for the worker's scheduler).</summary>
    static SettlementService InProcess(MoneyOutWorld w, DateTimeOffset at, int maxFailedAttempts)
    {
        TimeProvider clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(at);
        var audit = new AuditWriter(clock);
        return new SettlementService(w.Db, new ContestRepository(), new SettlementRepository(), new IngestionEventStore(), new EntrySetCache(), w.Ledger,
            new KillSwitchService(w.Db, audit, clock, NullLogger<KillSwitchService>.Instance), audit,
            new ContestLifecycleService(w.Db, new ContestRepository(), audit, clock, NullLogger<ContestLifecycleService>.Instance),
            ContestSetup.Settings(w.DatabaseUrl) with { SettlementMaxFailedAttempts = maxFailedAttempts }, clock, NullLogger<SettlementService>.Instance);
    }

    [Fact]
    public async Task Repeated_escrow_mismatches_move_the_contest_to_ERROR_and_an_admin_retry_settles_it_once_repaired()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: LongHold, unfunded: 1);
        var service = InProcess(w, w.Now.AddSeconds(LongHold), maxFailedAttempts: 3);
        for (var i = 1; i <= 3; i++)
        {
            var failure = await Assert.ThrowsAsync<SettlementFailedException>(() => service.SettleAsync(s.ContestId, "test:settle"));
            Assert.Equal(SettlementCodes.EscrowMismatch, failure.Code);
            Assert.Equal(i < 3 ? "COMPLETE" : "ERROR", await w.ScalarAsync<string>("SELECT state FROM contests WHERE id = @c", new { c = s.ContestId }));
        }
        var error = JsonDocument.Parse(await w.ScalarAsync<string>("""
            SELECT evidence::text FROM audit_events WHERE entity_id = @c AND action = 'contest.transition' AND after_state->>'state' = 'ERROR'
            """, new { c = s.ContestId })).RootElement;
        Assert.Equal((3, "ESCROW_MISMATCH"), (error.GetProperty("failed_runs").GetInt32(), error.GetProperty("last_error_code").GetString()));
        Assert.Matches(@"(?m)^contests_in_error [1-9]", await w.Api.Client().GetStringAsync("/metrics"));
        // A kill-switch refusal is not a cause for ERROR: it resolves itself (counted separately, never escalated).
        Assert.DoesNotContain(SettlementCodes.KillSwitchActive, SettlementCodes.Unresolvable);

        // ERROR is not retried by the schedule: the settlement scheduler passes it by (it records every settlement it enqueues).
        await w.AdvanceAsync(TimeSpan.FromSeconds(LongHold));
        Assert.Equal("Succeeded", await w.TriggerAsync(SettlementSchedulerJob.RecurringId));
        Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM settlement_requests WHERE contest_id = @c", new { c = s.ContestId }));

        // The exit: the cause is repaired (the missing payment arrives), an admin retries with a reason; it settles now.
        await w.PostMissingPaymentAsync(s.ContestId, $"{s.ContestId}-e0002", 1000);
        var (exit, stdout, stderr) = await w.CliAsync("contests", "resolve", s.ContestId, "--retry-settlement", "--reason", "test: payment posting repaired, incident I-4");
        Assert.True(exit == 0, stdout + stderr);
        var settled = await w.WaitSettledAsync(s.ContestId);
        Assert.Equal(3, settled.GetProperty("settlement").GetProperty("entry_count").GetInt32());
        Assert.Equal("COMPLETE", await w.ScalarAsync<string>("SELECT state FROM contests WHERE id = @c", new { c = s.ContestId }));
        Assert.Equal(0, await w.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.Equal(1, await w.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_id = @c AND action = 'contest.transition' AND before_state->>'state' = 'ERROR'
               AND after_state->>'state' = 'COMPLETE' AND actor = 'admin:ops-1' AND (evidence->>'ingestion_event_id')::bigint = @e
            """, new { c = s.ContestId, e = s.EventId }));
        Assert.DoesNotMatch(@"(?m)^contests_in_error [1-9]", await w.Api.Client().GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Gross_comes_from_what_the_entries_paid_and_the_exported_bundle_replays_to_the_same_hash()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        // The entries paid 1500 each under rules that now say 1000 (rules frozen since: this is the legacy case the rule guards).
        var s = await w.SeedCompleteContestAsync(entries: 4, holdSeconds: 0, entryFee: 1000, paidFee: 1500);
        var settled = (await w.SettleNowAsync(s.ContestId)).GetProperty("settlement");
        Assert.Equal(4 * 1500, settled.GetProperty("gross").GetInt64());
        Assert.Equal(0, await w.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));

        var file = Path.Combine(Path.GetTempPath(), $"bundle-{s.ContestId}.json");
        try
        {
            var export = await w.CliAsync("settlement", "export", s.ContestId, "--output", file);
            Assert.True(export.ExitCode == 0, export.Stderr);
            var replay = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["settlement", "replay", file], new Dictionary<string, string>());
            Assert.True(replay.ExitCode == 0, replay.Stderr);
            Assert.Equal(settled.GetProperty("output_hash").GetString(), JsonDocument.Parse(replay.Stdout).RootElement.GetProperty("output_hash").GetString());
        }
        finally { File.Delete(file); }
        Assert.Empty(await MoneyInvariants.ViolationsAsync(w.DatabaseUrl));
    }

    [Fact]
    public async Task Entries_that_paid_different_fees_fail_the_settlement_with_ENTRY_FEE_MISMATCH_writing_nothing()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: LongHold);
        await w.ExecAsync("UPDATE entries SET entry_fee = 2000 WHERE id = @e", new { e = $"{s.ContestId}-e0001" });
        var service = InProcess(w, w.Now.AddSeconds(LongHold), maxFailedAttempts: 5);
        var failure = await Assert.ThrowsAsync<SettlementFailedException>(() => service.SettleAsync(s.ContestId, "test:settle"));
        Assert.Equal(SettlementCodes.EntryFeeMismatch, failure.Code);
        Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM settlements WHERE contest_id = @c", new { c = s.ContestId }));
        Assert.Equal(3000, await w.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
    }

    [Fact]
    public async Task Settlement_holds_the_contest_lock_and_a_refund_request_made_meanwhile_waits_for_it_and_is_refused()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: LongHold);
        var service = InProcess(w, w.Now.AddSeconds(LongHold), maxFailedAttempts: 5);

        // Hold the escrow account so the settlement, once it holds the contest, waits in the middle of its transaction.
        await using var blocker = await w.Db.OpenConnectionAsync();
        await using var hold = await blocker.BeginTransactionAsync();
        await blocker.ExecuteAsync("SELECT balance FROM ledger_accounts WHERE id = @id FOR UPDATE", new { id = LedgerAccountRef.Escrow(s.ContestId).Id }, hold);
        var settling = Task.Run(() => service.SettleAsync(s.ContestId, "test:settle"));
        await Wait.UntilAsync(() => w.ScalarAsync<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ledger_accounts%FOR UPDATE%')"),
            "settlement waiting inside its transaction");

        var refund = w.Admin.PostAsJsonAsync($"/api/admin/entries/{s.ContestId}-e0000/refund", new { reason = "test: refund during settlement" });
        await Wait.UntilAsync(() => w.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM contests%FOR SHARE%')"),
            "the refund's contest check waiting for the settlement's lock");
        Assert.False(refund.IsCompleted);

        await hold.RollbackAsync();
        Assert.Equal(SettleOutcome.Settled, (await settling).Outcome);
        var refused = await refund;
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("REFUND_NOT_ALLOWED", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
        Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM refunds WHERE entry_id = @e", new { e = $"{s.ContestId}-e0000" }));
        Assert.Equal(0, await w.BalanceAsync(LedgerAccountRef.Escrow(s.ContestId).Id));
        Assert.Empty(await MoneyInvariants.ViolationsAsync(w.DatabaseUrl));
    }
}
