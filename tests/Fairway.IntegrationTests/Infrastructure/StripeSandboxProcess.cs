using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// The Stripe sandbox (src/Fairway.StripeSandbox) as a real process on a free loopback port, with a known
/// API key and webhook secret; webhooks go to a Fairway API's <c>/webhooks/stripe</c> once
/// <see cref="PointWebhooksAtAsync"/> names it. Control API helpers for tests.
/// </summary>
public sealed class StripeSandboxProcess : IDisposable
{
    public const string ApiKey = "sk_test_fairway_integration";
    public const string WebhookSecret = "whsec_fairway_integration_secret";

    public ManagedProcess Process { get; }
    public Uri BaseUrl { get; }
    /// <summary>Control API (no auth) and Stripe API (Bearer key) client.</summary>
    public HttpClient Http { get; }

    StripeSandboxProcess(ManagedProcess p, Uri baseUrl)
    {
        Process = p;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public static Task<StripeSandboxProcess> StartAsync(string? webhookUrl = null) => FreshPort.StartAsync(port => StartAsync(webhookUrl, port));

    static async Task<StripeSandboxProcess> StartAsync(string? webhookUrl, int port)
    {
        var args = new List<string> { "--urls", $"http://127.0.0.1:{port}", "--api-key", ApiKey, "--webhook-secret", WebhookSecret };
        if (webhookUrl is not null) args.AddRange(["--webhook-url", webhookUrl]);
        var p = ManagedProcess.StartDotnet(RepoPaths.Dll("Fairway.StripeSandbox", "Fairway.StripeSandbox.dll"), args, new Dictionary<string, string>());
        var sandbox = new StripeSandboxProcess(p, new Uri($"http://127.0.0.1:{port}"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { if ((await sandbox.Http.GetAsync("/_sandbox/health")).IsSuccessStatusCode) break; }
            catch (HttpRequestException) { }
            if (FreshPort.LostTheRace(p)) { p.Dispose(); throw new PortTakenException($"Stripe sandbox: port {port} taken"); }
            if (p.HasExited || sw.Elapsed > TimeSpan.FromSeconds(30)) throw new InvalidOperationException("Stripe sandbox did not start: " + string.Join('\n', p.Stderr));
            await Task.Delay(100);
        }
        // Quick retries so tests do not wait on the production-like backoff.
        await sandbox.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 8, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
        return sandbox;
    }

    /// <summary>The Stripe variables of a Fairway host pointed at this sandbox.</summary>
    public void Configure(Dictionary<string, string> env)
    {
        env["STRIPE_API_KEY"] = ApiKey;
        env["STRIPE_API_BASE"] = BaseUrl.ToString().TrimEnd('/');
        env["STRIPE_WEBHOOK_SECRET"] = WebhookSecret;
    }

    public Task PointWebhooksAtAsync(Uri apiBase) =>
        SendAsync(HttpMethod.Put, "/_sandbox/webhook", new { url = new Uri(apiBase, "/webhooks/stripe").ToString(), secret = WebhookSecret });

    public async Task<JsonObject> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var resp = await Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        if (!resp.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path} -> {(int)resp.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public Task<JsonObject> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body ?? new { });
    public Task<JsonObject> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<JsonObject> SucceedAsync(string paymentIntentId) => PostAsync($"/_sandbox/payment_intents/{paymentIntentId}/succeed");
    public Task<JsonObject> FailAsync(string paymentIntentId, string declineCode = "insufficient_funds") =>
        PostAsync($"/_sandbox/payment_intents/{paymentIntentId}/fail", new { decline_code = declineCode });
    public Task<JsonObject> StatsAsync() => GetAsync("/_sandbox/stats");
    public Task<JsonObject> WaitIdleAsync(int timeoutMs = 20000) => PostAsync("/_sandbox/webhooks/wait_idle", new { timeout_ms = timeoutMs });

    /// <summary>The newest event of <paramref name="type"/> about the object <paramref name="objectId"/> (raw JSON).</summary>
    public async Task<JsonObject> EventAsync(string type, string objectId)
    {
        var list = await GetAsync($"/v1/events?type={Uri.EscapeDataString(type)}&limit=100");
        return list["data"]!.AsArray().Select(e => e!.AsObject())
            .First(e => (string?)e["data"]!["object"]!["id"] == objectId || (string?)e["data"]!["object"]!["payment_intent"] == objectId);
    }

    /// <summary>A Stripe-Signature header for <paramref name="body"/> signed with <paramref name="secret"/> at <paramref name="timestamp"/>.</summary>
    public static string Sign(string body, DateTimeOffset timestamp, string secret = WebhookSecret)
    {
        var t = timestamp.ToUnixTimeSeconds();
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}"));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    public void Dispose() { Http.Dispose(); Process.Dispose(); }
}
