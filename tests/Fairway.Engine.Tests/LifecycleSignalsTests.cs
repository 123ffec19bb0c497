using Fairway.Engine.Golf;

namespace Fairway.Engine.Tests;

public sealed class LifecycleSignalsTests
{
    static Leaderboard Parse(string status, string roundStatuses, string players)
    {
        var rounds = string.Join(',', roundStatuses.Split(',').Select((s, i) => $$"""{"number":{{i + 1}},"status":"{{s}}"}"""));
        var json = $$"""{"id":"t1","status":"{{status}}","rounds":[{{rounds}}],"leaderboard":[{{players}}]}""";
        var r = LeaderboardParser.Parse(json);
        Assert.True(r.IsSuccess, string.Join("; ", r.IsSuccess ? [] : r.Errors.Select(e => e.Message)));
        return r.Value;
    }

    static string Player(string id, string? status, params int[] thru) =>
        $$"""{"id":"{{id}}"{{(status is null ? "" : $",\"status\":\"{status}\"")}},"rounds":[{{string.Join(',', thru.Select((t, i) => $$"""{"sequence":{{i + 1}},"strokes":{{t * 4}},"thru":{{t}}}"""))}}]}""";

    [Fact]
    public void Scheduled_with_no_play_is_no_signal() =>
        Assert.Equal(LifecycleSignal.None, LifecycleSignals.Read(Parse("scheduled", "scheduled,scheduled", Player("a", null)), 2));

    [Fact]
    public void Inprogress_is_play_started() =>
        Assert.Equal(LifecycleSignal.PlayStarted, LifecycleSignals.Read(Parse("inprogress", "inprogress,scheduled", Player("a", null, 5)), 2));

    [Fact]
    public void A_hole_on_the_card_is_play_started_even_if_the_status_lags() =>
        Assert.Equal(LifecycleSignal.PlayStarted, LifecycleSignals.Read(Parse("scheduled", "scheduled,scheduled", Player("a", null, 1)), 2));

    [Fact]
    public void Closed_is_final() =>
        Assert.Equal(LifecycleSignal.Final, LifecycleSignals.Read(Parse("closed", "closed,closed", Player("a", null, 18, 18)), 2));

    [Fact]
    public void Complete_alone_is_not_final_while_a_golfer_in_good_standing_has_not_finished()
    {
        var lb = Parse("complete", "closed,closed", Player("a", null, 18, 18) + "," + Player("b", null, 18, 17));
        Assert.Equal(LifecycleSignal.PlayStarted, LifecycleSignals.Read(lb, 2));
    }

    [Fact]
    public void Complete_with_open_round_is_not_final() =>
        Assert.Equal(LifecycleSignal.PlayStarted, LifecycleSignals.Read(Parse("complete", "closed,inprogress", Player("a", null, 18, 18)), 2));

    [Fact]
    public void Every_round_closed_and_every_golfer_in_good_standing_complete_is_final_even_before_closed()
    {
        var lb = Parse("complete", "closed,closed", Player("a", null, 18, 18) + "," + Player("c", "CUT", 18) + "," + Player("w", "WD", 18, 9));
        Assert.Equal(LifecycleSignal.Final, LifecycleSignals.Read(lb, 2));
    }

    [Fact]
    public void Missing_round_entries_are_not_final() =>
        Assert.Equal(LifecycleSignal.PlayStarted, LifecycleSignals.Read(Parse("complete", "closed", Player("a", null, 18)), 2));

    [Fact]
    public void Cancelled_is_cancelled() =>
        Assert.Equal(LifecycleSignal.Cancelled, LifecycleSignals.Read(Parse("cancelled", "closed,scheduled", Player("a", null, 18)), 2));
}
