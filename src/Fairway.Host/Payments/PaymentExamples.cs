using Fairway.Host.Platform.Http;

namespace Fairway.Host.Payments;

/// <summary>
/// Examples of the player money routes for the OpenAPI document. They are instances of the real response
/// types, so they cannot drift from the schema; a test also reads them back with the generated client.
/// </summary>
public static class PaymentExamples
{
    static readonly DateTimeOffset At = new(2027, 4, 1, 14, 30, 0, TimeSpan.Zero);
    static readonly string[] Golfers = ["sr:competitor:1001", "sr:competitor:1002", "sr:competitor:1003", "sr:competitor:1004"];

    public static readonly CreateEntryRequest CreateEntry = new(Golfers);

    static readonly EntryView Entry = new("ent_4f1c2a9b0d3e5f6a7b8c9d0e", "masters-2027-main", "player-42", Golfers, EntryStatuses.PendingPayment, 1000, "usd", At, At);

    public static readonly EntryCreated EntryCreated = new(Entry,
        new PaymentView("pi_3Pq2xYz0example", "pi_3Pq2xYz0example_secret_abc", PaymentStatuses.Pending, "requires_payment_method", 1000, "usd"));

    public static readonly Page<EntryView> MyEntries = new(
        [Entry with { Status = EntryStatuses.Active, UpdatedAt = At.AddMinutes(2), Payment = new PaymentSummary("pi_3Pq2xYz0example", PaymentStatuses.Succeeded, 1000, "usd", null) }],
        false, null);

    public static readonly RefundView RefundRequested = new("ref_7d2e9a1c", "ent_4f1c2a9b0d3e5f6a7b8c9d0e", "pi_3Pq2xYz0example", 1000, "usd",
        "requested by the player", RefundStatuses.Requested, null, null, "player-42", At.AddHours(1), At.AddHours(1), RefundFunding.Escrow, 0, 5, At.AddHours(1));

    public static readonly PayoutAccountView PayoutAccountCreated = new("acct_1Pq2xYz0example", false, false, false, At,
        "https://connect.stripe.com/setup/e/acct_1Pq2xYz0example/abc", At.AddMinutes(5));
}
