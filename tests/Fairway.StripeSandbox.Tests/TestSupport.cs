using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Fairway.StripeSandbox;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

/// <summary>A fresh sandbox (on a free loopback port) per test, plus a Stripe.net client pointed at it.</summary>
public abstract class SandboxTest : IAsyncLifetime
{
    public const string ApiKey = "sk_test_sandbox";
    public const string WebhookSecret = "whsec_test_secret_123";

    protected RunningSandbox Sbx = null!;
    protected StripeClient Client = null!;
    protected HttpClient Raw = null!;

    protected virtual SandboxOptions Options => new() { ApiKey = ApiKey, WebhookSecret = WebhookSecret };

    public virtual async Task InitializeAsync()
    {
        Sbx = await StripeSandboxApp.StartAsync(Options);
        Client = MakeClient();
        Raw = new HttpClient { BaseAddress = new Uri(Sbx.BaseUrl), Timeout = TimeSpan.FromSeconds(20) };
        Raw.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public virtual async Task DisposeAsync()
    {
        Raw.Dispose();
        await Sbx.DisposeAsync();
    }

    /// <summary>Stripe.net pointed at the sandbox. MaxNetworkRetries 0 unless a test wants Stripe.net's own retries.</summary>
    protected StripeClient MakeClient(int maxNetworkRetries = 0, TimeSpan? timeout = null, string apiKey = ApiKey) =>
        new(new StripeClientOptions
        {
            ApiKey = apiKey,
            ApiBase = Sbx.BaseUrl,
            HttpClient = new SystemNetHttpClient(
                new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(15) },
                maxNetworkRetries: maxNetworkRetries),
        });

    protected async Task<JsonObject> Control(string method, string path, object? body = null)
    {
        using var req = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
            req.Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var resp = await Raw.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        Assert.True(resp.IsSuccessStatusCode, $"{method} {path} → {(int)resp.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    protected Task<JsonObject> Stats() => Control("GET", "/_sandbox/stats");

    protected async Task<PaymentIntent> SucceededPaymentIntent(long amount = 2500, string? key = null)
    {
        var svc = new PaymentIntentService(Client);
        var pi = await svc.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = amount,
            Currency = "usd",
            AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true },
            Metadata = new Dictionary<string, string> { ["entry_id"] = "e-1" },
        }, key is null ? null : new RequestOptions { IdempotencyKey = key });
        await Control("POST", $"/_sandbox/payment_intents/{pi.Id}/succeed");
        return await svc.GetAsync(pi.Id);
    }

    protected async Task<Account> OnboardedAccount(string email = "winner@example.com")
    {
        var acct = await new AccountService(Client).CreateAsync(new AccountCreateOptions
        {
            Type = "express",
            Country = "US",
            Email = email,
            Capabilities = new AccountCapabilitiesOptions { Transfers = new AccountCapabilitiesTransfersOptions { Requested = true } },
        });
        await Control("POST", $"/_sandbox/accounts/{acct.Id}/complete_onboarding");
        return acct;
    }

    protected static async Task Eventually(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > until) Assert.Fail("timed out waiting for: " + what);
            await Task.Delay(20);
        }
    }
}

/// <summary>A tiny Kestrel webhook endpoint that records every delivery and answers with scripted status codes.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public sealed record Received(string Body, string Signature, DateTime At);

    readonly WebApplication _app;
    readonly ConcurrentQueue<int> _script = new();
    public ConcurrentQueue<Received> Deliveries { get; } = new();
    public string Url { get; private set; } = "";

    WebhookReceiver(WebApplication app) { _app = app; }

    int _inside, _maxInside;
    /// <summary>How long each delivery is held before it is answered.</summary>
    public TimeSpan Hold { get; set; }
    /// <summary>The most deliveries this receiver was answering at the same moment.</summary>
    public int MaxConcurrent => Volatile.Read(ref _maxInside);

    /// <summary>The next deliveries get these status codes (then 200).</summary>
    public void Respond(params int[] statuses) { foreach (var s in statuses) _script.Enqueue(s); }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseUrls("http://127.0.0.1:0");
        var app = b.Build();
        var r = new WebhookReceiver(app);
        app.MapPost("/hook", async (HttpContext ctx) =>
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var inside = Interlocked.Increment(ref r._inside);
            for (int seen; (seen = Volatile.Read(ref r._maxInside)) < inside && Interlocked.CompareExchange(ref r._maxInside, inside, seen) != seen;) { }
            if (r.Hold > TimeSpan.Zero) await Task.Delay(r.Hold);
            Interlocked.Decrement(ref r._inside);
            r.Deliveries.Enqueue(new Received(body, ctx.Request.Headers["Stripe-Signature"].ToString(), DateTime.UtcNow));
            ctx.Response.StatusCode = r._script.TryDequeue(out var s) ? s : 200;
        });
        await app.StartAsync();
        r.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/hook";
        return r;
    }

    /// <summary>Deliveries parsed with Stripe.net's real verifier (default 300 s tolerance).</summary>
    public List<Event> VerifiedEvents(string secret) =>
        Deliveries.Select(d => EventUtility.ConstructEvent(d.Body, d.Signature, secret)).ToList();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Sandbox with a webhook receiver configured at start-up.</summary>
public abstract class WebhookTest : SandboxTest
{
    protected WebhookReceiver Hook = null!;

    public override async Task InitializeAsync()
    {
        Hook = await WebhookReceiver.StartAsync();
        await base.InitializeAsync();
        // fast retries for tests
        await Control("PUT", "/_sandbox/webhooks/retry", new { max_attempts = 4, initial_backoff_ms = 50, max_backoff_ms = 200, timeout_ms = 2000 });
    }

    protected override SandboxOptions Options => new() { ApiKey = ApiKey, WebhookSecret = WebhookSecret, WebhookUrl = Hook.Url };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Hook.DisposeAsync();
    }

    protected Task<JsonObject> WaitIdle() => Control("POST", "/_sandbox/webhooks/wait_idle", new { timeout_ms = 10_000 });

    protected List<Event> Events() => Hook.VerifiedEvents(WebhookSecret);
}
