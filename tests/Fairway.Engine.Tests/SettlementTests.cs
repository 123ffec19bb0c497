using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class SettlementTests
{
    /// <summary>One round, roster of one: each entry "e-x" picks golfer "g-x", so entry score = that golfer's strokes.</summary>
    private static (Leaderboard, SettlementEntry[]) OneRound(params (string Id, int Strokes)[] entries)
    {
        var lb = LeaderboardParser.Parse(Leaderboard("closed",
            entries.Select(e => ("g-" + e.Id, (string?)null, new[] { (1, e.Strokes, 18) })).ToArray())).Value;
        return (lb, entries.Select(e => new SettlementEntry("e-" + e.Id, "u-" + e.Id, new[] { "g-" + e.Id })).ToArray());
    }

    private static SettlementRules Rules(long fee, int rakeBps, params int[] bps) =>
        new("c-1", fee, "usd", rakeBps, RosterSize: 1, RoundCount: 1, UnplayedRoundStrokes: 80,
            bps.Select((b, i) => new PayoutPlace(i + 1, b)).ToArray());

    private static SettlementResult Settle(SettlementRules rules, (Leaderboard Lb, SettlementEntry[] Entries) input)
    {
        var result = SettlementCalculator.Settle(rules, input.Lb, input.Entries);
        Assert.True(result.IsSuccess, string.Join("; ", result.Errors));
        var r = result.Value;
        Assert.Equal(r.Gross, r.Entries.Sum(e => e.Prize) + r.Rake);
        return r;
    }

    private static void AssertEntries(SettlementResult r, params (string Id, int Rank, long Prize)[] expected) =>
        Assert.Equal(expected, r.Entries.Select(e => (e.Id, e.Rank, e.Prize)).ToArray());

    [Fact]
    public void Simple_three_places()
    {
        var r = Settle(Rules(1000, 1000, 6000, 3000, 1000), OneRound(("a", 72), ("b", 70), ("c", 71)));
        Assert.Equal((3000L, 300L, 2700L), (r.Gross, r.Rake, r.Net));
        AssertEntries(r, ("e-b", 1, 1620), ("e-c", 2, 810), ("e-a", 3, 270));
        Assert.Equal(new long[] { 70, 71, 72 }, r.Entries.Select(e => e.Score));
        Assert.Equal("u-b", r.Entries[0].UserId);
        Assert.Equal("c-1", r.ContestId);
    }

    [Fact]
    public void Two_way_tie_for_first_shares_places_one_and_two()
    {
        var r = Settle(Rules(1000, 0, 5000, 3000, 2000), OneRound(("a", 70), ("b", 70), ("c", 72), ("d", 73)));
        AssertEntries(r, ("e-a", 1, 1600), ("e-b", 1, 1600), ("e-c", 3, 800), ("e-d", 4, 0));
    }

    [Fact]
    public void Three_way_tie_straddling_paid_places_splits_and_gives_leftover_by_id()
    {
        var r = Settle(Rules(1000, 0, 5000, 3000, 2000), OneRound(("a", 68), ("d", 70), ("c", 70), ("b", 70), ("e", 75)));
        // Places 2+3+4 = 1500 + 1000 + 0 = 2500 over 3 entries: 833 each, 1 left over to the lowest id.
        AssertEntries(r, ("e-a", 1, 2500), ("e-b", 2, 834), ("e-c", 2, 833), ("e-d", 2, 833), ("e-e", 5, 0));
    }

    [Fact]
    public void Tie_beyond_the_payout_table_pays_nothing()
    {
        var r = Settle(Rules(100, 0, 7000, 3000), OneRound(("a", 70), ("b", 71), ("c", 72), ("d", 72)));
        AssertEntries(r, ("e-a", 1, 280), ("e-b", 2, 120), ("e-c", 3, 0), ("e-d", 3, 0));
    }

    [Fact]
    public void Leftover_units_go_to_places_in_order()
    {
        // net 11: floor(3.6674)=3, floor(3.6663)=3, floor(3.6663)=3 → 9, 2 units left → places 1 and 2.
        var entries = Enumerable.Range(0, 11).Select(i => (((char)('a' + i)).ToString(), 70 + i)).ToArray();
        var r = Settle(Rules(1, 0, 3334, 3333, 3333), OneRound(entries));
        Assert.Equal(new long[] { 4, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0 }, r.Entries.Select(e => e.Prize));
    }

    [Fact]
    public void Odd_tie_leftover_goes_to_lowest_ordinal_id()
    {
        var lb = LeaderboardParser.Parse(Leaderboard("closed", ("g", null, new[] { (1, 70, 18) }))).Value;
        var entries = new[]
        {
            new SettlementEntry("b", "u1", new[] { "g" }),
            new SettlementEntry("B", "u2", new[] { "g" }),
        };
        // gross 6, rake floor(6 × 16.67%) = 1, net 5: 2 each and the odd unit to "B" (0x42 sorts before "b", 0x62).
        var r = SettlementCalculator.Settle(Rules(3, 1667, 10000), lb, entries).Value;
        Assert.Equal(new[] { ("B", 3L), ("b", 2L) }, r.Entries.Select(e => (e.Id, e.Prize)).ToArray());
    }

    [Fact]
    public void Rake_is_floored()
    {
        var r = Settle(Rules(333, 1250, 10000), OneRound(("a", 70), ("b", 71), ("c", 72)));
        Assert.Equal((999L, 124L, 875L), (r.Gross, r.Rake, r.Net)); // 999 × 12.5% = 124.875
        AssertEntries(r, ("e-a", 1, 875), ("e-b", 2, 0), ("e-c", 3, 0));
    }

    [Fact]
    public void Full_rake_leaves_nothing_to_pay()
    {
        var r = Settle(Rules(10, 10000, 10000), OneRound(("a", 70), ("b", 71)));
        Assert.Equal((20L, 20L, 0L), (r.Gross, r.Rake, r.Net));
        Assert.All(r.Entries, e => Assert.Equal(0, e.Prize));
    }

    [Fact]
    public void Zero_entries_settle_to_zero()
    {
        var r = Settle(Rules(2500, 1000, 6000, 4000), OneRound());
        Assert.Equal((0L, 0L, 0L), (r.Gross, r.Rake, r.Net));
        Assert.Empty(r.Entries);
    }

    [Fact]
    public void Single_entry_takes_the_whole_net_pool()
    {
        var r = Settle(Rules(500, 1000, 10000), OneRound(("a", 70)));
        Assert.Equal((500L, 50L, 450L), (r.Gross, r.Rake, r.Net));
        AssertEntries(r, ("e-a", 1, 450));
    }

    [Fact]
    public void Fewer_entries_than_paid_places_is_refused_rather_than_losing_money()
    {
        var (lb, entries) = OneRound(("a", 70));
        AssertOnlyError(SettlementCalculator.Settle(Rules(500, 1000, 6000, 4000), lb, entries).Errors, "entries", "ENTRIES_BELOW_PAID_PLACES");
    }

    [Fact]
    public void Missing_golfers_and_cut_golfers_score_unplayed_strokes()
    {
        var lb = LeaderboardParser.Parse(Leaderboard("closed",
            ("made", null, new[] { (1, 70, 18), (2, 70, 18) }),
            ("cut", "CUT", new[] { (1, 75, 18) }))).Value;
        var rules = new SettlementRules("c", 10, "usd", 0, 2, 2, 80, new[] { new PayoutPlace(1, 10000) });
        var r = SettlementCalculator.Settle(rules, lb, new[]
        {
            new SettlementEntry("x", "u", new[] { "made", "cut" }),
            new SettlementEntry("y", "u", new[] { "made", "ghost" }),
        }).Value;
        Assert.Equal(new[] { ("x", 140L + 155, 1), ("y", 140L + 160, 2) }, r.Entries.Select(e => (e.Id, e.Score, e.Rank)).ToArray());
    }

    [Fact]
    public void Invalid_inputs_are_rejected_with_every_error()
    {
        var (lb, _) = OneRound(("a", 70));
        var rules = new SettlementRules("", -1, "USD", 10001, 0, 9, 0, new[] { new PayoutPlace(1, 9999) });
        var entries = new[]
        {
            new SettlementEntry("e1", "u1", new[] { "g-a", "g-a" }),
            new SettlementEntry("e1", "", new[] { "g-a" }),
        };
        var errors = SettlementCalculator.Settle(rules, lb, entries).Errors;
        AssertHasError(errors, "rules.id", "EMPTY_STRING");
        AssertHasError(errors, "rules.entry_fee", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.currency", "INVALID_CURRENCY");
        AssertHasError(errors, "rules.rake_bps", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.roster_size", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.round_count", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.unplayed_round_strokes", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.payout_table", "PAYOUT_BPS_SUM_INVALID");
        AssertHasError(errors, "entries[0].golfers", "ROSTER_WRONG_SIZE");
        AssertHasError(errors, "entries[0].golfers[1]", "ROSTER_DUPLICATE_GOLFER");
        AssertHasError(errors, "entries[1].id", "DUPLICATE_ENTRY_ID");
        AssertHasError(errors, "entries[1].user_id", "EMPTY_STRING");
        AssertHasError(errors, "entries[1].golfers", "ROSTER_WRONG_SIZE");
        Assert.Equal(13, errors.Count);
    }

    [Fact]
    public void Pool_overflow_is_an_error_not_a_wrap()
    {
        var (lb, entries) = OneRound(("a", 70), ("b", 71));
        AssertOnlyError(SettlementCalculator.Settle(Rules(long.MaxValue / 2 + 1, 0, 10000), lb, entries).Errors, "rules.entry_fee", "POOL_OVERFLOW");
    }

    [Fact]
    public void Huge_amounts_use_wide_intermediate_products()
    {
        // gross × bps exceeds 2^63; floors must still be exact.
        var (lb, entries) = OneRound(("a", 70), ("b", 71));
        var fee = long.MaxValue / 2;
        var r = Settle(Rules(fee, 3333, 6667, 3333), (lb, entries));
        var gross = (Int128)fee * 2;
        Assert.Equal((long)(gross * 3333 / 10000), r.Rake);
    }
}
