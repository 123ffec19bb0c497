using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway contests list|show|lock|cancel|transitions` through the admin API.</summary>
public static class ContestCommands
{
    public static Command Build()
    {
        var state = new Option<string?>("--state") { Description = "Filter: SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED or ERROR." };
        var limit = new Option<int>("--limit") { Description = "At most this many (1..200).", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "List contests, ordered by id.") { state, limit };
        list.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            $"/api/admin/contests?limit={p.GetValue(limit)}" + (p.GetValue(state) is { } s ? $"&state={Uri.EscapeDataString(s)}" : ""))));

        var id = new Argument<string>("contest") { Description = "Contest id." };
        var show = new Command("show", "A contest: state, rules, config version and hash, field.") { id };
        show.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/contests/{Uri.EscapeDataString(p.GetValue(id)!)}")));

        var transitions = new Command("transitions", "The contest's audit trail (every transition with actor, reason, evidence).") { id };
        transitions.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/contests/{Uri.EscapeDataString(p.GetValue(id)!)}/transitions")));

        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit trail).", Required = true };
        var lockCmd = new Command("lock", "Force the lock decision now (runbook: contest lock failed). Under-filled contests are cancelled.") { id, reason };
        lockCmd.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/contests/{Uri.EscapeDataString(p.GetValue(id)!)}/lock", new { reason = p.GetValue(reason) })));
        var cancel = new Command("cancel", "Cancel a contest; every paid entry is refunded.") { id, reason };
        cancel.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/contests/{Uri.EscapeDataString(p.GetValue(id)!)}/cancel", new { reason = p.GetValue(reason) })));

        var retrySettlement = new Option<bool>("--retry-settlement") { Description = "ERROR → COMPLETE and settle again now (the cause was fixed)." };
        var cancelAndRefund = new Option<bool>("--cancel-and-refund") { Description = "ERROR → CANCELLED; every paid entry is refunded." };
        var resolve = new Command("resolve", "Leave ERROR (runbook: contest in ERROR): exactly one of --retry-settlement or --cancel-and-refund, with a reason. Audited.")
            { id, retrySettlement, cancelAndRefund, reason };
        resolve.SetAction(p =>
        {
            var retry = p.GetValue(retrySettlement);
            var cancelling = p.GetValue(cancelAndRefund);
            if (retry == cancelling) return Task.FromResult(CliOutput.Error(CliOutput.Usage, "give exactly one of --retry-settlement or --cancel-and-refund"));
            return AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/contests/{Uri.EscapeDataString(p.GetValue(id)!)}/resolve",
                new { action = retry ? "retry_settlement" : "cancel_and_refund", reason = p.GetValue(reason) }));
        });

        var boardState = new Option<string?>("--state") { Description = "Filter: SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED or ERROR." };
        var boardContest = new Option<string?>("--contest") { Description = "Only this contest." };
        var boardLimit = new Option<int>("--limit") { Description = "At most this many (1..200), latest state change first.", DefaultValueFactory = _ => 50 };
        var board = new Command("board", "Contests at a glance: state, paid entries, escrow, settlement hash, payout progress.") { boardState, boardContest, boardLimit };
        board.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/board/contests?limit={p.GetValue(boardLimit)}"
            + (p.GetValue(boardState) is { } s ? $"&state={Uri.EscapeDataString(s)}" : "") + (p.GetValue(boardContest) is { } k ? $"&contest_id={Uri.EscapeDataString(k)}" : ""))));

        return new Command("contests", "Contests and their lifecycle.") { list, show, transitions, lockCmd, cancel, resolve, board };
    }
}

static class AdminCall
{
    public static async Task<int> Run(Func<AdminApiClient, Task<int>> action)
    {
        using var client = AdminApiClient.FromEnvironment(out var error);
        if (client is null) return CliOutput.Error(CliOutput.Usage, error!);
        return await action(client);
    }
}
