using System.Net;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class RefundTests : SandboxTest
{
    [Fact]
    public async Task Refund_create_get_partial_and_over_refund()
    {
        var pi = await SucceededPaymentIntent(3000);
        var svc = new RefundService(Client);
        var partial = await svc.CreateAsync(new RefundCreateOptions
        {
            PaymentIntent = pi.Id,
            Amount = 1000,
            Reason = "requested_by_customer",
            Metadata = new Dictionary<string, string> { ["contest"] = "c1" },
        });
        Assert.StartsWith("re_", partial.Id);
        Assert.Equal("succeeded", partial.Status);
        Assert.Equal(1000, partial.Amount);
        Assert.Equal(pi.Id, partial.PaymentIntentId);
        Assert.Equal(pi.LatestChargeId, partial.ChargeId);

        var got = await svc.GetAsync(partial.Id);
        Assert.Equal("c1", got.Metadata["contest"]);

        var over = await Assert.ThrowsAsync<StripeException>(() =>
            svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2001 }));
        Assert.Equal(HttpStatusCode.BadRequest, over.HttpStatusCode);
        Assert.Equal("amount_too_large", over.StripeError.Code);

        var rest = await svc.CreateAsync(new RefundCreateOptions { Charge = pi.LatestChargeId });
        Assert.Equal(2000, rest.Amount);
        var charge = await new ChargeService(Client).GetAsync(pi.LatestChargeId);
        Assert.Equal(3000, charge.AmountRefunded);
        Assert.True(charge.Refunded);

        var again = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id }));
        Assert.Equal("charge_already_refunded", again.StripeError.Code);
        Assert.Equal(2, (long)(await Stats())["refunds_created"]!);
    }

    [Fact]
    public async Task Refund_of_unpaid_intent_fails()
    {
        var pi = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        var ex = await Assert.ThrowsAsync<StripeException>(() => new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id }));
        Assert.Equal(HttpStatusCode.BadRequest, ex.HttpStatusCode);
    }

    [Fact]
    public async Task Pending_refunds_settle_via_control_api()
    {
        var pi = await SucceededPaymentIntent(2000);
        await Control("POST", "/_sandbox/refunds/pending_next", new { count = 2 });
        var svc = new RefundService(Client);
        var r1 = await svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 500 });
        var r2 = await svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 500 });
        Assert.Equal("pending", r1.Status);
        Assert.Equal("pending", r2.Status);

        await Control("POST", $"/_sandbox/refunds/{r1.Id}/succeed");
        await Control("POST", $"/_sandbox/refunds/{r2.Id}/fail", new { failure_reason = "expired_or_canceled_card" });
        Assert.Equal("succeeded", (await svc.GetAsync(r1.Id)).Status);
        var failed = await svc.GetAsync(r2.Id);
        Assert.Equal("failed", failed.Status);
        Assert.Equal("expired_or_canceled_card", failed.FailureReason);
        Assert.Equal(500, (await new ChargeService(Client).GetAsync(pi.LatestChargeId)).AmountRefunded);

        var types = (await new EventService(Client).ListAsync(new EventListOptions { Limit = 100 })).Select(e => e.Type).ToList();
        Assert.Contains("refund.created", types);
        Assert.Contains("refund.updated", types);
        Assert.Contains("refund.failed", types);
        Assert.Contains("charge.refunded", types);
    }

    [Fact]
    public async Task Refunds_of_a_card_that_refuses_them_fail_until_the_bank_fixes_it()
    {
        var pi = await SucceededPaymentIntent(2000);
        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/refuse_refunds", new { failure_reason = "expired_or_canceled_card" });
        var svc = new RefundService(Client);
        // Answered pending, as Stripe answers before the card network returns the money; then failed, every time.
        for (var i = 0; i < 2; i++)
        {
            var refused = await svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2000 });
            Assert.Equal("pending", refused.Status);
            var after = await svc.GetAsync(refused.Id);
            Assert.Equal(("failed", "expired_or_canceled_card"), (after.Status, after.FailureReason));
            Assert.Equal(0, (await new ChargeService(Client).GetAsync(pi.LatestChargeId)).AmountRefunded);
        }
        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/accept_refunds");
        var paid = await svc.CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2000 });
        Assert.Equal("succeeded", paid.Status);
        Assert.Equal(2000, (await new ChargeService(Client).GetAsync(pi.LatestChargeId)).AmountRefunded);
        var failedEvents = (await new EventService(Client).ListAsync(new EventListOptions { Limit = 100 })).Count(e => e.Type == "refund.failed");
        Assert.True(failedEvents >= 2, $"{failedEvents} refund.failed events");
    }
}
