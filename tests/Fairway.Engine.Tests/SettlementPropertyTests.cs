using System.Text.Json.Nodes;
using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Fairway.Engine.Tests;

/// <summary>A random contest: rules, a leaderboard (as provider JSON), entries, and the same inputs permuted.</summary>
public sealed record SettlementScenario(
    SettlementRules Rules,
    string LeaderboardJson,
    string PermutedLeaderboardJson,
    SettlementEntry[] Entries,
    SettlementEntry[] PermutedEntries)
{
    public override string ToString() =>
        $"rules={Rules.EntryFee}/{Rules.RakeBps}/[{string.Join(",", Rules.PayoutTable.Select(p => p.Bps))}] roster={Rules.RosterSize} rounds={Rules.RoundCount}\n" +
        $"entries={string.Join(" ", Entries.Select(e => e.Id + ":" + string.Join("+", e.Golfers)))}\nleaderboard={LeaderboardJson}";
}

public static class SettlementArbitraries
{
    private static readonly string?[] Statuses = { null, null, null, "CUT", "WD", "DQ", "MDF" };

    private static Gen<JsonObject> Player(string id, int roundCount) =>
        from status in Gen.Elements(Statuses)
        from rounds in Gen.CollectToArray(Enumerable.Range(1, roundCount + 1), seq =>
            from present in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
            from strokes in Gen.Choose(66, 74) // narrow range: ties are common
            from thru in Gen.Frequency((5, Gen.Constant(18)), (1, Gen.Choose(0, 17)))
            select present ? new JsonObject { ["sequence"] = seq, ["strokes"] = strokes, ["thru"] = thru, ["birdies"] = 3 } : null)
        from roundOrder in Gen.Shuffle(rounds.Where(r => r is not null).ToArray())
        select BuildPlayer(id, status, roundOrder!);

    private static JsonObject BuildPlayer(string id, string? status, JsonObject[] rounds)
    {
        var o = new JsonObject { ["id"] = id, ["first_name"] = "F", ["money"] = JsonValue.Create(1234.5), ["rounds"] = new JsonArray(rounds) };
        if (status is not null)
        {
            o["status"] = status;
        }
        return o;
    }

    private static string LeaderboardJson(IEnumerable<JsonObject> players) =>
        new JsonObject { ["id"] = "evt", ["status"] = "closed", ["leaderboard"] = new JsonArray(players.Select(p => (JsonNode)p.DeepClone()).ToArray()) }
            .ToJsonString();

    public static Arbitrary<SettlementScenario> Scenario()
    {
        var gen =
            from roundCount in Gen.Choose(1, 4)
            from unplayed in Gen.Choose(60, 90)
            from golferCount in Gen.Choose(1, 10)
            let golfers = Enumerable.Range(0, golferCount).Select(i => (i % 3 == 0 ? "G" : "g") + i).ToArray()
            from onBoard in Gen.SubListOf(golfers)
            from players in Gen.CollectToArray(onBoard, id => Player(id, roundCount))
            from permutedPlayers in Gen.Shuffle(players)
            from places in Gen.Choose(1, 4)
            from bps in Gen.Piles(places, 10_000)
            from fee in Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Choose(1, 100_000)))
            from rake in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Constant(10_000)), (6, Gen.Choose(0, 10_000)))
            from rosterSize in Gen.Choose(1, Math.Min(3, golferCount))
            let highestPaid = bps.Select((b, i) => (b, i)).Where(x => x.b > 0).Max(x => x.i) + 1
            from entryCount in Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Choose(highestPaid, highestPaid + 8)))
            from entries in Gen.CollectToArray(Enumerable.Range(0, entryCount), i =>
                from picks in Gen.Shuffle(golfers)
                from user in Gen.Choose(1, 3)
                select new SettlementEntry((i % 2 == 0 ? "E" : "e") + i, "user-" + user, picks.Take(rosterSize).ToArray()))
            from permutedEntries in Gen.Shuffle(entries)
            select new SettlementScenario(
                new SettlementRules("contest-p", fee, "usd", rake, rosterSize, roundCount, unplayed,
                    bps.Select((b, i) => new PayoutPlace(i + 1, b)).ToArray()),
                LeaderboardJson(players),
                LeaderboardJson(permutedPlayers),
                entries,
                permutedEntries.ToArray());
        return gen.ToArbitrary();
    }
}

[Properties(Arbitrary = new[] { typeof(SettlementArbitraries) }, MaxTest = 300)]
public class SettlementPropertyTests
{
    private static SettlementResult Settle(SettlementRules rules, string leaderboardJson, SettlementEntry[] entries)
    {
        var result = SettlementCalculator.Settle(rules, LeaderboardParser.Parse(leaderboardJson).Value, entries);
        Assert.True(result.IsSuccess, string.Join("; ", result.Errors));
        return result.Value;
    }

    [Property]
    public void Prizes_plus_rake_equal_gross(SettlementScenario s)
    {
        var r = Settle(s.Rules, s.LeaderboardJson, s.Entries);
        Assert.Equal(r.Gross, r.Entries.Sum(e => e.Prize) + r.Rake);
        Assert.Equal(s.Rules.EntryFee * s.Entries.Length, r.Gross);
        Assert.Equal(r.Gross - r.Rake, r.Net);
        Assert.All(r.Entries, e => Assert.True(e.Prize >= 0));
    }

    [Property]
    public void Permuting_entries_and_leaderboard_does_not_change_the_output(SettlementScenario s)
    {
        var a = SettlementResultDocument.Build(Settle(s.Rules, s.LeaderboardJson, s.Entries)).Json;
        var b = SettlementResultDocument.Build(Settle(s.Rules, s.PermutedLeaderboardJson, s.PermutedEntries)).Json;
        Assert.Equal(a, b);
    }

    [Property]
    public void Tied_entries_prizes_differ_by_at_most_one_unit(SettlementScenario s)
    {
        var r = Settle(s.Rules, s.LeaderboardJson, s.Entries);
        foreach (var tie in r.Entries.GroupBy(e => e.Score))
        {
            Assert.Single(tie.Select(e => e.Rank).Distinct());
            Assert.True(tie.Max(e => e.Prize) - tie.Min(e => e.Prize) <= 1);
        }
    }

    [Property]
    public void Ranks_are_competition_ranks_and_output_is_sorted(SettlementScenario s)
    {
        var r = Settle(s.Rules, s.LeaderboardJson, s.Entries);
        for (var i = 0; i < r.Entries.Count; i++)
        {
            var e = r.Entries[i];
            Assert.Equal(1 + r.Entries.Count(o => o.Score < e.Score), e.Rank);
            if (i > 0)
            {
                var p = r.Entries[i - 1];
                Assert.True(p.Rank < e.Rank || (p.Rank == e.Rank && string.CompareOrdinal(p.Id, e.Id) < 0));
            }
        }
    }

    [Property]
    public void Running_twice_is_byte_identical(SettlementScenario s)
    {
        var first = SettlementResultDocument.Build(Settle(s.Rules, s.LeaderboardJson, s.Entries));
        var second = SettlementResultDocument.Build(Settle(s.Rules, s.LeaderboardJson, s.Entries));
        Assert.Equal(first.Json, second.Json);
        Assert.Equal(first.OutputHash, second.OutputHash);
    }

    [Property]
    public void Inputs_are_not_mutated(SettlementScenario s)
    {
        var entriesBefore = s.Entries.Select(e => (e, Golfers: e.Golfers.ToArray())).ToArray();
        var tableBefore = s.Rules.PayoutTable.ToArray();
        var lb = LeaderboardParser.Parse(s.LeaderboardJson).Value;
        var playersBefore = lb.Players.Select(p => (p, Rounds: p.Rounds.ToArray())).ToArray();

        SettlementCalculator.Settle(s.Rules, lb, s.Entries);

        Assert.Equal(entriesBefore.Select(x => x.e), s.Entries);
        Assert.All(entriesBefore, x => Assert.Equal(x.Golfers, x.e.Golfers));
        Assert.Equal(tableBefore, s.Rules.PayoutTable);
        Assert.Equal(playersBefore.Select(x => x.p), lb.Players);
        Assert.All(playersBefore, x => Assert.Equal(x.Rounds, x.p.Rounds));
    }

    [Property]
    public void Bundle_written_then_replayed_matches_direct_settlement(SettlementScenario s)
    {
        var direct = SettlementResultDocument.Build(Settle(s.Rules, s.LeaderboardJson, s.Entries)).Json;
        var bundle = SettlementBundle.Write(s.Rules, s.LeaderboardJson, s.Entries);
        Assert.True(bundle.IsSuccess, string.Join("; ", bundle.Errors));
        Assert.Equal(direct, SettlementBundleReplay.Run(bundle.Value).Value);
        Assert.Equal(bundle.Value, SettlementBundle.Write(s.Rules, s.LeaderboardJson, s.PermutedEntries).Value);
    }
}
