using System.Text.Json;

namespace Fairway.Simulation;

/// <summary>
/// Everything the simulation runs: the Stripe sandbox, the provider sandbox, one API process and one
/// worker process of Fairway against the database it was given, under the test clock. The simulation
/// acts only through their HTTP APIs (Fairway's public and admin API, the sandboxes' control APIs).
/// </summary>
public sealed class World : IAsyncDisposable
{
    public const string StripeKey = "sk_test_simulation";
    public const string WebhookSecret = "whsec_simulation_secret";
    public const string ProviderKey = "provider-simulation-key";
    public const string Issuer = "fairway-simulation";
    public const string Audience = "fairway-api";

    public required string RunDir { get; init; }
    public required byte[] SigningKey { get; init; }
    public required Uri ApiUrl { get; init; }
    public required Uri StripeUrl { get; init; }
    public required Uri ProviderUrl { get; init; }
    public required Api Admin { get; init; }
    public required Api Stripe { get; init; }
    public required Api Provider { get; init; }
    public required Dictionary<string, string> HostEnv { get; init; }
    public required string HostDll { get; init; }
    public ChildProcess? ApiProcess { get; set; }
    public ChildProcess? WorkerProcess { get; set; }
    public required ChildProcess StripeProcess { get; init; }
    public required ChildProcess ProviderProcess { get; init; }
    public DateTimeOffset Now { get; private set; }

    /// <summary>The <c>enabled_events</c> of Fairway's Stripe webhook endpoint, from the repository's definition of it.</summary>
    public static IReadOnlyList<string> SubscribedEventTypes(string root)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "infra", "stripe", "webhook-endpoint.json")));
        var types = doc.RootElement.GetProperty("enabled_events").EnumerateArray().Select(e => e.GetString()!).ToList();
        return types.Count > 0 ? types : throw new InvalidOperationException("infra/stripe/webhook-endpoint.json subscribes to no event type");
    }

    /// <param name="hostDll">Fairway.Host.dll to run as the API and the worker; null runs the solution's build output.</param>
    public static async Task<World> StartAsync(string root, string databaseUrl, string runDir, DateTimeOffset t0, string? hostDll = null)
    {
        string Dll(string project, string name) => Path.Combine(root, "src", project, "bin", "Release", "net10.0", name);
        var key = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        int apiPort = ChildProcess.FreePort(), workerPort = ChildProcess.FreePort(), stripePort = ChildProcess.FreePort(), providerPort = ChildProcess.FreePort();
        var apiUrl = new Uri($"http://127.0.0.1:{apiPort}");

        var stripe = ChildProcess.Start("stripe-sandbox", runDir, Dll("Fairway.StripeSandbox", "Fairway.StripeSandbox.dll"),
            ["--urls", $"http://127.0.0.1:{stripePort}", "--api-key", StripeKey, "--webhook-url", $"{apiUrl}webhooks/stripe", "--webhook-secret", WebhookSecret,
                // Stripe sends an endpoint its events concurrently: four at once, so a wave of payments is not delivered one by one.
                "--webhook-concurrency", "4",
                // The endpoint subscribes to the event types the deployment's endpoint does (generated from Fairway's code).
                "--webhook-events", string.Join(',', SubscribedEventTypes(root))],
            new Dictionary<string, string>());
        var provider = ChildProcess.Start("provider-sandbox", runDir, Dll("Fairway.ProviderSandbox", "Fairway.ProviderSandbox.dll"),
            ["--urls", $"http://127.0.0.1:{providerPort}", "--api-key", ProviderKey, "--start-time", t0.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), "--log-requests", "false"],
            new Dictionary<string, string>());
        await ChildProcess.WaitHttpAsync($"http://127.0.0.1:{stripePort}/_sandbox/health", TimeSpan.FromSeconds(30), stripe);
        await ChildProcess.WaitHttpAsync($"http://127.0.0.1:{providerPort}/_control/health", TimeSpan.FromSeconds(30), provider);

        var env = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = databaseUrl,
            ["FAIRWAY_PRODUCTION"] = "false",
            ["FAIRWAY_TEST_CLOCK_ENABLED"] = "true",
            ["FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS"] = "15",
            ["FAIRWAY_WORKER_COUNT"] = "4",
            // A job held by a worker the simulation killed is taken by the new worker after this (real time), about when
            // the supervisor's replacement is ready; live workers renew their jobs every second, so nothing runs twice.
            ["FAIRWAY_JOB_INVISIBILITY_TIMEOUT_SECONDS"] = "5",
            // Simulated time runs thousands of times faster than real time: a due job starts within 50 ms of real time
            // (production: 1 s; 50 ms is Hangfire.PostgreSql's floor), so a clock step settles sooner. The same schedules
            // and due-time rules either way. From 100 ms: seed 1 without faults 235-248 s → 225 s (clock steps p50 0.49 → 0.42 s).
            ["FAIRWAY_JOB_POLL_INTERVAL_MILLISECONDS"] = "50",
            ["FAIRWAY_LOG_LEVEL"] = "Information",
            ["AUTH_JWT_ISSUER"] = Issuer,
            ["AUTH_JWT_AUDIENCE"] = Audience,
            ["AUTH_JWT_SIGNING_KEY"] = Convert.ToBase64String(key),
            ["STRIPE_API_KEY"] = StripeKey,
            ["STRIPE_API_BASE"] = $"http://127.0.0.1:{stripePort}",
            ["STRIPE_WEBHOOK_SECRET"] = WebhookSecret,
            ["INGESTION_ENDPOINT_URL"] = $"http://127.0.0.1:{providerPort}/golf/trial/v3/en",
            ["INGESTION_API_KEY"] = ProviderKey,
            // Timeouts are real time, as in production; the sandboxes answer within milliseconds unless a fault makes them
            // slow, and each timed-out attempt costs the run this long, so they are short (the faults that answer late
            // answer a second or two after these: Faults.ProviderTimeout, Faults.PayoutStripeTimeout).
            ["INGESTION_HTTP_TIMEOUT_SECONDS"] = "1",
            ["PAYOUT_STRIPE_TIMEOUT_SECONDS"] = "2",
            // The clock moves in steps of minutes or more, so sub-minute live polls (delayed jobs on real time) would only
            // repeat the same instant's leaderboard: one poll per minute of simulated time while live.
            ["INGESTION_LIVE_POLL_SECONDS"] = "60",
            // The verdict reconciles against Stripe at once: every Stripe object of the season is judged.
            ["STRIPE_RECONCILIATION_LAG_SECONDS"] = "0",
        };
        // Backups run on their own schedule too (daily, simulated time), into the run directory.
        if (Environment.GetEnvironmentVariable("PG_BIN_DIR") is { } pgBin && File.Exists(Path.Combine(pgBin, "pg_dump")))
        {
            env["BACKUP_DIR"] = Path.Combine(runDir, "backups");
            env["BACKUP_PG_DUMP_PATH"] = Path.Combine(pgBin, "pg_dump");
            Directory.CreateDirectory(env["BACKUP_DIR"]);
        }
        var world = new World
        {
            RunDir = runDir, SigningKey = key, ApiUrl = apiUrl, StripeUrl = new Uri($"http://127.0.0.1:{stripePort}"), ProviderUrl = new Uri($"http://127.0.0.1:{providerPort}"),
            Admin = new Api(apiUrl, Api.Token(key, Issuer, Audience, "simulation-ops", admin: true)),
            Stripe = new Api(new Uri($"http://127.0.0.1:{stripePort}"), null), Provider = new Api(new Uri($"http://127.0.0.1:{providerPort}"), null),
            HostEnv = env, HostDll = hostDll ?? Dll("Fairway.Host", "Fairway.Host.dll"), StripeProcess = stripe, ProviderProcess = provider,
        };
        world.ApiProcess = await world.StartHostAsync("api", apiPort);
        world.WorkerProcess = await world.StartHostAsync("worker", workerPort);
        await world.SetTimeAsync(t0);
        return world;
    }

    public async Task<ChildProcess> StartHostAsync(string role, int port, IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        var env = new Dictionary<string, string>(HostEnv) { ["FAIRWAY_LISTEN_URL"] = $"http://127.0.0.1:{port}" };
        foreach (var (k, v) in extraEnv ?? new Dictionary<string, string>()) env[k] = v;
        var p = ChildProcess.Start(role, RunDir, HostDll, ["--role", role], env);
        await ChildProcess.WaitHttpAsync($"http://127.0.0.1:{port}/readyz", TimeSpan.FromSeconds(60), p);
        return p;
    }

    readonly SemaphoreSlim supervising = new(1, 1);
    public List<string> Restarts { get; } = [];

    /// <summary>
    /// The process supervisor of the deployment (systemd's Restart=always, an orchestrator's restart policy): a Fairway
    /// process that died (a crash point, an OOM kill) is started again, the API on its own address. Returns true when it restarted one.
    /// </summary>
    public async Task<bool> SuperviseAsync()
    {
        await supervising.WaitAsync();
        try
        {
            var restarted = false;
            if (ApiProcess is { HasExited: true } api)
            {
                ApiProcess = await StartHostAsync("api", ApiUrl.Port);
                api.Dispose();
                Restarts.Add($"[{Now:yyyy-MM-dd HH:mm}] api {api.Pid} died; restarted as {ApiProcess.Pid}");
                restarted = true;
            }
            if (WorkerProcess is { HasExited: true } worker)
            {
                WorkerProcess = await StartHostAsync("worker", ChildProcess.FreePort());
                worker.Dispose();
                Restarts.Add($"[{Now:yyyy-MM-dd HH:mm}] worker {worker.Pid} died; restarted as {WorkerProcess.Pid}");
                restarted = true;
            }
            foreach (var r in Restarts.Skip(Restarts.Count - (restarted ? 1 : 0))) Console.WriteLine($"    supervisor: {r}");
            return restarted;
        }
        finally { supervising.Release(); }
    }

    /// <summary>A player acts only through the generated client of the public contract (docs/api/openapi.json).</summary>
    public Player Player(string userId) => new(ApiUrl, Api.Token(SigningKey, Issuer, Audience, userId, admin: false));

    public async Task SetTimeAsync(DateTimeOffset now)
    {
        Now = now;
        await Admin.PutAsync("/api/admin/test-clock", new { now });
        await Provider.PutAsync("/_control/clock", new { now = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
    }

    /// <summary>Waits (bounded) until the Stripe sandbox has delivered every webhook it holds.</summary>
    public Task WebhooksDeliveredAsync() => Stripe.PostAsync("/_sandbox/webhooks/wait_idle", new { timeout_ms = 60000 });

    /// <summary>SIGTERM both Fairway processes; returns their exit codes (0 = drained and stopped cleanly).</summary>
    public async Task<(int Api, int Worker)> StopHostsAsync()
    {
        var api = ApiProcess is null ? 0 : await ApiProcess.StopAsync(TimeSpan.FromSeconds(30));
        var worker = WorkerProcess is null ? 0 : await WorkerProcess.StopAsync(TimeSpan.FromSeconds(30));
        return (api, worker);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { ApiProcess, WorkerProcess }) if (p is not null) { await p.StopAsync(TimeSpan.FromSeconds(20)); p.Dispose(); }
        foreach (var p in new[] { StripeProcess, ProviderProcess }) { await p.StopAsync(TimeSpan.FromSeconds(10)); p.Dispose(); }
        Admin.Dispose(); Stripe.Dispose(); Provider.Dispose();
    }
}
