using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payments;

namespace Fairway.IntegrationTests.Reconciliation;

/// <summary>
/// The payments world (real API and worker processes, the Stripe sandbox, webhooks) for the reconciliation
/// against Stripe: no lag (every Stripe object is judged at once), a grace of one hour for what waits for
/// Fairway, and the test clock (so the grace can pass without waiting). The recurring job is paused: tests run
/// reconciliations explicitly, through the API or by triggering the job.
/// </summary>
public sealed class StripeReconciliationFixture : PaymentsFixture
{
    public const int GraceSeconds = 3600;

    protected override void ConfigureHost(Dictionary<string, string> env)
    {
        env["STRIPE_RECONCILIATION_LAG_SECONDS"] = "0";
        env["STRIPE_RECONCILIATION_GRACE_SECONDS"] = GraceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["FAIRWAY_TEST_CLOCK_ENABLED"] = "true";
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var admin = Admin();
        (await admin.PostAsJsonAsync("/api/admin/jobs/recurring/stripe-reconciliation/pause", new { reason = "tests run the reconciliation explicitly" })).EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Lets one second pass at Stripe (the sandbox clock moves on by a second) and brings the frozen test clock up to
    /// Stripe's time, so every Stripe object created so far is older than both clocks and is judged by the next run.
    /// </summary>
    public async Task CatchUpClockAsync()
    {
        var stripeNow = (long)(await Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { advance_seconds = 1 }))["now"]!;
        using var admin = Admin();
        var now = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/test-clock")).RootElement.GetProperty("now").GetDateTimeOffset();
        var target = DateTimeOffset.FromUnixTimeSeconds(stripeNow + 1);
        if (target > now) (await admin.PutAsJsonAsync("/api/admin/test-clock", new { now = target.UtcDateTime })).EnsureSuccessStatusCode();
    }

    public async Task AdvanceClockAsync(long seconds)
    {
        using var admin = Admin();
        (await admin.PostAsJsonAsync("/api/admin/test-clock/advance", new { seconds })).EnsureSuccessStatusCode();
    }

    /// <summary>Runs the reconciliation against Stripe now (in the API process) and returns the run.</summary>
    public async Task<JsonElement> ReconcileAsync()
    {
        await Stripe.WaitIdleAsync();
        await CatchUpClockAsync();
        using var admin = Admin();
        var r = await admin.PostAsync("/api/admin/reconciliation/stripe/run", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"stripe reconciliation run: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static IReadOnlyList<(string Check, string Subject)> Violations(JsonElement run) =>
        run.GetProperty("violations").EnumerateArray().Select(v => (v.GetProperty("check").GetString()!, v.GetProperty("subject_id").GetString()!)).ToList();

    public async Task<JsonElement?> ItemAsync(string subject)
    {
        foreach (var status in new[] { "discrepancy", "awaiting_fairway", "awaiting_stripe", "resolved", "dismissed" })
        {
            using var admin = Admin();
            var items = JsonDocument.Parse(await admin.GetStringAsync($"/api/admin/reconciliation/stripe/items?status={status}&limit=1000")).RootElement.GetProperty("items");
            foreach (var i in items.EnumerateArray())
                if (i.GetProperty("subject").GetString() == subject) return i.Clone();
        }
        return null;
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> CorrectAsync(string kind, string subject, string? reason = "test: explained by the operator", long? amount = null)
    {
        using var admin = Admin();
        var r = await admin.PostAsJsonAsync("/api/admin/ledger/corrections", new { kind, subject, amount, reason });
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    public async Task<long> BalanceAsync(string account) =>
        await ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = @account), 0)", new { account });

    public async Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(params string[] args) =>
        await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, args, new Dictionary<string, string>
        {
            ["FAIRWAY_API_URL"] = Api.BaseUrl.ToString(),
            ["FAIRWAY_API_TOKEN"] = TestAuth.Admin,
        });

    /// <summary>A payment intent created and paid at Stripe behind Fairway's back (no entry, no metadata).</summary>
    public async Task<string> OutsidePaymentAsync(long amount, string currency = "usd")
    {
        var created = await Stripe.Http.PostAsync("/v1/payment_intents", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["amount"] = amount.ToString(System.Globalization.CultureInfo.InvariantCulture), ["currency"] = currency }));
        var text = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, text);
        var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        await Stripe.SucceedAsync(id);
        return id;
    }
}

[CollectionDefinition(Name)]
public sealed class StripeReconciliationCollection : ICollectionFixture<StripeReconciliationFixture>
{
    public const string Name = "reconciliation against Stripe (shared hosts and Stripe sandbox)";
}
