using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.Host.Platform.Jobs;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;

namespace Fairway.IntegrationTests.Foundation;

public sealed class ReadinessTests
{
    [Fact]
    public async Task Readyz_turns_503_naming_the_database_when_postgres_stops_and_200_again_when_it_returns()
    {
        using var d = await PrivateDeployment.StartAsync();
        var (cluster, host) = (d.Cluster, d.Host);
        using var http = host.Client();

        var ready = JsonDocument.Parse(await http.GetStringAsync("/readyz")).RootElement;
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("schema").GetProperty("status").GetString());
        Assert.Equal("ok", ready.GetProperty("checks").GetProperty("job_storage").GetProperty("status").GetString());

        cluster.StopServer();
        var down = await PollAsync(http, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("not_ready", down.GetProperty("status").GetString());
        Assert.Equal("failed", down.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Contains("database unreachable", down.GetProperty("checks").GetProperty("database").GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        cluster.StartServer();
        var up = await PollAsync(http, HttpStatusCode.OK);
        Assert.Equal("ready", up.GetProperty("status").GetString());
        Assert.False(host.Process.HasExited);
    }

    [Fact]
    public async Task After_a_database_restart_requests_never_fail_with_500_and_work_again_at_once()
    {
        using var d = await PrivateDeployment.StartAsync();
        var (cluster, host) = (d.Cluster, d.Host);
        using var admin = host.Client(TestAuth.Admin);
        // Fill the pools with connections that the restart will kill.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => admin.GetAsync("/api/admin/contests")));

        cluster.StopServer();
        cluster.StartServer();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            var r = await admin.GetAsync("/api/admin/contests");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.Contains("DATABASE_UNAVAILABLE", await r.Content.ReadAsStringAsync());
                Assert.NotNull(r.Headers.RetryAfter);
            }
        }
        Assert.DoesNotContain(HttpStatusCode.InternalServerError, statuses);
        // At most the first request meets a dead connection: the pools are cleared on it.
        Assert.True(statuses.Skip(1).All(s => s == HttpStatusCode.OK), string.Join(", ", statuses));
    }

    [Fact]
    public async Task During_a_database_outage_the_job_server_tries_again_every_few_seconds_and_runs_jobs_once_it_is_back()
    {
        using var d = await PrivateDeployment.StartAsync();
        var (cluster, host) = (d.Cluster, d.Host);
        using var admin = host.Client(TestAuth.Admin);

        cluster.StopServer();
        // Hangfire reports a process that has kept failing for 15 s, with how long it waits before its next try. Its own
        // delay grows with the square of the failures (25 s by then, minutes later on); Fairway bounds it.
        var failed = await host.Process.WaitForOutputAsync(l => l.Contains("in the Failed state now", StringComparison.Ordinal), TimeSpan.FromSeconds(90));
        var next = Regex.Match(failed, @"retried in no more than (?<d>\d\d:\d\d:\d\d(\.\d+)?)");
        Assert.True(next.Success, failed);
        Assert.InRange(TimeSpan.Parse(next.Groups["d"].Value, CultureInfo.InvariantCulture), TimeSpan.FromSeconds(1), JobsSetup.MaxProcessRetryDelay);

        cluster.StartServer();
        // A job enqueued once the database is back is run by the same (never restarted) server; the first request may
        // meet a connection the outage killed and be answered 503 (the pools are cleared on it).
        HttpResponseMessage probe = null!;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            probe = await admin.PostAsJsonAsync("/api/admin/jobs/probes", new { wait_seconds = 60 });
            if (probe.StatusCode != HttpStatusCode.ServiceUnavailable) break;
        }
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Assert.Equal("executed", JsonDocument.Parse(await probe.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.False(host.Process.HasExited);
    }

    /// <summary>A private cluster (stopping it must not disturb other tests) with one migrated database and a host of role "all".</summary>
    sealed record PrivateDeployment(PostgresCluster Cluster, FairwayHostProcess Host) : IDisposable
    {
        public static async Task<PrivateDeployment> StartAsync()
        {
            var cluster = PostgresCluster.Start();
            var url = await TestDatabases.CreateEmptyAsync(cluster.AdminUrl);
            SchemaMigrator.MigrateUp(TestDatabases.ConnectionString(url));
            return new PrivateDeployment(cluster, await FairwayHostProcess.StartAsync("all", url));
        }

        public void Dispose() { Host.Dispose(); Cluster.Dispose(); }
    }

    static async Task<JsonElement> PollAsync(HttpClient http, HttpStatusCode wanted)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            var r = await http.GetAsync("/readyz");
            if (r.StatusCode == wanted) return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            await Task.Delay(250);
        }
        throw new TimeoutException($"/readyz never became {wanted}");
    }
}
