using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway ledger account|corrections|correction-kinds|correct` through the admin API (corrections audited with the token's subject).</summary>
public static class LedgerCommands
{
    public static Command Build()
    {
        var accountId = new Argument<string>("account") { Description = "Ledger account id, e.g. clearing:usd, revenue:usd, processing_fees:usd, escrow:<contest>." };
        var account = new Command("account", "One ledger account: its balance, the sum of its postings and its newest postings.") { accountId };
        account.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/ledger/accounts/{Uri.EscapeDataString(p.GetValue(accountId)!)}")));

        var kindFilter = new Option<string?>("--kind") { Description = "Only corrections of this kind." };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first (1..200).", DefaultValueFactory = _ => 50 };
        var corrections = new Command("corrections", "Ledger corrections made, newest first: kind, subject, amount, accounts, reason, who, evidence.") { kindFilter, limit };
        corrections.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get,
            $"/api/admin/ledger/corrections?limit={p.GetValue(limit)}" + (p.GetValue(kindFilter) is { } k ? $"&kind={Uri.EscapeDataString(k)}" : ""))));

        var kinds = new Command("correction-kinds", "The closed list of correction kinds: what each explains, its accounts, its amount and its preconditions.");
        kinds.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, "/api/admin/ledger/corrections/kinds")));

        var kind = new Argument<string>("kind") { Description = "dispute_loss_outside_escrow, refund_outside_fairway, transfer_outside_fairway, payment_outside_fairway or processing_fee_adjustment." };
        var subject = new Option<string>("--subject") { Description = "What it explains: dp_… (a dispute), re_…, tr_…, pi_… or txn_… (a Stripe object).", Required = true };
        var amount = new Option<long?>("--amount") { Description = "Optional: the amount you expect (minor units); refused when the facts give another." };
        var reason = new Option<string>("--reason") { Description = "Why (3..500 characters): who asked, incident or ticket. Recorded in the audit trail.", Required = true };
        var correct = new Command("correct", "Post a typed ledger correction (idempotent per subject; refused while the kill-switch is engaged).") { kind, subject, amount, reason };
        correct.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, "/api/admin/ledger/corrections",
            new { kind = p.GetValue(kind), subject = p.GetValue(subject), amount = p.GetValue(amount), reason = p.GetValue(reason) })));

        return new Command("ledger", "The ledger: accounts and typed corrections.") { account, corrections, kinds, correct };
    }
}
