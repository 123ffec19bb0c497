using Fairway.Host.Payouts;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Payouts;

/// <summary>
/// Crash variants (seed 002 PJ5, E5 for payouts, PJ1/PJ2 crash variants): a worker process killed for real
/// (<c>FAIRWAY_CRASH_POINTS=payout.after_stripe_before_commit</c> → FailFast) between Stripe's answer and the
/// database commit; and two worker processes running the scheduler at once over 1,000 transfers. Each test owns
/// its world, because it controls which worker processes exist.
/// </summary>
public sealed class PayoutCrashAndConcurrencyTests
{
    /// <summary>
    /// Starts a worker armed with the crash point between Stripe's answer and the commit, runs the payout
    /// scheduler, and waits for the process to die there for real (FailFast); no worker is left running.
    /// </summary>
    internal static async Task CrashAWorkerBetweenStripeAndCommitAsync(MoneyOutWorld w)
    {
        var crashing = await w.StartWorkerAsync(e => e["FAIRWAY_CRASH_POINTS"] = PayoutExecutionService.CrashAfterStripeBeforeCommit);
        Assert.NotEqual("Succeeded", await w.TriggerAsync(PayoutSchedulerJob.RecurringId, waitSeconds: 0));
        Assert.NotEqual(0, await crashing.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(crashing.Process.Stderr, l => l.Contains(PayoutExecutionService.CrashAfterStripeBeforeCommit));
        w.StopWorkers();
    }

    [Fact]
    public async Task PJ5_a_worker_killed_after_the_Stripe_transfer_and_before_the_commit_leaves_the_transfer_due_and_the_restarted_worker_finds_it_at_Stripe()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        w.StopWorkers();

        await CrashAWorkerBetweenStripeAndCommitAsync(w);

        // Stripe made exactly one transfer; Fairway rolled the whole attempt back.
        var byKey = await w.TransfersByKeyAsync();
        var transfers = await w.TransfersAsync(s.ContestId);
        var crashed = Assert.Single(transfers, t => byKey.GetValueOrDefault(PayoutStripeGateway.IdempotencyKey(t.Id)) == 1);
        Assert.All(transfers, t => Assert.Equal(("pending", 0, (string?)null), (t.Status, t.AttemptCount, t.StripeTransferId)));
        Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM payout_transfer_attempts a JOIN payout_transfers t ON t.id = a.transfer_id WHERE t.contest_id = @c", new { c = s.ContestId }));
        Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'payout_transfer'"));
        Assert.Equal(900, await w.BalanceAsync(Fairway.Host.Ledger.LedgerAccountRef.Payable(crashed.UserId, "usd").Id));

        await w.StartWorkerAsync();
        await w.RunPayoutSchedulerAsync();
        var after = await w.TransfersAsync(s.ContestId);
        Assert.All(after, t => Assert.Equal("completed", t.Status));
        Assert.Equal(1, (await w.TransfersByKeyAsync())[PayoutStripeGateway.IdempotencyKey(crashed.Id)]);
        // The crashed transfer had been sent: the restarted worker looked it up at Stripe and adopted it (no second create).
        var stats = await w.Stripe.StatsAsync();
        Assert.Equal(3, stats["transfers_created"]!.GetValue<long>());
        Assert.True(stats["requests_by_endpoint"]!["GET /v1/transfers"]!.GetValue<long>() >= 1);
        var atStripe = await w.Stripe.GetAsync($"/v1/transfers?transfer_group={s.ContestId}&limit=100");
        Assert.Equal(3, atStripe["data"]!.AsArray().Count);
        Assert.Contains(after.Single(t => t.Id == crashed.Id).StripeTransferId, atStripe["data"]!.AsArray().Select(t => (string?)t!["id"]));
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }

    /// <summary>
    /// PJ6 crash variant: a worker dies between Stripe's transfer and the commit, ops engage the kill-switch
    /// (the incident response), a restarted worker claims nothing while it is on, and once it is off the
    /// payout completes by reusing the idempotency key: one Stripe transfer per payout, never two.
    /// </summary>
    [Fact]
    public async Task PJ6_crash_variant_after_a_crash_the_engaged_kill_switch_holds_every_transfer_and_release_pays_each_exactly_once()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        w.StopWorkers();

        await CrashAWorkerBetweenStripeAndCommitAsync(w);
        var afterCrash = await w.TransfersByKeyAsync();
        Assert.Equal(1, afterCrash.Values.Sum());

        await w.KillSwitchAsync(true);
        await w.StartWorkerAsync();
        await w.RunPayoutSchedulerAsync();
        Assert.All(await w.TransfersAsync(s.ContestId), t => Assert.Equal(("pending", 0, (string?)null), (t.Status, t.AttemptCount, t.StripeTransferId)));
        Assert.Equal(afterCrash, await w.TransfersByKeyAsync());

        await w.KillSwitchAsync(false);
        await w.RunPayoutSchedulerAsync();
        var paid = await w.TransfersAsync(s.ContestId);
        Assert.All(paid, t => Assert.Equal("completed", t.Status));
        var byKey = await w.TransfersByKeyAsync();
        Assert.All(paid, t => Assert.Equal(1, byKey[PayoutStripeGateway.IdempotencyKey(t.Id)]));
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }

    [Fact]
    public async Task PJ3_PJ4_crash_variant_a_worker_killed_during_a_retry_keeps_the_first_attempt_and_the_restarted_worker_pays_once()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 2, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        await w.FaultAsync("http_503", count: -1);
        await w.RunPayoutSchedulerAsync();
        await w.ClearFaultsAsync();
        Assert.All(await w.TransfersAsync(s.ContestId), t => Assert.Equal(("retryable", 1), (t.Status, t.AttemptCount)));
        w.StopWorkers();

        await w.AdvanceAsync(TimeSpan.FromHours(2));
        await CrashAWorkerBetweenStripeAndCommitAsync(w);
        // The retry's attempt 2 is rolled back; attempt 1 (committed before) stays.
        Assert.All(await w.TransfersAsync(s.ContestId), t => Assert.Equal(("retryable", 1), (t.Status, t.AttemptCount)));
        Assert.Equal(2, await w.ScalarAsync<long>("SELECT count(*) FROM payout_transfer_attempts a JOIN payout_transfers t ON t.id = a.transfer_id WHERE t.contest_id = @c", new { c = s.ContestId }));
        Assert.Equal(1, (await w.TransfersByKeyAsync()).Values.Sum());

        await w.StartWorkerAsync();
        await w.RunPayoutSchedulerAsync();
        var done = await w.TransfersAsync(s.ContestId);
        Assert.All(done, t => Assert.Equal(("completed", 2), (t.Status, t.AttemptCount)));
        var byKey = await w.TransfersByKeyAsync();
        Assert.All(done, t => Assert.Equal(1, byKey[PayoutStripeGateway.IdempotencyKey(t.Id)]));
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }

    [Fact]
    public async Task Two_worker_processes_running_the_scheduler_at_once_over_1000_transfers_make_no_duplicate_Stripe_transfer()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 1000, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        Assert.Equal(1000, (await w.TransfersAsync(s.ContestId)).Count);
        w.StopWorkers();
        // One Hangfire worker per process: while one process runs a scheduler job, the other job must go to the other process.
        var a = await w.StartWorkerAsync(e => e["FAIRWAY_WORKER_COUNT"] = "1");
        var b = await w.StartWorkerAsync(e => e["FAIRWAY_WORKER_COUNT"] = "1");

        var runs = await Task.WhenAll(w.TriggerAsync(PayoutSchedulerJob.RecurringId), w.TriggerAsync(PayoutSchedulerJob.RecurringId));
        Assert.All(runs, r => Assert.Equal("Succeeded", r));
        // Whatever a run did not reach (none, normally) is taken by one more run.
        if ((await w.TransfersAsync(s.ContestId)).Any(t => !PayoutTransferStatuses.Terminal(t.Status))) await w.RunPayoutSchedulerAsync();

        var transfers = await w.TransfersAsync(s.ContestId);
        Assert.All(transfers, t => Assert.Equal(("completed", 1), (t.Status, t.AttemptCount)));
        var byKey = await w.TransfersByKeyAsync();
        Assert.Equal(1000, transfers.Count(t => byKey.GetValueOrDefault(PayoutStripeGateway.IdempotencyKey(t.Id)) == 1));
        Assert.Empty(byKey.Where(k => k.Value != 1));
        Assert.Equal(1000, (await w.Stripe.StatsAsync())["transfers_created"]!.GetValue<long>());
        // Both processes really worked at the same time.
        var workers = await w.QueryAsync<string>("SELECT DISTINCT worker FROM payout_transfer_attempts a JOIN payout_transfers t ON t.id = a.transfer_id WHERE t.contest_id = @c", new { c = s.ContestId });
        Assert.Equal(2, workers.Count);
        Assert.Contains(workers, x => x.EndsWith(":" + a.Process.Pid));
        Assert.Contains(workers, x => x.EndsWith(":" + b.Process.Pid));
        // …and overlapped: in transaction order (the inserting transaction id of each attempt row) their attempts interleave. One run after the other gives
        // A…AB…B (one switch; two with the extra run above); three or more switches mean one ran while the other did.
        var order = await w.QueryAsync<string>(
            "SELECT a.worker FROM payout_transfer_attempts a JOIN payout_transfers t ON t.id = a.transfer_id WHERE t.contest_id = @c ORDER BY a.xmin::text::bigint, a.transfer_id", new { c = s.ContestId });
        var switches = order.Zip(order.Skip(1)).Count(p => p.First != p.Second);
        Assert.True(switches >= 3, $"the two workers' attempts switched only {switches} times in transaction order: they did not run at the same time");
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }
}
