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
