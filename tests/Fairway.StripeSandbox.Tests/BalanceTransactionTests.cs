using System.Net;
using System.Text.Json.Nodes;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

/// <summary>Balance transactions with Stripe's fees, the balance, and the fee model (read through the unmodified Stripe.net).</summary>
public class BalanceTransactionTests : SandboxTest
{
    BalanceTransactionService Txns => new(Client);

    [Fact]
    public async Task A_successful_charge_has_a_balance_transaction_with_the_processing_fee()
    {
        var pi = await SucceededPaymentIntent(1000);
        var charge = await new ChargeService(Client).GetAsync(pi.LatestChargeId, new ChargeGetOptions { Expand = ["balance_transaction"] });
        var bt = charge.BalanceTransaction;
        Assert.NotNull(bt);
        Assert.StartsWith("txn_", bt.Id);
        Assert.Equal("charge", bt.Type);
        Assert.Equal("charge", bt.ReportingCategory);
        Assert.Equal(charge.Id, bt.SourceId);
        Assert.Equal(1000, bt.Amount);
        Assert.Equal(59, bt.Fee);                // 2.9 % of 1000 = 29, + 30
        Assert.Equal(941, bt.Net);
        Assert.Equal("usd", bt.Currency);
        var detail = Assert.Single(bt.FeeDetails);
        Assert.Equal("stripe_fee", detail.Type);
        Assert.Equal(59, detail.Amount);
        Assert.Equal(bt.Id, (await Txns.GetAsync(bt.Id)).Id);

        // A declined charge moves no money: no balance transaction.
        var declined = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 700, Currency = "usd" });
        await Control("POST", $"/_sandbox/payment_intents/{declined.Id}/fail", new { decline_code = "insufficient_funds" });
        var failedCharge = await new ChargeService(Client).GetAsync((await new PaymentIntentService(Client).GetAsync(declined.Id)).LatestChargeId);
        Assert.Null(failedCharge.BalanceTransactionId);
        Assert.Single(await Txns.ListAsync(new BalanceTransactionListOptions { Limit = 100 }));
    }

    [Fact]
    public async Task Refunds_transfers_reversals_and_disputes_move_the_balance_and_the_balance_is_the_sum_of_nets()
    {
        var pi = await SucceededPaymentIntent(10_000);          // fee 290 + 30 = 320
        var refund = await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 2_000 });
        var refundBt = await Txns.GetAsync(refund.BalanceTransactionId);
        Assert.Equal(("refund", -2_000L, 0L, refund.Id), (refundBt.Type, refundBt.Amount, refundBt.Fee, refundBt.SourceId));

        await Control("POST", "/_sandbox/refunds/pending_next", new { count = 1 });
        var pending = await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = pi.Id, Amount = 1_000 });
        await Control("POST", $"/_sandbox/refunds/{pending.Id}/fail", new { failure_reason = "expired_or_canceled_card" });
        var failure = (await Txns.ListAsync(new BalanceTransactionListOptions { Type = "refund_failure" })).Single();
        Assert.Equal((1_000L, pending.Id), (failure.Amount, failure.SourceId));

        var acct = await OnboardedAccount();
        var transfer = await new TransferService(Client).CreateAsync(new TransferCreateOptions { Amount = 3_000, Currency = "usd", Destination = acct.Id });
        Assert.Equal(-3_000, (await Txns.GetAsync(transfer.BalanceTransactionId)).Amount);
        var reversal = await new TransferReversalService(Client).CreateAsync(transfer.Id, new TransferReversalCreateOptions { Amount = 500 });
        var reversalBt = await Txns.GetAsync(reversal.BalanceTransactionId);
        Assert.Equal(("transfer_refund", 500L), (reversalBt.Type, reversalBt.Amount));

        var second = await SucceededPaymentIntent(4_000);        // fee 116 + 30 = 146
        var dispute = await Control("POST", $"/_sandbox/charges/{second.LatestChargeId}/dispute", new { amount = 4_000, reason = "fraudulent" });
        var withdrawal = dispute["balance_transactions"]!.AsArray().Single()!;
        Assert.Equal(("adjustment", "dispute", -4_000L, 1_500L), ((string)withdrawal["type"]!, (string)withdrawal["reporting_category"]!, (long)withdrawal["amount"]!, (long)withdrawal["fee"]!));
        var closed = await Control("POST", $"/_sandbox/disputes/{dispute["id"]}/close", new { status = "won" });
        var reinstated = closed["balance_transactions"]!.AsArray()[1]!;
        Assert.Equal(("dispute_reversal", 4_000L, 0L), ((string)reinstated["reporting_category"]!, (long)reinstated["amount"]!, (long)reinstated["fee"]!));
        Assert.Equal((string)dispute["id"]!, (string)reinstated["source"]!);

        var all = new List<BalanceTransaction>();
        await foreach (var t in Txns.ListAutoPagingAsync(new BalanceTransactionListOptions { Limit = 3 })) all.Add(t);
        Assert.Equal(9, all.Count);
        var expected = (10_000 - 320) - 2_000 - 1_000 + 1_000 - 3_000 + 500 + (4_000 - 146) - 4_000 - 1_500 + 4_000;
        Assert.Equal(expected, all.Sum(t => t.Net));
        var balance = await new BalanceService(Client).GetAsync();
        Assert.Equal(expected, Assert.Single(balance.Available, b => b.Currency == "usd").Amount);
    }

    [Fact]
    public async Task The_fee_model_can_be_changed_and_reset()
    {
        Assert.Equal(290, (long)(await Control("GET", "/_sandbox/fees"))["percent_bps"]!);
        await Control("PUT", "/_sandbox/fees", new { percent_bps = 150, @fixed = 0 });
        var pi = await SucceededPaymentIntent(2_001);           // 1.5 % of 2001 = 30.015 → 30
        var charge = await new ChargeService(Client).GetAsync(pi.LatestChargeId, new ChargeGetOptions { Expand = ["balance_transaction"] });
        Assert.Equal(30, charge.BalanceTransaction.Fee);
        await Control("PUT", "/_sandbox/fees", new { percent_bps = 10_000, @fixed = 30 });
        var all = await SucceededPaymentIntent(500);
        var capped = await new ChargeService(Client).GetAsync(all.LatestChargeId, new ChargeGetOptions { Expand = ["balance_transaction"] });
        Assert.Equal(500, capped.BalanceTransaction.Fee);       // never more than the charge
        await Control("POST", "/_sandbox/reset");
        Assert.Equal(30, (long)(await Control("GET", "/_sandbox/fees"))["fixed"]!);
    }
}

/// <summary>The <c>created</c> filters (<c>created[gte]</c> etc.) with pagination, as Stripe.net sends them.</summary>
public class CreatedFilterTests : SandboxTest
{
    [Fact]
    public async Task Lists_filter_by_created_and_paginate_inside_the_window()
    {
        const long t0 = 1_800_000_000;
        var svc = new PaymentIntentService(Client);
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            await Control("PUT", "/_sandbox/clock", new { now = t0 + i * 10 });
            ids.Add((await svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 100 + i, Currency = "usd" })).Id);
        }
        DateTime At(long unix) => DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime;

        // [t0+10, t0+50): the 2nd to the 5th, newest first, over pages of 2.
        var window = new List<PaymentIntent>();
        await foreach (var pi in svc.ListAutoPagingAsync(new PaymentIntentListOptions
        {
            Limit = 2, Created = new DateRangeOptions { GreaterThanOrEqual = At(t0 + 10), LessThan = At(t0 + 50) },
        })) window.Add(pi);
        Assert.Equal(new[] { ids[4], ids[3], ids[2], ids[1] }, window.Select(p => p.Id).ToArray());

        var first = await svc.ListAsync(new PaymentIntentListOptions { Limit = 2, Created = new DateRangeOptions { GreaterThan = At(t0 + 10), LessThanOrEqual = At(t0 + 40) } });
        Assert.Equal(new[] { ids[4], ids[3] }, first.Data.Select(p => p.Id).ToArray());
        Assert.True(first.HasMore);

        var exact = await Raw.GetStringAsync($"/v1/payment_intents?created={t0 + 30}");
        Assert.Equal(ids[3], (string)JsonNode.Parse(exact)!["data"]![0]!["id"]!);
        Assert.Single(JsonNode.Parse(exact)!["data"]!.AsArray());

        // The same filter on events, refunds, transfers and balance transactions.
        var events = await new EventService(Client).ListAsync(new EventListOptions { Limit = 100, Created = new DateRangeOptions { GreaterThanOrEqual = At(t0 + 60) } });
        Assert.Equal(ids[6], Assert.IsType<PaymentIntent>(Assert.Single(events.Data).Data.Object).Id);

        var bad = await Raw.GetAsync("/v1/payment_intents?created[after]=1");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("created[after]", await bad.Content.ReadAsStringAsync());
        var malformed = await Raw.GetAsync("/v1/refunds?created[gte]=yesterday");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
    }

    [Fact]
    public async Task The_Date_header_is_the_sandbox_clock()
    {
        await Control("PUT", "/_sandbox/clock", new { now = 1_800_000_000 });
        var balance = await new BalanceService(Client).GetAsync();
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000).UtcDateTime, balance.StripeResponse.Date);
    }

    [Fact]
    public async Task Balance_transactions_filter_by_created_type_and_source()
    {
        const long t0 = 1_800_000_000;
        await Control("PUT", "/_sandbox/clock", new { now = t0 });
        var early = await SucceededPaymentIntent(1_000);
        await Control("PUT", "/_sandbox/clock", new { advance_seconds = 100 });
        var late = await SucceededPaymentIntent(2_000);
        await new RefundService(Client).CreateAsync(new RefundCreateOptions { PaymentIntent = late.Id, Amount = 100 });
        var txns = new BalanceTransactionService(Client);
        var recent = await txns.ListAsync(new BalanceTransactionListOptions { Created = new DateRangeOptions { GreaterThanOrEqual = DateTimeOffset.FromUnixTimeSeconds(t0 + 50).UtcDateTime } });
        Assert.Equal(new[] { "refund", "charge" }, recent.Data.Select(t => t.Type).ToArray());
        var charges = await txns.ListAsync(new BalanceTransactionListOptions { Type = "charge" });
        Assert.Equal(new[] { late.LatestChargeId, early.LatestChargeId }, charges.Data.Select(t => t.SourceId).ToArray());
        Assert.Equal(early.LatestChargeId, Assert.Single((await txns.ListAsync(new BalanceTransactionListOptions { Source = early.LatestChargeId })).Data).SourceId);
    }
}

/// <summary>Refunds, transfers and balance adjustments made behind Fairway's back, with or without their webhooks.</summary>
public class OutsideActionTests : WebhookTest
{
    [Fact]
    public async Task An_outside_refund_with_webhooks_withheld_exists_at_Stripe_but_is_never_delivered()
    {
        var pi = await SucceededPaymentIntent(3_000);
        await WaitIdle();
        var before = Hook.Deliveries.Count;
        var refund = await Control("POST", "/_sandbox/outside/refunds", new { payment_intent = pi.Id, amount = 1_200, deliver_webhooks = false, metadata = new { note = "dashboard" } });
        Assert.Equal("succeeded", (string)refund["status"]!);
        Assert.Equal("dashboard", (string)refund["metadata"]!["note"]!);
        var fetched = await new RefundService(Client).GetAsync((string)refund["id"]!);
        Assert.Equal(1_200, fetched.Amount);
        Assert.Equal(-1_200, (await new BalanceTransactionService(Client).GetAsync(fetched.BalanceTransactionId)).Amount);
        var events = await new EventService(Client).ListAsync(new EventListOptions { Type = "refund.created" });
        var created = Assert.Single(events.Data);
        Assert.Null(created.Request?.IdempotencyKey);
        Assert.Equal(0, created.PendingWebhooks);
        await WaitIdle();
        Assert.Equal(before, Hook.Deliveries.Count);

        // With webhooks (the default) the next one is delivered like any refund.
        await Control("POST", "/_sandbox/outside/refunds", new { payment_intent = pi.Id, amount = 300 });
        await WaitIdle();
        Assert.Contains(Events(), e => e.Type == "refund.created" && ((Refund)e.Data.Object).Amount == 300);
    }

    [Fact]
    public async Task An_outside_transfer_and_a_balance_adjustment_move_money_without_an_API_request()
    {
        var acct = await OnboardedAccount();
        var transfer = await Control("POST", "/_sandbox/outside/transfers",
            new { amount = 2_500, currency = "usd", destination = acct.Id, transfer_group = "contest-1", metadata = new { transfer_id = "7" } });
        var fetched = await new TransferService(Client).GetAsync((string)transfer["id"]!);
        Assert.Equal(("7", "contest-1", 2_500L), (fetched.Metadata["transfer_id"], fetched.TransferGroup, fetched.Amount));
        var stats = await Stats();
        Assert.Equal(1, (long)stats["transfers_created"]!);
        Assert.Empty(stats["transfers_by_idempotency_key"]!.AsObject());

        var adjustment = await Control("POST", "/_sandbox/outside/balance_adjustments", new { amount = -250, currency = "usd", description = "Fee correction" });
        Assert.Equal(("adjustment", -250L, 0L, -250L), ((string)adjustment["type"]!, (long)adjustment["amount"]!, (long)adjustment["fee"]!, (long)adjustment["net"]!));
        Assert.Null(adjustment["source"]);
        var billing = await Control("POST", "/_sandbox/outside/balance_adjustments", new { type = "stripe_fee", amount = -99, currency = "usd" });
        Assert.Equal("fee", (string)billing["reporting_category"]!);
        var refused = await Raw.PostAsync("/_sandbox/outside/balance_adjustments",
            new StringContent("{\"type\":\"stripe_fee\",\"amount\":99,\"currency\":\"usd\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var balance = await new BalanceService(Client).GetAsync();
        Assert.Equal(-2_500 - 250 - 99, Assert.Single(balance.Available).Amount);
    }
}
