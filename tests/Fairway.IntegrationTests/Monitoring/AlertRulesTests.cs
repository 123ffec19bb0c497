using System.Text.RegularExpressions;
using Fairway.Host.Operations.Runbooks;
using Fairway.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Fairway.IntegrationTests.Monitoring;

/// <summary>
/// infra/monitoring: the alert rules pass Prometheus's own checks and unit tests (every alert shown firing and not
/// firing), read only metrics a real Fairway host exports, and each names an existing runbook that names it back;
/// the Prometheus and Alertmanager configurations are valid for their own tools.
/// </summary>
public sealed class AlertRulesTests
{
    [Fact]
    public void Promtool_checks_the_rules_and_their_unit_tests_pass()
    {
        var (checkExit, checkOut) = AlertRules.Tool("promtool", AlertRules.Dir, "check", "rules", "alerts.yml", "alerts.pending.yml");
        Assert.True(checkExit == 0, checkOut);
        var (testExit, testOut) = AlertRules.Tool("promtool", AlertRules.Dir, ["test", "rules", .. AlertRules.TestFiles]);
        Assert.True(testExit == 0, testOut);
        Assert.Equal(AlertRules.TestFiles.Length, Regex.Matches(testOut, "SUCCESS").Count);
    }

    [Fact]
    public void Every_alert_is_unit_tested_both_firing_and_not_firing()
    {
        var firing = new HashSet<string>(StringComparer.Ordinal);
        var quiet = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in AlertRules.TestFiles)
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(Path.Combine(AlertRules.Dir, file))) yaml.Load(reader);
            foreach (YamlMappingNode test in (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["tests"])
                if (test.Children.TryGetValue(new YamlScalarNode("alert_rule_test"), out var cases))
                    foreach (YamlMappingNode c in (YamlSequenceNode)cases)
                    {
                        var name = ((YamlScalarNode)c["alertname"]).Value!;
                        var expected = (YamlSequenceNode)c["exp_alerts"];
                        (expected.Children.Count > 0 ? firing : quiet).Add(name);
                    }
        }
        var alerts = AlertRules.LoadAll().Where(r => r.Alert is not null).Select(r => r.Alert!).ToList();
        Assert.True(alerts.Count >= 28, $"only {alerts.Count} alerts");
        Assert.Equal(alerts.Count, alerts.Distinct().Count());
        Assert.Empty(alerts.Where(a => !firing.Contains(a)).Select(a => $"{a} is never shown firing"));
        Assert.Empty(alerts.Where(a => !quiet.Contains(a)).Select(a => $"{a} is never shown not firing"));
        Assert.Empty(firing.Concat(quiet).Except(alerts).Select(a => $"the unit tests name an alert that does not exist: {a}"));
    }

    [Fact]
    public void Every_alert_has_severity_summary_description_and_a_runbook_that_names_it()
    {
        var runbooks = Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs", "runbooks"), "*.md")
            .Select(File.ReadAllText).Where(t => t.StartsWith("---", StringComparison.Ordinal))
            .Select(t => RunbookDocument.Parse(t, "runbook")).ToDictionary(r => r.Id);
        var problems = new List<string>();
        var alerts = AlertRules.Load().Where(r => r.Alert is not null).ToList();
        foreach (var a in alerts)
        {
            if (!a.Labels.TryGetValue("severity", out var severity) || severity is not ("critical" or "warning" or "info")) problems.Add($"{a.Alert}: severity must be critical, warning or info");
            foreach (var key in new[] { "summary", "description", "runbook_url" })
                if (!a.Annotations.TryGetValue(key, out var v) || v.Trim().Length == 0) problems.Add($"{a.Alert}: annotation {key} is missing");
            if (!a.Annotations.TryGetValue("runbook_url", out var url)) continue;
            var m = Regex.Match(url, "^docs/runbooks/(?<id>[a-z0-9-]+)\\.md$");
            if (!m.Success) { problems.Add($"{a.Alert}: runbook_url '{url}' is not docs/runbooks/<id>.md"); continue; }
            if (!runbooks.TryGetValue(m.Groups["id"].Value, out var runbook)) problems.Add($"{a.Alert}: runbook {url} does not exist");
            else if (!runbook.Alerts.Contains(a.Alert!)) problems.Add($"{a.Alert}: runbook {url} does not list it under alerts:");
        }
        var names = alerts.Select(a => a.Alert!).ToHashSet();
        foreach (var r in runbooks.Values)
            foreach (var alert in r.Alerts.Where(x => !names.Contains(x)))
                problems.Add($"runbook {r.Id} names alert {alert}, which is not a rule of alerts.yml");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Prometheus_and_alertmanager_configurations_are_valid()
    {
        var (promExit, promOut) = AlertRules.Tool("promtool", AlertRules.Dir, "check", "config", "prometheus.yml");
        Assert.True(promExit == 0, promOut);
        Assert.Contains("1 rule files found", promOut);
        // The deployed path of the templates is /etc/alertmanager/templates; check the repository's copies.
        var config = File.ReadAllText(Path.Combine(AlertRules.Dir, "alertmanager.yml"))
            .Replace("/etc/alertmanager/templates/", Path.Combine(AlertRules.Dir, "templates") + "/");
        var temp = Path.Combine(Directory.CreateTempSubdirectory("fairway-am.").FullName, "alertmanager.yml");
        File.WriteAllText(temp, config);
        var (amExit, amOut) = AlertRules.Tool("amtool", AlertRules.Dir, "check-config", temp);
        Assert.True(amExit == 0, amOut);
        Assert.Contains("3 inhibit rules", amOut);
        // The inhibition this deployment relies on: while the kill-switch is engaged, its consequences do not page.
        Assert.Contains("source_matchers: ['alertname=\"KillSwitchEngaged\"']", config);
        var moneyPath = AlertRules.LoadAll().Where(r => r.Labels.GetValueOrDefault("money_path") == "true").Select(r => r.Alert).ToList();
        Assert.Contains("SettlementFailed", moneyPath);
        Assert.Contains("PayoutTransfersStuck", moneyPath);
        Assert.DoesNotContain("LedgerInvariantViolation", moneyPath);
    }

    [Fact]
    public void The_metric_name_reader_finds_metrics_and_nothing_else()
    {
        Assert.Equal(["job_failures_total"], AlertRules.MetricNames("sum by (job_name) (increase(job_failures_total[30m])) > 3 or sum by (job_name) (job_failures_total unless job_failures_total offset 30m) > 3").Order());
        Assert.Equal(["payout_transfers_total"], AlertRules.MetricNames("sum(increase(payout_transfers_total{outcome=\"retryable\"}[15m])) / clamp_min(sum(increase(payout_transfers_total[15m])), 1) > 0.05").Order());
        Assert.Equal(["fairway:http_requests_error_ratio:30d"], AlertRules.MetricNames("1 - fairway:http_requests_error_ratio:30d / (1 - 0.999)").Order());
        Assert.Equal(["up"], AlertRules.MetricNames("up{job=~\"fairway-api|fairway-worker\"} == 0").Order());
    }
}
