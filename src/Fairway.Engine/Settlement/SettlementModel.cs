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
