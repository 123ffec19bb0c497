using System.Net.Http.Headers;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>A real Fairway.Host process in one role, on its own loopback port.</summary>
public sealed class FairwayHostProcess : IDisposable
{
    public ManagedProcess Process { get; }
    public Uri BaseUrl { get; }
    public string Role { get; }

    FairwayHostProcess(ManagedProcess p, Uri baseUrl, string role) { Process = p; BaseUrl = baseUrl; Role = role; }

    /// <summary>The complete environment of a valid local deployment against <paramref name="databaseUrl"/>.</summary>
    public static Dictionary<string, string> Environment(string databaseUrl, int port, bool testClock = false) => new()
    {
        ["DATABASE_URL"] = databaseUrl,
        ["FAIRWAY_LISTEN_URL"] = $"http://127.0.0.1:{port}",
        ["FAIRWAY_PRODUCTION"] = "false",
        ["FAIRWAY_TEST_CLOCK_ENABLED"] = testClock ? "true" : "false",
        ["FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS"] = "20",
        ["FAIRWAY_WORKER_COUNT"] = "2",
        // Workers poll their queue (no LISTEN/NOTIFY, decisions.md): every 100 ms here, so a test's job starts about as
        // soon as it is enqueued, and several workers race for a burst as they do in production under load.
        ["FAIRWAY_JOB_POLL_INTERVAL_MILLISECONDS"] = "100",
        ["AUTH_JWT_ISSUER"] = TestAuth.Issuer,
        ["AUTH_JWT_AUDIENCE"] = TestAuth.Audience,
        ["AUTH_JWT_SIGNING_KEY"] = TestAuth.SigningKeyBase64,
        ["STRIPE_API_KEY"] = "sk_test_not_used_yet",
        ["STRIPE_API_BASE"] = "http://127.0.0.1:9",
        ["STRIPE_WEBHOOK_SECRET"] = "whsec_test",
        ["INGESTION_ENDPOINT_URL"] = "http://127.0.0.1:9",
        ["INGESTION_API_KEY"] = "test",
    };

    /// <summary>Starts a host; without <paramref name="port"/> on a free one (retried on a fresh port when another process took it first).</summary>
    public static Task<FairwayHostProcess> StartAsync(string role, string databaseUrl, Action<Dictionary<string, string>>? configure = null, bool waitReady = true, bool testClock = false,
        int? port = null) =>
        port is { } fixedPort
            ? StartOnAsync(role, databaseUrl, configure, waitReady, testClock, fixedPort, retryable: false)
            : FreshPort.StartAsync(p => StartOnAsync(role, databaseUrl, configure, waitReady, testClock, p, retryable: true));

    static async Task<FairwayHostProcess> StartOnAsync(string role, string databaseUrl, Action<Dictionary<string, string>>? configure, bool waitReady, bool testClock, int port, bool retryable)
    {
        var env = Environment(databaseUrl, port, testClock);
        configure?.Invoke(env);
        var p = ManagedProcess.StartDotnet(RepoPaths.HostDll, ["--role", role], env);
        var host = new FairwayHostProcess(p, new Uri($"http://127.0.0.1:{port}"), role);
        try
        {
            if (waitReady) await host.WaitReadyAsync(TimeSpan.FromSeconds(60));
        }
        catch (InvalidOperationException) when (retryable && FreshPort.LostTheRace(p))
        {
            host.Dispose();
            throw new PortTakenException($"host ({role}): port {port} taken");
        }
        return host;
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = Client();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        string last = "";
        while (sw.Elapsed < timeout)
        {
            if (Process.HasExited) throw new InvalidOperationException($"host ({Role}) exited with {Process.ExitCode}: {string.Join('\n', Process.Stderr)}\n{string.Join('\n', Process.Stdout.TakeLast(20))}");
            try
            {
                var r = await http.GetAsync("/readyz");
                if (r.IsSuccessStatusCode) return;
                last = await r.Content.ReadAsStringAsync();
            }
            catch (HttpRequestException e) { last = e.Message; }
            await Task.Delay(100);
        }
        throw new TimeoutException($"host ({Role}) not ready within {timeout}: {last}");
    }

    public HttpClient Client(string? token = null)
    {
        var c = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(120) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public void Dispose() => Process.Dispose();
}
