using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class EventTests : SandboxTest
{
    [Fact]
    public async Task Events_list_filter_paginate_and_retrieve()
    {
        var pi = await SucceededPaymentIntent(4000); // payment_intent.created, charge.succeeded, payment_intent.succeeded
        await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id }); // refund.created, charge.refunded
        var svc = new EventService(Client);

        var all = await svc.ListAsync(new EventListOptions { Limit = 100 });
        Assert.Equal(
            ["charge.refunded", "refund.created", "payment_intent.succeeded", "charge.succeeded", "payment_intent.created"],
            all.Select(e => e.Type).ToArray());
        Assert.All(all, e =>
        {
            Assert.Equal(StripeConfiguration.ApiVersion, e.ApiVersion);
            Assert.False(e.Livemode);
            Assert.StartsWith("evt_", e.Id);
        });

        var page1 = await svc.ListAsync(new EventListOptions { Limit = 2 });
        Assert.True(page1.HasMore);
        var page2 = await svc.ListAsync(new EventListOptions { Limit = 2, StartingAfter = page1.Data[^1].Id });
        Assert.Equal(all.Data[2].Id, page2.Data[0].Id);
        var last = await svc.ListAsync(new EventListOptions { Limit = 10, StartingAfter = page2.Data[^1].Id });
        Assert.False(last.HasMore);
        Assert.Single(last.Data);

        var typed = await svc.ListAsync(new EventListOptions { Type = "payment_intent.succeeded" });
        var evt = Assert.Single(typed.Data);
        var obj = Assert.IsType<PaymentIntent>(evt.Data.Object);
        Assert.Equal(pi.Id, obj.Id);
        Assert.Equal("succeeded", obj.Status);

        var wildcard = await svc.ListAsync(new EventListOptions { Type = "charge.*" });
        Assert.Equal(2, wildcard.Data.Count);
        Assert.All(wildcard.Data, e => Assert.IsType<Charge>(e.Data.Object));

        var got = await svc.GetAsync(evt.Id);
        Assert.Equal("payment_intent.succeeded", got.Type);
        Assert.IsType<PaymentIntent>(got.Data.Object);

        var refundEvt = all.Single(e => e.Type == "refund.created");
        Assert.IsType<Refund>(refundEvt.Data.Object);
        Assert.NotNull(refundEvt.Request.IdempotencyKey); // Stripe.net's automatic key, recorded like Stripe does
    }
}
