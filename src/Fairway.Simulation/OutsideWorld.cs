namespace Fairway.Simulation;

/// <summary>
/// The people outside Fairway the on-call operator deals with, through support. Seed 001's payment failure, as the
/// outside world causes it: one player's card can no longer receive money (expired)
/// from before their contest is cancelled until their bank reissues it days later. Every refund Stripe is asked for on
/// that payment fails (the Stripe sandbox's <c>refuse_refunds</c>: answered pending, then <c>refund.failed</c> with
/// <c>expired_or_canceled_card</c>), so the refund stays owed through all its automatic retries and RefundsOwed fires;
/// the on-call operator runs docs/runbooks/refunds-owed.md, whose decision table waits for the player; when the bank has
/// fixed the card, support tells the operator, who goes on with Recover and Verify. It is part of the season (ground truth
/// of the outside world), not a fault: it happens with --no-faults too. The player is the first, in arrival order, to pay
/// for an entry in a contest that is cancelled (and so refunded) by the rules.
/// Winners whose payout failed because their Stripe account is not connected or invalid (payout-transfer-failed: "support
/// asks the winner to onboard / fix the account") do so some hours after support asks, and support tells the operator.
/// </summary>
public sealed class OutsideWorld(World w, TextWriter log)
{
    /// <summary>How long after the card stops working the bank reissues it: longer than the refund's whole automatic retry budget.</summary>
    public static readonly TimeSpan CardReissuedAfter = TimeSpan.FromDays(3);

    readonly List<(DateTimeOffset At, string What, Func<Task> Action)> later = [];
    public Arrival? Chosen { get; private set; }
    public string? EntryId { get; private set; }
    public Operator? Operator { get; set; }

    public void Plan(Season season) =>
        Chosen = season.Arrivals.FirstOrDefault(a => !a.Late && a.Payment == Payment.Succeeds && a.Contest.Expected == "CANCELLED");

    /// <summary>Called when a player's payment succeeded: the chosen player's card expires right after it paid.</summary>
    public async Task PaidAsync(Arrival a, string entryId, string paymentIntentId)
    {
        if (a != Chosen) return;
        EntryId = entryId;
        await w.Stripe.PostAsync($"/_sandbox/payment_intents/{paymentIntentId}/refuse_refunds", new { failure_reason = "expired_or_canceled_card" });
        var fixAt = a.Tournament.Lock + CardReissuedAfter;
        log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] OUTSIDE {a.Player.UserId}'s card expires after paying entry {entryId} ({a.Contest.Id}); the bank reissues it at {fixAt:MM-dd HH:mm}");
        later.Add((fixAt, $"{a.Player.UserId}'s bank reissued the card of entry {entryId}", async () =>
        {
            await w.Stripe.PostAsync($"/_sandbox/payment_intents/{paymentIntentId}/accept_refunds");
            Operator?.Inform("player", new Dictionary<string, string> { ["ENTRY"] = entryId }, $"the player's bank reissued the card of entry {entryId}; it can receive refunds again");
        }));
    }

    /// <summary>How long a winner takes to finish Stripe onboarding (or fix their account) once support asked.</summary>
    public static readonly TimeSpan WinnerFixesAccountAfter = TimeSpan.FromHours(8);

    /// <summary>The operator's handover to support (a runbook's `after &lt;party&gt;` decision).</summary>
    public Task AskAsync(string party, IReadOnlyDictionary<string, string> about)
    {
        if (party != "winner" || !about.TryGetValue("WINNER", out var user)) return Task.CompletedTask; // the player's bank acts on its own schedule
        later.Add((w.Now + WinnerFixesAccountAfter, $"winner {user} finished Stripe onboarding, as support asked", async () =>
        {
            using var player = w.Player(user);
            var account = await player.Api.StartPayoutOnboardingAsync(CancellationToken.None);
            await w.Stripe.PostAsync($"/_sandbox/accounts/{account.Stripe_account_id}/complete_onboarding");
            Operator?.Inform("winner", new Dictionary<string, string> { ["WINNER"] = user }, $"winner {user} finished Stripe onboarding (account {account.Stripe_account_id})");
        }));
        log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] OUTSIDE support asks winner {user} to finish Stripe onboarding");
        return Task.CompletedTask;
    }

    /// <summary>At each clock step: what the outside world fixes by then.</summary>
    public async Task AtAsync()
    {
        foreach (var due in later.Where(l => l.At <= w.Now).ToList())
        {
            await due.Action();
            later.Remove(due);
            log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] RECOVERY {due.What}");
        }
    }
}
