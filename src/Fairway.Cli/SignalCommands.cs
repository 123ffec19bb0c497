using System.CommandLine;

namespace Fairway.Cli;

/// <summary>
/// <c>fairway signals &lt;metric&gt;</c>: the subjects a counting signal counts, so an operator paged by its alert (which
/// names none) finds them; runbooks take their input from it.
/// </summary>
public static class SignalCommands
{
    /// <summary>The gauges that count contests and have a list of them (GET /api/admin/signals/&lt;metric&gt;).</summary>
    public static readonly string[] Listed = ["escrow_held_overdue_contests", "settlement_failed_contests"];

    public static Command Build()
    {
        var metric = new Argument<string>("metric") { Description = "The gauge: " + string.Join(", ", Listed) + "." };
        metric.AcceptOnlyFromAmong(Listed);
        var limit = new Option<int>("--limit") { Description = "At most this many (1..200), the longest-standing first.", DefaultValueFactory = _ => 50 };
        var cmd = new Command("signals", "The contests a signal counts (what its alert pages for; the alert names none), the longest-standing first, with `count`. Exit 1 when there is any.")
            { metric, limit };
        cmd.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/signals/{p.GetValue(metric)}?limit={p.GetValue(limit)}",
            judge: r => r.GetProperty("count").GetInt64() > 0 ? CliOutput.Failed : CliOutput.Ok)));
        return cmd;
    }
}
