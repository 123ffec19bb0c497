using System.Net.Http.Json;
using System.Text.Json;
using Fairway.Host.Operations.Alerts;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Console;

/// <summary>
/// "Alerts that would fire now": Prometheus alert rules evaluated over one scrape of a real API process. The gauge
/// rules are evaluated as Prometheus would; rules that need history or per-process counters are refused, never guessed.
/// </summary>
public sealed class AlertPreviewTests
{
    const string Rules = """
        groups:
          - name: test
            rules:
              - alert: KillSwitchEngaged
                expr: max(kill_switch_engaged) == 1
                labels: { severity: critical }
                annotations: { summary: "kill-switch engaged ({{ $value }})", runbook_url: docs/runbooks/kill-switch-engaged.md }
              - alert: SettlementFailed
                expr: min(settlement_status) == 0
                annotations: { runbook_url: docs/runbooks/settlement-failed.md }
              - alert: NoContestIsLive
                expr: sum(contests_by_state{state="LIVE"}) == 0 and on() vector(1) == 1
              - alert: ScheduledContests
                expr: max by (state) (contests_by_state{state=~"SCHED.*"}) >= 0 unless max by (state) (contests_by_state{state="LIVE"}) > 100
                annotations: { summary: "{{ $labels.state }} contests: {{ $value }}" }
              - alert: ScoreAuditMismatch
                expr: sum(increase(score_audit_mismatches[1h])) > 0
              - alert: CountsPerProcess
                expr: sum(api_problems_total) > 0
              - alert: UnknownMetric
                expr: max(no_such_metric) > 0
              - record: not_an_alert
                expr: sum(kill_switch_engaged)
        """;

    static async Task<MetricScrape> ScrapeAsync(FairwayHostProcess api)
    {
        using var http = api.Client();
        return MetricScrape.Parse(await http.GetStringAsync("/metrics"));
    }

    static AlertView Eval(string alert, MetricScrape scrape)
    {
        var rule = Assert.Single(AlertPreview.ParseRules("test.yml", Rules), r => r.Alert == alert);
        return AlertPreview.Evaluate(rule, scrape, 0);
    }

    [Fact]
    public async Task Gauge_rules_are_evaluated_over_a_real_scrape_and_the_rest_is_left_to_prometheus()
    {
        using var api = await FairwayHostProcess.StartAsync("api", await TestDatabases.CreateMigratedAsync());
        using var admin = api.Client(TestAuth.Admin);
        (await admin.GetAsync("/api/admin/kill-switch")).EnsureSuccessStatusCode(); // a fresh deployment starts engaged
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.GetAsync("/api/admin/contests/no-such-contest")).StatusCode); // one problem answered
        var scrape = await ScrapeAsync(api);

        Assert.Equal(7, AlertPreview.ParseRules("test.yml", Rules).Count); // the recording rule is not an alert
        var ks = Eval("KillSwitchEngaged", scrape);
        Assert.Equal((null, 1.0), (ks.NotEvaluableBecause, Assert.Single(ks.Samples).Value));
        Assert.Equal(("critical", "kill-switch engaged (1)", "kill-switch-engaged"), (ks.Severity, ks.Summary, ks.Runbook));
        Assert.Empty(Eval("SettlementFailed", scrape).Samples);
        Assert.Null(Eval("SettlementFailed", scrape).NotEvaluableBecause);
        var scheduled = Eval("ScheduledContests", scrape);
        Assert.Equal(("SCHEDULED", 0.0), (Assert.Single(scheduled.Samples).Labels["state"], scheduled.Samples[0].Value));
        Assert.Equal("SCHEDULED contests: 0", scheduled.Summary);

        Assert.Contains("on", Eval("NoContestIsLive", scrape).NotEvaluableBecause);
        Assert.Contains("history", Eval("ScoreAuditMismatch", scrape).NotEvaluableBecause);
        Assert.Contains("counter", Eval("CountsPerProcess", scrape).NotEvaluableBecause);
        Assert.Contains("not exported", Eval("UnknownMetric", scrape).NotEvaluableBecause);

        // Disengaged through the admin API: the next scrape no longer fires it.
        (await admin.PutAsJsonAsync("/api/admin/kill-switch", new { engaged = false, reason = "alert preview test" })).EnsureSuccessStatusCode();
        Assert.Empty(Eval("KillSwitchEngaged", await ScrapeAsync(api)).Samples);

        // The admin route evaluates exactly the rule files Prometheus loads (prometheus.yml's rule_files, embedded at build time).
        var report = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/alerts")).RootElement;
        var monitoring = Path.Combine(RepoPaths.Root, "infra", "monitoring");
        var prometheus = new YamlDotNet.RepresentationModel.YamlStream();
        prometheus.Load(new StringReader(File.ReadAllText(Path.Combine(monitoring, "prometheus.yml"))));
        var ruleFiles = (YamlDotNet.RepresentationModel.YamlSequenceNode)((YamlDotNet.RepresentationModel.YamlMappingNode)prometheus.Documents[0].RootNode)
            .Children[new YamlDotNet.RepresentationModel.YamlScalarNode("rule_files")];
        var files = ruleFiles.Children.Select(f => Path.Combine(monitoring, ((YamlDotNet.RepresentationModel.YamlScalarNode)f).Value!)).ToList();
        Assert.NotEmpty(files);
        Assert.Equal(files.Select(f => "infra/monitoring/" + Path.GetFileName(f)).Order(StringComparer.Ordinal),
            report.GetProperty("rule_files").EnumerateArray().Select(f => f.GetString()));
        var expected = files.Sum(f => AlertPreview.ParseRules(f, File.ReadAllText(f)).Count);
        Assert.Equal(expected, report.GetProperty("rule_count").GetInt32());
        Assert.Equal(expected, report.GetProperty("firing").GetArrayLength() + report.GetProperty("quiet").GetArrayLength() + report.GetProperty("not_evaluable").GetArrayLength());
        using var player = api.Client(TestAuth.Player());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await player.GetAsync("/api/admin/alerts")).StatusCode);
    }

    [Fact]
    public void A_rule_firing_on_an_infinite_gauge_is_written_by_the_api_json_dialect()
    {
        // "Never happened" ages are +Inf (database_backup_age_seconds with no backup): the report must still serialize.
        var scrape = MetricScrape.Parse("# TYPE age gauge\nage +Inf\n");
        var rule = new AlertRule("test", "g", "NeverHappened", "min(age) > 3600", null, new Dictionary<string, string>(), new Dictionary<string, string> { ["summary"] = "age {{ $value }}" });
        var view = AlertPreview.Evaluate(rule, scrape, 100);
        Assert.True(double.IsPositiveInfinity(Assert.Single(view.Samples).Value));
        var strict = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict };
        Assert.Contains("\"value\":\"Infinity\"", JsonSerializer.Serialize(view, strict));
    }

    [Theory]
    [InlineData("rate(x[5m]) > 0", "history")]
    [InlineData("x offset 5m > 0", "history")]
    [InlineData("x > on(a) y", "on")]
    [InlineData("histogram_quantile(0.9, x) > 1", "Prometheus")]
    [InlineData("time() > 0", "scalar")]
    public void Expressions_outside_the_instant_subset_are_refused(string expr, string because)
    {
        var scrape = MetricScrape.Parse("# TYPE x gauge\nx{a=\"1\"} 2\n# TYPE y gauge\ny{a=\"1\"} 1\n");
        var e = Assert.Throws<NotEvaluableException>(() => InstantQuery.Parse(expr).Evaluate(scrape.Samples, 100));
        Assert.Contains(because, e.Message);
    }

    [Theory]
    [InlineData("x > 1", 1)]
    [InlineData("x > 2", 0)]
    [InlineData("x - y == 1", 1)]
    [InlineData("x > bool 5", 1)]
    [InlineData("sum(x) + 1 > 2", 1)]
    [InlineData("time() - x > 90", 1)]
    [InlineData("count(x{a=~\"1|2\"}) == 1", 1)]
    [InlineData("x unless y", 0)]
    [InlineData("x and y", 1)]
    [InlineData("x or z", 1)]
    [InlineData("-x < 0", 1)]
    public void Instant_expressions_follow_promql(string expr, int samples)
    {
        var scrape = MetricScrape.Parse("# TYPE x gauge\nx{a=\"1\"} 2\n# TYPE y gauge\ny{a=\"1\"} 1\n# TYPE z gauge\n");
        Assert.Equal(samples, InstantQuery.Parse(expr).Evaluate(scrape.Samples, 100).Count);
    }
}
