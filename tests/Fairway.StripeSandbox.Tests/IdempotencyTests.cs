using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Fairway.StripeSandbox;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class IdempotencyTests : SandboxTest
{
    static FormUrlEncodedContent Form(params (string, string)[] kv) =>
        new(kv.Select(x => new KeyValuePair<string, string>(x.Item1, x.Item2)));

    async Task<HttpResponseMessage> PostPi(string key, string amount = "1500")
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/v1/payment_intents")
        {
            Content = Form(("amount", amount), ("currency", "usd"), ("metadata[entry_id]", "7")),
        };
        req.Headers.Add("Idempotency-Key", key);
        return await Raw.SendAsync(req);
    }

    [Fact]
    public async Task Same_key_same_params_replays_the_original_response_byte_for_byte()
    {
        using var first = await PostPi("entry:7");
        using var second = await PostPi("entry:7");
        var a = await first.Content.ReadAsByteArrayAsync();
        var b = await second.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(a, b);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());

        // and through Stripe.net with an explicit key
        var opts = new RequestOptions { IdempotencyKey = "entry:8" };
        var svc = new PaymentIntentService(Client);
        var p1 = await svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 900, Currency = "usd" }, opts);
        var p2 = await svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 900, Currency = "usd" }, opts);
        Assert.Equal(p1.Id, p2.Id);
        Assert.Equal("true", p2.StripeResponse.Headers.GetValues("Idempotent-Replayed").Single());

        var stats = await Stats();
        Assert.Equal(2, (long)stats["payment_intents_created"]!);
        Assert.Equal(2, (long)stats["idempotent_replays"]!);
        Assert.Equal(4, (long)stats["requests_by_endpoint"]!["POST /v1/payment_intents"]!);
    }

    [Fact]
    public async Task A_key_24_hours_old_is_forgotten_and_the_same_request_creates_a_second_object_as_at_Stripe()
    {
        var acct = await OnboardedAccount();
        var svc = new TransferService(Client);
        var opts = new RequestOptions { IdempotencyKey = "payout:42" };
        TransferCreateOptions Transfer() => new() { Amount = 700, Currency = "usd", Destination = acct.Id, TransferGroup = "c-1" };
        var first = await svc.CreateAsync(Transfer(), opts);
        // Within 24 h of sandbox time the key replays.
        await Control("PUT", "/_sandbox/clock", new { advance_seconds = 23 * 3600 });
        Assert.Equal(first.Id, (await svc.CreateAsync(Transfer(), opts)).Id);
        Assert.Equal(0, (long)(await Control("POST", "/_sandbox/idempotency/prune"))["pruned"]!);
        // Past 24 h it is forgotten: the very same request makes a second transfer. (Fairway must never rely on the key alone.)
        await Control("PUT", "/_sandbox/clock", new { advance_seconds = 2 * 3600 });
        var second = await svc.CreateAsync(Transfer(), opts);
        Assert.NotEqual(first.Id, second.Id);
        var stats = await Stats();
        Assert.Equal(2, (long)stats["transfers_by_idempotency_key"]!["payout:42"]!);
        Assert.Equal(1, (long)stats["idempotency_keys_pruned"]!);

        // The control forgets old keys at once, without waiting for their next use.
        await svc.CreateAsync(Transfer(), new RequestOptions { IdempotencyKey = "payout:43" });
        Assert.Equal(1, (long)(await Control("POST", "/_sandbox/idempotency/prune"))["pruned"]!); // the account's key, 25 h old
        Assert.Equal(2, (long)(await Control("POST", "/_sandbox/idempotency/prune", new { older_than_seconds = 0 }))["pruned"]!);
    }

    [Fact]
    public async Task Same_key_different_params_is_an_idempotency_error_in_StripeNet()
    {
        var svc = new PaymentIntentService(Client);
        var opts = new RequestOptions { IdempotencyKey = "k-1" };
        await svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 1000, Currency = "usd" }, opts);
        var ex = await Assert.ThrowsAsync<StripeException>(() =>
            svc.CreateAsync(new PaymentIntentCreateOptions { Amount = 2000, Currency = "usd" }, opts));
        Assert.Equal(HttpStatusCode.BadRequest, ex.HttpStatusCode);
        Assert.Equal("idempotency_error", ex.StripeError.Type);

        // a key reused on a different endpoint is a conflict too
        var ex2 = await Assert.ThrowsAsync<StripeException>(() =>
            new AccountService(Client).CreateAsync(new AccountCreateOptions { Type = "express" }, opts));
        Assert.Equal("idempotency_error", ex2.StripeError.Type);

        var stats = await Stats();
        Assert.Equal(1, (long)stats["payment_intents_created"]!);
        Assert.Equal(0, (long)stats["accounts_created"]!);
        Assert.Equal(2, (long)stats["idempotency_conflicts"]!);
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_create_one_object()
    {
        var tasks = Enumerable.Range(0, 12).Select(_ => Task.Run(async () =>
        {
            using var r = await PostPi("race-key");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return JsonNode.Parse(await r.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        })).ToArray();
        var ids = await Task.WhenAll(tasks);
        Assert.Single(ids.Distinct());
        var stats = await Stats();
        Assert.Equal(1, (long)stats["payment_intents_created"]!);
        Assert.Equal(11, (long)stats["idempotent_replays"]!);
    }

    [Fact]
    public async Task Failed_validation_is_not_stored_but_business_errors_are()
    {
        // missing amount: parameter validation → not stored, so the corrected request executes
        using (var bad = await PostPi("fix-me", amount: "")) Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var good = await PostPi("fix-me")) Assert.Equal(HttpStatusCode.OK, good.StatusCode);

        // a transfer to a non-onboarded account fails inside the endpoint → the error is stored and replayed
        var acct = await new AccountService(Client).CreateAsync(new AccountCreateOptions { Type = "express" });
        var tr = new TransferService(Client);
        var opts = new RequestOptions { IdempotencyKey = "payout:9" };
        var create = new TransferCreateOptions { Amount = 100, Currency = "usd", Destination = acct.Id };
        var e1 = await Assert.ThrowsAsync<StripeException>(() => tr.CreateAsync(create, opts));
        await Control("POST", $"/_sandbox/accounts/{acct.Id}/complete_onboarding");
        var e2 = await Assert.ThrowsAsync<StripeException>(() => tr.CreateAsync(create, opts));
        Assert.Equal(e1.StripeError.Code, e2.StripeError.Code);
        Assert.Equal("true", e2.StripeResponse.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(0, (long)(await Stats())["transfers_created"]!);
    }

    [Fact]
    public async Task StripeNet_sends_an_idempotency_key_on_every_POST()
    {
        var pi = await new PaymentIntentService(Client).CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.False(string.IsNullOrEmpty(pi.StripeResponse.IdempotencyKey));
    }
}

public class IdempotencyScopeTests : SandboxTest
{
    // no API key configured: any key is accepted, and idempotency keys are scoped per presented key
    protected override SandboxOptions Options => new();

    [Fact]
    public async Task Keys_are_scoped_per_api_key()
    {
        var opts = new RequestOptions { IdempotencyKey = "shared" };
        var create = new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" };
        var a = await new PaymentIntentService(MakeClient(apiKey: "sk_test_a")).CreateAsync(create, opts);
        var b = await new PaymentIntentService(MakeClient(apiKey: "sk_test_b")).CreateAsync(create, opts);
        var a2 = await new PaymentIntentService(MakeClient(apiKey: "sk_test_a")).CreateAsync(create, opts);
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(a.Id, a2.Id);
    }
}
