using System.Globalization;
using System.Text.Json;

namespace Fairway.Simulation;

/// <summary>One alert of the repository's rules that held at least its <c>for</c> on the simulated clock.</summary>
public sealed record AlertIncident(string Alert, string? Runbook, DateTimeOffset PendingSince, DateTimeOffset FiredAt)
{
    public DateTimeOffset? ResolvedAt { get; set; }
    /// <summary>The labels of the alert's first firing sample (what the page shows; a runbook input may come from one).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
    /// <summary>The alert's value at the last observation while it fires (e.g. how many refunds are owed): how many subjects the page is about.</summary>
    public double Value { get; set; }
}

/// <summary>
/// What an on-call person would be paged for: after every clock step, <c>GET /api/admin/alerts</c> (the repository's own
/// Prometheus rules over the host's metrics, as `fairway alerts` shows them), with each rule's <c>for</c> applied in
/// simulated time. It records every alert that fired, when it resolved, and whether it names a runbook that exists.
/// It observes only; the on-call <see cref="Operator"/> acts on what fired.
/// </summary>
public sealed class AlertWatch(World w, string root)
{
    readonly Dictionary<string, DateTimeOffset> pendingSince = [];
    readonly Dictionary<string, AlertIncident> open = [];
    public List<AlertIncident> Incidents { get; } = [];

    public async Task ObserveAsync()
    {
        var now = w.Now;
        var report = await w.Admin.GetAsync("/api/admin/alerts");
        var firing = new HashSet<string>();
        foreach (var a in report.GetProperty("firing").EnumerateArray())
        {
            var name = a.GetProperty("alert").GetString()!;
            firing.Add(name);
            var since = pendingSince.TryGetValue(name, out var s) ? s : pendingSince[name] = now;
            if (open.TryGetValue(name, out var firingNow)) firingNow.Value = FirstSampleValue(a);
            if (open.ContainsKey(name) || now - since < For(a)) continue;
            var runbook = a.TryGetProperty("runbook", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            var incident = new AlertIncident(name, runbook, since, now) { Labels = FirstSampleLabels(a), Value = FirstSampleValue(a) };
            open[name] = incident;
            Incidents.Add(incident);
            Console.WriteLine($"[{now:yyyy-MM-dd HH:mm}] ALERT {name} fired (pending since {since:MM-dd HH:mm}); runbook {runbook ?? "none"}");
        }
        foreach (var name in pendingSince.Keys.Where(k => !firing.Contains(k)).ToList())
        {
            pendingSince.Remove(name);
            if (open.Remove(name, out var incident))
            {
                incident.ResolvedAt = now;
                Console.WriteLine($"[{now:yyyy-MM-dd HH:mm}] ALERT {name} resolved");
            }
        }
    }

    public IEnumerable<AlertIncident> StillFiring => open.Values;

    static double FirstSampleValue(JsonElement alert) =>
        alert.TryGetProperty("samples", out var samples) && samples.ValueKind == JsonValueKind.Array && samples.GetArrayLength() > 0
            && samples[0].TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 1;

    static Dictionary<string, string> FirstSampleLabels(JsonElement alert) =>
        alert.TryGetProperty("samples", out var samples) && samples.ValueKind == JsonValueKind.Array && samples.GetArrayLength() > 0
            && samples[0].TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Object
            ? labels.EnumerateObject().Where(l => l.Value.ValueKind == JsonValueKind.String).ToDictionary(l => l.Name, l => l.Value.GetString()!, StringComparer.Ordinal)
            : [];

    public bool RunbookExists(AlertIncident a) => a.Runbook is { } r && File.Exists(Path.Combine(root, "docs", "runbooks", r + ".md"));

    /// <summary>Prometheus durations as the rules write them: 30s, 5m, 1h, 1d (none: at once).</summary>
    static TimeSpan For(JsonElement alert)
    {
        if (!alert.TryGetProperty("for", out var f) || f.ValueKind != JsonValueKind.String) return TimeSpan.Zero;
        var text = f.GetString()!;
        var n = double.Parse(text[..^1], CultureInfo.InvariantCulture);
        return text[^1] switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), 'd' => TimeSpan.FromDays(n), _ => throw new FormatException($"for: {text}") };
    }
}
