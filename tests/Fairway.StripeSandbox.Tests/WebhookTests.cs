using System.Text.Json.Nodes;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class WebhookTests : WebhookTest
{
    async Task<PaymentIntent> NewPi(long amount = 100) =>
        await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = amount, Currency = "usd" });

    [Fact]
    public async Task Deliveries_verify_with_StripeNet_and_carry_typed_objects()
    {
        var pi = await SucceededPaymentIntent(6000);
        await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1000 });
        var acct = await OnboardedAccount();
        await new TransferService(Client).CreateAsync(new TransferCreateOptions { Amount = 500, Currency = "usd", Destination = acct.Id });
        var dispute = await Control("POST", $"/_sandbox/charges/{pi.LatestChargeId}/dispute", new { reason = "fraudulent" });
        await Control("POST", $"/_sandbox/disputes/{dispute["id"]}/close", new { status = "lost" });
        await WaitIdle();

        var events = Events(); // throws if any signature fails the real verifier
        var byType = events.ToDictionary(e => e.Type, e => e.Data.Object);
        Assert.IsType<PaymentIntent>(byType["payment_intent.created"]);
        Assert.Equal(pi.Id, Assert.IsType<PaymentIntent>(byType["payment_intent.succeeded"]).Id);
        Assert.IsType<Charge>(byType["charge.succeeded"]);
        Assert.Equal(1000, Assert.IsType<Charge>(byType["charge.refunded"]).AmountRefunded);
        Assert.Equal(1000, Assert.IsType<Refund>(byType["refund.created"]).Amount);
        var updated = Assert.IsType<Account>(byType["account.updated"]);
        Assert.True(updated.PayoutsEnabled);
        Assert.Equal(acct.Id, updated.Id);
        Assert.Equal(500, Assert.IsType<Transfer>(byType["transfer.created"]).Amount);
        var dpCreated = Assert.IsType<Dispute>(byType["charge.dispute.created"]);
        Assert.Equal("needs_response", dpCreated.Status);
        Assert.Equal("fraudulent", dpCreated.Reason);
        Assert.Equal("lost", Assert.IsType<Dispute>(byType["charge.dispute.closed"]).Status);
        Assert.Equal(
            ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "refund.created", "charge.refunded",
             "account.updated", "transfer.created", "charge.dispute.created", "charge.dispute.closed"],
            events.Select(e => e.Type).ToArray());
        Assert.All(events, e => Assert.Equal(StripeConfiguration.ApiVersion, e.ApiVersion));

        // delivered payload == API representation of the event
        var viaApi = await new EventService(Client).GetAsync(events[0].Id);
        Assert.Equal(events[0].Type, viaApi.Type);
        Assert.Equal(0, viaApi.PendingWebhooks); // delivered
    }

    [Fact]
    public async Task An_endpoint_is_sent_only_the_event_types_it_subscribes_to_and_every_event_stays_listed()
    {
        var configured = await Control("PUT", "/_sandbox/webhook", new { url = Hook.Url, enabled_events = new[] { "payment_intent.succeeded", "refund.created" } });
        Assert.Equal(["payment_intent.succeeded", "refund.created"], configured["enabled_events"]!.AsArray().Select(t => (string)t!).ToArray());
        var pi = await SucceededPaymentIntent(6000);
        await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1000 });
        await WaitIdle();

        // Sent: only the subscribed types. Recorded: all of them, the others with no delivery pending (as Stripe does).
        Assert.Equal(["payment_intent.succeeded", "refund.created"], Events().Select(e => e.Type).ToArray());
        var listed = (await new EventService(Client).ListAsync(new EventListOptions { Limit = 100 })).Data;
        Assert.Equal(["charge.refunded", "charge.succeeded", "payment_intent.created", "payment_intent.succeeded", "refund.created"],
            listed.Select(e => e.Type).Order(StringComparer.Ordinal).ToArray());
        Assert.All(listed.Where(e => e.Type is not ("payment_intent.succeeded" or "refund.created")), e => Assert.Equal(0, e.PendingWebhooks));
        Assert.Equal(3, (long)(await Stats())["webhook_deliveries"]!["skipped_not_subscribed"]!);

        // "*" subscribes to every type again; an empty list is refused.
        await Control("PUT", "/_sandbox/webhook", new { url = Hook.Url, enabled_events = new[] { "*" } });
        await NewPi();
        await WaitIdle();
        Assert.Equal("payment_intent.created", Events()[^1].Type);
        using var refused = await Raw.PutAsync("/_sandbox/webhook", new StringContent(
            System.Text.Json.JsonSerializer.Serialize(new { url = Hook.Url, enabled_events = Array.Empty<string>() }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)refused.StatusCode);
    }

    [Fact]
    public async Task By_default_one_delivery_is_in_flight_at_a_time_in_creation_order()
    {
        Hook.Hold = TimeSpan.FromMilliseconds(50);
        var created = new List<string>();
        for (var i = 0; i < 6; i++) created.Add((await NewPi(100 + i)).Id);
        await WaitIdle();
        Assert.Equal(created, Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList());
        Assert.Equal(1, Hook.MaxConcurrent);
    }

    [Fact]
    public async Task Forged_secret_and_expired_timestamp_fail_verification()
    {
        await Control("PUT", "/_sandbox/clock", new { now = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds() });
        await NewPi();
        await WaitIdle();
        var d = Assert.Single(Hook.Deliveries);
        var forged = Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(d.Body, d.Signature, "whsec_forged"));
        Assert.Contains("signature", forged.Message, StringComparison.OrdinalIgnoreCase);
        var expired = Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(d.Body, d.Signature, WebhookSecret));
        Assert.Contains("tolerance", expired.Message, StringComparison.OrdinalIgnoreCase);
        // the signature itself is right: with a huge tolerance it verifies
        Assert.Equal("payment_intent.created", EventUtility.ConstructEvent(d.Body, d.Signature, WebhookSecret, tolerance: 100_000).Type);

        // switching the secret at runtime is honoured
        await Control("DELETE", "/_sandbox/clock");
        await Control("PUT", "/_sandbox/webhook", new { url = Hook.Url, secret = "whsec_rotated" });
        await NewPi();
        await WaitIdle();
        var d2 = Hook.Deliveries.Last();
        Assert.Equal("payment_intent.created", EventUtility.ConstructEvent(d2.Body, d2.Signature, "whsec_rotated").Type);
    }

    [Fact]
    public async Task Non_2xx_is_retried_with_backoff_until_success_or_max_attempts()
    {
        Hook.Respond(500, 503);
        var pi = await NewPi();
        await WaitIdle();
        var ids = Events().Select(e => e.Id).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Single(ids.Distinct());
        var log = (await Control("GET", "/_sandbox/webhooks/deliveries"))["data"]!.AsArray();
        Assert.Equal([500, 503, 200], log.Select(r => (int)r!["status_code"]!).ToArray());
        Assert.Equal([1, 2, 3], log.Select(r => (int)r!["attempt"]!).ToArray());
        Assert.Equal("succeeded", (string)log[2]!["outcome"]!);

        // give up after max_attempts (4 in these tests)
        Hook.Respond(500, 500, 500, 500, 500);
        await NewPi();
        await WaitIdle();
        var stats = (await Stats())["webhook_deliveries"]!;
        Assert.Equal(1, (long)stats["gave_up"]!);
        Assert.Equal(1, (long)stats["succeeded"]!);
        Assert.Equal(6, (long)stats["failed_attempts"]!);
    }

    [Fact]
    public async Task Unreachable_endpoint_counts_as_failed_attempts()
    {
        await Control("PUT", "/_sandbox/webhook", new { url = "http://127.0.0.1:9/nothing" });
        await Control("PUT", "/_sandbox/webhooks/retry", new { max_attempts = 2, initial_backoff_ms = 10 });
        await NewPi();
        await WaitIdle();
        var log = (await Control("GET", "/_sandbox/webhooks/deliveries"))["data"]!.AsArray();
        Assert.Equal(2, log.Count);
        Assert.All(log, r => Assert.NotNull((string?)r!["error"]));
        Assert.Equal("failed_gave_up", (string)log[1]!["outcome"]!);
    }

    [Fact]
    public async Task Duplicate_delivers_the_same_event_twice_and_redeliver_sends_it_again()
    {
        await Control("POST", "/_sandbox/webhooks/duplicate", new { count = 1 });
        var pi = await NewPi();
        await NewPi();
        await WaitIdle();
        var ids = Events().Select(e => e.Id).ToList();
        Assert.Equal(3, ids.Count);
        Assert.Equal(ids[0], ids[1]);
        Assert.NotEqual(ids[1], ids[2]);

        await Control("POST", $"/_sandbox/events/{ids[2]}/redeliver");
        await WaitIdle();
        Assert.Equal(ids[2], Events().Last().Id);
        Assert.Equal(4, Hook.Deliveries.Count);
    }

    [Fact]
    public async Task Delay_holds_events_until_released_or_for_a_time()
    {
        await Control("POST", "/_sandbox/webhooks/delay", new { count = 1 }); // until released
        var first = await NewPi();
        var second = await NewPi();
        await WaitIdle();
        var seen = Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList();
        Assert.Equal([second.Id], seen);
        var held = (await Stats())["webhook_deliveries"]!;
        Assert.Equal(1, (long)held["held"]!);

        await Control("POST", "/_sandbox/webhooks/release");
        await WaitIdle();
        seen = Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList();
        Assert.Equal([second.Id, first.Id], seen);

        // timed delay: the delayed event arrives after the later one
        await Control("POST", "/_sandbox/webhooks/delay", new { count = 1, delay_ms = 400 });
        var third = await NewPi();
        var fourth = await NewPi();
        await Eventually(() => Hook.Deliveries.Count == 4, "both timed deliveries");
        seen = Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList();
        Assert.Equal([fourth.Id, third.Id], seen.Skip(2).ToArray());
    }

    [Fact]
    public async Task Reorder_delivers_the_next_n_events_in_reverse_order()
    {
        await Control("POST", "/_sandbox/webhooks/reorder", new { count = 3 });
        var a = await NewPi(); var b = await NewPi(); var c = await NewPi();
        var d = await NewPi();
        await WaitIdle();
        var seen = Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList();
        Assert.Equal([c.Id, b.Id, a.Id, d.Id], seen);
    }

    [Fact]
    public async Task Drop_never_delivers_but_the_event_stays_retrievable()
    {
        await Control("POST", "/_sandbox/webhooks/drop", new { count = 1 });
        var lost = await NewPi();
        var kept = await NewPi();
        await WaitIdle();
        await Task.Delay(200);
        var seen = Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToList();
        Assert.Equal([kept.Id], seen);

        // a sweeper can still find it through the API
        var events = await new EventService(Client).ListAsync(new EventListOptions { Type = "payment_intent.created" });
        Assert.Contains(events.Data, e => ((PaymentIntent)e.Data.Object).Id == lost.Id);
        var log = (await Control("GET", "/_sandbox/webhooks/deliveries"))["data"]!.AsArray();
        Assert.Contains(log, r => (string)r!["outcome"]! == "dropped");
        Assert.Equal(1, (long)(await Stats())["webhook_deliveries"]!["dropped"]!);
    }

    [Fact]
    public async Task Pause_queues_and_resume_delivers_in_creation_order()
    {
        await Control("POST", "/_sandbox/webhooks/pause");
        var a = await NewPi(); var b = await NewPi();
        await Task.Delay(200);
        Assert.Empty(Hook.Deliveries);
        Assert.Equal(2, (long)(await Stats())["webhook_deliveries"]!["pending"]!);
        await Control("POST", "/_sandbox/webhooks/resume");
        await WaitIdle();
        Assert.Equal([a.Id, b.Id], Events().Select(e => ((PaymentIntent)e.Data.Object).Id).ToArray());
    }
}

/// <summary>Started with <c>--webhook-concurrency 4</c>: deliveries overlap, at most four at once, and none is lost.</summary>
public class ConcurrentWebhookTests : WebhookTest
{
    protected override SandboxOptions Options => new() { ApiKey = ApiKey, WebhookSecret = WebhookSecret, WebhookUrl = Hook.Url, WebhookConcurrency = 4 };

    [Fact]
    public async Task Up_to_the_configured_number_of_deliveries_are_in_flight_at_once_and_every_event_arrives_once()
    {
        Hook.Hold = TimeSpan.FromMilliseconds(150);
        var service = new PaymentIntentService(Client);
        for (var i = 0; i < 12; i++) await service.CreateAsync(new PaymentIntentCreateOptions { Amount = 100 + i, Currency = "usd" });
        await WaitIdle();

        var events = Events();
        Assert.Equal(12, events.Count);
        Assert.Equal(12, events.Select(e => e.Id).Distinct().Count());
        Assert.InRange(Hook.MaxConcurrent, 2, 4);
        Assert.Equal(4, (await Control("GET", "/_sandbox/webhook"))["concurrency"]!.GetValue<int>());
    }
}
