using System.CommandLine;
using System.Text.Json;

namespace Fairway.Cli;

/// <summary>
/// `fairway reconciliation status|run|runs|discrepancies|dismiss`: the ledger's own invariant checks and the
/// reconciliation against Stripe, through the admin API. Exit 1 when something is in violation.
/// </summary>
public static class ReconciliationCommands
{
    public static Command Build()
    {
        var status = new Command("status", "The last ledger reconciliation run and the reconciliation against Stripe (open discrepancies, subjects in flight, cursors). Exit 1 when anything is in violation.");
        status.SetAction(_ => AdminCall.Run(async c =>
        {
            var ledger = await c.SendAsync(HttpMethod.Get, "/api/admin/reconciliation/runs?limit=1",
                judge: r => r.GetProperty("runs").EnumerateArray().Any(run => run.GetProperty("violation_count").GetInt32() > 0) ? CliOutput.Failed : CliOutput.Ok);
            var stripe = await c.SendAsync(HttpMethod.Get, "/api/admin/reconciliation/stripe", judge: StripeStatus);
            return Math.Max(ledger, stripe);
        }));

        var stripeOpt = new Option<bool>("--stripe") { Description = "The reconciliation against Stripe instead of the ledger's own checks." };
        var run = new Command("run", "Run a reconciliation now, in the API process, and print its result (exit 1 on any violation).") { stripeOpt };
        run.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, p.GetValue(stripeOpt) ? "/api/admin/reconciliation/stripe/run" : "/api/admin/reconciliation/run",
            judge: r => r.GetProperty("violation_count").GetInt32() > 0 || (r.TryGetProperty("outcome", out var o) && o.GetString() != "completed") ? CliOutput.Failed : CliOutput.Ok)));

        var limit = new Option<int>("--limit") { Description = "At most this many, newest first (1..200).", DefaultValueFactory = _ => 20 };
        var runsStripe = new Option<bool>("--stripe") { Description = "Runs of the reconciliation against Stripe." };
        var runs = new Command("runs", "Recent reconciliation runs with their violations. Exit 1 when the latest run found a violation.") { runsStripe, limit };
        runs.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            (p.GetValue(runsStripe) ? "/api/admin/reconciliation/stripe/runs" : "/api/admin/reconciliation/runs") + $"?limit={p.GetValue(limit)}",
            judge: r => r.GetProperty("runs").GetArrayLength() > 0 && r.GetProperty("runs")[0].TryGetProperty("violation_count", out var v)
                        && v.GetInt32() > 0 ? CliOutput.Failed : CliOutput.Ok)));

        var itemStatus = new Option<string>("--status") { Description = "discrepancy (default), awaiting_fairway, awaiting_stripe, resolved or dismissed.", DefaultValueFactory = _ => "discrepancy" };
        var itemLimit = new Option<int>("--limit") { Description = "At most this many, oldest first (1..1000).", DefaultValueFactory = _ => 100 };
        var discrepancies = new Command("discrepancies", "Subjects (Stripe object ids) of the reconciliation against Stripe by status, each with what was found and the way out. Exit 1 when any discrepancy is listed.") { itemStatus, itemLimit };
        discrepancies.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            $"/api/admin/reconciliation/stripe/items?status={Uri.EscapeDataString(p.GetValue(itemStatus)!)}&limit={p.GetValue(itemLimit)}",
            judge: r => r.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("status").GetString() == "discrepancy") ? CliOutput.Failed : CliOutput.Ok)));

        var subject = new Argument<string>("subject") { Description = "The Stripe object id of an open discrepancy." };
        var reason = new Option<string>("--reason") { Description = "Why it needs no ledger change (3..500 characters): recorded in the audit trail.", Required = true };
        var dismiss = new Command("dismiss", "Close a discrepancy that needs no ledger change (e.g. a payment intent whose amount was edited but never paid). Moves no money; audited.") { subject, reason };
        dismiss.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post,
            $"/api/admin/reconciliation/stripe/items/{Uri.EscapeDataString(p.GetValue(subject)!)}/dismiss", new { reason = p.GetValue(reason) })));

        return new Command("reconciliation", "The ledger's invariant checks and the reconciliation against Stripe.") { status, run, runs, discrepancies, dismiss };
    }

    static int StripeStatus(JsonElement r) =>
        r.GetProperty("discrepancy_count").GetInt64() > 0
        || (r.GetProperty("last_run").ValueKind == JsonValueKind.Object && r.GetProperty("last_run").GetProperty("outcome").GetString() != "completed")
            ? CliOutput.Failed : CliOutput.Ok;
}
