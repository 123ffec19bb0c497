using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// PaymentConvergence's AMOUNT_MISMATCH (issue 10 §2): when Stripe's amount differs from Fairway's, the difference
/// is never applied — no status change, no ledger entry — whichever path converges (the webhook, the sweeper, an
/// admin), and the refusal is recorded. Amounts are changed behind Fairway's back through the Stripe sandbox's own
/// API, as a dashboard edit would.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class ConvergenceMismatchTests(PaymentsFixture f)
{
    Task<string?> ProcessingDetailAsync(string type, string pi) => f.ScalarAsync<string?>("""
        SELECT p.outcome || ': ' || p.detail FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id
         WHERE e.type = @type AND e.payload LIKE '%' || @pi || '%' ORDER BY p.processed_at DESC LIMIT 1
        """, new { type, pi });

    [Fact]
    public async Task AMOUNT_MISMATCH_a_payment_intent_whose_amount_was_changed_at_Stripe_is_never_applied_by_any_path()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["amount"] = (PaymentsFixture.Fee - 1).ToString() }))
            (await f.Stripe.Http.PostAsync($"/v1/payment_intents/{pi}", form)).EnsureSuccessStatusCode();
        await f.Stripe.SucceedAsync(pi);

        // The webhook's job ran and recorded its outcome: ignored, naming the mismatch.
        await PaymentsFixture.WaitUntilAsync(async () => await f.ProcessedEventsAsync("payment_intent.succeeded", pi) == 1, "payment_intent.succeeded processed");
        var detail = await ProcessingDetailAsync("payment_intent.succeeded", pi);
        Assert.StartsWith("ignored: ", detail);
        Assert.Contains($"AMOUNT_MISMATCH: Stripe {PaymentsFixture.Fee - 1} usd, Fairway {PaymentsFixture.Fee} usd", detail);

        // The sweeper and an admin converge it again: refused the same way.
        await f.TriggerAsync("payment-sweeper");
        using (var admin = f.Admin())
        {
            var r = await admin.PostAsync($"/api/admin/payments/{entry}/converge", null);
            var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("ignored", body.GetProperty("outcome").GetString());
            Assert.StartsWith("AMOUNT_MISMATCH", body.GetProperty("detail").GetString());
        }
        Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
        Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(entry));
        Assert.Equal(0, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = @pi AND action = 'payment.succeeded'", new { pi }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    /// <summary>The refund was decided (escrow → refunds owed) and nothing more: not SUCCEEDED, no settlement of the mismatched Stripe refund.</summary>
    async Task AssertNeverSettledAsync(string entry, string refundId, string stripeRefund)
    {
        Assert.NotEqual("SUCCEEDED", await f.RefundStatusAsync(entry));
        Assert.Equal(1, await f.LedgerEntriesAsync($"refund:{refundId}:decided"));
        Assert.Equal(0, await f.LedgerEntriesAsync($"refund:{stripeRefund}:succeeded"));
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
    }

    [Fact]
    public async Task AMOUNT_MISMATCH_a_refund_of_another_amount_carrying_Fairways_refund_id_is_never_applied()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        var refundId = $"rf_{entry}";
        // Fairway's own call to create the refund fails (Stripe 503, Stripe.net's retry included), so the refund stays decided, unsent…
        await f.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/refunds", kind = "http_503", count = 2 });
        var injected = (long)(await f.Stripe.GetAsync("/_sandbox/faults"))["injected"]!;
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: mismatch" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => (long)(await f.Stripe.GetAsync("/_sandbox/faults"))["injected"]! == injected + 2, "Fairway's refund call refused twice");
        // …while a refund of 400 carrying Fairway's refund id is made at Stripe.
        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["payment_intent"] = pi, ["amount"] = "400", ["metadata[refund_id]"] = refundId }))
            (await f.Stripe.Http.PostAsync("/v1/refunds", form)).EnsureSuccessStatusCode();
        var stripeRefund = (string)(await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]![0]!["id"]!;

        // Its webhooks were processed (recorded) and applied nothing: the refund is not settled, no money left refunds owed.
        await PaymentsFixture.WaitUntilAsync(async () => await f.ProcessedEventsAsync("refund.created", pi) == 1 && await f.ProcessedEventsAsync("charge.refunded", pi) == 1,
            "refund events processed");
        await AssertNeverSettledAsync(entry, refundId, stripeRefund);
        Assert.Contains(f.Worker.Process.Stdout, l => l.Contains("AMOUNT_MISMATCH") && l.Contains(stripeRefund));

        // The sweeper executes the refund again (it looks at Stripe first) and converges it: still never applied.
        await f.TriggerAsync("payment-sweeper");
        await AssertNeverSettledAsync(entry, refundId, stripeRefund);
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }
}
