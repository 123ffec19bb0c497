using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

[Collection(ApiAndWorkerCollection.Name)]
public sealed class TestClockTests(ApiAndWorkerFixture f)
{
    static async Task<DateTimeOffset> Now(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("now").GetDateTimeOffset();
    }

    [Fact]
    public async Task Clock_is_set_and_advanced_through_the_admin_api_and_every_move_is_audited()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var current = await Now(await http.GetAsync("/api/admin/test-clock"));
        var target = current.AddYears(1).AddTicks(-(current.Ticks % TimeSpan.TicksPerSecond));
        Assert.Equal(target, await Now(await http.PutAsJsonAsync("/api/admin/test-clock", new { now = target })));
        Assert.Equal(target.AddSeconds(90), await Now(await http.PostAsJsonAsync("/api/admin/test-clock/advance", new { seconds = 90 })));
        Assert.Equal(target.AddSeconds(90), await Now(await http.GetAsync("/api/admin/test-clock")));

        // Work done by the separate worker process reads the same clock.
        var probe = JsonDocument.Parse(await (await http.PostAsJsonAsync("/api/admin/jobs/probes", new { wait_seconds = 60 })).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(target.AddSeconds(90), probe.GetProperty("executed_at").GetDateTimeOffset());

        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        var rows = (await c.QueryAsync<(string Actor, string After)>(
            "SELECT actor, after_state::text FROM audit_events WHERE action = 'test_clock.moved' ORDER BY id")).ToList();
        Assert.Contains(rows, r => r.Actor == "admin:ops-1" && r.After.Contains(target.AddSeconds(90).ToString("yyyy-MM-ddTHH:mm:ss")));
    }

    [Fact]
    public async Task Recurring_jobs_come_due_on_the_hosts_clock_so_under_the_test_clock_they_run_on_simulated_time()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        async Task<DateTimeOffset?> LastRun(string id)
        {
            var jobs = JsonDocument.Parse(await http.GetStringAsync("/api/admin/jobs/recurring")).RootElement;
            var job = jobs.EnumerateArray().Single(j => j.GetProperty("id").GetString() == id);
            return job.GetProperty("last_execution").ValueKind == JsonValueKind.Null ? null
                : new DateTimeOffset(DateTime.SpecifyKind(job.GetProperty("last_execution").GetDateTime(), DateTimeKind.Utc));
        }
        var current = await Now(await http.GetAsync("/api/admin/test-clock"));
        // Years ahead of real time: only a scheduler reading the test clock can see the every-minute jobs due there.
        var target = current.AddYears(2);
        await http.PutAsJsonAsync("/api/admin/test-clock", new { now = target });
        await Wait.UntilAsync(async () => await LastRun("contest-lifecycle-clock") >= target, "the lifecycle clock ran at the simulated instant", 60);
        // With the clock standing still, the schedulers run every job due there once; then none is due (what the main job's
        // clock driver reads in jobs/stats), and the full list agrees: every next execution is after the clock.
        async Task<string[]> Due() => JsonDocument.Parse(await http.GetStringAsync("/api/admin/jobs/stats")).RootElement
            .GetProperty("recurring_due").EnumerateArray().Select(d => d.GetString()!).ToArray();
        await Wait.UntilAsync(async () => (await Due()).Length == 0, "no recurring job left due at the simulated instant", 60);
        var all = JsonDocument.Parse(await http.GetStringAsync("/api/admin/jobs/recurring")).RootElement.EnumerateArray().ToList();
        Assert.NotEmpty(all);
        Assert.All(all, j => Assert.True(j.GetProperty("next_execution").GetDateTime() > target.UtcDateTime, j.GetRawText()));
        await http.PostAsJsonAsync("/api/admin/test-clock/advance", new { seconds = 3 * 3600 });
        await Wait.UntilAsync(async () => await LastRun("contest-lifecycle-clock") >= target.AddHours(3), "and again three simulated hours later", 60);
        Assert.True(await LastRun("contest-lifecycle-clock") < target.AddHours(3).AddMinutes(1));
    }

    [Fact]
    public async Task Job_stats_count_a_job_while_it_is_processing_and_once_it_succeeded()
    {
        // What the main job's clock driver waits on (nothing enqueued or processing) must see a running job.
        using var http = f.Api.Client(TestAuth.Admin);
        async Task<JsonElement> Stats() => JsonDocument.Parse(await http.GetStringAsync("/api/admin/jobs/stats")).RootElement;
        var before = (await Stats()).GetProperty("succeeded").GetInt64();
        var probe = JsonDocument.Parse(await (await http.PostAsJsonAsync("/api/admin/jobs/probes", new { delay_ms = 5000, wait_seconds = 0 })).Content.ReadAsStringAsync()).RootElement;
        await Wait.UntilAsync(async () => (await Stats()).GetProperty("processing").GetInt64() >= 1, "the slow probe counted as processing", 30);
        var id = probe.GetProperty("probe_id").GetString();
        await Wait.UntilAsync(async () => JsonDocument.Parse(await http.GetStringAsync($"/api/admin/jobs/probes/{id}")).RootElement.GetProperty("status").GetString() == "executed", "the probe executed", 60);
        await Wait.UntilAsync(async () => (await Stats()).GetProperty("succeeded").GetInt64() > before, "then counted as succeeded", 30);
        Assert.True((await Stats()).GetProperty("servers").GetInt64() >= 1);
    }

    [Fact]
    public async Task Clock_never_moves_backwards()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var r = await http.PutAsJsonAsync("/api/admin/test-clock", new { now = "2001-01-01T00:00:00Z" });
        Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
        Assert.Contains("CLOCK_BACKWARDS", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Clock_routes_do_not_exist_when_the_test_clock_is_disabled()
    {
        using var api = await FairwayHostProcess.StartAsync("api", await TestDatabases.CreateMigratedAsync());
        using var http = api.Client(TestAuth.Admin);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/admin/test-clock")).StatusCode);
    }
}
