using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Fairway.IntegrationTests.Contests;

public sealed class ContestApiFixture : IAsyncLifetime
{
    public string DatabaseUrl { get; private set; } = "";
    public FairwayHostProcess Api { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public DateTimeOffset LockTime { get; private set; }

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestDatabases.CreateMigratedAsync();
        Api = await FairwayHostProcess.StartAsync("api", DatabaseUrl, testClock: true);
        Admin = Api.Client(TestAuth.Admin);
        var now = JsonDocument.Parse(await Admin.GetStringAsync("/api/admin/test-clock")).RootElement.GetProperty("now").GetDateTimeOffset();
        LockTime = now.AddDays(30).AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond));
    }

    public Task DisposeAsync() { Admin?.Dispose(); Api?.Dispose(); return Task.CompletedTask; }
}

public sealed class ContestApiTests(ContestApiFixture f) : IClassFixture<ContestApiFixture>
{
    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    async Task<long> CountAsync(string sql, object args)
    {
        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        return await c.ExecuteScalarAsync<long>(sql, args);
    }

    [Fact]
    public async Task Tournament_creation_is_idempotent_and_conflicts_are_409()
    {
        var id = ContestSetup.NewId("t");
        var body = new { id, provider_event_id = "sr:" + id, name = "Idempotent Open" };
        Assert.Equal(HttpStatusCode.Created, (await f.Admin.PostAsJsonAsync("/api/admin/tournaments", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await f.Admin.PostAsJsonAsync("/api/admin/tournaments", body)).StatusCode);
        var conflict = await f.Admin.PostAsJsonAsync("/api/admin/tournaments", body with { name = "Another" });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("TOURNAMENT_EXISTS", (await Json(conflict)).GetProperty("code").GetString());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM audit_events WHERE entity_type = 'tournament' AND entity_id = @id", new { id }));
    }

    [Fact]
    public async Task Contest_is_created_and_anyone_can_read_its_rules_and_field()
    {
        var (_, contest, _) = await ContestSetup.CreateViaApiAsync(f.Admin, f.LockTime);
        var field = new { participants = Enumerable.Range(1, 12).Select(i => new { id = $"g{i:00}", name = $"Golfer {i}", world_rank = i }).ToArray() };
        var put = await f.Admin.PutAsJsonAsync($"/api/admin/contests/{contest}/field", field);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        using var anonymous = f.Api.Client();
        var detail = await Json(await anonymous.GetAsync($"/api/contests/{contest}"));
        Assert.Equal("SCHEDULED", detail.GetProperty("state").GetString());
        Assert.Equal(3, detail.GetProperty("rules").GetProperty("roster_size").GetInt32());
        Assert.Equal(1000, detail.GetProperty("rules").GetProperty("entry_fee").GetInt64());
        Assert.Equal(10, detail.GetProperty("field").GetProperty("primary").GetArrayLength());
        Assert.Equal(2, detail.GetProperty("field").GetProperty("alternates").GetArrayLength());
        Assert.Equal("g01", detail.GetProperty("field").GetProperty("primary")[0].GetProperty("id").GetString());
        Assert.Matches("^[0-9a-f]{64}$", detail.GetProperty("config_hash").GetString());

        var list = await Json(await anonymous.GetAsync("/api/contests?state=SCHEDULED&limit=100"));
        Assert.Contains(list.GetProperty("data").EnumerateArray(), c => c.GetProperty("id").GetString() == contest);
        Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.GetAsync("/api/contests?state=scheduled")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/api/contests/no-such-contest")).StatusCode);
    }

    [Fact]
    public async Task Invalid_config_lists_every_error_and_writes_nothing()
    {
        var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:" + Guid.NewGuid().ToString("N")[..8]);
        (await f.Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "Bad Config Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, "someone-else", pe, f.LockTime);
        config["rules"]!["rake_bps"] = 20000;
        config["rules"]!["payout_table"]![1]!["bps"] = 3999;
        config["round_count"] = JsonValue.Create(4.5);
        config["ingestion_endpoint"] = "https://elsewhere.example/x";
        var r = await f.Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Bad", config });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
        var p = await Json(r);
        Assert.Equal("CONFIG_INVALID", p.GetProperty("code").GetString());
        var fields = p.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToHashSet();
        Assert.Contains("config.rules.rake_bps", fields);
        Assert.Contains("config.round_count", fields);
        Assert.Contains(fields, x => x!.StartsWith("config.rules.payout_table"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM contests WHERE id = @c", new { c }));

        // Once the engine accepts the document, the host's placement checks list every mismatch too.
        var placed = ContestSetup.Config(t, "someone-else", pe, f.LockTime);
        placed["ingestion_endpoint"] = "https://elsewhere.example/x";
        var r2 = await Json(await f.Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Bad", config = placed }));
        var codes = r2.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()).ToList();
        Assert.Contains("CONFIG_MISMATCH", codes);
        Assert.Contains("CONFIG_ENDPOINT_MISMATCH", codes);
    }

    [Fact]
    public async Task Validate_without_saving_then_publish_new_versions_only_while_scheduled()
    {
        var (t, c, pe) = await ContestSetup.CreateViaApiAsync(f.Admin, f.LockTime);
        var v2 = ContestSetup.Config(t, c, pe, f.LockTime.AddHours(1));

        var check = await Json(await f.Admin.PostAsJsonAsync("/api/admin/contests/config/validate", new { tournament_id = t, config = v2 }));
        Assert.True(check.GetProperty("valid").GetBoolean());
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM contest_config_versions WHERE contest_id = @c", new { c }));

        Assert.Equal(HttpStatusCode.Created, (await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/config", new { config = v2 })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/config", new { config = v2 })).StatusCode);
        var versions = (await Json(await f.Admin.GetAsync($"/api/admin/contests/{c}/config/versions"))).EnumerateArray().ToList();
        Assert.Equal([1, 2], versions.Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal([false, true], versions.Select(v => v.GetProperty("is_active").GetBoolean()));
        Assert.NotEqual(versions[0].GetProperty("hash").GetString(), versions[1].GetProperty("hash").GetString());
        var active = await Json(await f.Admin.GetAsync($"/api/admin/contests/{c}/config"));
        Assert.Equal(2, active.GetProperty("version").GetInt32());

        // Cancel, then every config change is refused and nothing is written.
        await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/cancel", new { reason = "test cancels" });
        var v3 = ContestSetup.Config(t, c, pe, f.LockTime.AddHours(2));
        var refused = await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/config", new { config = v3 });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("CONFIG_IMMUTABLE", (await Json(refused)).GetProperty("code").GetString());
        Assert.Equal(2, await CountAsync("SELECT count(*) FROM contest_config_versions WHERE contest_id = @c", new { c }));
    }

    [Fact]
    public async Task Config_and_field_are_refused_in_locked_and_live_and_every_transition_has_one_audit_row()
    {
        var (t, c, pe) = await ContestSetup.CreateViaApiAsync(f.Admin, f.LockTime);
        await ContestSetup.InsertActiveEntriesAsync(f.DatabaseUrl, c, 2);
        var locked = await Json(await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/lock", new { reason = "runbook test: force lock" }));
        Assert.Equal("LOCKED", locked.GetProperty("to").GetString());

        async Task AssertImmutable()
        {
            var r = await f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/config", new { config = ContestSetup.Config(t, c, pe, f.LockTime.AddHours(3)) });
            Assert.Equal("CONFIG_IMMUTABLE", (await Json(r)).GetProperty("code").GetString());
            var fr = await f.Admin.PutAsJsonAsync($"/api/admin/contests/{c}/field", new { participants = new[] { new { id = "g1", name = "G", world_rank = 1 } } });
            Assert.Equal("FIELD_LOCKED", (await Json(fr)).GetProperty("code").GetString());
        }
        await AssertImmutable();

        // LIVE comes from ingestion; its service method is driven here directly against the same database.
        await using (var s = new ContestServices(f.DatabaseUrl, new FakeTimeProvider(f.LockTime)))
            await s.Lifecycle.MarkLiveAsync(c, 42, "inprogress");
        await AssertImmutable();
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM contest_config_versions WHERE contest_id = @c", new { c }));

        var trail = (await Json(await f.Admin.GetAsync($"/api/admin/contests/{c}/transitions"))).EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "contest.transition").ToList();
        Assert.Equal(["LOCKED", "LIVE"], trail.Select(e => e.GetProperty("after").GetProperty("state").GetString()));
        Assert.Equal("admin:ops-1", trail[0].GetProperty("actor").GetString());
        Assert.Equal("system:ingestion", trail[1].GetProperty("actor").GetString());
        Assert.Equal(42, trail[1].GetProperty("evidence").GetProperty("ingestion_event_id").GetInt64());
    }

    [Fact]
    public async Task Concurrent_admin_locks_produce_one_transition()
    {
        var (_, c, _) = await ContestSetup.CreateViaApiAsync(f.Admin, f.LockTime);
        await ContestSetup.InsertActiveEntriesAsync(f.DatabaseUrl, c, 2);
        // Ten at once: all ten were blocked together behind the contest row before they raced.
        var (responses, together) = await LockWaits.RaceAsync(f.DatabaseUrl, "SELECT 1 FROM contests WHERE id = @c FOR UPDATE", new { c }, 10,
            _ => f.Admin.PostAsJsonAsync($"/api/admin/contests/{c}/lock", new { reason = "concurrency test" }));
        Assert.True(together >= 10, $"{together} requests overlapped");
        var outcomes = await Task.WhenAll(responses.Select(async r => (await Json(r)).GetProperty("outcome").GetString()));
        Assert.Single(outcomes, o => o == "moved");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM audit_events WHERE entity_id = @c AND action = 'contest.transition'", new { c }));
    }

    [Fact]
    public async Task Cli_lists_and_shows_contests_through_the_admin_api()
    {
        var (_, c, _) = await ContestSetup.CreateViaApiAsync(f.Admin, f.LockTime);
        var env = new Dictionary<string, string> { ["FAIRWAY_API_URL"] = f.Api.BaseUrl.ToString(), ["FAIRWAY_API_TOKEN"] = TestAuth.Admin };
        var (exit, stdout, _) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["contests", "list", "--state", "SCHEDULED", "--limit", "200"], env);
        Assert.Equal(0, exit);
        Assert.Contains($"\"id\": \"{c}\"", stdout);
        (exit, stdout, _) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["contests", "show", c], env);
        Assert.Equal(0, exit);
        Assert.Contains("\"state\": \"SCHEDULED\"", stdout);
        (exit, _, var stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["contests", "show", "no-such-contest"], env);
        Assert.Equal(1, exit);
        Assert.Contains("404", stderr);
    }
}
