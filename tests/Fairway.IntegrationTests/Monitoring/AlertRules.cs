using System.Diagnostics;
using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Fairway.IntegrationTests.Monitoring;

/// <summary>One rule of infra/monitoring/alerts.yml.</summary>
public sealed record AlertRule(string Group, string? Alert, string? Record, string Expr, string? For,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations);

/// <summary>Reads the alert rules and runs Prometheus's own tools on them.</summary>
public static class AlertRules
{
    public static string Dir => Path.Combine(RepoPaths.Root, "infra", "monitoring");
    public static string RulesFile => Path.Combine(Dir, "alerts.yml");
    /// <summary>Rules waiting for their runbooks: unit-tested and checked like the others, not loaded by Prometheus.</summary>
    public static string PendingRulesFile => Path.Combine(Dir, "alerts.pending.yml");
    /// <summary>promtool unit-test files: alerts.yml's rules evaluated every minute, its 30-day SLO rules every hour, the pending rules.</summary>
    public static readonly string[] TestFiles = ["alerts.test.yml", "alerts.slo.test.yml", "alerts.pending.test.yml"];
    public static IReadOnlyList<AlertRule> LoadAll() => [.. Load(RulesFile), .. Load(PendingRulesFile)];

    public static IReadOnlyList<AlertRule> Load(string? path = null)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path ?? RulesFile)) yaml.Load(reader);
        var rules = new List<AlertRule>();
        foreach (YamlMappingNode group in (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["groups"])
        {
            var name = ((YamlScalarNode)group["name"]).Value!;
            foreach (YamlMappingNode r in (YamlSequenceNode)group["rules"])
                rules.Add(new AlertRule(name, Scalar(r, "alert"), Scalar(r, "record"), Scalar(r, "expr")!, Scalar(r, "for"), Map(r, "labels"), Map(r, "annotations")));
        }
        return rules;
    }

    static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? ((YamlScalarNode)v).Value : null;

    static IReadOnlyDictionary<string, string> Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v)
            ? ((YamlMappingNode)v).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!)
            : new Dictionary<string, string>();

    static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "inf", "nan", "Inf", "NaN",
    };

    /// <summary>The metric names a PromQL expression reads (functions, aggregations, keywords, label names and literals removed).</summary>
    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var s = Regex.Replace(expr, "\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'", "\"\"");
        s = Regex.Replace(s, @"\{[^}]*\}", " ");                     // label matchers
        s = Regex.Replace(s, @"\[[^\]]*\]", " ");                    // ranges and subqueries
        s = Regex.Replace(s, @"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ");
        s = Regex.Replace(s, @"\boffset\s+-?[0-9a-z]+", " ");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in Regex.Matches(s, @"(?<![0-9.])\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()"))
            if (!Keywords.Contains(m.Value) && !Regex.IsMatch(m.Value, @"^[0-9]")) names.Add(m.Value);
        return names;
    }

    /// <summary>Every PromQL query of a rule: its expression and the <c>query "…"</c> calls of its annotation templates.</summary>
    public static IEnumerable<string> Queries(AlertRule rule)
    {
        yield return rule.Expr;
        foreach (var a in rule.Annotations.Values)
            foreach (Match m in Regex.Matches(a, @"query\s+\\?""(?<q>(?:[^""\\]|\\[^""])*)\\?"""))
                yield return m.Groups["q"].Value;
    }

    /// <summary>Runs a Prometheus tool (promtool, amtool) to completion; fails the test with a clear message when it is missing.</summary>
    public static (int ExitCode, string Output) Tool(string tool, string workingDirectory, params string[] args)
    {
        var path = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"{tool} is not installed; ./scripts/test installs the Debian packages prometheus and prometheus-alertmanager");
        var psi = new ProcessStartInfo(path) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{tool} did not finish"); }
        return (p.ExitCode, stdout + stderr.Result);
    }
}
