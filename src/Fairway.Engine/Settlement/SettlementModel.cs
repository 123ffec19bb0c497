using Fairway.Engine.Config;
using Fairway.Engine.Contests;

namespace Fairway.Engine.Settlement;

/// <summary>Everything settlement needs from a contest. Money in integer minor units of <see cref="Currency"/>.</summary>
public sealed record SettlementRules(
    string ContestId,
    long EntryFee,
    string Currency,
    int RakeBps,
    int RosterSize,
    int RoundCount,
    int UnplayedRoundStrokes,
    IReadOnlyList<PayoutPlace> PayoutTable)
{
    public static SettlementRules FromConfig(ContestConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new SettlementRules(
            config.ContestId,
            config.Rules.EntryFee,
            config.Rules.Currency,
            config.Rules.RakeBps,
            config.Rules.RosterSize,
            config.RoundCount,
            config.Rules.UnplayedRoundStrokes,
            config.Rules.PayoutTable);
    }
}

/// <summary>One paid entry: its roster of provider player ids.</summary>
public sealed record SettlementEntry(string Id, string UserId, IReadOnlyList<string> Golfers);

public sealed record SettledEntry(string Id, string UserId, long Score, int Rank, long Prize);

/// <summary>Entries sorted by (rank, id ordinal). Invariant: sum of prizes + <see cref="Rake"/> == <see cref="Gross"/>.</summary>
public sealed record SettlementResult(string ContestId, long Gross, long Rake, long Net, IReadOnlyList<SettledEntry> Entries);

/// <summary>
/// A settlement (or projection) over an <see cref="EntrySet"/>, kept in arrays: positions 0..Count-1 in (rank, id ordinal)
/// order, exactly the order of <see cref="SettlementResult.Entries"/>. Invariant as <see cref="SettlementResult"/>.
/// </summary>
public sealed class RankedSettlement
{
    private readonly int[] _order;   // position → entry index
    private readonly long[] _scores; // by entry index
    private readonly int[] _ranks;   // by position
    private readonly long[] _prizes; // by position

    internal RankedSettlement(string contestId, long gross, long rake, long net, EntrySet entries, int[] order, long[] scores, int[] ranks, long[] prizes)
    {
        ContestId = contestId;
        Gross = gross;
        Rake = rake;
        Net = net;
        Entries = entries;
        _order = order;
        _scores = scores;
        _ranks = ranks;
        _prizes = prizes;
    }

    public string ContestId { get; }
    public long Gross { get; }
    public long Rake { get; }
    public long Net { get; }
    public EntrySet Entries { get; }
    public int Count => _order.Length;

    /// <summary>The index in <see cref="Entries"/> of the entry at <paramref name="position"/>.</summary>
    public int EntryIndexAt(int position) => _order[position];
    public string IdAt(int position) => Entries.IdAt(_order[position]);
    public string UserIdAt(int position) => Entries.UserIdAt(_order[position]);
    public long ScoreAt(int position) => _scores[_order[position]];
    public int RankAt(int position) => _ranks[position];
    public long PrizeAt(int position) => _prizes[position];

    public SettledEntry this[int position] => new(IdAt(position), UserIdAt(position), ScoreAt(position), RankAt(position), PrizeAt(position));

    /// <summary>The list form (one object per entry).</summary>
    public SettlementResult ToResult()
    {
        var entries = new SettledEntry[Count];
        for (var p = 0; p < entries.Length; p++)
        {
            entries[p] = this[p];
        }
        return new SettlementResult(ContestId, Gross, Rake, Net, entries);
    }
}
