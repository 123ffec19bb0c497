using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

[Collection(ApiAndWorkerCollection.Name)]
public sealed class TelemetryTests(ApiAndWorkerFixture f)
{
    static bool IsJsonWith(string line, string property, string value)
    {
        try { return JsonDocument.Parse(line).RootElement.TryGetProperty(property, out var p) && p.GetString() == value; }
        catch (JsonException) { return false; }
    }

    [Fact]
    public async Task Request_and_the_job_it_enqueued_log_json_with_the_same_correlation_id()
    {
        var correlation = "test-" + Guid.NewGuid().ToString("N")[..12];
        using var http = f.Api.Client(TestAuth.Admin);
        http.DefaultRequestHeaders.Add("X-Correlation-Id", correlation);
        var r = await http.PostAsJsonAsync("/api/admin/jobs/probes", new { wait_seconds = 60 });
        Assert.Equal(correlation, r.Headers.GetValues("X-Correlation-Id").Single());

        // The API's request log line and the worker's job log lines carry the caller's id.
        await f.Api.Process.WaitForOutputAsync(l => IsJsonWith(l, "CorrelationId", correlation), TimeSpan.FromSeconds(10));
        var jobLine = await f.Worker.Process.WaitForOutputAsync(l => IsJsonWith(l, "CorrelationId", correlation) && l.Contains("Job probe"), TimeSpan.FromSeconds(10));
        Assert.Equal("worker", JsonDocument.Parse(jobLine).RootElement.GetProperty("Role").GetString());
    }

    [Fact]
    public async Task Unacceptable_correlation_ids_are_replaced()
    {
        using var http = f.Api.Client();
        http.DefaultRequestHeaders.TryAddWithoutValidation("X-Correlation-Id", "bad id with spaces\" and quotes");
        var r = await http.GetAsync("/healthz");
        var id = r.Headers.GetValues("X-Correlation-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", id);
    }

    [Fact]
    public async Task Metrics_expose_http_and_process_series()
    {
        using var http = f.Api.Client();
        await http.GetAsync("/healthz");
        var text = await http.GetStringAsync("/metrics");
        Assert.Contains("http_requests_received_total", text);
        Assert.Contains("process_cpu_seconds_total", text);
        using var worker = f.Worker.Client();
        Assert.Contains("process_cpu_seconds_total", await worker.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Worker_serves_no_api()
    {
        using var http = f.Worker.Client(TestAuth.Player());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/me")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/admin/jobs")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
    }
}
