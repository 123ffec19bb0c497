using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway payouts status|show|transfer|transfers|retry|retry-now|release|dry-run` through the admin API (actions audited with the token's subject).</summary>
public static class PayoutCommands
{
    public static Command Build()
    {
        var status = new Command("status", "Payout summary by status, stuck transfers, held jobs, the last scheduler runs and the kill-switch. Exit 1 when a transfer is stuck or the last run failed.");
        status.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/payouts/status",
            judge: r => r.GetProperty("stuck_count").GetInt64() > 0
                        || (r.GetProperty("last_run").ValueKind == System.Text.Json.JsonValueKind.Object && r.GetProperty("last_run").GetProperty("outcome").GetString() == "failed")
                ? CliOutput.Failed : CliOutput.Ok)));

        var contest = new Argument<string>("contest") { Description = "Contest id." };
        var show = new Command("show", "A contest's payout job and its transfers.") { contest };
        show.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payouts/contests/{Uri.EscapeDataString(p.GetValue(contest)!)}")));

        var transferId = new Argument<long>("transfer") { Description = "Payout transfer id." };
        var transfer = new Command("transfer", "One payout transfer with every attempt.") { transferId };
        transfer.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payouts/transfers/{p.GetValue(transferId)}")));

        var retryId = new Argument<long>("transfer") { Description = "Payout transfer id (failed_terminal)." };
        var retryReason = Reason();
        var retry = new Command("retry", "Re-queue a failed_terminal transfer (e.g. after the player connected a Stripe account) with a fresh attempt budget; same idempotency key, refused if a Stripe transfer was ever recorded.") { retryId, retryReason };
        retry.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/payouts/transfers/{p.GetValue(retryId)}/retry", new { reason = p.GetValue(retryReason) })));

        var retryNowReason = Reason();
        var retryNow = new Command("retry-now", "After a Stripe outage: make every retryable transfer due now (its backoff was spent against a failing API); the next scheduler run attempts them. Attempt budgets and idempotency keys are unchanged.") { retryNowReason };
        retryNow.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, "/api/admin/payouts/retry-now", new { reason = p.GetValue(retryNowReason) })));

        var releaseContest = new Argument<string>("contest") { Description = "Contest id whose payout job is held." };
        var releaseReason = Reason();
        var release = new Command("release", "Release a payout job held after a provider correction (after review): its transfers are executed by the next scheduler run.") { releaseContest, releaseReason };
        release.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/payouts/contests/{Uri.EscapeDataString(p.GetValue(releaseContest)!)}/release", new { reason = p.GetValue(releaseReason) })));

        var dryRun = new Command("dry-run", "The transfers the next payout scheduler run would make (its selection, order and batch bound), and what each would do; moves no money.");
        dryRun.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/payouts/dry-run")));

        var listStatus = new Option<string?>("--status") { Description = "pending, processing, retryable, completed or failed_terminal." };
        var listLimit = new Option<int>("--limit") { Description = "At most this many (1..200), newest first.", DefaultValueFactory = _ => 50 };
        var listNeedsOps = new Option<bool>("--needs-ops") { Description = "Leave out failed transfers only the winner can unblock (no connected Stripe account, a refused destination); they re-queue themselves." };
        var transfers = new Command("transfers", "Payout transfers of one status (e.g. failed_terminal), newest first.") { listStatus, listLimit, listNeedsOps };
        transfers.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payouts/transfers?limit={p.GetValue(listLimit)}"
            + (p.GetValue(listStatus) is { } s ? $"&status={Uri.EscapeDataString(s)}" : "") + (p.GetValue(listNeedsOps) ? "&needs_ops=true" : ""))));

        return new Command("payouts", "Automatic payouts to winners (Stripe transfers).") { status, show, transfer, transfers, retry, retryNow, release, dryRun };
    }

    static Option<string> Reason() => new("--reason") { Description = "Why (3..500 characters): who asked, incident or ticket. Recorded in the audit trail.", Required = true };
}
