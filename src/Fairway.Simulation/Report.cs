using System.Globalization;
using System.Net;
using System.Text;

namespace Fairway.Simulation;

/// <summary>
/// The run's report for people: one self-contained HTML page (no scripts, no external assets) with the timeline —
/// tournaments and their contests' states, faults, supervisor restarts, escrow held and entries over time — and the
/// table of checks. Written under artifacts/ of the repository; its path is the last line the run prints.
/// </summary>
public static class Report
{
    const int Width = 1200, Left = 190, RowHeight = 22;

    public static string Write(string root, int seed, int days, Season season, Verdict verdict, Faults? faults, AlertWatch alerts, World world, TimeDriver clock, TimeSpan wall, string digest)
    {
        var dir = Path.Combine(root, "artifacts");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"simulation-seed-{seed}-{days}d.html");
        var start = season.Start;
        var end = season.End;
        double X(DateTimeOffset t) => Left + (Width - Left - 10) * Math.Clamp((t - start).TotalSeconds / (end - start).TotalSeconds, 0, 1);
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

        var html = new StringBuilder();
        var failed = verdict.Checks.Count(c => !c.Passed);
        html.Append($$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fairway simulation, seed {{seed}}, {{days}} days</title>
            <style>body{font:14px system-ui,sans-serif;margin:24px;color:#222} table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
            .ok{color:#176b2c} .fail{color:#b00020;font-weight:bold} svg text{font:11px system-ui,sans-serif} h2{margin-top:28px}</style></head><body>
            <h1>Fairway founder-absence simulation — {{(failed == 0 ? "<span class=ok>PASSED</span>" : "<span class=fail>FAILED</span>")}}</h1>
            <p>Seed <b>{{seed}}</b>, {{days}} simulated days from {{start:ddd yyyy-MM-dd}}, {{season.Tournaments.Count}} tournaments, {{season.Tournaments.Sum(t => t.Contests.Length)}} contests,
            {{season.Players.Count}} players, {{season.EntriesAttempted}} entries ({{season.PaymentsDeclined}} declined, {{season.PaymentsAbandoned}} abandoned, {{season.LateAttemptsRefused}} refused after lock);
            {{(faults is null ? "no faults" : $"{faults.Injected.Count} faults of {faults.KindsInjected.Count} kinds")}}; {{E(clock.Summary())}}; wall time {{wall.TotalSeconds:F0}} s.
            Outcome digest <code>{{digest}}</code>. Reproduce: <code>./scripts/simulate --seed {{seed}} --days {{days}}{{(faults is null ? " --no-faults" : "")}}</code></p>
            """);

        // Timeline: one row per tournament (scheduled play, official result), one per contest (its states), faults, escrow.
        var rows = season.Tournaments.Sum(t => 1 + t.Contests.Length) + 4;
        var height = 30 + rows * RowHeight + 240;
        html.Append($"<h2>Timeline</h2><svg width=\"{Width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (var d = 0; d <= days; d++)
        {
            var x = X(start.AddDays(d));
            html.Append($"<line x1=\"{F(x)}\" y1=\"20\" x2=\"{F(x)}\" y2=\"{height - 20}\" stroke=\"#eee\"/>");
            if (d < days) html.Append($"<text x=\"{F(x + 2)}\" y=\"14\">{start.AddDays(d):ddd dd}</text>");
        }
        var y = 30;
        var colours = new Dictionary<string, string> { ["SCHEDULED"] = "#cfe2ff", ["LOCKED"] = "#ffe69c", ["LIVE"] = "#a3cfbb", ["COMPLETE"] = "#6c757d", ["CANCELLED"] = "#f1aeb5", ["ERROR"] = "#dc3545" };
        foreach (var t in season.Tournaments)
        {
            html.Append($"<text x=\"4\" y=\"{y + 14}\"><tspan font-weight=\"bold\">{E(t.Id)}</tspan>{(t.Twist == Twist.None ? "" : " " + t.Twist)}</text>");
            html.Append($"<rect x=\"{F(X(t.FirstTee))}\" y=\"{y + 4}\" width=\"{F(Math.Max(2, X(t.Official) - X(t.FirstTee)))}\" height=\"12\" fill=\"#198754\" opacity=\"0.5\"><title>play {t.FirstTee:ddd HH:mm} → official {t.Official:ddd HH:mm}</title></rect>");
            y += RowHeight;
            foreach (var c in t.Contests)
            {
                html.Append($"<text x=\"14\" y=\"{y + 14}\">{E(c.Id[(t.Id.Length + 1)..])} ({E(c.Name)})</text>");
                var states = season.StateTimeline.Where(s => s.Contest == c.Id).ToList();
                for (var i = 0; i < states.Count; i++)
                {
                    var x0 = X(states[i].At);
                    var x1 = i + 1 < states.Count ? X(states[i + 1].At) : X(end);
                    html.Append($"<rect x=\"{F(x0)}\" y=\"{y + 4}\" width=\"{F(Math.Max(1, x1 - x0))}\" height=\"12\" fill=\"{colours.GetValueOrDefault(states[i].State, "#999")}\"><title>{E(states[i].State)} from {states[i].At:ddd HH:mm}</title></rect>");
                }
                y += RowHeight;
            }
        }
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">faults</text>");
        foreach (var f in faults?.Injected ?? [])
            html.Append($"<circle cx=\"{F(X(f.At))}\" cy=\"{y + 10}\" r=\"5\" fill=\"#dc3545\"><title>{f.At:ddd HH:mm} {E(f.Kind)}: {E(f.What)}</title></circle>");
        y += RowHeight;
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">alerts</text>");
        foreach (var a in alerts.Incidents)
            html.Append($"<rect x=\"{F(X(a.FiredAt))}\" y=\"{y + 4}\" width=\"{F(Math.Max(3, X(a.ResolvedAt ?? end) - X(a.FiredAt)))}\" height=\"12\" fill=\"#fd7e14\"><title>{E(a.Alert)} fired {a.FiredAt:ddd HH:mm}, {(a.ResolvedAt is { } r ? $"resolved {r:ddd HH:mm}" : "still firing")}; runbook {E(a.Runbook ?? "none")}</title></rect>");
        y += RowHeight;
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">runbook executions</text>");
        foreach (var r in season.Operator?.Runs ?? [])
            html.Append($"<rect x=\"{F(X(r.StartedAt))}\" y=\"{y + 4}\" width=\"{F(Math.Max(3, X(r.FinishedAt ?? end) - X(r.StartedAt)))}\" height=\"12\" fill=\"{(r.Outcome == "succeeded" && r.Failure.Length == 0 ? "#6f42c1" : "#b00020")}\"><title>{E(r.Runbook)} #{r.Execution} for {E(string.Join(", ", r.Handles.Select(h => h.Alert)))}: started {r.StartedAt:ddd HH:mm}, {E(r.Outcome)}{(r.FinishedAt is { } f ? $" {f:ddd HH:mm}" : "")}{(r.Failure.Length > 0 ? " — " + E(r.Failure) : "")}</title></rect>");
        y += RowHeight;
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">process restarts</text>");
        foreach (var r in world.Restarts) html.Append($"<text x=\"{F(Left)}\" y=\"{y + 14}\">{E(r)}</text>");
        y += RowHeight + 10;
        var maxEscrow = Math.Max(1, season.Samples.Select(s => s.Escrow).DefaultIfEmpty(0).Max());
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">escrow held</text><text x=\"4\" y=\"{y + 30}\">max ${maxEscrow / 100.0:N2}</text>");
        var points = string.Join(" ", season.Samples.Select(s => $"{F(X(s.At))},{F(y + 100 - 95.0 * s.Escrow / maxEscrow)}"));
        html.Append($"<polyline points=\"{points}\" fill=\"none\" stroke=\"#0d6efd\" stroke-width=\"2\"/>");
        // The webhook backlog and the open payout transfers after each clock step, on one scale (their larger maximum).
        y += 110;
        var maxQueue = Math.Max(1, season.Samples.Select(s => Math.Max(s.WebhookBacklog, s.PayoutsOpen)).DefaultIfEmpty(0).Max());
        html.Append($"<text x=\"4\" y=\"{y + 14}\" font-weight=\"bold\">queues</text><text x=\"4\" y=\"{y + 30}\" fill=\"#6f42c1\">webhooks unprocessed</text>" +
            $"<text x=\"4\" y=\"{y + 46}\" fill=\"#20c997\">payout transfers open</text><text x=\"4\" y=\"{y + 62}\">max {maxQueue}</text>");
        foreach (var (colour, value) in new (string, Func<(DateTimeOffset At, long Escrow, int Entries, long WebhookBacklog, long PayoutsOpen), long>)[]
                     { ("#6f42c1", s => s.WebhookBacklog), ("#20c997", s => s.PayoutsOpen) })
            html.Append($"<polyline points=\"{string.Join(" ", season.Samples.Select(s => $"{F(X(s.At))},{F(y + 100 - 95.0 * value(s) / maxQueue)}"))}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>");
        html.Append("</svg>");
        html.Append("<p>Contest states: " + string.Join(" ", colours.Select(c => $"<span style=\"background:{c.Value};padding:0 6px\">{c.Key}</span>")) + ". Hover a bar or a dot for details.</p>");

        html.Append("<h2>Checks</h2><table><tr><th></th><th>check</th><th>detail</th></tr>");
        foreach (var c in verdict.Checks)
            html.Append($"<tr><td class=\"{(c.Passed ? "ok" : "fail")}\">{(c.Passed ? "ok" : "FAIL")}</td><td>{E(c.Name)}</td><td>{E(c.Detail)}</td></tr>");
        html.Append("</table>");
        var runs = season.Operator?.Runs ?? [];
        html.Append("<h2>Runbook executions (on-call operator)</h2><table><tr><th>started</th><th>runbook</th><th>paged by</th><th>outcome</th><th>what it did</th></tr>");
        foreach (var r in runs)
            html.Append($"<tr><td>{r.StartedAt:ddd yyyy-MM-dd HH:mm}</td><td>{E(r.Runbook)} #{r.Execution}</td><td>{E(string.Join(", ", r.Handles.Select(h => h.Alert)))}</td>" +
                $"<td class=\"{(r.Outcome == "succeeded" && r.Failure.Length == 0 ? "ok" : "fail")}\">{E(r.Outcome)}{(r.Failure.Length > 0 ? " — " + E(r.Failure) : "")}</td><td>{E(string.Join("\n", r.Trail)).Replace("\n", "<br>")}</td></tr>");
        html.Append("</table>");
        if (faults is not null)
        {
            html.Append("<h2>Faults</h2><table><tr><th>simulated time</th><th>kind</th><th>what</th><th>recovery</th></tr>");
            foreach (var f in faults.Injected) html.Append($"<tr><td>{f.At:ddd yyyy-MM-dd HH:mm}</td><td>{E(f.Kind)}</td><td>{E(f.What)}</td><td>{E(f.RecoveryText())}</td></tr>");
            html.Append("</table>");
        }
        html.Append("<h2>Contests</h2><table><tr><th>contest</th><th>outcome (state, entries, settlement hash)</th></tr>");
        foreach (var (id, outcome) in verdict.Outcomes) html.Append($"<tr><td>{E(id)}</td><td><code>{E(outcome)}</code></td></tr>");
        html.Append("</table></body></html>\n");
        File.WriteAllText(path, html.ToString());
        return path;
    }
}
