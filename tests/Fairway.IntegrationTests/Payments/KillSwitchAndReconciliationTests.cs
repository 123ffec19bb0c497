using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// Seed 002 W6/E6 (kill-switch ON → no entry, no refund, no ledger change; webhooks still verified and stored,
/// processed once it is OFF) with retry and crash variants; the reconciliation job catching an imbalance injected
/// through SQL and engaging the kill-switch; payout-account onboarding and out-of-order account.updated.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class KillSwitchAndReconciliationTests(PaymentsFixture f)
{
    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    async Task<HttpResponseMessage> DeliverAsync(string body)
    {
        using var http = f.Api.Client();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        req.Headers.TryAddWithoutValidation("Stripe-Signature", StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow));
        return await http.SendAsync(req);
    }

    [Fact]
    public async Task W6_E6_the_kill_switch_blocks_entries_refunds_and_webhook_processing_and_stored_webhooks_are_processed_after_it_goes_off()
    {
        var contest = await f.CreateContestAsync();
        var payer = PaymentsFixture.NewPlayer();
        var (paid, _) = await f.PaidEntryAsync(contest, payer);
        var (pending, pi) = await f.NewEntryAsync(contest);
        var ledgerBefore = await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries");
        var entriesBefore = await f.ScalarAsync<long>("SELECT count(*) FROM entries");

        var batchJobsBefore = (await HangfireJobs.OfAsync(f.DatabaseUrl, "WebhookBatchJob", "")).Select(j => j.Id).DefaultIfEmpty(0).Max();
        await f.SetKillSwitchAsync(true, "test: incident drill");
        try
        {
            var entry = await f.EnterAsync(PaymentsFixture.NewPlayer(), contest);
            Assert.Equal(HttpStatusCode.Conflict, entry.Status);
            Assert.Equal("KILL_SWITCH_ACTIVE", entry.Body.GetProperty("code").GetString());
            using (var player = f.Player(payer))
            {
                var r = await player.PostAsync($"/api/contests/{contest}/entries/{paid}/refund", null);
                Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
                Assert.Equal("KILL_SWITCH_ACTIVE", (await Json(r)).GetProperty("code").GetString());
            }
            using (var admin = f.Admin())
            {
                var r = await admin.PostAsJsonAsync($"/api/admin/entries/{paid}/refund", new { reason = "test: during incident" });
                Assert.Equal("KILL_SWITCH_ACTIVE", (await Json(r)).GetProperty("code").GetString());
            }

            // The customer pays: the webhook is verified and stored, not processed.
            await f.Stripe.SucceedAsync(pi);
            await PaymentsFixture.WaitUntilAsync(async () => await f.StoredEventsAsync("payment_intent.succeeded", pi) == 1, "webhook stored");
            // Retry variant: delivered again, and concurrently.
            var body = (await f.Stripe.EventAsync("payment_intent.succeeded", pi)).ToJsonString();
            var again = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => DeliverAsync(body)));
            Assert.All(again, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            await f.TriggerAsync("stripe-webhook-drain");
            await f.TriggerAsync("payment-sweeper");
            // Every webhook batch job these deliveries enqueued (at least the one whose delivery raised the wake-up flag) and
            // the drain ran to their end and deferred the event: the switch is on.
            var jobs = (await HangfireJobs.WaitUntilAsync(f.DatabaseUrl, "WebhookBatchJob", "",
                j => j.Any(x => x.Id > batchJobsBefore) && j.Where(x => x.Id > batchJobsBefore).All(x => x.Finished),
                "every webhook batch job of these deliveries finished")).Where(x => x.Id > batchJobsBefore).ToList();
            Assert.All(jobs, j => Assert.Equal("Succeeded", j.State));

            Assert.Equal(1, await f.StoredEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal(0, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal("PENDING", await f.PaymentStatusAsync(pending));
            Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(pending));
            Assert.Null(await f.RefundStatusAsync(paid));
            Assert.Equal(ledgerBefore, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries"));
            Assert.Equal(entriesBefore, await f.ScalarAsync<long>("SELECT count(*) FROM entries"));
            Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
            using (var admin = f.Admin())
            {
                var unprocessed = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/stripe/webhooks?unprocessed=true&limit=200")).RootElement;
                Assert.Contains(unprocessed.GetProperty("data").EnumerateArray(), e => e.GetProperty("type").GetString() == "payment_intent.succeeded" && e.GetProperty("outcome").ValueKind == JsonValueKind.Null);
            }
        }
        finally { await f.SetKillSwitchAsync(false, "test: incident over"); }

        await f.TriggerAsync("stripe-webhook-drain");
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(pending));
        Assert.Equal(1, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W6_crash_a_worker_killed_mid_processing_then_the_switch_engaged_processes_nothing_until_it_is_off()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.RestartWorkerAsync(crashPoints: "payments.after_ledger_before_commit");
        try
        {
            await f.Stripe.SucceedAsync(pi);
            await f.Worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            await f.SetKillSwitchAsync(true, "test: incident while a worker crashed");
        }
        finally { await f.RestartWorkerAsync(); }
        try
        {
            await f.TriggerAsync("stripe-webhook-drain");
            await f.TriggerAsync("payment-sweeper");
            Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
            Assert.Equal(0, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
            Assert.Equal(0, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
        }
        finally { await f.SetKillSwitchAsync(false, "test: incident over"); }
        await f.TriggerAsync("stripe-webhook-drain");
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Reconciliation_catches_a_payment_injected_through_SQL_and_engages_the_kill_switch()
    {
        var contest = await f.CreateContestAsync();
        var (real, _) = await f.PaidEntryAsync(contest);
        // The attacker writes a paid entry straight into the database: no Stripe payment, no ledger entry.
        var fake = "ent_attacker_" + Guid.NewGuid().ToString("N")[..8];
        await f.ExecAsync("""
            INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency)
            VALUES (@fake, @contest, 'attacker', '["g01","g02","g03"]', 'ACTIVE', now(), now(), 1000, 'usd');
            INSERT INTO payments (entry_id, payment_intent_id, amount, currency, status, created_at, updated_at)
            VALUES (@fake, 'pi_attacker_' || @fake, 1000, 'usd', 'SUCCEEDED', now(), now());
            """, new { fake, contest });
        try
        {
            await f.TriggerAsync("ledger-reconciliation");
            using var admin = f.Admin();
            var run = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/reconciliation/runs?limit=1")).RootElement.GetProperty("runs")[0];
            var checks = run.GetProperty("violations").EnumerateArray().Select(v => (v.GetProperty("check").GetString(), v.GetProperty("subject_id").GetString())).ToList();
            Assert.Contains(("payment_has_ledger_entry", "pi_attacker_" + fake), checks);
            Assert.Contains(("escrow_matches_payments", contest), checks);
            Assert.Equal(2, checks.Count);
            var ks = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/kill-switch")).RootElement;
            Assert.True(ks.GetProperty("engaged").GetBoolean());
            Assert.Equal("reconciler", ks.GetProperty("changed_by").GetString());
            // While engaged, no new money moves.
            Assert.Equal("KILL_SWITCH_ACTIVE", (await f.EnterAsync(PaymentsFixture.NewPlayer(), contest)).Body.GetProperty("code").GetString());
            Assert.Contains("stripe_webhook_invalid_total", await f.Api.Client().GetStringAsync("/metrics"));
        }
        finally
        {
            // The operator removes the forged rows (they were never money) and turns the switch off.
            await f.ExecAsync("DELETE FROM payments WHERE entry_id = @fake; DELETE FROM entries WHERE id = @fake;", new { fake });
            await f.SetKillSwitchAsync(false, "test: forged rows removed");
        }
        await f.TriggerAsync("ledger-reconciliation");
        using (var admin = f.Admin())
        {
            var run = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/reconciliation/runs?limit=1")).RootElement.GetProperty("runs")[0];
            Assert.Equal(0, run.GetProperty("violation_count").GetInt32());
        }
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(real));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Payout_onboarding_creates_one_express_account_and_account_updated_keeps_it_current_in_any_order()
    {
        var player = PaymentsFixture.NewPlayer();
        var accountsBefore = await f.StripeStatAsync("accounts_created");
        using var http = f.Player(player);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/me/payout-account")).StatusCode);
        var first = await http.PostAsync("/api/me/payout-account", null);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var view = await Json(first);
        var account = view.GetProperty("stripe_account_id").GetString()!;
        Assert.StartsWith("acct_", account);
        Assert.False(view.GetProperty("payouts_enabled").GetBoolean());
        Assert.Contains("/_sandbox/onboarding/" + account, view.GetProperty("onboarding_url").GetString());
        var second = await http.PostAsync("/api/me/payout-account", null);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(account, (await Json(second)).GetProperty("stripe_account_id").GetString());
        Assert.Equal(accountsBefore + 1, await f.StripeStatAsync("accounts_created"));

        await f.Stripe.PostAsync($"/_sandbox/accounts/{account}/complete_onboarding");
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<bool>("SELECT payouts_enabled FROM user_stripe_accounts WHERE user_id = @player", new { player }), "payouts enabled");

        // An older state (restricted, t1) delivered after a newer one (onboarding completed again, t2): the newer wins.
        // The sandbox's clock is moved on between them (events carry whole seconds), instead of waiting for real time to pass.
        try
        {
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { offset_seconds = 2 });
            await f.Stripe.PostAsync("/_sandbox/webhooks/reorder", new { count = 2 });
            await f.Stripe.PostAsync($"/_sandbox/accounts/{account}/restrict");
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { offset_seconds = 4 });
            await f.Stripe.PostAsync($"/_sandbox/accounts/{account}/complete_onboarding");
            await f.Stripe.WaitIdleAsync();
        }
        finally { await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { real = true }); }
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>("""
            SELECT count(*) FROM stripe_webhook_events e WHERE e.type = 'account.updated' AND e.payload LIKE '%' || @account || '%'
               AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
            """, new { account }) == 0, "account events processed");
        Assert.True((bool)(await f.Stripe.GetAsync($"/v1/accounts/{account}"))["payouts_enabled"]!);
        Assert.True(await f.ScalarAsync<bool>("SELECT payouts_enabled FROM user_stripe_accounts WHERE user_id = @player", new { player }));
        var stored = await Json(await http.GetAsync("/api/me/payout-account"));
        Assert.True(stored.GetProperty("payouts_enabled").GetBoolean());
    }
}
