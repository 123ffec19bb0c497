using Fairway.Engine.Golf;

namespace Fairway.Engine.Tests;

public sealed class LeaderboardConsistencyTests
{
    static Leaderboard Lb(string status, params (string Id, (int Seq, int Strokes, int Thru)[] Rounds)[] players)
    {
        var ps = string.Join(',', players.Select(p => $$"""{"id":"{{p.Id}}","rounds":[{{string.Join(',', p.Rounds.Select(r => $$"""{"sequence":{{r.Seq}},"strokes":{{r.Strokes}},"thru":{{r.Thru}}}"""))}}]}"""));
        return LeaderboardParser.Parse($$"""{"id":"t","status":"{{status}}","leaderboard":[{{ps}}]}""").Value;
    }

    [Fact]
    public void Progress_and_corrections_are_not_anomalies()
    {
        var before = Lb("inprogress", ("a", [(1, 70, 18), (2, 20, 6)]));
        var after = Lb("inprogress", ("a", [(1, 69, 18), (2, 30, 9)]), ("b", [(1, 72, 18)]));
        Assert.Empty(LeaderboardConsistency.Compare(before, after, fieldLocked: true));
    }

    [Fact]
    public void Every_regression_is_flagged_with_its_code()
    {
        var before = Lb("closed", ("a", [(1, 70, 18), (2, 30, 9)]), ("b", [(1, 71, 18)]), ("c", [(1, 72, 18)]));
        var after = Lb("inprogress", ("a", [(1, 70, 17), (2, 20, 6)]), ("b", []));
        var codes = LeaderboardConsistency.Compare(before, after, fieldLocked: true).Select(a => a.Code).ToList();
        Assert.Equal([LeaderboardConsistency.StatusRegressed, LeaderboardConsistency.RoundBecameIncomplete, LeaderboardConsistency.ThruWentBackwards,
            LeaderboardConsistency.RoundVanished, LeaderboardConsistency.PlayerDisappeared], codes);
    }

    [Fact]
    public void A_missing_golfer_is_only_an_anomaly_once_the_field_is_locked()
    {
        var before = Lb("scheduled", ("a", []), ("b", []));
        var after = Lb("scheduled", ("a", []));
        Assert.Empty(LeaderboardConsistency.Compare(before, after, fieldLocked: false));
        Assert.Single(LeaderboardConsistency.Compare(before, after, fieldLocked: true));
    }
}

public sealed class ProjectedStandingsTests
{
    [Fact]
    public void Projection_ranks_an_under_filled_contest_that_settlement_refuses()
    {
        var lb = LeaderboardParser.Parse("""{"id":"t","status":"inprogress","leaderboard":[{"id":"a","rounds":[{"sequence":1,"strokes":70,"thru":18}]},{"id":"b","rounds":[{"sequence":1,"strokes":72,"thru":18}]}]}""").Value;
        var rules = new Fairway.Engine.Settlement.SettlementRules("c1", 1000, "usd", 1000, 1, 1, 80,
            [new Fairway.Engine.Contests.PayoutPlace(1, 6000), new Fairway.Engine.Contests.PayoutPlace(2, 4000)]);
        var entries = new[] { new Fairway.Engine.Settlement.SettlementEntry("e1", "u1", ["a"]) };
        Assert.False(Fairway.Engine.Settlement.SettlementCalculator.Settle(rules, lb, entries).IsSuccess);
        var projected = Fairway.Engine.Settlement.SettlementCalculator.Project(rules, lb, entries);
        Assert.True(projected.IsSuccess);
        var e = Assert.Single(projected.Value.Entries);
        Assert.Equal((1, 70L, 540L), (e.Rank, e.Score, e.Prize));
    }
}
