using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Npgsql;
using Stripe;

namespace Fairway.Host.Payments;

public sealed record PayoutAccountView(string StripeAccountId, bool ChargesEnabled, bool PayoutsEnabled, bool DetailsSubmitted, DateTimeOffset UpdatedAt,
    string? OnboardingUrl = null, DateTimeOffset? OnboardingUrlExpiresAt = null);

/// <summary>
/// Players' Stripe Connect Express accounts (where winnings are transferred). Created once per player
/// (idempotency key <c>account:&lt;user_id&gt;</c>); <c>account.updated</c> keeps <c>user_stripe_accounts</c> current, and
/// an event older than the stored state (by Stripe's <c>created</c>) never overwrites it.
/// </summary>
public sealed class PayoutAccountService(NpgsqlDataSource db, StripeGateway stripe, AuditWriter audit, FairwaySettings settings, TimeProvider clock, ILogger<PayoutAccountService> log)
{
    sealed record Row(string UserId, string StripeAccountId, bool ChargesEnabled, bool PayoutsEnabled, bool DetailsSubmitted, long StripeStateCreated, DateTime UpdatedAt)
    {
        public Row() : this("", "", false, false, false, 0, default) { }
        public PayoutAccountView View(string? url = null, DateTimeOffset? expires = null) =>
            new(StripeAccountId, ChargesEnabled, PayoutsEnabled, DetailsSubmitted, PaymentStore.Utc(UpdatedAt), url, expires);
    }

    const string Columns = "user_id AS UserId, stripe_account_id AS StripeAccountId, charges_enabled AS ChargesEnabled, payouts_enabled AS PayoutsEnabled, " +
        "details_submitted AS DetailsSubmitted, stripe_state_created AS StripeStateCreated, updated_at AS UpdatedAt";

    public async Task<PayoutAccountView?> GetAsync(string userId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM user_stripe_accounts WHERE user_id = @userId", new { userId }))?.View();
    }

    /// <summary>Creates (or reuses) the player's Express account and returns a fresh onboarding link. Second element: created now.</summary>
    public async Task<(PayoutAccountView View, bool Created)> EnsureWithOnboardingLinkAsync(string userId, string actor, CancellationToken ct)
    {
        Row? row;
        await using (var c = await db.OpenConnectionAsync(ct))
            row = await c.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM user_stripe_accounts WHERE user_id = @userId", new { userId });
        var created = false;
        if (row is null)
        {
            var account = await stripe.CreateExpressAccountAsync(userId, ct);
            var now = clock.GetUtcNow();
            await using var c = await db.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            created = await c.ExecuteAsync("""
                INSERT INTO user_stripe_accounts (user_id, stripe_account_id, charges_enabled, payouts_enabled, details_submitted, stripe_state_created, created_at, updated_at)
                VALUES (@userId, @Id, @ChargesEnabled, @PayoutsEnabled, @DetailsSubmitted, @stateCreated, @now, @now)
                ON CONFLICT (user_id) DO NOTHING
                """, new { userId, account.Id, account.ChargesEnabled, account.PayoutsEnabled, account.DetailsSubmitted,
                    stateCreated = new DateTimeOffset(DateTime.SpecifyKind(account.Created, DateTimeKind.Utc)).ToUnixTimeSeconds(), now }, tx) == 1;
            if (created)
                await audit.WriteAsync(tx, new AuditEntry(actor, "payout_account.created", "user_stripe_account", userId, "player started payout onboarding",
                    After: new { stripe_account_id = account.Id, payouts_enabled = account.PayoutsEnabled }), ct);
            row = await c.QuerySingleAsync<Row>($"SELECT {Columns} FROM user_stripe_accounts WHERE user_id = @userId", new { userId }, tx);
            await tx.CommitAsync(ct);
            if (created) log.LogInformation("Stripe Express account {AccountId} created for {UserId}", account.Id, userId);
        }
        var link = await stripe.CreateOnboardingLinkAsync(row.StripeAccountId, settings.StripeConnectReturnUrl, settings.StripeConnectRefreshUrl, clock.GetUtcNow(), ct);
        return (row.View(link.Url, new DateTimeOffset(DateTime.SpecifyKind(link.ExpiresAt, DateTimeKind.Utc))), created);
    }

    /// <summary>
    /// Applies an <c>account.updated</c> whose Stripe <c>created</c> is <paramref name="eventCreated"/>. An event older than the
    /// stored state is superseded without further ado. Otherwise the account's CURRENT state is retrieved from Stripe and
    /// stored (so two events within the same second, in either order, converge on Stripe's latest state).
    /// Returns applied / superseded / ignored (not a Fairway player's account).
    /// </summary>
    public async Task<string> ApplyAccountUpdatedAsync(Account evtAccount, long eventCreated, string actor, Func<NpgsqlTransaction, string, string, Task> inTransaction, CancellationToken ct)
    {
        Row? peek;
        await using (var c0 = await db.OpenConnectionAsync(ct))
            peek = await c0.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM user_stripe_accounts WHERE stripe_account_id = @Id", new { evtAccount.Id });
        var account = peek is not null && eventCreated >= peek.StripeStateCreated ? await stripe.GetAccountAsync(evtAccount.Id, ct) : evtAccount;

        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM user_stripe_accounts WHERE stripe_account_id = @Id FOR UPDATE", new { account.Id }, tx);
        string outcome, detail;
        if (row is null) (outcome, detail) = (ConvergenceOutcomes.Ignored, $"account {account.Id} is not a Fairway player's payout account");
        else if (eventCreated < row.StripeStateCreated)
            (outcome, detail) = (ConvergenceOutcomes.Superseded, $"event of {account.Id} at {eventCreated} is older than the stored state ({row.StripeStateCreated})");
        else if (row.ChargesEnabled == account.ChargesEnabled && row.PayoutsEnabled == account.PayoutsEnabled && row.DetailsSubmitted == account.DetailsSubmitted)
        {
            await c.ExecuteAsync("UPDATE user_stripe_accounts SET stripe_state_created = @eventCreated WHERE stripe_account_id = @Id AND stripe_state_created < @eventCreated",
                new { account.Id, eventCreated }, tx);
            (outcome, detail) = (ConvergenceOutcomes.Superseded, $"stored state of {account.Id} already matches Stripe");
        }
        else
        {
            await c.ExecuteAsync("""
                UPDATE user_stripe_accounts SET charges_enabled = @ChargesEnabled, payouts_enabled = @PayoutsEnabled, details_submitted = @DetailsSubmitted,
                       stripe_state_created = GREATEST(stripe_state_created, @eventCreated), updated_at = @now
                 WHERE stripe_account_id = @Id
                """, new { account.Id, account.ChargesEnabled, account.PayoutsEnabled, account.DetailsSubmitted, eventCreated, now = clock.GetUtcNow() }, tx);
            await audit.WriteAsync(tx, new AuditEntry(actor, "payout_account.updated", "user_stripe_account", row.UserId, "Stripe account.updated",
                Before: new { row.ChargesEnabled, row.PayoutsEnabled, row.DetailsSubmitted },
                After: new { account.ChargesEnabled, account.PayoutsEnabled, account.DetailsSubmitted }), ct);
            (outcome, detail) = (ConvergenceOutcomes.Applied, $"{account.Id}: payouts_enabled={account.PayoutsEnabled}");
        }
        await inTransaction(tx, outcome, detail);
        await tx.CommitAsync(ct);
        return outcome;
    }
}
