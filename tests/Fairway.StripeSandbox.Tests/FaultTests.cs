using System.Net;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class FaultTests : SandboxTest
{
    [Theory]
    [InlineData("http_500", HttpStatusCode.InternalServerError, "api_error", null)]
    [InlineData("http_503", HttpStatusCode.ServiceUnavailable, "api_error", null)]
    [InlineData("rate_limit_429", (HttpStatusCode)429, "invalid_request_error", "rate_limit")]
    [InlineData("lock_timeout", (HttpStatusCode)429, "invalid_request_error", "lock_timeout")]
    public async Task Http_faults_surface_as_StripeException(string kind, HttpStatusCode status, string type, string? code)
    {
        var acct = await OnboardedAccount();
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind, count = 1 });
        var svc = new TransferService(Client);
        var create = new TransferCreateOptions { Amount = 100, Currency = "usd", Destination = acct.Id };

        // a GET is not matched by a POST fault
        await Assert.ThrowsAsync<StripeException>(() => svc.GetAsync("tr_missing")); // 404, not the fault
        var ex = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(create));
        Assert.Equal(status, ex.HttpStatusCode);
        Assert.Equal(type, ex.StripeError.Type);
        Assert.Equal(code, ex.StripeError.Code);
        Assert.Equal(0, (long)(await Stats())["transfers_created"]!);

        // count exhausted: the next call goes through
        var ok = await svc.CreateAsync(create);
        Assert.StartsWith("tr_", ok.Id);
        var stats = await Stats();
        Assert.Equal(1, (long)stats["faults_injected"]!);
        Assert.Equal(1, (long)stats["transfers_created"]!);
    }

    [Fact]
    public async Task A_fault_with_a_parameter_hits_only_requests_carrying_that_value()
    {
        var acct = await OnboardedAccount();
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "http_500", count = 1, param_name = "transfer_group", param_value = "g2" });
        var svc = new TransferService(Client);
        TransferCreateOptions Create(string group) => new() { Amount = 100, Currency = "usd", Destination = acct.Id, TransferGroup = group };

        Assert.StartsWith("tr_", (await svc.CreateAsync(Create("g1"))).Id);   // another value: not hit
        var ex = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(Create("g2")));
        Assert.Equal(HttpStatusCode.InternalServerError, ex.HttpStatusCode);
        Assert.StartsWith("tr_", (await svc.CreateAsync(Create("g2"))).Id);   // its count is used up
        Assert.Equal(1, (long)(await Stats())["faults_injected"]!);

        using var half = new StringContent("""{"path_prefix":"/v1/transfers","kind":"http_500","param_name":"transfer_group"}""", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await Raw.PostAsync("/_sandbox/faults", half)).StatusCode);
    }

    [Fact]
    public async Task StripeNet_retries_5xx_by_itself_and_stats_show_the_attempts()
    {
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/payment_intents", kind = "http_503", count = 1 });
        var pi = await new PaymentIntentService(MakeClient(maxNetworkRetries: 2))
            .CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" });
        Assert.StartsWith("pi_", pi.Id);
        var stats = await Stats();
        Assert.Equal(2, (long)stats["requests_by_endpoint"]!["POST /v1/payment_intents"]!);
        Assert.Equal(1, (long)stats["payment_intents_created"]!);
    }

    [Fact]
    public async Task Timeout_fault_outlasts_a_short_client_timeout()
    {
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/payment_intents", kind = "timeout", count = 1, delay_ms = 5000 });
        var client = MakeClient(timeout: TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => new PaymentIntentService(client)
            .CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" }));
        Assert.True(ex is TaskCanceledException or TimeoutException or StripeException, ex.GetType().Name);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4));
        Assert.Equal(0, (long)(await Stats())["payment_intents_created"]!);
    }

    [Fact]
    public async Task Connection_reset_fault_drops_the_connection()
    {
        await Control("POST", "/_sandbox/faults", new { path_prefix = "/v1/payment_intents", kind = "connection_reset", count = 1 });
        await Assert.ThrowsAsync<HttpRequestException>(() => new PaymentIntentService(Client)
            .CreateAsync(new PaymentIntentCreateOptions { Amount = 100, Currency = "usd" }));
        var faults = await Control("GET", "/_sandbox/faults");
        Assert.Equal(0, (int)faults["data"]![0]!["remaining"]!);
        Assert.Equal(1, (int)faults["data"]![0]!["hits"]!);
        await Control("DELETE", "/_sandbox/faults");
        Assert.Empty((await Control("GET", "/_sandbox/faults"))["data"]!.AsArray());
    }

    [Theory]
    [InlineData("http_500")]
    [InlineData("connection_reset")]
    [InlineData("timeout")]
    public async Task After_commit_fault_then_retry_with_same_key_returns_the_original_transfer(string kind)
    {
        var acct = await OnboardedAccount();
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind, count = 1, after_commit = true, delay_ms = kind == "timeout" ? 3000 : 0 });
        var opts = new RequestOptions { IdempotencyKey = "payout:777" };
        var create = new TransferCreateOptions { Amount = 5_000, Currency = "usd", Destination = acct.Id, Metadata = new() { ["transfer_id"] = "777" } };

        var client = MakeClient(timeout: TimeSpan.FromMilliseconds(kind == "timeout" ? 300 : 5000));
        await Assert.ThrowsAnyAsync<Exception>(() => new TransferService(client).CreateAsync(create, opts));

        // Stripe did it: the transfer exists although the caller never heard back
        var stats = await Stats();
        Assert.Equal(1, (long)stats["transfers_created"]!);

        var retried = await new TransferService(Client).CreateAsync(create, opts);
        Assert.Equal("true", retried.StripeResponse.Headers.GetValues("Idempotent-Replayed").Single());
        var listed = await new TransferService(Client).ListAsync(new TransferListOptions { Destination = acct.Id });
        Assert.Equal(retried.Id, Assert.Single(listed.Data).Id);

        stats = await Stats();
        Assert.Equal(1, (long)stats["transfers_created"]!);
        Assert.Equal(1, (long)stats["transfers_by_idempotency_key"]!["payout:777"]!);
        Assert.Equal(1, (long)stats["idempotent_replays"]!);
    }

    [Fact]
    public async Task After_commit_reset_is_healed_by_StripeNet_own_retry_with_its_automatic_key()
    {
        var acct = await OnboardedAccount();
        await Control("POST", "/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "connection_reset", count = 1, after_commit = true });
        var tr = await new TransferService(MakeClient(maxNetworkRetries: 2))
            .CreateAsync(new TransferCreateOptions { Amount = 700, Currency = "usd", Destination = acct.Id });
        var stats = await Stats();
        Assert.Equal(1, (long)stats["transfers_created"]!);
        Assert.Equal(2, (long)stats["requests_by_endpoint"]!["POST /v1/transfers"]!);
        Assert.Equal(1, (long)stats["idempotent_replays"]!);
        Assert.StartsWith("tr_", tr.Id);
    }

    [Fact]
    public async Task Latency_fault_delays_but_succeeds()
    {
        await Control("POST", "/_sandbox/faults", new { method = "GET", path_prefix = "/v1/events", kind = "latency", count = 1, delay_ms = 300 });
        var started = DateTime.UtcNow;
        await new EventService(Client).ListAsync();
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250));
    }
}
