using Fairway.Engine.Config;
using Fairway.Host.Golf;

namespace Fairway.Host.Contests;

public sealed record PayoutPlaceView(int Place, int Bps);

public sealed record ContestRulesView(
    int RosterSize, long EntryFee, string Currency, int MinEntries, int MaxEntries, int RakeBps,
    IReadOnlyList<PayoutPlaceView> PayoutTable, DateTimeOffset LockTime, int UnplayedRoundStrokes, long SettlementHoldSeconds);

public sealed record ContestSummary(string Id, string Name, string TournamentId, string State, DateTimeOffset LockTime, long EntryFee, string Currency);

public sealed record ContestDetail(
    string Id, string Name, string State, DateTimeOffset StateChangedAt, Tournament Tournament,
    int ConfigVersion, string ConfigHash, DateOnly EventStartDate, DateOnly EventEndDate, int RoundCount, int? CutAfterRound,
    string FieldSource, ContestRulesView Rules, ContestField? Field);

public static class ContestViews
{
    public static ContestRulesView Rules(ContestConfig c) => new(
        c.Rules.RosterSize, c.Rules.EntryFee, c.Rules.Currency, c.Rules.MinEntries, c.Rules.MaxEntries, c.Rules.RakeBps,
        c.Rules.PayoutTable.Select(p => new PayoutPlaceView(p.Place, p.Bps)).ToList(), c.Rules.LockTime,
        c.Rules.UnplayedRoundStrokes, c.Rules.SettlementHoldSeconds);

    public static ContestDetail Detail(ContestRow row, Tournament t, ActiveConfig active, ContestField? field) => new(
        row.Id, row.Name, row.State, row.StateChangedAt, t, active.Version, active.Hash,
        active.Config.EventStartDate, active.Config.EventEndDate, active.Config.RoundCount, active.Config.CutAfterRound,
        active.Config.FieldSource == FieldSource.ProviderSync ? "provider_sync" : "static_import", Rules(active.Config), field);
}
