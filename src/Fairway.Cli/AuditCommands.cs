using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway audit` and `fairway alerts`: read-only views through the admin API (the console shows the same).</summary>
public static class AuditCommands
{
    public static Command Audit()
    {
        var contest = new Option<string?>("--contest") { Description = "Everything that concerns one contest: the contest, its settlement, payout job and transfers, entries, payments and refunds." };
        var entityType = new Option<string?>("--entity-type") { Description = "Only rows of this entity type (contest, settlement, payout_job, payout_transfer, entry, refund, payment, kill_switch, …)." };
        var entityId = new Option<string?>("--entity-id") { Description = "Only rows of this entity (needs --entity-type)." };
        var action = new Option<string?>("--action") { Description = "Only rows of this action, e.g. payout_transfer.retry_requested." };
        var limit = new Option<int>("--limit") { Description = "At most this many (1..500), newest first.", DefaultValueFactory = _ => 100 };
        var before = new Option<long?>("--before") { Description = "Page backwards: only rows with a smaller id." };
        var cmd = new Command("audit", "The audit trail, newest first: who did what, when, why, with the state before and after.") { contest, entityType, entityId, action, limit, before };
        cmd.SetAction(p =>
        {
            var query = new List<string> { $"limit={p.GetValue(limit)}" };
            void Add(string name, string? value) { if (value is not null) query.Add($"{name}={Uri.EscapeDataString(value)}"); }
            Add("contest_id", p.GetValue(contest));
            Add("entity_type", p.GetValue(entityType));
            Add("entity_id", p.GetValue(entityId));
            Add("action", p.GetValue(action));
            Add("before", p.GetValue(before)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/audit?" + string.Join('&', query)));
        });
        return cmd;
    }

    public static Command Alerts()
    {
        var cmd = new Command("alerts", "The repository's alert rules evaluated now over the API's own metrics: which would fire, which hold quiet, which only Prometheus can evaluate. Exit 1 when any would fire.");
        cmd.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/alerts",
            judge: r => r.GetProperty("firing").GetArrayLength() > 0 ? CliOutput.Failed : CliOutput.Ok)));
        return cmd;
    }
}
