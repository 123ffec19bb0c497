using System.Text;
using Fairway.Host.Platform.Http;
using Prometheus;
using YamlDotNet.RepresentationModel;

namespace Fairway.Host.Operations.Alerts;

/// <summary>One alerting rule of the repository's Prometheus rule files.</summary>
public sealed record AlertRule(string Source, string Group, string Alert, string Expr, string? For, IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations)
{
    public string? Severity => Labels.GetValueOrDefault("severity");
    public string? RunbookUrl => Annotations.GetValueOrDefault("runbook_url");

    /// <summary>The runbook's name (its file name without .md), so the console can open it.</summary>
    public string? Runbook => RunbookUrl is { } url && url.Split('/', '#', '?').LastOrDefault(p => p.EndsWith(".md", StringComparison.Ordinal)) is { } file ? file[..^3] : null;
}

/// <summary>One sample of a firing rule. Gauges may be ±Inf or NaN (e.g. the age of something that never happened): written as JSON strings then.</summary>
public sealed record AlertSampleView(IReadOnlyDictionary<string, string> Labels,
    [property: System.Text.Json.Serialization.JsonNumberHandling(System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)] double Value);

public sealed record AlertView(string Alert, string Group, string? Severity, string? Summary, string? RunbookUrl, string? Runbook, string Expr, string? For,
    IReadOnlyList<AlertSampleView> Samples, string? NotEvaluableBecause);

public sealed record AlertPreviewReport(DateTimeOffset EvaluatedAt, IReadOnlyList<string> RuleFiles, int RuleCount,
    IReadOnlyList<AlertView> Firing, IReadOnlyList<AlertView> Quiet, IReadOnlyList<AlertView> NotEvaluable);

/// <summary>
/// "Which alerts would fire now": the repository's alert rules (infra/monitoring, embedded at build time),
/// evaluated over this API process's own /metrics at the moment of the request. The gauges those rules use are
/// computed from the database at scrape time, so every process reports the same values Prometheus alerts on.
/// Rules over counters and histograms (per-process, summed by Prometheus across processes), rules needing
/// history (rate, increase, ranges) and metrics this process does not export are listed as not evaluable here.
/// The <c>for:</c> duration is not applied: a rule listed as firing fires in Prometheus once it has held that long.
/// </summary>
public sealed class AlertPreview(TimeProvider clock, KillSwitch.KillSwitch killSwitch)
{
    const string ResourcePrefix = "alerts/";

    public static IReadOnlyList<AlertRule> Rules { get; } = LoadEmbedded();

    public static IReadOnlyList<string> RuleFiles => Rules.Select(r => r.Source).Distinct().Order(StringComparer.Ordinal).ToList();

    static List<AlertRule> LoadEmbedded()
    {
        var assembly = typeof(AlertPreview).Assembly;
        var rules = new List<AlertRule>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!, Encoding.UTF8);
            rules.AddRange(ParseRules("infra/monitoring/" + name[ResourcePrefix.Length..], reader.ReadToEnd()));
        }
        return rules;
    }

    /// <summary>The alerting rules (recording rules are skipped) of one Prometheus rule file.</summary>
    public static IReadOnlyList<AlertRule> ParseRules(string source, string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var rules = new List<AlertRule>();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return rules;
        if (!root.Children.TryGetValue(new YamlScalarNode("groups"), out var groups) || groups is not YamlSequenceNode groupList) return rules;
        foreach (var g in groupList.OfType<YamlMappingNode>())
        {
            var groupName = Scalar(g, "name") ?? "";
            if (!g.Children.TryGetValue(new YamlScalarNode("rules"), out var list) || list is not YamlSequenceNode ruleList) continue;
            foreach (var r in ruleList.OfType<YamlMappingNode>())
            {
                if (Scalar(r, "alert") is not { } alert) continue;
                rules.Add(new AlertRule(source, groupName, alert, Scalar(r, "expr") ?? "", Scalar(r, "for"), Map(r, "labels"), Map(r, "annotations")));
            }
        }
        return rules;
    }

    static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    static IReadOnlyDictionary<string, string> Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m
            ? m.Children.Where(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>();

    public async Task<AlertPreviewReport> EvaluateAsync(CancellationToken ct)
    {
        // The kill-switch gauge reports what this process last read: read it now so it is current.
        await killSwitch.ReadAsync(ct);
        using var buffer = new MemoryStream();
        await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(buffer, ct);
        var scrape = MetricScrape.Parse(Encoding.UTF8.GetString(buffer.ToArray()));
        var now = clock.GetUtcNow();
        var views = Rules.Select(r => Evaluate(r, scrape, now.ToUnixTimeMilliseconds() / 1000.0)).ToList();
        return new AlertPreviewReport(now, RuleFiles, Rules.Count,
            views.Where(v => v.NotEvaluableBecause is null && v.Samples.Count > 0).ToList(),
            views.Where(v => v.NotEvaluableBecause is null && v.Samples.Count == 0).ToList(),
            views.Where(v => v.NotEvaluableBecause is not null).ToList());
    }

    /// <summary>Evaluates one rule over one scrape (public for tests that feed it a real host's scrape).</summary>
    public static AlertView Evaluate(AlertRule rule, MetricScrape scrape, double nowUnixSeconds)
    {
        AlertView View(IReadOnlyList<AlertSampleView> samples, string? why) => new(rule.Alert, rule.Group, rule.Severity,
            Summary(rule, samples.FirstOrDefault()), rule.RunbookUrl, rule.Runbook, rule.Expr, rule.For, samples, why);
        try
        {
            var query = InstantQuery.Parse(rule.Expr);
            foreach (var name in query.MetricNames)
            {
                var family = scrape.FamilyOf(name);
                if (family is null) return View([], $"{name} is not exported by this process");
                if (scrape.Types[family] is not ("gauge" or "untyped"))
                    return View([], $"{name} is a {scrape.Types[family]} counted per process: Prometheus evaluates it across all processes");
            }
            var result = query.Evaluate(scrape.Samples, nowUnixSeconds);
            return View(result.Select(s => new AlertSampleView(s.Labels.Where(l => l.Key != "__name__").ToDictionary(l => l.Key, l => l.Value), s.Value)).ToList(), null);
        }
        catch (NotEvaluableException e) { return View([], e.Message); }
    }

    /// <summary>The summary annotation with <c>{{ $labels.x }}</c> and <c>{{ $value }}</c> filled from the first firing sample.</summary>
    static string? Summary(AlertRule rule, AlertSampleView? sample)
    {
        if (rule.Annotations.GetValueOrDefault("summary") is not { } text) return null;
        if (sample is null) return text;
        text = System.Text.RegularExpressions.Regex.Replace(text, @"\{\{\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", m => sample.Labels.GetValueOrDefault(m.Groups[1].Value) ?? "");
        return System.Text.RegularExpressions.Regex.Replace(text, @"\{\{\s*\$value\s*\}\}", sample.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}

public static class AlertPreviewEndpoints
{
    /// <summary><c>GET /api/admin/alerts</c> (<c>fairway alerts</c>; exit 1 when any alert would fire).</summary>
    public static void MapAlertPreview(this RouteGroupBuilder admin) =>
        admin.MapGet("/alerts", async (AlertPreview preview, CancellationToken ct) => Results.Ok(await preview.EvaluateAsync(ct)));
}
