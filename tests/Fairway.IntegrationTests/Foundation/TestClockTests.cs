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
