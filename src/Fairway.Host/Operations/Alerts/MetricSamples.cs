using System.Globalization;
using System.Text;

namespace Fairway.Host.Operations.Alerts;

/// <summary>One sample of the Prometheus text exposition; <see cref="Labels"/> includes <c>__name__</c>.</summary>
public sealed record MetricSample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Name => Labels.TryGetValue("__name__", out var n) ? n : "";
}

/// <summary>What one /metrics scrape holds: every sample, and the declared type of every family (counter, gauge, …).</summary>
public sealed record MetricScrape(IReadOnlyList<MetricSample> Samples, IReadOnlyDictionary<string, string> Types)
{
    /// <summary>Parses the Prometheus text format (version 0.0.4), as prometheus-net writes it. Malformed lines throw.</summary>
    public static MetricScrape Parse(string text)
    {
        var samples = new List<MetricSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var parts = line.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 4 && parts[1] == "TYPE") types[parts[2]] = parts[3].Trim();
                continue;
            }
            samples.Add(ParseSample(line));
        }
        return new MetricScrape(samples, types);
    }

    /// <summary>The family a sample name belongs to (<c>x_bucket</c>, <c>x_sum</c>, <c>x_count</c> of a histogram or summary belong to <c>x</c>).</summary>
    public string? FamilyOf(string sampleName)
    {
        if (Types.ContainsKey(sampleName)) return sampleName;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && Types.TryGetValue(sampleName[..^suffix.Length], out var t) && t is "histogram" or "summary")
                return sampleName[..^suffix.Length];
        return null;
    }

    static MetricSample ParseSample(string line)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
        labels["__name__"] = line[..i];
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var key = line[i..eq].Trim();
                if (line[eq + 1] != '"') throw new FormatException($"metrics line: label {key} has no quoted value: {line}");
                var value = new StringBuilder();
                var j = eq + 2;
                for (; line[j] != '"'; j++)
                {
                    if (line[j] != '\\') { value.Append(line[j]); continue; }
                    j++;
                    value.Append(line[j] switch { 'n' => '\n', var c => c });
                }
                labels[key] = value.ToString();
                i = j + 1;
                if (line[i] == ',') i++;
            }
            i++;
        }
        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0) throw new FormatException($"metrics line without a value: {line}");
        return new MetricSample(labels, ParseValue(rest[0]));
    }

    static double ParseValue(string s) => s switch
    {
        "NaN" => double.NaN,
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
