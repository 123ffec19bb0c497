using System.CommandLine;

namespace Fairway.Cli;

/// <summary><c>fairway payments refund|show|webhooks</c> through the admin API (refunds audited with the token's subject).</summary>
public static class PaymentCommands
{
    public static Command Build()
    {
        var entry = new Argument<string>("entry") { Description = "Entry id (ent_…)." };
        var reason = new Option<string>("--reason") { Description = "Why (3..500 characters): recorded in the audit trail.", Required = true };
        var refund = new Command("refund", "Refund an entry's paid fee (any contest state). Idempotent: one refund per entry; the ledger moves when Stripe confirms.") { entry, reason };
        refund.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/entries/{Uri.EscapeDataString(p.GetValue(entry)!)}/refund", new { reason = p.GetValue(reason) })));

        var show = new Command("show", "An entry with its payment, refund, disputes and ledger entries.") { entry };
        show.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payments/{Uri.EscapeDataString(p.GetValue(entry)!)}")));

        var unprocessed = new Option<bool>("--unprocessed") { Description = "Only events stored but not yet processed (e.g. while the kill-switch is on)." };
        var limit = new Option<int>("--limit") { Description = "At most this many (1..200).", DefaultValueFactory = _ => 50 };
        var webhooks = new Command("webhooks", "Stored Stripe webhook events with their processing outcome.") { unprocessed, limit };
        webhooks.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            $"/api/admin/stripe/webhooks?limit={p.GetValue(limit)}" + (p.GetValue(unprocessed) ? "&unprocessed=true" : ""))));

        return new Command("payments", "Entry payments, refunds and Stripe webhooks.") { refund, show, webhooks };
    }
}
