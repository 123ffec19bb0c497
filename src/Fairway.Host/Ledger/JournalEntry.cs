namespace Fairway.Host.Ledger;

/// <summary>The account kinds of the ledger (the <c>ledger_accounts.kind</c> CHECK list).</summary>
public static class LedgerAccountKinds
{
    public const string StripeClearing = "stripe_clearing";
    public const string ContestEscrow = "contest_escrow";
    public const string WinningsPayable = "winnings_payable";
    public const string PlatformRevenue = "platform_revenue";
    public const string Refunds = "refunds";
    public const string ProcessingFees = "processing_fees";

    public static readonly IReadOnlyList<string> All = [StripeClearing, ContestEscrow, WinningsPayable, PlatformRevenue, Refunds, ProcessingFees];
}

/// <summary>
/// A ledger account named by its conventional id. Build them only with the factories: the database
/// refuses ids that do not follow the convention (see Ledger/README.md).
/// </summary>
public sealed record LedgerAccountRef
{
    public string Id { get; }
    public string Kind { get; }
    public string? ContestId { get; }
    public string? UserId { get; }

    LedgerAccountRef(string id, string kind, string? contestId = null, string? userId = null)
    {
        Id = id; Kind = kind; ContestId = contestId; UserId = userId;
    }

    /// <summary><c>clearing:&lt;ccy&gt;</c> — money at Stripe; goes negative as money comes in.</summary>
    public static LedgerAccountRef Clearing(string currency) => new($"clearing:{Ccy(currency)}", LedgerAccountKinds.StripeClearing);

    /// <summary><c>escrow:&lt;contest_id&gt;</c> — the prize pool of one contest; balance = funds held; never below zero.</summary>
    public static LedgerAccountRef Escrow(string contestId) => new($"escrow:{Required(contestId)}", LedgerAccountKinds.ContestEscrow, contestId: contestId);

    /// <summary><c>payable:&lt;user_id&gt;:&lt;ccy&gt;</c> — winnings owed to one player until transferred.</summary>
    public static LedgerAccountRef Payable(string userId, string currency) => new($"payable:{Required(userId)}:{Ccy(currency)}", LedgerAccountKinds.WinningsPayable, userId: userId);

    /// <summary><c>revenue:&lt;ccy&gt;</c> — the platform's rake.</summary>
    public static LedgerAccountRef Revenue(string currency) => new($"revenue:{Ccy(currency)}", LedgerAccountKinds.PlatformRevenue);

    /// <summary><c>refunds:&lt;ccy&gt;</c> — money on its way back to players (refund decided, not yet settled at Stripe).</summary>
    public static LedgerAccountRef Refunds(string currency) => new($"refunds:{Ccy(currency)}", LedgerAccountKinds.Refunds);

    /// <summary><c>processing_fees:&lt;ccy&gt;</c> — Stripe's fees; goes negative as Stripe takes them (−balance = fees paid).</summary>
    public static LedgerAccountRef ProcessingFees(string currency) => new($"processing_fees:{Ccy(currency)}", LedgerAccountKinds.ProcessingFees);

    static string Ccy(string currency) =>
        currency is { Length: 3 } && currency.All(char.IsAsciiLetterLower) ? currency : throw new ArgumentException($"currency '{currency}' must be three lowercase letters", nameof(currency));

    static string Required(string value) =>
        string.IsNullOrEmpty(value) ? throw new ArgumentException("an id is required") : value;

    public override string ToString() => Id;
}

/// <summary>One leg of a journal entry. Signed: negative = money leaves the account, positive = money arrives.</summary>
public sealed record LedgerPosting(LedgerAccountRef Account, long Amount);

/// <summary>
/// A journal entry to post. <see cref="Postings"/> must sum to zero, all in <see cref="Currency"/>, at most
/// one posting per account (the builder nets them). The idempotency key names the business event
/// (e.g. <c>payment:pi_123:captured</c>): posting the same key with the same content again is a no-op,
/// with different content it is refused.
/// </summary>
public sealed record JournalEntry(
    string IdempotencyKey,
    string Kind,
    string Currency,
    DateTimeOffset OccurredAt,
    string CauseType,
    string CauseId,
    IReadOnlyList<LedgerPosting> Postings,
    string? Description = null,
    string? CorrelationId = null)
{
    /// <summary>Starts an entry; add movements with <see cref="JournalEntryBuilder.Move"/>.</summary>
    public static JournalEntryBuilder Create(string idempotencyKey, string kind, string currency, DateTimeOffset occurredAt, string causeType, string causeId) =>
        new(idempotencyKey, kind, currency, occurredAt, causeType, causeId);

    /// <summary>The common case: one movement of <paramref name="amount"/> from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static JournalEntry Movement(string idempotencyKey, string kind, string currency, DateTimeOffset occurredAt, string causeType, string causeId,
        LedgerAccountRef from, LedgerAccountRef to, long amount, string? description = null) =>
        Create(idempotencyKey, kind, currency, occurredAt, causeType, causeId).Move(from, to, amount).Describe(description).Build();
}

/// <summary>
/// Builds a balanced entry out of explicit movements: <c>Move(A, B, X)</c> means "X moves from A to B"
/// and adds the postings (A, −X) and (B, +X). Several movements touching one account are netted.
/// </summary>
public sealed class JournalEntryBuilder
{
    readonly string key, kind, currency, causeType, causeId;
    readonly DateTimeOffset occurredAt;
    readonly List<(LedgerAccountRef Account, long Amount)> legs = [];
    string? description, correlationId;

    internal JournalEntryBuilder(string key, string kind, string currency, DateTimeOffset occurredAt, string causeType, string causeId)
    {
        this.key = key; this.kind = kind; this.currency = currency; this.occurredAt = occurredAt; this.causeType = causeType; this.causeId = causeId;
    }

    public JournalEntryBuilder Move(LedgerAccountRef from, LedgerAccountRef to, long amount)
    {
        if (amount <= 0) throw new ArgumentOutOfRangeException(nameof(amount), amount, "a movement moves a positive amount (minor units)");
        if (from.Id == to.Id) throw new ArgumentException($"a movement needs two different accounts, got {from.Id} twice");
        legs.Add((from, checked(-amount)));
        legs.Add((to, amount));
        return this;
    }

    public JournalEntryBuilder Describe(string? text) { description = text; return this; }

    /// <summary>Defaults to the correlation id of the request or job in progress.</summary>
    public JournalEntryBuilder CorrelatedWith(string? id) { correlationId = id; return this; }

    public JournalEntry Build()
    {
        var postings = legs.GroupBy(l => l.Account.Id, StringComparer.Ordinal)
            .Select(g => new LedgerPosting(g.First().Account, g.Aggregate(0L, (s, l) => checked(s + l.Amount))))
            .Where(p => p.Amount != 0)
            .OrderBy(p => p.Account.Id, StringComparer.Ordinal)
            .ToList();
        if (postings.Count < 2) throw new InvalidOperationException($"journal entry {key} nets to fewer than two postings");
        return new JournalEntry(key, kind, currency, occurredAt, causeType, causeId, postings, description,
            correlationId ?? Platform.Telemetry.Correlation.Current);
    }
}
