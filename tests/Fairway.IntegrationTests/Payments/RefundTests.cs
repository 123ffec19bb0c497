using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// Refunds and escrow returns: seed 002 E3 (a cancelled contest returns its escrow: every paid entry refunded,
/// escrow back to zero) with retry and crash variants, W2 (escrow never below zero: no entry refund once the contest is
/// locked; goodwill refunds come from the house), W5 (a transient Stripe error: the refund sent once is found at Stripe
/// and never created twice), late payment after lock, player and admin refunds.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class RefundTests(PaymentsFixture f)
{
    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task A_player_refund_while_scheduled_returns_the_fee_when_Stripe_confirms_and_repeating_it_is_the_same_refund()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();
        var (entry, pi) = await f.PaidEntryAsync(contest, player);
        var refundsBefore = await f.StripeStatAsync("refunds_created");

        using var http = f.Player(player);
        using (var other = f.Player(PaymentsFixture.NewPlayer()))
            Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/api/contests/{contest}/entries/{entry}/refund", null)).StatusCode);
        var first = await http.PostAsync($"/api/contests/{contest}/entries/{entry}/refund", null);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal($"rf_{entry}", (await Json(first)).GetProperty("id").GetString());
        var again = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => http.PostAsync($"/api/contests/{contest}/entries/{entry}/refund", null)));
        Assert.All(again, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "refund SUCCEEDED");
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "REFUNDED", "entry REFUNDED");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM refunds WHERE entry_id = @entry", new { entry }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'refund' AND kind = 'refund.settled' AND idempotency_key LIKE 'refund:%' AND cause_id = (SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry)", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_refund_execution_waits_for_a_refund_row_held_by_a_request_instead_of_leaving_the_refund_unsent()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();
        var (entry, _) = await f.PaidEntryAsync(contest, player);
        var refundsBefore = await f.StripeStatAsync("refunds_created");
        var refund = $"rf_{entry}";

        // No worker: the execution job waits in the queue while the test holds the refund's row, as a player's repeated
        // request (or a payment's convergence) does for a moment. A fresh-clone run lost a refund that way: the job found
        // the row held, took it for another executor's and returned, and nothing sent the refund until the next sweep.
        f.Worker.Process.Kill();
        var restarted = false;
        try
        {
            using (var http = f.Player(player))
                Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"/api/contests/{contest}/entries/{entry}/refund", null)).StatusCode);
            await using var holder = await TestDatabases.OpenAsync(f.DatabaseUrl);
            await using var tx = await holder.BeginTransactionAsync();
            await holder.ExecuteAsync("SELECT id FROM refunds WHERE id = @refund FOR UPDATE", new { refund }, tx);
            await f.RestartWorkerAsync();
            restarted = true;
            await PaymentsFixture.WaitUntilAsync(async () =>
            {
                var job = (await HangfireJobs.OfAsync(f.DatabaseUrl, "RefundExecutionJob", refund)).Single();
                Assert.False(job.Finished, $"the execution job finished ({job.State}) while the refund's row was held: refund {await f.RefundStatusAsync(entry)}");
                return await f.ScalarAsync<bool>("""
                    SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM refunds WHERE id = %FOR UPDATE%')
                    """);
            }, "the execution job waiting for the refund's row");
            Assert.Equal("REQUESTED", await f.RefundStatusAsync(entry));
            await tx.CommitAsync();
        }
        finally { if (!restarted) await f.RestartWorkerAsync(); }

        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "refund SUCCEEDED");
        Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = @refund", new { refund }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Late_payment_after_lock_voids_the_entry_and_is_refunded_automatically()
    {
        var contest = await f.CreateContestAsync(minEntries: 2);
        await f.PaidEntryAsync(contest);
        await f.PaidEntryAsync(contest);
        var (late, pi) = await f.NewEntryAsync(contest);
        using (var admin = f.Admin())
        {
            var locked = await Json(await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: lock now" }));
            Assert.Equal("LOCKED", locked.GetProperty("to").GetString());
        }
        // A player can no longer ask for a refund; new entries are refused.
        Assert.Equal("CONTEST_NOT_OPEN", (await f.EnterAsync(PaymentsFixture.NewPlayer(), contest)).Body.GetProperty("code").GetString());

        await f.Stripe.SucceedAsync(pi);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(late) == "SUCCEEDED", "late payment refunded");
        Assert.Equal("SUCCEEDED", await f.PaymentStatusAsync(late));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(late));
        Assert.Contains("late payment", await f.ScalarAsync<string>("SELECT reason FROM refunds WHERE entry_id = @late", new { late }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = @late AND action = 'entry.status_changed' AND after_state->>'status' = 'VOID'", new { late }));
        // The late fee went in and out again: the escrow holds exactly the two entries that made the lock.
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(2, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contest AND status = 'ACTIVE'", new { contest }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task E3_an_under_filled_contest_is_cancelled_at_lock_and_every_paid_entry_is_refunded_escrow_back_to_zero_retry_safe()
    {
        var contest = await f.CreateContestAsync(minEntries: 3);
        var (a, _) = await f.PaidEntryAsync(contest);
        var (b, _) = await f.PaidEntryAsync(contest);
        var (pending, pendingPi) = await f.NewEntryAsync(contest);
        var (abandoned, abandonedPi) = await f.NewEntryAsync(contest);
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        var refundsBefore = await f.StripeStatAsync("refunds_created");

        using (var admin = f.Admin())
        {
            var r = await Json(await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: lock time" }));
            Assert.Equal("CANCELLED", r.GetProperty("to").GetString());
            // Retry variant: the cancellation repeated, concurrently with sweeps (which also refund cancelled contests).
            var repeats = await Task.WhenAll(
                admin.PostAsJsonAsync($"/api/admin/contests/{contest}/cancel", new { reason = "test: again" }),
                admin.PostAsJsonAsync($"/api/admin/contests/{contest}/cancel", new { reason = "test: again" }));
            Assert.All(repeats, x => Assert.Equal(HttpStatusCode.OK, x.StatusCode));
        }
        // One pending entry still pays after the cancellation, before the closer gets to its intent: a late payment, refunded.
        await f.Stripe.SucceedAsync(pendingPi);
        // The payments capability's contest closer refunds a cancelled contest's paid entries and cancels its open intents
        // (repeated concurrently with the sweeper).
        await Task.WhenAll(f.TriggerAsync("payments-contest-closer"), f.TriggerAsync("payment-sweeper"));
        await f.TriggerAsync("payments-contest-closer");
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(a) == "SUCCEEDED" && await f.RefundStatusAsync(b) == "SUCCEEDED"
            && await f.RefundStatusAsync(pending) == "SUCCEEDED", "three refunds SUCCEEDED");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(a));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(b));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(pending));
        // The abandoned checkout can no longer be paid: its intent is canceled at Stripe, the entry void.
        Assert.Equal("canceled", (string?)(await f.Stripe.GetAsync($"/v1/payment_intents/{abandonedPi}"))["status"]);
        Assert.Equal(("CANCELED", "VOID"), (await f.PaymentStatusAsync(abandoned), await f.EntryStatusAsync(abandoned)));
        await f.TriggerAsync("payment-sweeper");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(refundsBefore + 3, await f.StripeStatAsync("refunds_created"));
        Assert.Equal(3, await f.ScalarAsync<long>("SELECT count(*) FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = @contest", new { contest }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task E3_a_cancelled_contests_refunds_run_as_one_batch_where_a_refund_Stripe_refuses_for_now_holds_back_no_other_and_is_sent_once_later()
    {
        var contest = await f.CreateContestAsync(minEntries: 10);
        var paid = new List<string>();
        for (var i = 0; i < 5; i++) paid.Add((await f.PaidEntryAsync(contest)).Entry);
        var refundsBefore = await f.StripeStatAsync("refunds_created");
        using (var admin = f.Admin())
            Assert.Equal("CANCELLED", (await Json(await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: lock time" }))).GetProperty("to").GetString());

        // One refund of the batch meets Stripe 503s (Stripe.net's own retry included); the other four are sent by the same
        // job, side by side with it.
        var first = paid.Order(StringComparer.Ordinal).First();
        var firstPi = await f.ScalarAsync<string>("SELECT payment_intent_id FROM payments WHERE entry_id = @first", new { first });
        var injected = (long)(await f.Stripe.GetAsync("/_sandbox/faults"))["injected"]!;
        await f.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/refunds", kind = "http_503", count = 2, param_name = "payment_intent", param_value = firstPi });
        try
        {
        await f.TriggerAsync("payments-contest-closer");
        await PaymentsFixture.WaitUntilAsync(async () => (long)(await f.Stripe.GetAsync("/_sandbox/faults"))["injected"]! == injected + 2, "both 503s answered");
        await PaymentsFixture.WaitUntilAsync(async () =>
        {
            foreach (var e in paid.Where(e => e != first)) if (await f.RefundStatusAsync(e) != "SUCCEEDED") return false;
            return true;
        }, "the batch's other four refunds SUCCEEDED");
        // Decided in one transaction: five refunds with one ledger entry each, and one execution job for the batch.
        Assert.Equal(5, await f.ScalarAsync<long>("SELECT count(*) FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = @contest", new { contest }));
        Assert.Equal(1, await f.ScalarAsync<long>("""
            SELECT count(*) FROM hangfire.job WHERE invocationdata::text LIKE '%RunManyAsync%' AND arguments::text LIKE '%' || @refund || '%'
            """, new { refund = "rf_" + first }));
        Assert.NotEqual("SUCCEEDED", await f.RefundStatusAsync(first));
        }
        finally { await f.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }

        // The refund Stripe refused is still owed and due: the sweeper (or the batch's retry) sends it, once.
        await f.TriggerAsync("payment-sweeper");
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(first) == "SUCCEEDED", "the refused refund SUCCEEDED");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(refundsBefore + 5, await f.StripeStatAsync("refunds_created"));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task E3_crash_after_Stripe_created_the_refund_and_before_Fairway_recorded_it_gives_exactly_one_refund_after_restart()
    {
        var contest = await f.CreateContestAsync(minEntries: 2);
        var (entry, pi) = await f.PaidEntryAsync(contest);
        var refundsBefore = await f.StripeStatAsync("refunds_created");
        await f.RestartWorkerAsync(crashPoints: "refunds.after_stripe_refund_before_record");
        try
        {
            using (var admin = f.Admin())
                (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/cancel", new { reason = "test: provider cancelled" })).EnsureSuccessStatusCode();
            // The closer decides the refund (escrow → refunds owed) and enqueues its execution, which dies between Stripe and the record.
            await f.TriggerAsync("payments-contest-closer");
            await f.Worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(f.Worker.Process.Stderr, l => l.Contains("refunds.after_stripe_refund_before_record"));
            // Stripe did it; Fairway recorded none of it: no Stripe id; the money waits in refunds owed since the decision.
            Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
            Assert.Equal("REQUESTED", await f.RefundStatusAsync(entry));
            Assert.Equal(0, await f.EscrowAsync(contest));
            Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = 'rf_' || @entry", new { entry }));
            await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
        }
        finally { await f.RestartWorkerAsync(); }

        await PaymentsFixture.WaitUntilAsync(async () =>
        {
            // The refund was sent once: the sweeper looks it up at Stripe before anything is sent again, and adopts it.
            await f.TriggerAsync("payment-sweeper");
            await f.TriggerAsync("stripe-webhook-drain");
            return await f.RefundStatusAsync(entry) == "SUCCEEDED";
        }, "refund SUCCEEDED after restart");
        await f.TriggerAsync("payment-sweeper");
        Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = 'rf_' || @entry", new { entry }));
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(entry));
        var re = await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        Assert.Equal(1, await f.LedgerEntriesAsync($"refund:{re}:succeeded"));
        Assert.Equal(1, (int)(await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray().Count);
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_crash_after_Stripe_refunded_the_kill_switch_on_for_a_day_and_the_key_forgotten_still_refunds_exactly_once()
    {
        var contest = await f.CreateContestAsync(minEntries: 2);
        var (entry, pi) = await f.PaidEntryAsync(contest);
        await f.PaidEntryAsync(contest);
        using (var admin = f.Admin())
            (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: lock now" })).EnsureSuccessStatusCode();
        // A partial (goodwill) refund: Stripe itself would accept a second one, so only Fairway's send-once rule prevents it.
        await f.RestartWorkerAsync(crashPoints: "refunds.after_stripe_refund_before_record");
        try
        {
            using (var admin = f.Admin())
                Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/goodwill-refund", new { amount = 300, reason = "test: gesture" })).StatusCode);
            await f.Worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(f.Worker.Process.Stderr, l => l.Contains("refunds.after_stripe_refund_before_record"));
            Assert.Single((await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
            Assert.Equal("REQUESTED", await f.RefundStatusAsync(entry));
            // The incident response starts while the worker is down: the kill-switch is engaged before anything could
            // process the refund's webhook, and stays on for more than a day while Stripe forgets the key.
            await f.SetKillSwitchAsync(true, "test: incident");
        }
        finally { await f.RestartWorkerAsync(); }

        try
        {
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { advance_seconds = 25 * 3600 });
            Assert.True((long)(await f.Stripe.PostAsync("/_sandbox/idempotency/prune"))["pruned"]! >= 1);
            await f.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/clock");
            await f.TriggerAsync("payment-sweeper");
            Assert.Equal("REQUESTED", await f.RefundStatusAsync(entry));
        }
        finally { await f.SetKillSwitchAsync(false, "test: incident over"); }

        await PaymentsFixture.WaitUntilAsync(async () =>
        {
            await f.TriggerAsync("payment-sweeper");
            return await f.RefundStatusAsync(entry) == "SUCCEEDED";
        }, "refund SUCCEEDED after the incident");
        var atStripe = Assert.Single((await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
        Assert.Equal((string?)atStripe!["id"], await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = 'rf_' || @entry", new { entry }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W5_a_refund_whose_Stripe_answer_was_lost_is_retried_with_the_same_key_and_created_once()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        var refundsBefore = await f.StripeStatAsync("refunds_created");
        // Stripe creates the refund but the answer is a 500 (twice: Stripe.net's own retry and the first Hangfire attempt).
        await f.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/refunds", kind = "http_500", count = 2, after_commit = true });
        try
        {
            using var admin = f.Admin();
            var r = await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: customer asked, ticket T-1" });
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            // The sweeper retries the REQUESTED refund at once (Hangfire's own retry would come later, same key).
            await PaymentsFixture.WaitUntilAsync(async () =>
            {
                if (await f.RefundStatusAsync(entry) == "SUCCEEDED") return true;
                await f.TriggerAsync("payment-sweeper");
                return await f.RefundStatusAsync(entry) == "SUCCEEDED";
            }, "refund SUCCEEDED", 90);
        }
        finally { await f.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }
        Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal("admin:ops-1", await f.ScalarAsync<string>("SELECT requested_by FROM refunds WHERE entry_id = @entry", new { entry }));
        // Whether the retry replayed the key or convergence found the refund at Stripe first, there is one refund and it is the one recorded.
        var atStripe = Assert.Single((await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
        Assert.Equal((string?)atStripe!["id"], await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W2_once_the_contest_is_locked_entry_refunds_are_refused_and_a_goodwill_refund_is_paid_by_the_house_never_the_escrow()
    {
        var contest = await f.CreateContestAsync(minEntries: 2);
        var (entry, pi) = await f.PaidEntryAsync(contest);
        await f.PaidEntryAsync(contest);
        using var admin = f.Admin();
        Assert.Equal("LOCKED", (await Json(await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: lock now" }))).GetProperty("to").GetString());
        var refundsBefore = await f.StripeStatAsync("refunds_created");

        // Entry refunds (player or admin) would take the fee out of the prize pool: refused, nothing written.
        var refused = await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: refund after lock" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("REFUND_NOT_ALLOWED", (await Json(refused)).GetProperty("code").GetString());
        Assert.Null(await f.RefundStatusAsync(entry));
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));

        // The exit: a goodwill refund, funded by the house. The entry keeps its place; the escrow keeps every fee.
        var revenueBefore = await f.ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = 'revenue:usd'), 0)");
        var goodwill = await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/goodwill-refund", new { amount = 400, reason = "test: customer service gesture, ticket T-2" });
        Assert.Equal(HttpStatusCode.Accepted, goodwill.StatusCode);
        var body = await Json(goodwill);
        Assert.Equal(("house", 400L), (body.GetProperty("funded_from").GetString(), body.GetProperty("amount").GetInt64()));
        // Repeating it is the same refund; asking for another amount is refused.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/goodwill-refund", new { amount = 400, reason = "test: again" })).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/goodwill-refund", new { amount = 500, reason = "test: other amount" })).StatusCode);

        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "goodwill refund SUCCEEDED");
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(revenueBefore - 400, await f.ScalarAsync<long>("SELECT balance FROM ledger_accounts WHERE id = 'revenue:usd'"));
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT balance FROM ledger_accounts WHERE id = 'refunds:usd'"));
        Assert.Equal(refundsBefore + 1, await f.StripeStatAsync("refunds_created"));
        var atStripe = Assert.Single((await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
        Assert.Equal(400, (long)atStripe!["amount"]!);
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = 'rf_' || @entry AND action = 'refund.requested' AND actor = 'admin:ops-1'", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
        Assert.Empty(await MoneyInvariants.ViolationsAsync(f.DatabaseUrl));
    }

    [Fact]
    public async Task W2_crash_a_worker_killed_while_posting_a_refund_leaves_the_escrow_untouched_and_after_restart_it_is_exactly_zero()
    {
        var contest = await f.CreateContestAsync();
        var (entry, _) = await f.PaidEntryAsync(contest);
        await f.RestartWorkerAsync(crashPoints: "payments.after_ledger_before_commit");
        try
        {
            using (var admin = f.Admin())
                Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: crash while refunding" })).StatusCode);
            await f.Worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(f.Worker.Process.Stderr, l => l.Contains("payments.after_ledger_before_commit"));
            Assert.NotEqual("SUCCEEDED", await f.RefundStatusAsync(entry));
            // Decided (escrow → refunds owed, by the API) but not settled: the crash rolled the settlement back.
            Assert.Equal(0, await f.EscrowAsync(contest));
            Assert.Equal(1, await f.LedgerEntriesAsync($"refund:rf_{entry}:decided"));
            Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
            await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
        }
        finally { await f.RestartWorkerAsync(); }

        await f.TriggerAsync("stripe-webhook-drain");
        await f.TriggerAsync("payment-sweeper");
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "refund SUCCEEDED after restart");
        // Retry: asking again returns the same refund and moves nothing.
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: again" })).StatusCode);
        await f.TriggerAsync("payment-sweeper");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_lost_dispute_takes_the_fee_out_of_escrow_once_and_voids_the_entry()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        var charge = (string?)(await f.Stripe.GetAsync($"/v1/payment_intents/{pi}"))["latest_charge"];
        var dp = await f.Stripe.PostAsync($"/_sandbox/charges/{charge}/dispute", new { amount = PaymentsFixture.Fee, reason = "fraudulent" });
        var dpId = (string)dp["id"]!;
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<string?>("SELECT status FROM disputes WHERE id = @dpId", new { dpId }) == "needs_response", "dispute recorded");
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));

        await f.Stripe.PostAsync("/_sandbox/webhooks/duplicate", new { count = 1 });
        await f.Stripe.PostAsync($"/_sandbox/disputes/{dpId}/close", new { status = "lost" });
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<string?>("SELECT loss_ledger FROM disputes WHERE id = @dpId", new { dpId }) == "posted", "loss posted");
        await f.Stripe.WaitIdleAsync();
        Assert.Equal(1, await f.LedgerEntriesAsync($"dispute:{dpId}:lost"));
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal("VOID", await f.EntryStatusAsync(entry));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }
}
