using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Ingestion;

/// <summary>
/// A real API process, a real worker process and the provider sandbox process, one database, and a
/// simulated calendar that moves Fairway's test clock and the sandbox's clock together.
/// </summary>
public sealed class IngestionWorld : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2027, 5, 1, 0, 0, 0, TimeSpan.Zero);
    public string DatabaseUrl { get; private init; } = "";
    public ProviderSandboxProcess Provider { get; private init; } = null!;
    public FairwayHostProcess Api { get; private init; } = null!;
    public FairwayHostProcess Worker { get; private init; } = null!;
    public HttpClient Admin { get; private init; } = null!;

    public static async Task<IngestionWorld> StartAsync()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        var provider = await ProviderSandboxProcess.StartAsync(T0);
        void Configure(Dictionary<string, string> env)
        {
            env["INGESTION_ENDPOINT_URL"] = provider.IngestionBase;
            env["INGESTION_API_KEY"] = ProviderSandboxProcess.ApiKey;
            env["INGESTION_HTTP_TIMEOUT_SECONDS"] = "2";
        }
        var api = FairwayHostProcess.StartAsync("api", db, Configure, testClock: true);
        var worker = FairwayHostProcess.StartAsync("worker", db, Configure, testClock: true);
        var world = new IngestionWorld { DatabaseUrl = db, Provider = provider, Api = await api, Worker = await worker, Admin = (await api).Client(TestAuth.Admin) };
        // The tests poll explicitly at chosen instants; the real-time scheduler would poll in between.
        (await world.Admin.PostAsJsonAsync("/api/admin/jobs/recurring/ingestion-scheduler/pause", new { reason = "tests poll explicitly" })).EnsureSuccessStatusCode();
        await world.SetTimeAsync(T0);
        return world;
    }

    public DateTimeOffset Now { get; private set; }

    public async Task SetTimeAsync(DateTimeOffset now)
    {
        Now = now;
        (await Admin.PutAsJsonAsync("/api/admin/test-clock", new { now })).EnsureSuccessStatusCode();
        await Provider.SetClockAsync(now);
    }

    public async Task<JsonElement> PollAsync(string tournamentId)
    {
        var r = await Admin.PostAsync($"/api/admin/ingestion/tournaments/{tournamentId}/poll?wait_seconds=90", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == System.Net.HttpStatusCode.OK, text);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Succeeded", body.GetProperty("job_state").GetString());
        return body.GetProperty("latest_event");
    }

    public async Task TriggerAsync(string recurringJobId)
    {
        var r = await Admin.PostAsync($"/api/admin/jobs/recurring/{recurringJobId}/trigger?wait_seconds=90", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        Assert.Equal("Succeeded", JsonDocument.Parse(text).RootElement.GetProperty("state").GetString());
    }

    public async Task<string> StateAsync(string contestId) =>
        JsonDocument.Parse(await Admin.GetStringAsync($"/api/admin/contests/{contestId}")).RootElement.GetProperty("state").GetString()!;

    /// <summary>
    /// A generated tournament in the sandbox and a Fairway contest on it: field from the sandbox's
    /// players, lock one hour before the first tee time, and paid entries.
    /// </summary>
    public async Task<(string TournamentId, string ContestId, JsonElement Truth)> CreateContestAsync(int seed, int entries = 3, int minEntries = 2)
    {
        var start = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero).AddDays(2).AddHours(12);
        var sandboxId = "sr-" + Guid.NewGuid().ToString("N")[..10];
        var truth = await Provider.CreateTournamentAsync(new
        {
            id = sandboxId, seed, field_size = 30, round_count = 4, cut_after_round = 2, cut_keep = 15, withdrawals = 2, disqualifications = 1,
            start = start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), round_duration_minutes = 300, round_gap_minutes = 1140, official_delay_minutes = 60,
        });
        var (t, c) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"));
        (await Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = sandboxId, name = "Sandbox Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, c, sandboxId, start.AddHours(-1), minEntries, rosterSize: 3, fieldSize: 30, ingestionBase: Provider.IngestionBase);
        var created = await Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Sandbox main", config });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var players = truth.GetProperty("players").EnumerateArray().Select(p => new
        {
            id = p.GetProperty("id").GetString(), name = p.GetProperty("first_name").GetString() + " " + p.GetProperty("last_name").GetString(),
            world_rank = p.GetProperty("world_rank").GetInt32(),
        }).ToArray();
        (await Admin.PutAsJsonAsync($"/api/admin/contests/{c}/field", new { participants = players })).EnsureSuccessStatusCode();
        var ids = players.Select(p => p.id!).ToArray();
        await TestDatabases.ExecAsync(DatabaseUrl, string.Join('\n', Enumerable.Range(0, entries).Select(i =>
            $"INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at) VALUES ('{c}-e{i}', '{c}', 'user-{i}', '[\"{ids[i]}\",\"{ids[i + 5]}\",\"{ids[i + 10]}\"]', 'ACTIVE', '2027-05-01Z', '2027-05-01Z');")));
        return (t, c, truth);
    }

    public static DateTimeOffset At(JsonElement truth, params string[] path)
    {
        var e = truth.GetProperty("schedule");
        foreach (var p in path) e = int.TryParse(p, out var i) ? e[i] : e.GetProperty(p);
        return e.GetDateTimeOffset();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        Api.Dispose();
        Worker.Dispose();
        Provider.Dispose();
        await Task.CompletedTask;
    }
}
