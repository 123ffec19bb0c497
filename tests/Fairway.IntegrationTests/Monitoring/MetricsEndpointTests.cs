using System.Net;
using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Monitoring;

/// <summary>
/// What Prometheus can scrape: every metric an alert rule reads is exported by a freshly started api and worker (before
/// anything happened), /metrics is served only on FAIRWAY_METRICS_LISTEN_URL when that is set (the public port answers
/// 404, the metrics port serves nothing else), and production refuses to start without a separate metrics listener.
/// </summary>
public sealed class MetricsEndpointTests
{
    static async Task<(FairwayHostProcess Host, Uri Metrics)> StartAsync(string role, string db)
    {
        var port = PostgresCluster.FreePort();
        var host = await FairwayHostProcess.StartAsync(role, db, env => env["FAIRWAY_METRICS_LISTEN_URL"] = $"http://127.0.0.1:{port}");
        return (host, new Uri($"http://127.0.0.1:{port}"));
    }

    /// <summary>Family names from # TYPE lines, with the series names Prometheus stores for histograms and summaries.</summary>
    static IEnumerable<string> Families(string exposition)
    {
        foreach (Match m in Regex.Matches(exposition, @"^# TYPE (?<name>\S+) (?<type>\S+)$", RegexOptions.Multiline))
        {
            var name = m.Groups["name"].Value;
            yield return name;
            if (m.Groups["type"].Value is "histogram" or "summary")
                foreach (var suffix in new[] { "_bucket", "_sum", "_count" }) yield return name + suffix;
        }
    }

    [Fact]
    public async Task Every_metric_the_alert_rules_read_is_exported_by_a_fresh_host()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        var (api, apiMetrics) = await StartAsync("api", db);
        var (worker, workerMetrics) = await StartAsync("worker", db);
        using (api)
        using (worker)
        using (var http = new HttpClient())
        {
            var exported = new HashSet<string>(StringComparer.Ordinal);
            foreach (var uri in new[] { apiMetrics, workerMetrics })
                exported.UnionWith(Families(await http.GetStringAsync(new Uri(uri, "/metrics"))));
            // Written by Prometheus itself for every target, not by the host.
            exported.Add("up");

            var rules = AlertRules.LoadAll();
            var recorded = rules.Where(r => r.Record is not null).Select(r => r.Record!).ToHashSet(StringComparer.Ordinal);
            var used = rules.SelectMany(r => AlertRules.Queries(r).SelectMany(AlertRules.MetricNames).Select(m => (Rule: r.Alert ?? r.Record!, Metric: m))).ToList();
            Assert.True(used.Count > 30, $"the rules read only {used.Count} metrics: the reader is broken");
            var missing = used.Where(u => !exported.Contains(u.Metric) && !recorded.Contains(u.Metric)).Select(u => $"{u.Rule} reads {u.Metric}, which the host does not export").Distinct().ToList();
            Assert.True(missing.Count == 0, string.Join('\n', missing));
            // And the check can fail: a rule reading a name the host does not export is reported.
            Assert.DoesNotContain("ingestion_lag_seconds_typo", exported);
        }
    }

    [Fact]
    public async Task Metrics_are_served_only_on_their_own_listener()
    {
        var (api, metrics) = await StartAsync("api", await TestDatabases.CreateMigratedAsync());
        using (api)
        using (var http = new HttpClient())
        {
            var onMetricsPort = await http.GetAsync(new Uri(metrics, "/metrics"));
            Assert.Equal(HttpStatusCode.OK, onMetricsPort.StatusCode);
            Assert.Contains("database_up 1", await onMetricsPort.Content.ReadAsStringAsync());
            // The public port does not serve metrics, even with a forged Host header naming the metrics port.
            using var forged = new HttpRequestMessage(HttpMethod.Get, new Uri(api.BaseUrl, "/metrics"));
            forged.Headers.Host = $"127.0.0.1:{metrics.Port}";
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(forged)).StatusCode);
            // The metrics port serves nothing but /metrics.
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri(metrics, "/readyz"))).StatusCode);
            using var admin = new HttpRequestMessage(HttpMethod.Get, new Uri(metrics, "/api/admin/kill-switch"));
            admin.Headers.Authorization = new("Bearer", TestAuth.Admin);
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(admin)).StatusCode);
            // The public port still serves the API.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(api.BaseUrl, "/readyz"))).StatusCode);
        }
    }

    [Fact]
    public async Task Production_refuses_to_start_without_a_separate_metrics_listener()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        var env = FairwayHostProcess.Environment(db, PostgresCluster.FreePort());
        env["FAIRWAY_PRODUCTION"] = "true";
        var (exit, _, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.HostDll, ["--role", "api"], env);
        Assert.Equal(2, exit);
        Assert.Contains("FAIRWAY_METRICS_LISTEN_URL: required when FAIRWAY_PRODUCTION=true", stderr);

        env["FAIRWAY_METRICS_LISTEN_URL"] = env["FAIRWAY_LISTEN_URL"];
        (exit, _, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.HostDll, ["--role", "api"], env);
        Assert.Equal(2, exit);
        Assert.Contains("FAIRWAY_METRICS_LISTEN_URL: must use a different port than FAIRWAY_LISTEN_URL", stderr);
    }
}
