using Fairway.Engine.Golf;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class ScoringTests
{
    private static StrokePlayScores Score(int roundCount, int unplayed, string json) =>
        StrokePlayScoring.Apply(roundCount, unplayed, LeaderboardParser.Parse(json).Value);

    [Fact]
    public void Completed_rounds_count_their_strokes()
    {
        var s = Score(2, 80, Leaderboard("closed", ("a", null, new[] { (1, 68, 18), (2, 71, 18) })));
        Assert.Equal(new long[] { 68, 71 }, s.Golfers.Single().RoundStrokes);
        Assert.Equal(139, s.TotalFor("a"));
    }

    [Fact]
    public void Incomplete_round_scores_the_unplayed_value()
    {
        var s = Score(2, 80, Leaderboard("inprogress", ("a", null, new[] { (1, 68, 18), (2, 30, 9) })));
        Assert.Equal(68 + 80, s.TotalFor("a"));
    }

    [Fact]
    public void Not_yet_played_rounds_score_the_unplayed_value()
    {
        var s = Score(4, 80, Leaderboard("inprogress", ("a", null, new[] { (1, 68, 18) })));
        Assert.Equal(new long[] { 68, 80, 80, 80 }, s.Golfers.Single().RoundStrokes);
    }

    [Theory]
    [InlineData("CUT")]
    [InlineData("WD")]
    [InlineData("DQ")]
    [InlineData("MDF")]
    public void Exceptional_statuses_score_unplayed_for_rounds_not_completed(string status)
    {
        var s = Score(4, 80, Leaderboard("closed", ("a", status, new[] { (1, 75, 18), (2, 76, 18), (3, 40, 10) })));
        Assert.Equal(75 + 76 + 80 + 80, s.TotalFor("a"));
    }

    [Fact]
    public void Golfer_missing_from_the_leaderboard_scores_unplayed_for_every_round()
    {
        var s = Score(4, 77, Leaderboard("closed", ("a", null, new[] { (1, 70, 18) })));
        Assert.Equal(4 * 77, s.TotalFor("nobody"));
        Assert.Equal(4 * 77, s.AbsentGolferTotal);
    }

    [Fact]
    public void Playoff_is_ignored()
    {
        var json = Leaderboard("closed", ("a", null, new[] { (1, 70, 18) })).TrimEnd('}')
                   + ",\"playoff\":[{\"id\":\"a\",\"strokes\":4,\"thru\":1,\"rounds\":[{\"sequence\":1,\"strokes\":4,\"thru\":18}]}]}";
        Assert.Equal(70, Score(1, 80, json).TotalFor("a"));
    }

    [Fact]
    public void Rounds_beyond_round_count_are_ignored()
    {
        var s = Score(2, 80, Leaderboard("closed", ("a", null, new[] { (1, 70, 18), (2, 71, 18), (3, 4, 18) })));
        Assert.Equal(141, s.TotalFor("a"));
        Assert.Equal(2, s.Golfers.Single().RoundStrokes.Count);
    }

    [Fact]
    public void Output_is_sorted_by_golfer_id_ordinal()
    {
        var s = Score(1, 80, Leaderboard("closed",
            ("b", null, new[] { (1, 70, 18) }), ("B", null, new[] { (1, 70, 18) }), ("a", null, new[] { (1, 70, 18) })));
        Assert.Equal(new[] { "B", "a", "b" }, s.Golfers.Select(g => g.GolferId));
    }
}
