using System.Net;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class PaymentIntentTests : SandboxTest
{
    [Fact]
    public async Task Create_get_confirm_cancel_round_trip_through_StripeNet()
    {
        var svc = new PaymentIntentService(Client);
        var created = await svc.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 2500,
            Currency = "usd",
            AllowedPaymentMethodTypes = ["card"],
            Metadata = new Dictionary<string, string> { ["entry_id"] = "42", ["contest"] = "masters" },
        });
        Assert.StartsWith("pi_", created.Id);
        Assert.Equal("requires_payment_method", created.Status);
        Assert.StartsWith(created.Id + "_secret_", created.ClientSecret);
        Assert.Equal("42", created.Metadata["entry_id"]);
        Assert.Equal(["card"], created.PaymentMethodTypes);
        Assert.False(created.Livemode);

        var fetched = await svc.GetAsync(created.Id);
        Assert.Equal(created.Id, fetched.Id);
        Assert.Equal(2500, fetched.Amount);
        Assert.Equal("usd", fetched.Currency);

        var confirmed = await svc.ConfirmAsync(created.Id, new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa" });
        Assert.Equal("succeeded", confirmed.Status);
        Assert.Equal(2500, confirmed.AmountReceived);
        Assert.StartsWith("ch_", confirmed.LatestChargeId);

        var charge = await new ChargeService(Client).GetAsync(confirmed.LatestChargeId);
        Assert.Equal(created.Id, charge.PaymentIntentId);
        Assert.Equal("succeeded", charge.Status);
        Assert.True(charge.Paid);
        Assert.Equal("42", charge.Metadata["entry_id"]);

        // expand[] works
        var expanded = await svc.GetAsync(created.Id, new PaymentIntentGetOptions { Expand = ["latest_charge"] });
        Assert.Equal(charge.Id, expanded.LatestCharge.Id);
        Assert.Equal(2500, expanded.LatestCharge.Amount);

        var other = await svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 1000, Currency = "usd" });
        var canceled = await svc.CancelAsync(other.Id, new PaymentIntentCancelOptions { CancellationReason = "abandoned" });
        Assert.Equal("canceled", canceled.Status);
        Assert.Equal("abandoned", canceled.CancellationReason);
        Assert.NotNull(canceled.CanceledAt);

        var ex = await Assert.ThrowsAsync<StripeException>(() => svc.CancelAsync(created.Id));
        Assert.Equal(HttpStatusCode.BadRequest, ex.HttpStatusCode);
        Assert.Equal("payment_intent_unexpected_state", ex.StripeError.Code);
    }

    [Fact]
    public async Task Customer_actions_via_control_api_change_status_seen_by_StripeNet()
    {
        var svc = new PaymentIntentService(Client);
        var pi = await svc.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 5000,
            Currency = "usd",
            AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true },
        });
        Assert.True(pi.AutomaticPaymentMethods.Enabled);

        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/fail", new { decline_code = "insufficient_funds" });
        var failed = await svc.GetAsync(pi.Id);
        Assert.Equal("requires_payment_method", failed.Status);
        Assert.Equal("card_error", failed.LastPaymentError.Type);
        Assert.Equal("card_declined", failed.LastPaymentError.Code);
        Assert.Equal("insufficient_funds", failed.LastPaymentError.DeclineCode);
        var failedCharge = await new ChargeService(Client).GetAsync(failed.LatestChargeId);
        Assert.Equal("failed", failedCharge.Status);

        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/require_action");
        Assert.Equal("requires_action", (await svc.GetAsync(pi.Id)).Status);

        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/succeed");
        var ok = await svc.GetAsync(pi.Id);
        Assert.Equal("succeeded", ok.Status);
        Assert.Null(ok.LastPaymentError);
        Assert.NotEqual(failed.LatestChargeId, ok.LatestChargeId);

        // the customer cannot act on a succeeded intent any more
        using var resp = await Raw.PostAsync($"/_sandbox/payment_intents/{pi.Id}/fail", null);
        Assert.Equal(HttpStatusCode.Conflict, resp.StatusCode);
    }

    [Fact]
    public async Task Confirm_with_test_cards_declines_or_requires_action()
    {
        var svc = new PaymentIntentService(Client);
        var declined = await svc.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 1000, Currency = "usd", Confirm = true, PaymentMethod = "pm_card_visa_chargeDeclined",
        });
        Assert.Equal("requires_payment_method", declined.Status);
        Assert.Equal("generic_decline", declined.LastPaymentError.DeclineCode);

        var threeDs = await svc.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 1000, Currency = "usd", Confirm = true, PaymentMethod = "pm_card_authenticationRequired",
        });
        Assert.Equal("requires_action", threeDs.Status);
        Assert.Equal("use_stripe_sdk", threeDs.NextAction.Type);

        var missing = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(new PaymentIntentCreateOptions { Currency = "usd" }));
        Assert.Equal("parameter_missing", missing.StripeError.Code);
        Assert.Equal("amount", missing.StripeError.Param);

        var manual = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 1, Currency = "usd", CaptureMethod = "manual" }));
        Assert.Equal("capture_method", manual.StripeError.Param);
    }

    [Fact]
    public async Task Wrong_api_key_is_a_stripe_shaped_401_and_unknown_ids_404()
    {
        var bad = MakeClient(apiKey: "sk_test_wrong");
        var ex = await Assert.ThrowsAsync<StripeException>(() => new PaymentIntentService(bad).GetAsync("pi_whatever"));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.HttpStatusCode);
        Assert.Equal("invalid_request_error", ex.StripeError.Type);

        var missing = await Assert.ThrowsAsync<StripeException>(() => new PaymentIntentService(Client).GetAsync("pi_nope"));
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatusCode);
        Assert.Equal("resource_missing", missing.StripeError.Code);
    }

    [Fact]
    public async Task Clock_controls_created_timestamps_and_reset_clears_state()
    {
        await Control("PUT", "/_sandbox/clock", new { now = "2025-04-10T12:00:00Z" });
        var pi = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.Equal(new DateTime(2025, 4, 10, 12, 0, 0, DateTimeKind.Utc), pi.Created);

        await Control("PUT", "/_sandbox/clock", new { advance_seconds = 90 });
        var pi2 = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.Equal(new DateTime(2025, 4, 10, 12, 1, 30, DateTimeKind.Utc), pi2.Created);

        await Control("DELETE", "/_sandbox/clock");
        var pi3 = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.True(Math.Abs((pi3.Created - DateTime.UtcNow).TotalSeconds) < 30);

        Assert.Equal(3, (long)(await Stats())["payment_intents_created"]!);
        await Control("POST", "/_sandbox/reset");
        Assert.Equal(0, (long)(await Stats())["payment_intents_created"]!);
        await Assert.ThrowsAsync<StripeException>(() => new PaymentIntentService(Client).GetAsync(pi.Id));
        // ids stay unique across a reset unless reset_ids is asked for
        var pi4 = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.NotEqual(pi.Id, pi4.Id);
        await Control("POST", "/_sandbox/reset", new { reset_ids = true });
        var pi5 = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.Equal("pi_sbx_000001", pi5.Id);
    }
}
