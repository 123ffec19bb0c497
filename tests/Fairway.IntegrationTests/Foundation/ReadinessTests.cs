using System.Net;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;

namespace Fairway.IntegrationTests.Foundation;

public sealed class ReadinessTests
{
    [Fact]
    public async Task Readyz_turns_503_naming_the_database_when_postgres_stops_and_200_again_when_it_returns()
    {
        // A private cluster: stopping it must not disturb other tests.
        using var cluster = PostgresCluster.Start();
        var url = await TestDatabases.CreateEmptyAsync(cluster.AdminUrl);
        SchemaMigrator.MigrateUp(TestDatabases.ConnectionString(url));
        using var host = await FairwayHostProcess.StartAsync("all", url);
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
        using var cluster = PostgresCluster.Start();
        var url = await TestDatabases.CreateEmptyAsync(cluster.AdminUrl);
        SchemaMigrator.MigrateUp(TestDatabases.ConnectionString(url));
        using var host = await FairwayHostProcess.StartAsync("all", url);
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
