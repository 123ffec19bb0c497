using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>SIGTERM on real processes: in-flight work finishes, then the process exits 0.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_during_an_inflight_request_and_an_inflight_job_lets_both_finish_then_exits_0()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db);
        using var worker = await FairwayHostProcess.StartAsync("worker", db);
        using var http = api.Client(TestAuth.Admin);

        // The request waits for a job that works for 4 s: both are in flight when SIGTERM arrives.
        var request = http.PostAsJsonAsync("/api/admin/jobs/probes", new { delay_ms = 4000, wait_seconds = 30 });
        await worker.Process.WaitForOutputAsync(l => l.Contains("Job probe") && l.Contains("running"), TimeSpan.FromSeconds(20));
        api.Process.SendSigterm();
        worker.Process.SendSigterm();

        var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("executed", body.GetProperty("status").GetString());
        Assert.Equal(worker.Process.Pid, body.GetProperty("executed_by_pid").GetInt32());

        Assert.Equal(0, await api.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(worker.Process.Stdout, l => l.Contains("Fairway host stopped cleanly"));
    }

    [Fact]
    public async Task Sigterm_when_idle_exits_0_promptly()
    {
        using var host = await FairwayHostProcess.StartAsync("all", await TestDatabases.CreateMigratedAsync());
        host.Process.SendSigterm();
        Assert.Equal(0, await host.Process.WaitForExitAsync(TimeSpan.FromSeconds(25)));
    }
}
