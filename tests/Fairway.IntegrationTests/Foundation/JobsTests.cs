using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

[Collection(ApiAndWorkerCollection.Name)]
public sealed class JobsTests(ApiAndWorkerFixture f)
{
    [Fact]
    public async Task Job_enqueued_by_the_api_process_runs_in_the_separate_worker_process()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var r = await http.PostAsJsonAsync("/api/admin/jobs/probes", new { wait_seconds = 60 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("executed", body.GetProperty("status").GetString());
        Assert.Equal(f.Api.Process.Pid, body.GetProperty("requested_by_pid").GetInt32());
        Assert.Equal(f.Worker.Process.Pid, body.GetProperty("executed_by_pid").GetInt32());
        Assert.NotEqual(f.Api.Process.Pid, f.Worker.Process.Pid);
    }

    [Fact]
    public async Task Api_role_runs_no_jobs_itself()
    {
        // An API process alone on a database: the probe stays pending because no worker exists.
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db);
        using var http = api.Client(TestAuth.Admin);
        var r = await http.PostAsJsonAsync("/api/admin/jobs/probes", new { wait_seconds = 4 });
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        Assert.Equal("pending", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Invalid_probe_request_is_a_validation_problem_listing_each_field()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var r = await http.PostAsJsonAsync("/api/admin/jobs/probes", new { delay_ms = -1, wait_seconds = 1000 });
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var p = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("VALIDATION_FAILED", p.GetProperty("code").GetString());
        var fields = p.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).Order().ToArray();
        Assert.Equal(["delay_ms", "wait_seconds"], fields);
    }

    [Fact]
    public async Task Unknown_members_and_numbers_as_strings_are_rejected_not_coerced()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        foreach (var json in new[] { """{"delay_ms": "5"}""", """{"delayy_ms": 5}""", """{"delay_ms": 5.5}""", "{not json" })
        {
            var r = await http.PostAsync("/api/admin/jobs/probes", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }
    }
}
