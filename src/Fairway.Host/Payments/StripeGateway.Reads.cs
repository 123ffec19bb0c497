using System.Net;
using Stripe;

namespace Fairway.Host.Payments;

/// <summary>One Stripe object of a listing: its id, its <c>created</c> (unix seconds) and the object itself.</summary>
public sealed record StripeListed(string Id, long Created, IStripeEntity Object);

/// <summary>One page of a <c>created</c>-window listing, newest first (Stripe's order).</summary>
public sealed record StripeListPage(IReadOnlyList<StripeListed> Data, bool HasMore);

/// <summary>
/// Read-only look-ups for fee booking, corrections and the reconciliation against Stripe. Retrievals of a
/// single object answer null when Stripe has no such object (404 resource_missing); every other error is thrown.
/// </summary>
public sealed partial class StripeGateway
{
    /// <summary>Stripe's largest page.</summary>
    public const int ListPageSize = 100;

    /// <summary>The streams that <see cref="ListCreatedPageAsync"/> lists.</summary>
    public static readonly IReadOnlyList<string> ListedStreams = ["payment_intents", "refunds", "transfers", "balance_transactions"];

    public Task<PaymentIntent?> FindPaymentIntentAsync(string id, CancellationToken ct) =>
        OrNull(() => new PaymentIntentService(client).GetAsync(id, new PaymentIntentGetOptions { Expand = ["latest_charge"] }, cancellationToken: ct));

    public Task<Refund?> FindRefundAsync(string id, CancellationToken ct) =>
        OrNull(() => new Stripe.RefundService(client).GetAsync(id, cancellationToken: ct));

    public Task<Transfer?> FindTransferAsync(string id, CancellationToken ct) =>
        OrNull(() => new TransferService(client).GetAsync(id, cancellationToken: ct));

    public Task<BalanceTransaction?> FindBalanceTransactionAsync(string id, CancellationToken ct) =>
        OrNull(() => new BalanceTransactionService(client).GetAsync(id, cancellationToken: ct));

    public Task<Charge?> FindChargeAsync(string id, CancellationToken ct) =>
        OrNull(() => new ChargeService(client).GetAsync(id, new ChargeGetOptions { Expand = ["balance_transaction"] }, cancellationToken: ct));

    public Task<Dispute?> FindDisputeAsync(string id, CancellationToken ct) =>
        OrNull(() => new Stripe.DisputeService(client).GetAsync(id, cancellationToken: ct));

    public Task<Balance> GetBalanceAsync(CancellationToken ct) => new BalanceService(client).GetAsync(cancellationToken: ct);

    /// <summary>
    /// One page of the objects of <paramref name="stream"/> created in [<paramref name="createdFrom"/>, <paramref name="createdBefore"/>)
    /// (unix seconds), newest first, after the cursor <paramref name="startingAfter"/>.
    /// </summary>
    public async Task<StripeListPage> ListCreatedPageAsync(string stream, long createdFrom, long createdBefore, string? startingAfter, CancellationToken ct)
    {
        var created = new DateRangeOptions
        {
            GreaterThanOrEqual = DateTimeOffset.FromUnixTimeSeconds(createdFrom).UtcDateTime,
            LessThan = DateTimeOffset.FromUnixTimeSeconds(createdBefore).UtcDateTime,
        };
        static long Unix(DateTime d) => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)).ToUnixTimeSeconds();
        static StripeListPage Of<T>(StripeList<T> list, Func<T, (string Id, DateTime Created)> key) where T : IStripeEntity =>
            new(list.Data.Select(o => { var (id, at) = key(o); return new StripeListed(id, Unix(at), o); }).ToList(), list.HasMore);
        return stream switch
        {
            "payment_intents" => Of(await new PaymentIntentService(client).ListAsync(new PaymentIntentListOptions
                { Created = created, Limit = ListPageSize, StartingAfter = startingAfter, Expand = ["data.latest_charge"] }, cancellationToken: ct), o => (o.Id, o.Created)),
            "refunds" => Of(await new Stripe.RefundService(client).ListAsync(new RefundListOptions
                { Created = created, Limit = ListPageSize, StartingAfter = startingAfter }, cancellationToken: ct), o => (o.Id, o.Created)),
            "transfers" => Of(await new TransferService(client).ListAsync(new TransferListOptions
                { Created = created, Limit = ListPageSize, StartingAfter = startingAfter }, cancellationToken: ct), o => (o.Id, o.Created)),
            "balance_transactions" => Of(await new BalanceTransactionService(client).ListAsync(new BalanceTransactionListOptions
                { Created = created, Limit = ListPageSize, StartingAfter = startingAfter }, cancellationToken: ct), o => (o.Id, o.Created)),
            _ => throw new ArgumentOutOfRangeException(nameof(stream), stream, "not a listed Stripe stream"),
        };
    }

    static async Task<T?> OrNull<T>(Func<Task<T>> get) where T : class
    {
        try { return await get(); }
        catch (StripeException e) when (e.HttpStatusCode == HttpStatusCode.NotFound && e.StripeError?.Code == "resource_missing") { return null; }
    }
}
