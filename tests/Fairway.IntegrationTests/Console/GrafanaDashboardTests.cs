using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.Host.Operations.Alerts;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;
using YamlDotNet.RepresentationModel;

namespace Fairway.IntegrationTests.Console;

/// <summary>
/// Seed 001's four Grafana dashboards (infra/monitoring/grafana): provisioned by the prod compose file, every panel
/// on the provisioned Prometheus datasource with a runbook link, and every metric a panel queries exported by a real
/// API or worker process of this build.
/// </summary>
public sealed class GrafanaDashboardTests
{
    static readonly string Grafana = Path.Combine(RepoPaths.Root, "infra", "monitoring", "grafana");

    /// <summary>Series Prometheus itself creates (not exported by Fairway): alert state and scrape health.</summary>
    static readonly HashSet<string> PrometheusSeries = ["ALERTS", "up"];

    static readonly HashSet<string> Keywords = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"];

    sealed record Panel(string Dashboard, string Title, string DatasourceUid, IReadOnlyList<string> Exprs, IReadOnlyList<string> Links);

    static List<(string File, JsonElement Json)> Dashboards() =>
        Directory.GetFiles(Path.Combine(Grafana, "dashboards"), "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), JsonDocument.Parse(File.ReadAllText(f)).RootElement)).ToList();

    static List<Panel> Panels() => Dashboards().SelectMany(d => d.Json.GetProperty("panels").EnumerateArray().Select(p => new Panel(
        d.File, p.GetProperty("title").GetString()!, p.GetProperty("datasource").GetProperty("uid").GetString()!,
        p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!).ToList(),
        p.TryGetProperty("links", out var l) ? l.EnumerateArray().Select(x => x.GetProperty("url").GetString()!).ToList() : []))).ToList();

    static YamlMappingNode Yaml(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    static YamlNode At(YamlNode node, params object[] path)
    {
        foreach (var step in path)
            node = step is int i ? ((YamlSequenceNode)node).Children[i] : ((YamlMappingNode)node).Children[new YamlScalarNode((string)step)];
        return node;
    }

    [Fact]
    public void The_four_dashboards_of_seed_001_are_provisioned_by_the_prod_compose_file_on_the_provisioned_datasource_with_runbook_links()
    {
        var dashboards = Dashboards();
        Assert.Equal(["Fairway · Audit trail", "Fairway · Contest status", "Fairway · Error trends", "Fairway · Operational"],
            dashboards.Select(d => d.Json.GetProperty("title").GetString()).Order(StringComparer.Ordinal));
        Assert.Equal(dashboards.Count, dashboards.Select(d => d.Json.GetProperty("uid").GetString()).Distinct().Count());

        var datasource = At(Yaml(Path.Combine(Grafana, "provisioning", "datasources", "fairway.yml")), "datasources", 0);
        var uid = ((YamlScalarNode)At(datasource, "uid")).Value;
        Assert.Equal("prometheus", ((YamlScalarNode)At(datasource, "type")).Value);
        var providerPath = ((YamlScalarNode)At(Yaml(Path.Combine(Grafana, "provisioning", "dashboards", "fairway.yml")), "providers", 0, "options", "path")).Value;

        // The compose file mounts exactly these directories where the provisioning files say.
        var compose = Path.Combine(RepoPaths.Root, "infra", "compose", "docker-compose.prod.yml");
        var volumes = ((YamlSequenceNode)At(Yaml(compose), "services", "grafana", "volumes")).Children.Select(v => ((YamlScalarNode)v).Value!).ToList();
        string Mounted(string target) => Assert.Single(volumes, v => v.Split(':')[1] == target).Split(':')[0];
        Assert.Equal(Path.Combine(Grafana, "provisioning"), Path.GetFullPath(Path.Combine(Path.GetDirectoryName(compose)!, Mounted("/etc/grafana/provisioning"))));
        Assert.Equal(Path.Combine(Grafana, "dashboards"), Path.GetFullPath(Path.Combine(Path.GetDirectoryName(compose)!, Mounted(providerPath!))));

        var runbooks = Directory.Exists(Path.Combine(RepoPaths.Root, "docs", "runbooks"))
            ? Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs", "runbooks"), "*.md").Select(Path.GetFileNameWithoutExtension).ToHashSet() : [];
        // Runbooks named by the alert rules that wait for them (alerts.pending.yml): the agreed names of runbooks not written yet.
        var pending = Path.Combine(RepoPaths.Root, "infra", "monitoring", "alerts.pending.yml");
        var awaited = File.Exists(pending) ? AlertPreview.ParseRules(pending, File.ReadAllText(pending)).Select(r => r.Runbook).OfType<string>().ToHashSet() : [];
        foreach (var p in Panels())
        {
            Assert.True(p.DatasourceUid == uid, $"{p.Dashboard} / {p.Title}: datasource {p.DatasourceUid} is not the provisioned {uid}");
            Assert.True(p.Exprs.Count > 0 && p.Exprs.All(e => e.Length > 0), $"{p.Dashboard} / {p.Title}: no query");
            var linked = p.Links.Select(l => Regex.Match(l, @"^\$\{console_url\}/admin/#/runbooks/([a-z0-9-]+)$")).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
            Assert.True(linked.Count > 0, $"{p.Dashboard} / {p.Title}: no runbook link");
            // Once the repository has runbooks, every link must name one of them, or one an alert rule waits for.
            if (runbooks.Count > 0)
                foreach (var r in linked)
                    Assert.True(runbooks.Contains(r) || awaited.Contains(r), $"{p.Dashboard} / {p.Title}: links runbook '{r}', which docs/runbooks does not have and no pending alert rule names");
        }
    }

    /// <summary>The metric names a PromQL expression selects (not functions, keywords, label names or durations).</summary>
    public static IReadOnlyList<string> MetricNames(string expr)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var s = Regex.Replace(expr, "\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"");     // strings
        s = Regex.Replace(s, @"\{[^}]*\}", "{}");                            // label matchers
        s = Regex.Replace(s, @"\[[^\]]*\]", "[]");                           // ranges
        s = Regex.Replace(s, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "$1()"); // grouping labels
        foreach (Match m in Regex.Matches(s, @"[A-Za-z_:][A-Za-z0-9_:]*"))
        {
            var after = s[(m.Index + m.Length)..].TrimStart();
            // A function call or an aggregation (sum by (…) (…)) is not a metric.
            if (after.StartsWith('(') || Regex.IsMatch(after, @"^(by|without)\b") || Keywords.Contains(m.Value.ToLowerInvariant())) continue;
            if (m.Index > 0 && char.IsDigit(s[m.Index - 1])) continue; // the unit of a number like 1e3
            names.Add(m.Value);
        }
        return names.ToList();
    }

    [Fact]
    public void Metric_names_are_taken_from_queries_and_not_from_functions_labels_or_ranges()
    {
        Assert.Equal(["a_total", "b"], MetricNames("sum by (x, y) (increase(a_total{le=\"0.5\", z=~\"q|w\"}[5m])) / on (x) max(b) > 0.001"));
        Assert.Equal(["c_bucket"], MetricNames("histogram_quantile(0.95, sum by (le) (rate(c_bucket[1h])))"));
        Assert.Equal(["ALERTS"], MetricNames("ALERTS{alertstate=\"firing\"} or vector(0)"));
    }

    [Fact]
    public async Task Every_panel_queries_metrics_a_real_api_or_worker_process_exports()
    {
        // A fresh deployment that has done nothing but seed one contest: every family must be there from the first scrapes.
        await using var w = await MoneyOutWorld.StartAsync();
        await w.SeedCompleteContestAsync(2);

        var scrapes = new List<MetricScrape>();
        foreach (var process in w.Workers.Prepend(w.Api))
        {
            using var http = process.Client();
            scrapes.Add(MetricScrape.Parse(await http.GetStringAsync("/metrics")));
        }
        var missing = new List<string>();
        foreach (var p in Panels())
            foreach (var name in p.Exprs.SelectMany(MetricNames).Distinct())
                if (!PrometheusSeries.Contains(name) && scrapes.All(x => x.FamilyOf(name) is null))
                    missing.Add($"{p.Dashboard} / {p.Title}: {name}");
        Assert.True(missing.Count == 0, "panels query metrics no Fairway process exports:\n" + string.Join('\n', missing));
        // The check has teeth: a misspelt metric is caught.
        Assert.All(scrapes, x => Assert.Null(x.FamilyOf("kill_switch_engagedd")));
        Assert.Contains(scrapes, x => x.FamilyOf("contests_by_state") is not null && x.Samples.Any(m => m.Name == "contests_by_state" && m.Labels["state"] == "COMPLETE" && m.Value >= 1));
    }
}
