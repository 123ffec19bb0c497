using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Payouts;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Reconciliation;

/// <summary>The money-out world for the reconciliation against Stripe: no lag, and one page of 100 per stream and run (the bound is visible).</summary>
public sealed class StripeReconciliationWorldFixture : IAsyncLifetime
{
    public MoneyOutWorld World { get; private set; } = null!;

    public async Task InitializeAsync() => World = await MoneyOutWorld.StartAsync(env: e =>
    {
        e["STRIPE_RECONCILIATION_LAG_SECONDS"] = "0";
        e["STRIPE_RECONCILIATION_MAX_PAGES"] = "1";
    });

    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>
/// The reconciliation against Stripe after settlement and payouts: a second Stripe transfer for one payout transfer,
/// and the bounded, watermark-based listing (pages, continuation, no object skipped).
/// </summary>
public sealed class StripeReconciliationPayoutTests(StripeReconciliationWorldFixture fixture) : IClassFixture<StripeReconciliationWorldFixture>
{
    MoneyOutWorld W => fixture.World;

    /// <summary>Lets a second pass at Stripe (everything created so far becomes judgeable), then runs the reconciliation in the API.</summary>
    async Task<JsonElement> ReconcileAsync()
    {
        await W.Stripe.WaitIdleAsync();
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { advance_seconds = 1 });
        var r = await W.Admin.PostAsync("/api/admin/reconciliation/stripe/run", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    static long UsdDifference(JsonElement run) =>
        run.GetProperty("balances").EnumerateArray().Single(b => b.GetProperty("currency").GetString() == "usd").GetProperty("difference").GetInt64();

    static JsonElement Stream(JsonElement run, string stream) =>
        run.GetProperty("streams").EnumerateArray().Single(s => s.GetProperty("stream").GetString() == stream);

    [Fact]
    public async Task A_second_transfer_for_one_payout_is_a_violation_named_in_the_CLI_until_it_is_explained()
    {
        var s = await W.SeedCompleteContestAsync(entries: 2, holdSeconds: 0, tie: true, stripePayments: true);
        var accounts = await W.ConnectAccountsAsync(s.Users);
        await W.SettleNowAsync(s.ContestId);
        await W.RunPayoutSchedulerAsync();
        var transfers = await W.TransfersAsync(s.ContestId);
        Assert.All(transfers, t => Assert.Equal("completed", t.Status));

        // Paid in through Stripe, fees booked, paid out through Stripe: the ledger is Stripe's balance.
        var clean = await ReconcileAsync();
        Assert.True(clean.GetProperty("violation_count").GetInt32() == 0, clean.ToString());
        Assert.Equal(0, UsdDifference(clean));

        var paid = transfers[0];
        var duplicate = (string)(await W.Stripe.PostAsync("/_sandbox/outside/transfers", new
        {
            amount = paid.Amount, currency = "usd", destination = accounts[paid.UserId], transfer_group = s.ContestId,
            metadata = new Dictionary<string, string> { ["transfer_id"] = paid.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ["contest_id"] = s.ContestId, ["user_id"] = paid.UserId },
        }))["id"]!;
        try
        {
            var run = await ReconcileAsync();
            Assert.Contains(("second_transfer_for_payout", duplicate), StripeReconciliationFixture.Violations(run));
            Assert.Equal(1, run.GetProperty("violation_count").GetInt32());
            var ks = await W.GetAsync("/api/admin/kill-switch");
            Assert.True(ks.GetProperty("engaged").GetBoolean());
            Assert.Equal("reconciler", ks.GetProperty("changed_by").GetString());

            var status = await W.CliAsync("reconciliation", "status");
            Assert.Equal(1, status.ExitCode);
            Assert.Contains(duplicate, status.Stdout);
            Assert.Contains("second_transfer_for_payout", status.Stdout);
            Assert.Contains($"payout transfer {paid.Id}", status.Stdout);

            // The recorded transfer is the payout's own: nothing to correct there.
            var own = await W.Admin.PostAsJsonAsync("/api/admin/ledger/corrections", new { kind = "transfer_outside_fairway", subject = paid.StripeTransferId, reason = "test" });
            Assert.Equal(HttpStatusCode.Conflict, own.StatusCode);
        }
        finally { await W.KillSwitchAsync(false); }

        var revenueBefore = await W.BalanceAsync("revenue:usd");
        var correct = await W.CliAsync("ledger", "correct", "transfer_outside_fairway", "--subject", duplicate, "--reason", "test: duplicate paid by hand in the Dashboard; the house bears it");
        Assert.True(correct.ExitCode == 0, correct.Stdout + correct.Stderr);
        Assert.Equal(revenueBefore - paid.Amount, await W.BalanceAsync("revenue:usd"));
        var after = await ReconcileAsync();
        Assert.True(after.GetProperty("violation_count").GetInt32() == 0, after.ToString());
        Assert.Equal(0, UsdDifference(after));
        Assert.Equal(0, (await W.CliAsync("reconciliation", "status")).ExitCode);
        await W.AssertReconciledAsync();
    }

    [Fact]
    public async Task Listing_is_bounded_by_pages_and_the_next_runs_continue_where_the_last_one_stopped()
    {
        await ReconcileAsync();   // the watermarks are at Stripe's now
        var now = (long)(await W.Stripe.GetAsync("/_sandbox/clock"))["now"]!;
        var t0 = now + 10;
        // 230 payment intents (not Fairway's, never paid), two per second of Stripe time.
        for (var i = 0; i < 230; i++)
        {
            await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { now = t0 + i / 2 });
            var r = await W.Stripe.Http.PostAsync("/v1/payment_intents", new FormUrlEncodedContent(new Dictionary<string, string> { ["amount"] = "500", ["currency"] = "usd" }));
            Assert.True(r.IsSuccessStatusCode);
        }
        // Stripe's clock runs on from just after the last one.
        var real = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { offset_seconds = t0 + 115 - real });

        var runs = new List<JsonElement>();
        for (var n = 0; n < 3; n++) runs.Add(Stream(await ReconcileAsync(), "payment_intents"));
        Assert.Equal([(100, false), (100, false), (34, true)], runs.Select(r => (r.GetProperty("objects").GetInt32(), r.GetProperty("complete").GetBoolean())));
        Assert.All(runs, r => Assert.Equal(1, r.GetProperty("pages").GetInt32()));
        // The watermark stays until the window is complete, then jumps past it: nothing in it was skipped.
        Assert.Equal(runs[0].GetProperty("from").GetInt64(), runs[1].GetProperty("watermark").GetInt64());
        Assert.True(runs[2].GetProperty("watermark").GetInt64() >= t0 + 115);
        // Each continuation re-lists the one second it was cut in (2 objects), never less: 230 + 2 + 2.
        Assert.Equal(234, runs.Sum(r => r.GetProperty("objects").GetInt32()));
        Assert.Equal([t0 + 66, t0 + 17], runs.Skip(1).Select(r => r.GetProperty("before").GetInt64()));
        var next = Stream(await ReconcileAsync(), "payment_intents");
        Assert.Equal((0, true), (next.GetProperty("objects").GetInt32(), next.GetProperty("complete").GetBoolean()));
    }
}
