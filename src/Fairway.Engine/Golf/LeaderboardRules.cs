using Fairway.Engine.Json;

namespace Fairway.Engine.Golf;

/// <summary>Checks that need the contest config. Kept out of the parser so a stored payload's validity
/// never depends on which contest reads it.</summary>
public static class LeaderboardRules
{
    /// <summary>One ROUND_BEYOND_ROUND_COUNT error per player round whose sequence exceeds <paramref name="roundCount"/>.
    /// Scoring ignores such rounds anyway; ingestion decides whether to reject the payload.</summary>
    public static IReadOnlyList<EngineError> CheckAgainstConfig(Leaderboard leaderboard, int roundCount)
    {
        ArgumentNullException.ThrowIfNull(leaderboard);
        var errors = new List<EngineError>();
        for (var p = 0; p < leaderboard.Players.Count; p++)
        {
            var player = leaderboard.Players[p];
            for (var r = 0; r < player.Rounds.Count; r++)
            {
                var round = player.Rounds[r];
                if (round.Sequence > roundCount)
                {
                    errors.Add(new EngineError(
                        JsonPath.Field(JsonPath.Index(JsonPath.Index("leaderboard", p) + ".rounds", r), "sequence"),
                        ErrorCodes.RoundBeyondRoundCount,
                        $"Player '{player.Id}' has round {round.Sequence} but the contest has {roundCount} rounds."));
                }
            }
        }
        return errors;
    }
}
