using System.Net.Http.Json;
using System.Text.Json;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>The provider sandbox as a real process (the stand-in for Sportradar), with its control API.</summary>
public sealed class ProviderSandboxProcess : IDisposable
{
    public const string ApiKey = "provider-test-key";
    public ManagedProcess Process { get; }
    public Uri BaseUrl { get; }
    public HttpClient Control { get; }

    /// <summary>What Fairway's INGESTION_ENDPOINT_URL must be to poll this sandbox.</summary>
    public string IngestionBase => $"{BaseUrl.ToString().TrimEnd('/')}/golf/trial/v3/en";

    ProviderSandboxProcess(ManagedProcess p, Uri baseUrl) { Process = p; BaseUrl = baseUrl; Control = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) }; }

    public static Task<ProviderSandboxProcess> StartAsync(DateTimeOffset startTime) => FreshPort.StartAsync(port => StartAsync(startTime, port));

    static async Task<ProviderSandboxProcess> StartAsync(DateTimeOffset startTime, int port)
    {
        var p = ManagedProcess.StartDotnet(RepoPaths.Dll("Fairway.ProviderSandbox", "Fairway.ProviderSandbox.dll"),
            ["--urls", $"http://127.0.0.1:{port}", "--api-key", ApiKey, "--start-time", startTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), "--log-requests", "false"],
            new Dictionary<string, string>());
        var sandbox = new ProviderSandboxProcess(p, new Uri($"http://127.0.0.1:{port}"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try { if ((await sandbox.Control.GetAsync("/_control/health")).IsSuccessStatusCode) return sandbox; }
            catch (HttpRequestException) { }
            if (FreshPort.LostTheRace(p)) { sandbox.Dispose(); throw new PortTakenException($"provider sandbox: port {port} taken"); }
            if (p.HasExited || sw.Elapsed > TimeSpan.FromSeconds(30)) throw new InvalidOperationException("provider sandbox did not start: " + string.Join('\n', p.Stderr));
            await Task.Delay(100);
        }
    }

    public async Task<JsonElement> CreateTournamentAsync(object parameters)
    {
        var r = await Control.PostAsJsonAsync("/_control/tournaments", parameters);
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(text);
        return JsonDocument.Parse(text).RootElement;
    }

    public async Task SetClockAsync(DateTimeOffset now) =>
        (await Control.PutAsJsonAsync("/_control/clock", new { now = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") })).EnsureSuccessStatusCode();

    public async Task FaultAsync(object fault) => (await Control.PostAsJsonAsync("/_control/faults", fault)).EnsureSuccessStatusCode();
    public async Task ClearFaultsAsync() => (await Control.DeleteAsync("/_control/faults")).EnsureSuccessStatusCode();

    public void Dispose() { Control.Dispose(); Process.Dispose(); }
}
