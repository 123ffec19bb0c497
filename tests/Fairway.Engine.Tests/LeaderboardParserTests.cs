using System.Text.Json.Nodes;
using Fairway.Engine.Golf;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class LeaderboardParserTests
{
    private const string Realistic = """
    {
      "id": "b9a4e6c2-0000-4000-8000-000000000001", "name": "The Masters", "event_type": "stroke", "currency": "USD",
      "purse": 20000000.00, "start_date": "2026-04-09", "end_date": "2026-04-12", "status": "inprogress",
      "venue": { "id": "v1", "name": "Augusta National", "courses": [ { "par": 72, "yardage": 7555 } ] },
      "rounds": [ {"id": "r1", "number": 1, "status": "closed"}, {"id": "r2", "number": 2, "status": "inprogress"} ],
      "leaderboard": [
        { "id": "p-scheffler", "first_name": "Scottie", "last_name": "Scheffler", "country": "UNITED STATES",
          "position": 1, "tied": false, "score": -8, "strokes": 136, "money": 3600000.5, "points": 750.25,
          "rounds": [ {"sequence": 1, "score": -4, "strokes": 68, "thru": 18, "birdies": 5, "bogeys": 1, "eagles": 0},
                      {"sequence": 2, "score": -4, "strokes": 68, "thru": 18} ] },
        { "id": "p-cut", "first_name": "A", "last_name": "B", "status": "CUT", "position": 70, "tied": true,
          "score": 6, "strokes": 150, "rounds": [ {"sequence": 1, "strokes": 75, "thru": 18}, {"sequence": 2, "strokes": 75, "thru": 18} ] },
        { "id": "p-none", "first_name": "C", "last_name": "D", "status": null, "rounds": [] }
      ],
      "playoff": [ { "id": "p-scheffler", "strokes": 4, "thru": 1 } ]
    }
    """;

    private static JsonObject Doc() => JsonNode.Parse(Realistic)!.AsObject();
    private static JsonObject Player(JsonObject d, int i) => d["leaderboard"]![i]!.AsObject();
    private static JsonObject Round(JsonObject d, int p, int r) => Player(d, p)["rounds"]![r]!.AsObject();

    private static IReadOnlyList<EngineError> ErrorsOf(string json)
    {
        var result = LeaderboardParser.Parse(json);
        Assert.False(result.IsSuccess);
        return result.Errors;
    }

    private static IReadOnlyList<EngineError> ErrorsOf(Action<JsonObject> mutate)
    {
        var d = Doc();
        mutate(d);
        return ErrorsOf(d.ToJsonString());
    }

    [Fact]
    public void Realistic_payload_parses_and_extra_fields_are_ignored()
    {
        var lb = LeaderboardParser.Parse(Realistic).Value;
        Assert.Equal("b9a4e6c2-0000-4000-8000-000000000001", lb.EventId);
        Assert.Equal(TournamentStatus.InProgress, lb.Status);
        Assert.Equal(new[] { 1, 2 }, lb.Rounds.Select(r => r.Number));
        Assert.Equal(new[] { "p-scheffler", "p-cut", "p-none" }, lb.Players.Select(p => p.Id));
        Assert.Equal(PlayerStatus.Cut, lb.Players[1].Status);
        Assert.Null(lb.Players[2].Status);
        Assert.Equal(new PlayerRound(1, 68, 18), lb.Players[0].Rounds[0]);
    }

    [Theory]
    [InlineData("scheduled", TournamentStatus.Scheduled)]
    [InlineData("created", TournamentStatus.Created)]
    [InlineData("playoff", TournamentStatus.Playoff)]
    [InlineData("delayed", TournamentStatus.Delayed)]
    [InlineData("postponed", TournamentStatus.Postponed)]
    [InlineData("complete", TournamentStatus.Complete)]
    [InlineData("closed", TournamentStatus.Closed)]
    [InlineData("cancelled", TournamentStatus.Cancelled)]
    public void Every_known_tournament_status_parses(string text, TournamentStatus expected)
    {
        var d = Doc();
        d["status"] = text;
        Assert.Equal(expected, LeaderboardParser.Parse(d.ToJsonString()).Value.Status);
    }

    [Theory]
    [InlineData("WD", PlayerStatus.Withdrawn)]
    [InlineData("DQ", PlayerStatus.Disqualified)]
    [InlineData("MDF", PlayerStatus.MadeCutDidNotFinish)]
    public void Every_known_player_status_parses(string text, PlayerStatus expected)
    {
        var d = Doc();
        Player(d, 1)["status"] = text;
        Assert.Equal(expected, LeaderboardParser.Parse(d.ToJsonString()).Value.Players[1].Status);
    }

    [Fact]
    public void Float_strokes_are_rejected_even_when_whole()
    {
        AssertOnlyError(ErrorsOf(WithRaw(Doc(), (d, v) => Round(d, 0, 0)["strokes"] = v, "70.5")), "leaderboard[0].rounds[0].strokes", "NOT_AN_INTEGER");
        AssertOnlyError(ErrorsOf(WithRaw(Doc(), (d, v) => Round(d, 0, 0)["strokes"] = v, "70.0")), "leaderboard[0].rounds[0].strokes", "NOT_AN_INTEGER");
    }

    [Fact]
    public void Negative_strokes_are_rejected() =>
        AssertOnlyError(ErrorsOf(d => Round(d, 0, 1)["strokes"] = -1), "leaderboard[0].rounds[1].strokes", "OUT_OF_RANGE");

    [Fact]
    public void String_strokes_are_rejected() =>
        AssertOnlyError(ErrorsOf(d => Round(d, 1, 0)["strokes"] = "75"), "leaderboard[1].rounds[0].strokes", "WRONG_TYPE");

    [Fact]
    public void Missing_player_id_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => Player(d, 1).Remove("id")), "leaderboard[1].id", "MISSING_FIELD");

    [Fact]
    public void Numeric_player_id_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => Player(d, 1)["id"] = 12345), "leaderboard[1].id", "WRONG_TYPE");

    [Fact]
    public void Duplicate_players_are_rejected() =>
        AssertOnlyError(ErrorsOf(d => Player(d, 2)["id"] = "p-scheffler"), "leaderboard[2].id", "DUPLICATE_PLAYER");

    [Fact]
    public void Duplicate_round_sequence_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => Round(d, 0, 1)["sequence"] = 1), "leaderboard[0].rounds[1].sequence", "DUPLICATE_ROUND_SEQUENCE");

    [Theory]
    [InlineData(-1)]
    [InlineData(19)]
    public void Thru_outside_0_to_18_is_rejected(int thru) =>
        AssertOnlyError(ErrorsOf(d => Round(d, 0, 0)["thru"] = thru), "leaderboard[0].rounds[0].thru", "OUT_OF_RANGE");

    [Fact]
    public void Sequence_zero_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => Round(d, 0, 0)["sequence"] = 0), "leaderboard[0].rounds[0].sequence", "OUT_OF_RANGE");

    [Fact]
    public void Missing_thru_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => Round(d, 0, 0).Remove("thru")), "leaderboard[0].rounds[0].thru", "MISSING_FIELD");

    [Theory]
    [InlineData("cut")]
    [InlineData("WDN")]
    [InlineData("")]
    public void Unknown_player_status_is_rejected(string status) =>
        AssertOnlyError(ErrorsOf(d => Player(d, 0)["status"] = status), "leaderboard[0].status", "UNKNOWN_PLAYER_STATUS");

    [Fact]
    public void Unknown_tournament_status_is_rejected() =>
        AssertOnlyError(ErrorsOf(d => d["status"] = "finished"), "status", "UNKNOWN_TOURNAMENT_STATUS");

    [Fact]
    public void Mistyped_fields_are_rejected()
    {
        AssertOnlyError(ErrorsOf(d => d["status"] = 3), "status", "WRONG_TYPE");
        AssertOnlyError(ErrorsOf(d => d["leaderboard"] = new JsonObject()), "leaderboard", "WRONG_TYPE");
        AssertOnlyError(ErrorsOf(d => Player(d, 0)["rounds"] = "none"), "leaderboard[0].rounds", "WRONG_TYPE");
        AssertOnlyError(ErrorsOf(d => d["rounds"]![0]!["number"] = "1"), "rounds[0].number", "WRONG_TYPE");
        AssertOnlyError(ErrorsOf(d => Player(d, 0)["status"] = false), "leaderboard[0].status", "WRONG_TYPE");
        AssertOnlyError(ErrorsOf("[1,2]"), "$", "WRONG_TYPE");
    }

    [Fact]
    public void Missing_required_top_level_fields_are_rejected()
    {
        var errors = ErrorsOf(d => { d.Remove("id"); d.Remove("status"); d.Remove("leaderboard"); });
        AssertHasError(errors, "id", "MISSING_FIELD");
        AssertHasError(errors, "status", "MISSING_FIELD");
        AssertHasError(errors, "leaderboard", "MISSING_FIELD");
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void Truncated_json_is_rejected() =>
        AssertOnlyError(ErrorsOf(Realistic.Substring(0, Realistic.Length / 2)), "$", "INVALID_JSON");

    [Fact]
    public void All_errors_across_players_are_listed()
    {
        var errors = ErrorsOf(d =>
        {
            Round(d, 0, 0)["strokes"] = -3;
            Player(d, 1)["status"] = "RETIRED";
            Player(d, 2).Remove("id");
            d["status"] = "weird";
        });
        Assert.Equal(4, errors.Count);
        AssertHasError(errors, "leaderboard[2].id", "MISSING_FIELD");
    }

    [Fact]
    public void Rounds_beyond_round_count_are_a_config_aware_check_not_a_parse_error()
    {
        var d = Doc();
        Player(d, 0)["rounds"]!.AsArray().Add(JsonNode.Parse("""{"sequence": 5, "strokes": 3, "thru": 1}"""));
        var lb = LeaderboardParser.Parse(d.ToJsonString()).Value;
        var errors = LeaderboardRules.CheckAgainstConfig(lb, 4);
        AssertOnlyError(errors, "leaderboard[0].rounds[2].sequence", "ROUND_BEYOND_ROUND_COUNT");
        Assert.Empty(LeaderboardRules.CheckAgainstConfig(lb, 5));
    }

    [Fact]
    public void Duplicate_used_key_is_rejected_but_duplicate_ignored_key_is_not()
    {
        var dupUsed = Realistic.Replace("\"status\": \"inprogress\",", "\"status\": \"inprogress\", \"status\": \"closed\",");
        AssertOnlyError(ErrorsOf(dupUsed), "status", "DUPLICATE_FIELD");
        var dupIgnored = Realistic.Replace("\"event_type\": \"stroke\",", "\"event_type\": \"stroke\", \"event_type\": \"match\",");
        Assert.True(LeaderboardParser.Parse(dupIgnored).IsSuccess);
    }
}
