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
        var recent = new Option<bool>("--recent") { Description = "The most recently received events first, with the unprocessed backlog." };
        var webhooks = new Command("webhooks", "Stored Stripe webhook events with their processing outcome.") { unprocessed, recent, limit };
        webhooks.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, p.GetValue(recent)
            ? $"/api/admin/stripe/webhooks/recent?limit={p.GetValue(limit)}"
            : $"/api/admin/stripe/webhooks?limit={p.GetValue(limit)}" + (p.GetValue(unprocessed) ? "&unprocessed=true" : ""))));

        var retry = new Command("refund-retry", "Send a FAILED refund (refunds owed) to Stripe again, with a fresh attempt budget. Audited.") { entry, reason };
        retry.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/entries/{Uri.EscapeDataString(p.GetValue(entry)!)}/refund/retry", new { reason = p.GetValue(reason) })));

        var amount = new Option<long?>("--amount") { Description = "Minor units to refund (default: the whole fee)." };
        var goodwill = new Command("goodwill-refund", "Refund a player once the contest is locked, paid by the house (revenue), never by the prize pool; the entry keeps its place. Audited.")
            { entry, amount, reason };
        goodwill.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/entries/{Uri.EscapeDataString(p.GetValue(entry)!)}/goodwill-refund",
            new { amount = p.GetValue(amount), reason = p.GetValue(reason) })));

        var refundStatus = new Option<string?>("--status") { Description = "REQUESTED, SUBMITTED, SUCCEEDED, FAILED or CANCELED." };
        var refundContest = new Option<string?>("--contest") { Description = "Only the refunds of this contest's entries." };
        var refundLimit = new Option<int>("--limit") { Description = "At most this many (1..200), most recently changed first.", DefaultValueFactory = _ => 50 };
        var refunds = new Command("refunds", "Refunds of one status (e.g. FAILED) and/or one contest, most recently changed first.") { refundStatus, refundContest, refundLimit };
        refunds.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/refunds?limit={p.GetValue(refundLimit)}"
            + (p.GetValue(refundStatus) is { } s ? $"&status={Uri.EscapeDataString(s)}" : "")
            + (p.GetValue(refundContest) is { } k ? $"&contest_id={Uri.EscapeDataString(k)}" : ""))));

        var owed = new Command("refunds-owed", "Refunds owed: FAILED at Stripe and not settled since (count and amount per currency; list them with `refunds --status FAILED`). Exit 1 when there is any.");
        owed.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/refunds/owed",
            judge: r => r.GetProperty("count").GetInt64() > 0 ? CliOutput.Failed : CliOutput.Ok)));

        var overdueLimit = new Option<int>("--limit") { Description = "At most this many (1..200), oldest first.", DefaultValueFactory = _ => 50 };
        var overdue = new Command("overdue", "Entry payments still PENDING long after creation (what alert PaymentsPendingOverdue counts), oldest first, with what the sweeper last read at Stripe. Exit 1 when there is any.")
            { overdueLimit };
        overdue.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payments/overdue?limit={p.GetValue(overdueLimit)}",
            judge: r => r.GetProperty("count").GetInt64() > 0 ? CliOutput.Failed : CliOutput.Ok)));

        var disputesLimit = new Option<int>("--limit") { Description = "At most this many (1..200), oldest first.", DefaultValueFactory = _ => 50 };
        var disputes = new Command("disputes", "Disputes (chargebacks) Stripe has not closed yet (what alert StripeDisputeOpened is about), oldest first, each with its entry. Exit 1 when there is any.")
            { disputesLimit };
        disputes.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/payments/disputes?limit={p.GetValue(disputesLimit)}",
            judge: r => r.GetProperty("count").GetInt64() > 0 ? CliOutput.Failed : CliOutput.Ok)));

        return new Command("payments", "Entry payments, refunds and Stripe webhooks.") { refund, retry, goodwill, show, webhooks, refunds, owed, overdue, disputes };
    }

    /// <summary><c>fairway webhooks dead-letters|replay</c>: events parked after too many failed attempts.</summary>
    public static Command Webhooks()
    {
        var limit = new Option<int>("--limit") { Description = "At most this many (1..200).", DefaultValueFactory = _ => 50 };
        var deadLetters = new Command("dead-letters", "Webhook events parked after STRIPE_WEBHOOK_MAX_ATTEMPTS failed attempts, with their last error. Exit 1 when there is any.") { limit };
        deadLetters.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/stripe/webhooks/dead-letters?limit={p.GetValue(limit)}",
            judge: r => r.GetProperty("data").GetArrayLength() > 0 ? CliOutput.Failed : CliOutput.Ok)));

        var eventId = new Argument<string>("event") { Description = "Stripe event id (evt_…)." };
        var reason = new Option<string>("--reason") { Description = "Why (3..500 characters): recorded in the audit trail.", Required = true };
        var replay = new Command("replay", "Take a parked event out of the dead letters and process it again (after fixing its cause). Audited.") { eventId, reason };
        replay.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/stripe/webhooks/{Uri.EscapeDataString(p.GetValue(eventId)!)}/replay",
            new { reason = p.GetValue(reason) })));

        return new Command("webhooks", "Stripe webhook dead letters.") { deadLetters, replay };
    }
}
