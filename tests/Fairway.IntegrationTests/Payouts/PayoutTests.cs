using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.Host.Ledger;
using Fairway.Host.Payouts;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Payouts;

public sealed record TransferRow(long Id, string UserId, long Amount, string Status, int AttemptCount, string? StripeTransferId, string? FailureReason,
    string? LastErrorClass, DateTime NextAttemptAt, long? LedgerEntryId);

/// <summary>Shared assertions and queries of the payout tests.</summary>
public static class PayoutAssert
{
    public static Task<List<TransferRow>> TransfersAsync(this MoneyOutWorld w, string contestId) =>
        w.QueryAsync<TransferRow>("""
            SELECT id AS Id, user_id AS UserId, amount AS Amount, status AS Status, attempt_count AS AttemptCount, stripe_transfer_id AS StripeTransferId,
                   failure_reason AS FailureReason, last_error_class AS LastErrorClass, next_attempt_at AS NextAttemptAt, ledger_entry_id AS LedgerEntryId
              FROM payout_transfers WHERE contest_id = @contestId ORDER BY id
            """, new { contestId });

    /// <summary>
    /// Seed 003 BLOCKER 3 success criteria for one contest: every transfer terminal, every completed one with its Stripe id
    /// and exactly one ledger entry moving its amount payable → clearing, an attempt row for every attempt, exactly one
    /// Stripe transfer per completed transfer and none for the others, the job complete, the escrow zero, and each
    /// winner's payable equal to exactly their failed_terminal amount.
    /// </summary>
    public static async Task AssertPaidOutAsync(this MoneyOutWorld w, string contestId)
    {
        var transfers = await w.TransfersAsync(contestId);
        Assert.NotEmpty(transfers);
        Assert.All(transfers, t => Assert.True(PayoutTransferStatuses.Terminal(t.Status), $"transfer {t.Id} is {t.Status}"));
        var byKey = await w.TransfersByKeyAsync();
        foreach (var t in transfers)
        {
            var key = PayoutStripeGateway.IdempotencyKey(t.Id);
            Assert.Equal(t.AttemptCount, await w.ScalarAsync<long>("SELECT count(*) FROM payout_transfer_attempts WHERE transfer_id = @id", new { id = t.Id }));
            if (t.Status == PayoutTransferStatuses.Completed)
            {
                Assert.StartsWith("tr_", t.StripeTransferId);
                Assert.Equal(1, byKey.GetValueOrDefault(key));
                Assert.Equal(-t.Amount, await w.ScalarAsync<long>("""
                    SELECT p.amount FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
                     WHERE e.idempotency_key = @k AND p.account_id = @payable
                    """, new { k = $"payout:{t.Id}:completed", payable = LedgerAccountRef.Payable(t.UserId, "usd").Id }));
                Assert.Equal(1, await w.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'payout_transfer' AND cause_id = @id", new { id = t.Id.ToString() }));
            }
            else
            {
                Assert.NotNull(t.FailureReason);
                Assert.Null(t.StripeTransferId);
                Assert.Equal(0, byKey.GetValueOrDefault(key));
                Assert.Equal(0, await w.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'payout_transfer' AND cause_id = @id", new { id = t.Id.ToString() }));
            }
            var expectedPayable = t.Status == PayoutTransferStatuses.FailedTerminal ? t.Amount : 0;
            Assert.Equal(expectedPayable, await w.BalanceAsync(LedgerAccountRef.Payable(t.UserId, "usd").Id));
        }
        Assert.Equal("complete", await w.ScalarAsync<string>("SELECT status FROM payout_jobs WHERE contest_id = @contestId", new { contestId }));
        Assert.Equal(0, await w.BalanceAsync(LedgerAccountRef.Escrow(contestId).Id));
    }

    public static async Task AssertReconciledAsync(this MoneyOutWorld w)
    {
        Assert.Empty(await MoneyInvariants.ViolationsAsync(w.DatabaseUrl));
        var run = await w.Admin.PostAsync("/api/admin/reconciliation/run", null);
        var body = JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement;
        Assert.True(body.GetProperty("violation_count").GetInt32() == 0, body.ToString());
        Assert.Contains("payout_completed_has_stripe_id_and_ledger_entry", body.GetProperty("checks").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("winnings_payable_matches_settlements_and_payouts", body.GetProperty("checks").EnumerateArray().Select(c => c.GetString()));
    }

    public static Task FaultAsync(this MoneyOutWorld w, string kind, int count = 1, bool afterCommit = false, int? delayMs = null) =>
        w.Stripe.PostAsync("/_sandbox/faults", new Dictionary<string, object?>
        {
            ["method"] = "POST", ["path_prefix"] = "/v1/transfers", ["kind"] = kind, ["count"] = count, ["after_commit"] = afterCommit, ["delay_ms"] = delayMs,
        }.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value));

    public static Task ClearFaultsAsync(this MoneyOutWorld w) => w.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults");
}

/// <summary>
/// Seed 003 automatic payouts on a real worker process, Stripe.net against the Stripe sandbox, real PostgreSQL
/// (seed 002 PJ1–PJ4, PJ6, E2 retry variants). Contests are seeded up to COMPLETE with paid entries and settled
/// through the job system; the payout scheduler is triggered explicitly (its cron never fires in tests).
/// </summary>
public sealed class PayoutTests(MoneyOutWorldFixture fixture) : IClassFixture<MoneyOutWorldFixture>
{
    MoneyOutWorld W => fixture.World;

    async Task<SeededContest> SettledAsync(int entries = 3, bool tie = false, bool connect = true)
    {
        var s = await W.SeedCompleteContestAsync(entries, holdSeconds: 0, tie: tie);
        if (connect) await W.ConnectAccountsAsync(s.Users);
        await W.SettleNowAsync(s.ContestId);
        return s;
    }

    [Fact]
    public async Task PJ1_PJ2_E2_every_winner_is_paid_once_with_stripe_ids_and_ledger_entries_and_a_second_run_creates_no_transfer()
    {
        var s = await W.SeedCompleteContestAsync(entries: 5, holdSeconds: 0);
        await W.ConnectAccountsAsync([s.Users[0]]);   // the runner-up never connected an account
        await W.SettleNowAsync(s.ContestId);
        var job = await W.GetAsync($"/api/admin/payouts/contests/{s.ContestId}");
        Assert.Equal("pending", job.GetProperty("job").GetProperty("status").GetString());

        await W.RunPayoutSchedulerAsync();
        var transfers = await W.TransfersAsync(s.ContestId);
        Assert.Equal([(s.Users[0], 2700L, "completed"), (s.Users[1], 1800L, "failed_terminal")], transfers.Select(t => (t.UserId, t.Amount, t.Status)));
        Assert.Equal(PayoutFailureReasons.AccountNotConnected, transfers[1].FailureReason);
        await W.AssertPaidOutAsync(s.ContestId);
        var posts = await W.TransferPostsAsync();

        await W.RunPayoutSchedulerAsync();
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        Assert.Equal(transfers.Select(t => (t.Status, t.AttemptCount, t.StripeTransferId)), (await W.TransfersAsync(s.ContestId)).Select(t => (t.Status, t.AttemptCount, t.StripeTransferId)));
        await W.AssertPaidOutAsync(s.ContestId);
        await W.AssertReconciledAsync();

        var status = await W.GetAsync("/api/admin/payouts/status");
        Assert.Equal("ok", status.GetProperty("last_run").GetProperty("outcome").GetString());
        Assert.Contains("payout_transfers_total{outcome=\"completed\"}", await W.Workers[0].Client().GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task A_failed_terminal_transfer_stays_payable_and_an_admin_retry_after_the_player_connects_pays_it_once_and_never_twice()
    {
        var s = await SettledAsync(entries: 2, tie: true, connect: false);
        await W.ConnectAccountsAsync([s.Users[1]], payoutsEnabled: false);   // connected but payouts not enabled yet
        await W.RunPayoutSchedulerAsync();
        var failed = await W.TransfersAsync(s.ContestId);
        Assert.All(failed, t => Assert.Equal((PayoutTransferStatuses.FailedTerminal, PayoutFailureReasons.AccountNotConnected), (t.Status, t.FailureReason)));
        Assert.All(failed, t => Assert.Equal(1, t.AttemptCount));
        Assert.Equal(0, (await W.TransfersByKeyAsync()).Keys.Count(k => failed.Any(t => k == $"payout:{t.Id}")));
        await W.AssertPaidOutAsync(s.ContestId);                // terminal: funds visibly payable
        Assert.Equal(900, await W.BalanceAsync(LedgerAccountRef.Payable(s.Users[0], "usd").Id));

        await W.ConnectAccountsAsync(s.Users);
        var retry = await W.CliAsync("payouts", "retry", failed[0].Id.ToString(), "--reason", "player connected a Stripe account (ticket 42)");
        Assert.True(retry.ExitCode == 0, retry.Stdout + retry.Stderr);
        var queued = await W.TransfersAsync(s.ContestId);
        Assert.Equal(("pending", 1), (queued[0].Status, queued[0].AttemptCount));
        Assert.Equal("pending", await W.ScalarAsync<string>("SELECT status FROM payout_jobs WHERE contest_id = @c", new { c = s.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'payout_transfer.retry_requested' AND entity_id = @id", new { id = failed[0].Id.ToString() }));

        await W.RunPayoutSchedulerAsync();
        var paid = (await W.TransfersAsync(s.ContestId))[0];
        Assert.Equal(("completed", 2), (paid.Status, paid.AttemptCount));
        Assert.Equal(1, (await W.TransfersByKeyAsync())[$"payout:{paid.Id}"]);
        // A completed transfer can never be retried (it has a Stripe transfer id).
        var again = await W.Admin.PostAsJsonAsync($"/api/admin/payouts/transfers/{paid.Id}/retry", new { reason = "double pay attempt" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("PAYOUT_ALREADY_TRANSFERRED", await again.Content.ReadAsStringAsync());
        Assert.Equal(1, (await W.TransfersByKeyAsync())[$"payout:{paid.Id}"]);
        // The other one is still failed_terminal and payable until retried.
        Assert.Equal(900, await W.BalanceAsync(LedgerAccountRef.Payable(s.Users[1], "usd").Id));
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Payable(s.Users[0], "usd").Id));
        await W.AssertReconciledAsync();
    }

    [Theory]
    [InlineData("http_500", "server_error")]
    [InlineData("http_503", "server_error")]
    [InlineData("rate_limit_429", "rate_limited")]
    [InlineData("lock_timeout", "rate_limited")]
    [InlineData("connection_reset", "network")]
    [InlineData("timeout", "timeout")]
    public async Task PJ3_PJ4_a_transient_fault_makes_the_transfer_retryable_with_backoff_and_the_retry_pays_it_once(string fault, string errorClass)
    {
        var s = await SettledAsync(entries: 2, tie: true);
        await W.FaultAsync(fault, count: 1, delayMs: fault == "timeout" ? 6000 : null);
        try { await W.RunPayoutSchedulerAsync(); }
        finally { await W.ClearFaultsAsync(); }
        var after = await W.TransfersAsync(s.ContestId);
        var hit = Assert.Single(after, t => t.Status == PayoutTransferStatuses.Retryable);
        Assert.Equal((1, errorClass), (hit.AttemptCount, hit.LastErrorClass));
        Assert.True(hit.NextAttemptAt > W.Now.UtcDateTime.AddSeconds(59), $"backoff: next attempt {hit.NextAttemptAt:O}, now {W.Now:O}");
        Assert.Equal(900, await W.BalanceAsync(LedgerAccountRef.Payable(hit.UserId, "usd").Id));

        // Before the backoff is over nothing is attempted (no hot loop).
        var posts = await W.TransferPostsAsync();
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        Assert.Equal(1, (await W.TransfersAsync(s.ContestId)).Single(t => t.Id == hit.Id).AttemptCount);

        await W.AdvanceAsync(TimeSpan.FromHours(2));
        await W.RunPayoutSchedulerAsync();
        var done = (await W.TransfersAsync(s.ContestId)).Single(t => t.Id == hit.Id);
        Assert.Equal(("completed", 2), (done.Status, done.AttemptCount));
        var attempts = await W.QueryAsync<(string Outcome, string? ErrorClass)>("SELECT outcome, error_class FROM payout_transfer_attempts WHERE transfer_id = @id ORDER BY attempt", new { id = hit.Id });
        Assert.Equal([("retryable", (string?)errorClass), ("completed", null)], attempts);
        await W.AssertPaidOutAsync(s.ContestId);
        await W.AssertReconciledAsync();
    }

    [Fact]
    public async Task E2_retry_variant_Stripe_created_the_transfer_but_the_answer_was_lost_and_the_retry_adopts_it_without_a_second_transfer()
    {
        var s = await SettledAsync(entries: 2, tie: true);
        await W.FaultAsync("connection_reset", count: 1, afterCommit: true);
        try { await W.RunPayoutSchedulerAsync(); }
        finally { await W.ClearFaultsAsync(); }
        var hit = Assert.Single(await W.TransfersAsync(s.ContestId), t => t.Status == PayoutTransferStatuses.Retryable);
        Assert.Equal(1, (await W.TransfersByKeyAsync())[$"payout:{hit.Id}"]);   // Stripe did it
        Assert.Null(hit.StripeTransferId);                                       // we never heard

        await W.AdvanceAsync(TimeSpan.FromHours(2));
        await W.RunPayoutSchedulerAsync();
        var done = (await W.TransfersAsync(s.ContestId)).Single(t => t.Id == hit.Id);
        Assert.Equal("completed", done.Status);
        Assert.Equal(1, (await W.TransfersByKeyAsync())[$"payout:{hit.Id}"]);
        var atStripe = await W.Stripe.GetAsync($"/v1/transfers?transfer_group={s.ContestId}&limit=100");
        Assert.Contains(done.StripeTransferId, atStripe["data"]!.AsArray().Select(t => (string?)t!["id"]));
        await W.AssertPaidOutAsync(s.ContestId);
    }

    [Fact]
    public async Task A_payout_key_already_used_at_Stripe_with_other_parameters_is_an_idempotency_conflict_failed_terminal_and_never_a_second_transfer()
    {
        var s = await SettledAsync(entries: 2, tie: true);
        var victim = (await W.TransfersAsync(s.ContestId))[0];
        var key = PayoutStripeGateway.IdempotencyKey(victim.Id);
        var destination = await W.ScalarAsync<string>("SELECT stripe_account_id FROM user_stripe_accounts WHERE user_id = @u", new { u = victim.UserId });
        // The transfer's key was used at Stripe before, with other parameters (another amount).
        using (var req = new HttpRequestMessage(HttpMethod.Post, "/v1/transfers")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["amount"] = (victim.Amount - 1).ToString(), ["currency"] = "usd", ["destination"] = destination }),
        })
        {
            req.Headers.Add("Idempotency-Key", key);
            (await W.Stripe.Http.SendAsync(req)).EnsureSuccessStatusCode();
        }
        var conflicts = (long)(await W.Stripe.StatsAsync())["idempotency_conflicts"]!;

        await W.RunPayoutSchedulerAsync();
        var t = (await W.TransfersAsync(s.ContestId)).Single(x => x.Id == victim.Id);
        Assert.Equal((PayoutTransferStatuses.FailedTerminal, PayoutFailureReasons.IdempotencyConflict, PayoutErrorClasses.IdempotencyConflict, 1, (string?)null),
            (t.Status, t.FailureReason, t.LastErrorClass, t.AttemptCount, t.StripeTransferId));
        var attempt = Assert.Single(await W.QueryAsync<(string Outcome, string ErrorClass, int HttpStatus, string Error)>(
            "SELECT outcome, error_class, http_status, error FROM payout_transfer_attempts WHERE transfer_id = @id", new { id = victim.Id }));
        Assert.Equal((PayoutTransferStatuses.FailedTerminal, PayoutErrorClasses.IdempotencyConflict, 400), (attempt.Outcome, attempt.ErrorClass, attempt.HttpStatus));
        Assert.Contains("idempotency_error", attempt.Error);
        Assert.Equal(conflicts + 1, (long)(await W.Stripe.StatsAsync())["idempotency_conflicts"]!);
        // Stripe holds only the earlier transfer under that key; Fairway moved nothing and the winnings stay payable.
        Assert.Equal(1, (await W.TransfersByKeyAsync())[key]);
        Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'payout_transfer' AND cause_id = @id", new { id = victim.Id.ToString() }));
        Assert.Equal(victim.Amount, await W.BalanceAsync(LedgerAccountRef.Payable(victim.UserId, "usd").Id));
        Assert.Equal("completed", (await W.TransfersAsync(s.ContestId)).Single(x => x.Id != victim.Id).Status);
        // Terminal: the next run does not try it again.
        var posts = await W.TransferPostsAsync();
        await W.AdvanceAsync(TimeSpan.FromHours(2));
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        Assert.Empty(await MoneyInvariants.ViolationsAsync(W.DatabaseUrl));
    }

    [Fact]
    public async Task Permanent_faults_end_failed_terminal_with_their_reason_and_exhausted_retries_too()
    {
        // A Stripe outage on every attempt: retryable until the attempts (PAYOUT_MAX_ATTEMPTS, 5) are spent.
        var s = await SettledAsync(entries: 2, tie: true);
        await W.FaultAsync("http_500", count: -1);
        try
        {
            for (var i = 0; i < 6; i++)
            {
                await W.RunPayoutSchedulerAsync();
                await W.AdvanceAsync(TimeSpan.FromHours(2));
            }
        }
        finally { await W.ClearFaultsAsync(); }
        Assert.All(await W.TransfersAsync(s.ContestId), t => Assert.Equal(
            (PayoutTransferStatuses.FailedTerminal, PayoutFailureReasons.AttemptsExhausted, 5, "server_error"), (t.Status, t.FailureReason, t.AttemptCount, t.LastErrorClass)));
        await W.AssertPaidOutAsync(s.ContestId);

        // Destination refused by Stripe (invalid, restricted): failed_terminal at once, no retry.
        var s2 = await SettledAsync(entries: 2, tie: true);
        var accounts = await W.QueryAsync<(string User, string Account)>("SELECT user_id, stripe_account_id FROM user_stripe_accounts WHERE user_id = ANY(@u)", new { u = s2.Users.ToArray() });
        await W.Stripe.PostAsync($"/_sandbox/accounts/{accounts.Single(a => a.User == s2.Users[0]).Account}/invalidate");
        await W.Stripe.PostAsync($"/_sandbox/accounts/{accounts.Single(a => a.User == s2.Users[1]).Account}/restrict");
        await W.RunPayoutSchedulerAsync();
        Assert.All(await W.TransfersAsync(s2.ContestId), t => Assert.Equal((PayoutTransferStatuses.FailedTerminal, PayoutFailureReasons.DestinationInvalid, 1, "account"),
            (t.Status, t.FailureReason, t.AttemptCount, t.LastErrorClass)));
        await W.AdvanceAsync(TimeSpan.FromHours(2));
        var posts = await W.TransferPostsAsync();
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        await W.AssertPaidOutAsync(s2.ContestId);
        await W.AssertReconciledAsync();
    }

    [Fact]
    public async Task PJ6_E6_the_kill_switch_stops_payouts_leaving_transfers_pending_and_they_resume_when_it_is_off()
    {
        var s = await SettledAsync(entries: 2, tie: true);
        var posts = await W.TransferPostsAsync();
        await W.KillSwitchAsync(true);
        try
        {
            await W.RunPayoutSchedulerAsync();
            Assert.Equal("kill_switch_engaged", (await W.GetAsync("/api/admin/payouts/status")).GetProperty("last_run").GetProperty("outcome").GetString());
            Assert.All(await W.TransfersAsync(s.ContestId), t => Assert.Equal(("pending", 0), (t.Status, t.AttemptCount)));
            Assert.Equal(posts, await W.TransferPostsAsync());
            Assert.Equal(1800, await W.ScalarAsync<long>("SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts WHERE id = ANY(@ids)",
                new { ids = s.Users.Select(u => LedgerAccountRef.Payable(u, "usd").Id).ToArray() }));
        }
        finally { await W.KillSwitchAsync(false); }
        await W.RunPayoutSchedulerAsync();
        await W.AssertPaidOutAsync(s.ContestId);
    }

    [Fact]
    public async Task Diagnostics_report_stuck_transfers_and_the_last_run_and_fairway_payouts_status_fails_while_one_is_stuck()
    {
        var s = await SettledAsync(entries: 2, tie: true);
        await W.AdvanceAsync(TimeSpan.FromHours(2));   // pending, never attempted, older than the 1 h threshold
        var status = await W.GetAsync("/api/admin/payouts/status");
        Assert.True(status.GetProperty("stuck_count").GetInt64() >= 2);
        Assert.Contains(status.GetProperty("stuck").EnumerateArray(), t => t.GetProperty("contest_id").GetString() == s.ContestId);
        Assert.Matches(@"payout_transfers_stuck [1-9]", await W.Api.Client().GetStringAsync("/metrics"));
        var cli = await W.CliAsync("payouts", "status");
        Assert.Equal(1, cli.ExitCode);

        await W.RunPayoutSchedulerAsync();
        Assert.Equal(0, (await W.GetAsync("/api/admin/payouts/status")).GetProperty("stuck_count").GetInt64());
        var ok = await W.CliAsync("payouts", "status");
        Assert.True(ok.ExitCode == 0, ok.Stdout + ok.Stderr);
        Assert.Contains("\"transfers\"", ok.Stdout);
        var show = await W.CliAsync("payouts", "show", s.ContestId);
        Assert.True(show.ExitCode == 0, show.Stderr);
        var id = (await W.TransfersAsync(s.ContestId))[0].Id;
        var transfer = await W.CliAsync("payouts", "transfer", id.ToString());
        Assert.Contains("\"attempts\"", transfer.Stdout);
    }
}
