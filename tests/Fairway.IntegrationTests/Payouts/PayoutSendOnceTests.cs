using Fairway.Host.Payouts;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Payouts;

/// <summary>
/// A payout is sent at most once even after Stripe forgets the idempotency key (keys may be pruned once 24 h old): every
/// send is marked and committed before the Stripe call, and a transfer with a mark is looked up at Stripe first and never
/// created while that look-up fails. And a transfer that failed because the winner had no usable account is retried by
/// itself once Stripe reports the account usable.
/// </summary>
public sealed class PayoutSendOnceTests
{
    [Fact]
    public async Task A_worker_crash_after_the_transfer_the_kill_switch_on_for_a_day_and_the_key_forgotten_still_pays_exactly_once()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        w.StopWorkers();

        await PayoutCrashAndConcurrencyTests.CrashAWorkerBetweenStripeAndCommitAsync(w);
        var byKeyAfterCrash = await w.TransfersByKeyAsync();
        var crashed = Assert.Single(await w.TransfersAsync(s.ContestId), t => byKeyAfterCrash.GetValueOrDefault(PayoutStripeGateway.IdempotencyKey(t.Id)) == 1);
        Assert.Null(crashed.StripeTransferId);
        Assert.Equal(1, await w.ScalarAsync<long>("SELECT count(*) FROM payout_transfer_sends WHERE transfer_id = @id", new { id = crashed.Id }));
        var madeAtStripe = (string?)(await w.Stripe.GetAsync($"/v1/transfers?transfer_group={s.ContestId}"))["data"]![0]!["id"];

        // The incident response: the kill-switch stays on for more than a day, and Stripe forgets the key meanwhile.
        await w.KillSwitchAsync(true);
        await w.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { advance_seconds = 25 * 3600 });
        Assert.True((long)(await w.Stripe.PostAsync("/_sandbox/idempotency/prune"))["pruned"]! >= 1);
        await w.StartWorkerAsync();
        await w.RunPayoutSchedulerAsync();
        Assert.Equal(byKeyAfterCrash, await w.TransfersByKeyAsync());

        await w.KillSwitchAsync(false);
        await w.RunPayoutSchedulerAsync();
        var paid = await w.TransfersAsync(s.ContestId);
        Assert.All(paid, t => Assert.Equal("completed", t.Status));
        // One transfer per payout at Stripe; the crashed one was found by looking it up, not created again.
        Assert.Equal(3, (long)(await w.Stripe.StatsAsync())["transfers_created"]!);
        var byKey = await w.TransfersByKeyAsync();
        Assert.All(paid, t => Assert.Equal(1, byKey[PayoutStripeGateway.IdempotencyKey(t.Id)]));
        Assert.Equal(madeAtStripe, paid.Single(t => t.Id == crashed.Id).StripeTransferId);
        Assert.Equal(3, await w.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'payout_transfer'"));
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }

    [Fact]
    public async Task A_transfer_sent_before_is_never_created_again_while_looking_it_up_at_Stripe_fails()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        var s = await w.SeedCompleteContestAsync(entries: 2, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(s.Users);
        await w.SettleNowAsync(s.ContestId);
        w.StopWorkers();
        await PayoutCrashAndConcurrencyTests.CrashAWorkerBetweenStripeAndCommitAsync(w);
        var postsAfterCrash = await w.TransferPostsAsync();

        // Stripe's list endpoint is down: the transfer that was sent may exist, so it is not sent again.
        await w.Stripe.PostAsync("/_sandbox/faults", new { method = "GET", path_prefix = "/v1/transfers", kind = "http_503", count = -1 });
        await w.StartWorkerAsync();
        await w.RunPayoutSchedulerAsync();
        var sent = await w.ScalarAsync<long>("SELECT transfer_id FROM payout_transfer_sends ORDER BY transfer_id LIMIT 1");
        var blocked = Assert.Single(await w.TransfersAsync(s.ContestId), t => t.Id == sent);
        Assert.Equal(("retryable", PayoutErrorClasses.LookupFailed), (blocked.Status, blocked.LastErrorClass));
        Assert.Equal(1, await w.ScalarAsync<long>("SELECT count(*) FROM payout_transfer_attempts WHERE transfer_id = @sent AND error_class = 'lookup_failed'", new { sent }));
        // The other transfer (never sent) went out normally; the blocked one made no POST.
        Assert.Equal(postsAfterCrash + 1, await w.TransferPostsAsync());
        Assert.Equal(2, (long)(await w.Stripe.StatsAsync())["transfers_created"]!);

        await w.ClearFaultsAsync();
        await w.AdvanceAsync(TimeSpan.FromHours(2));
        await w.RunPayoutSchedulerAsync();
        Assert.All(await w.TransfersAsync(s.ContestId), t => Assert.Equal("completed", t.Status));
        Assert.Equal(2, (long)(await w.Stripe.StatsAsync())["transfers_created"]!);
        Assert.Equal(postsAfterCrash + 1, await w.TransferPostsAsync());
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }

    [Fact]
    public async Task A_transfer_that_failed_for_want_of_an_account_is_paid_by_itself_once_Stripe_reports_the_account_usable()
    {
        await using var w = await MoneyOutWorld.StartAsync();
        await w.Stripe.PointWebhooksAtAsync(w.Api.BaseUrl);
        var s = await w.SeedCompleteContestAsync(entries: 2, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync([s.Users[0]]);
        var pending = (await w.ConnectAccountsAsync([s.Users[1]], payoutsEnabled: false))[s.Users[1]];
        await w.SettleNowAsync(s.ContestId);
        await w.RunPayoutSchedulerAsync();
        var failed = Assert.Single(await w.TransfersAsync(s.ContestId), t => t.UserId == s.Users[1]);
        Assert.Equal(("failed_terminal", PayoutFailureReasons.AccountNotConnected), (failed.Status, failed.FailureReason));
        Assert.Equal("complete", await w.ScalarAsync<string>("SELECT status FROM payout_jobs WHERE contest_id = @c", new { c = s.ContestId }));
        // Nothing changes while the account is still unusable.
        await w.RunPayoutSchedulerAsync();
        Assert.Equal("failed_terminal", (await w.TransfersAsync(s.ContestId)).Single(t => t.Id == failed.Id).Status);

        // The winner finishes onboarding later; Stripe sends account.updated.
        await w.AdvanceAsync(TimeSpan.FromMinutes(30));
        await w.Stripe.PostAsync($"/_sandbox/accounts/{pending}/complete_onboarding");
        await Wait.UntilAsync(async () => await w.ScalarAsync<bool>("SELECT payouts_enabled FROM user_stripe_accounts WHERE user_id = @u", new { u = s.Users[1] }),
            "account.updated applied");
        await w.RunPayoutSchedulerAsync();

        var paid = (await w.TransfersAsync(s.ContestId)).Single(t => t.Id == failed.Id);
        Assert.Equal("completed", paid.Status);
        Assert.Equal(1, await w.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_type = 'payout_transfer' AND entity_id = @id AND action = 'payout_transfer.retry_requested' AND actor = 'system:payouts'
            """, new { id = failed.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        Assert.Equal("complete", await w.ScalarAsync<string>("SELECT status FROM payout_jobs WHERE contest_id = @c", new { c = s.ContestId }));
        await w.AssertPaidOutAsync(s.ContestId);
        await w.AssertReconciledAsync();
    }
}
