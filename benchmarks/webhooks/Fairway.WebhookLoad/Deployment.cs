using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.WebhookLoad;

/// <summary>
/// A full local deployment started the way the integration tests start it (PaymentsFixture,
/// FairwayHostProcess, StripeSandboxProcess): the Stripe sandbox as a process, one API process and one separate
/// worker process of Fairway.Host (Release build) against the migrated database, real loopback HTTP between them.
/// </summary>
public sealed class Deployment : IAsyncDisposable
{
    public const string StripeApiKey = "sk_test_fairway_bench_webhooks";
    public const string WebhookSecret = "whsec_fairway_bench_webhooks_secret";
    public const string Issuer = "fairway-bench";
    public const string Audience = "fairway-api";

    public required Uri ApiUrl { get; init; }
    public required Uri StripeUrl { get; init; }
    public required ChildProcess Sandbox { get; init; }
    public required ChildProcess Api { get; init; }
    public required ChildProcess Worker { get; init; }
    public required byte[] SigningKey { get; init; }
    public required HttpClient Http { get; init; }

    public static async Task<Deployment> StartAsync(string root, string databaseUrl, string runDir, int workerCount, IReadOnlyDictionary<string, string> extraEnv)
    {
        string Dll(string project, string name) => Path.Combine(root, "src", project, "bin", "Release", "net10.0", name);
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        int apiPort = ChildProcess.FreePort(), workerPort = ChildProcess.FreePort(), stripePort = ChildProcess.FreePort();
        var stripeUrl = new Uri($"http://127.0.0.1:{stripePort}");
        var apiUrl = new Uri($"http://127.0.0.1:{apiPort}");

        var sandbox = ChildProcess.Start("stripe-sandbox", runDir, Dll("Fairway.StripeSandbox", "Fairway.StripeSandbox.dll"),
            ["--urls", stripeUrl.ToString().TrimEnd('/'), "--api-key", StripeApiKey, "--webhook-secret", WebhookSecret], new Dictionary<string, string>());
        await sandbox.WaitHttpAsync(new Uri(stripeUrl, "/_sandbox/health").ToString(), TimeSpan.FromSeconds(60));

        // FairwayHostProcess.Environment + StripeSandboxProcess.Configure + PaymentsFixture's overrides, except
        // PAYMENT_SWEEPER_PENDING_AGE_SECONDS (left at its default, 900 s, so the sweeper cannot converge the
        // benchmark's payments behind the webhooks' back during a run of a few minutes).
        Dictionary<string, string> Env(int port)
        {
            var env = BaseEnv(port);
            foreach (var (k, v) in extraEnv) env[k] = v;
            return env;
        }
        Dictionary<string, string> BaseEnv(int port) => new()
        {
            ["DATABASE_URL"] = databaseUrl,
            ["FAIRWAY_LISTEN_URL"] = $"http://127.0.0.1:{port}",
            ["FAIRWAY_PRODUCTION"] = "false",
            ["FAIRWAY_TEST_CLOCK_ENABLED"] = "false",
            ["FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS"] = "20",
            ["FAIRWAY_WORKER_COUNT"] = workerCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AUTH_JWT_ISSUER"] = Issuer,
            ["AUTH_JWT_AUDIENCE"] = Audience,
            ["AUTH_JWT_SIGNING_KEY"] = Convert.ToBase64String(key),
            ["STRIPE_API_KEY"] = StripeApiKey,
            ["STRIPE_API_BASE"] = stripeUrl.ToString().TrimEnd('/'),
            ["STRIPE_WEBHOOK_SECRET"] = WebhookSecret,
            ["STRIPE_MAX_NETWORK_RETRIES"] = "1",
            ["STRIPE_HTTP_TIMEOUT_SECONDS"] = "10",
            ["INGESTION_ENDPOINT_URL"] = "http://127.0.0.1:9",
            ["INGESTION_API_KEY"] = "test",
        };
        var hostDll = Dll("Fairway.Host", "Fairway.Host.dll");
        var api = ChildProcess.Start("api", runDir, hostDll, ["--role", "api"], Env(apiPort));
        var worker = ChildProcess.Start("worker", runDir, hostDll, ["--role", "worker"], Env(workerPort));
        await Task.WhenAll(
            api.WaitHttpAsync($"http://127.0.0.1:{apiPort}/readyz", TimeSpan.FromSeconds(90)),
            worker.WaitHttpAsync($"http://127.0.0.1:{workerPort}/readyz", TimeSpan.FromSeconds(90)));

        var d = new Deployment
        {
            ApiUrl = apiUrl, StripeUrl = stripeUrl, Sandbox = sandbox, Api = api, Worker = worker, SigningKey = key,
            Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(120) },
        };
        // As StripeSandboxProcess.StartAsync + PaymentsFixture: quick retries, webhooks to the API.
        await d.StripeAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 8, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
        await d.SetWebhookUrlAsync(new Uri(apiUrl, "/webhooks/stripe").ToString());
        return d;
    }

    public Task SetWebhookUrlAsync(string? url) => StripeAsync(HttpMethod.Put, "/_sandbox/webhook", new { url, secret = WebhookSecret });

    public string Token(string sub, bool admin = false) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity(admin ? [new Claim("sub", sub), new Claim("role", "admin")] : [new Claim("sub", sub)]),
            Expires = DateTime.UtcNow.AddHours(2),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(SigningKey), SecurityAlgorithms.HmacSha256),
        });

    /// <summary>A call to the Fairway API; throws unless 2xx (or <paramref name="allowed"/>).</summary>
    public async Task<(int Status, JsonElement Body)> ApiAsync(HttpMethod method, string path, object? body, string? token, IDictionary<string, string>? headers = null, params int[] allowed)
    {
        using var req = new HttpRequestMessage(method, new Uri(ApiUrl, path));
        if (body is not null) req.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (token is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) req.Headers.Add(k, v);
        using var r = await Http.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        var status = (int)r.StatusCode;
        if ((status < 200 || status > 299) && !allowed.Contains(status)) throw new InvalidOperationException($"{method} {path} -> {status}: {text}");
        return (status, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>A call to the sandbox (Stripe API with the key, or its control API); returns the raw body.</summary>
    public async Task<string> StripeRawAsync(HttpMethod method, string path, object? body = null)
    {
        using var req = new HttpRequestMessage(method, new Uri(StripeUrl, path));
        if (body is not null) req.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StripeApiKey);
        using var r = await Http.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"sandbox {method} {path} -> {(int)r.StatusCode}: {text}");
        return text;
    }

    public async Task<JsonElement> StripeAsync(HttpMethod method, string path, object? body = null) =>
        JsonDocument.Parse(await StripeRawAsync(method, path, body)).RootElement.Clone();

    /// <summary>SIGTERM to API and worker (graceful drain); returns their exit codes.</summary>
    public async Task<(int Api, int Worker)> StopHostsAsync()
    {
        var a = Api.StopAsync(TimeSpan.FromSeconds(40));
        var w = Worker.StopAsync(TimeSpan.FromSeconds(40));
        return (await a, await w);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { Api, Worker, Sandbox })
        {
            if (!p.HasExited) await p.StopAsync(TimeSpan.FromSeconds(20));
            p.Dispose();
        }
        Http.Dispose();
    }
}
