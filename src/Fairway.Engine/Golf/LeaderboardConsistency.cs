namespace Fairway.Engine.Golf;

/// <summary>One inconsistency between the last accepted leaderboard and a new one.</summary>
public sealed record LeaderboardAnomaly(string Code, string? PlayerId, int? Round, string Detail);

/// <summary>
/// Consistency across events (seed 000 Iteration 02). Scores only move forward: a round's strokes do
/// not vanish, a completed round does not become incomplete, holes played do not go backwards, a
/// golfer does not disappear once the field is locked, and an official or cancelled tournament does
/// not reopen. A correction of a completed round's strokes (still thru 18) is not an anomaly: it is
/// how providers correct scores, and it is recorded as a new event.
/// </summary>
public static class LeaderboardConsistency
{
    public const string RoundVanished = "ROUND_STROKES_VANISHED";
    public const string RoundBecameIncomplete = "ROUND_BECAME_INCOMPLETE";
    public const string ThruWentBackwards = "THRU_WENT_BACKWARDS";
    public const string PlayerDisappeared = "PLAYER_DISAPPEARED";
    public const string StatusRegressed = "TOURNAMENT_STATUS_REGRESSED";

    public static IReadOnlyList<LeaderboardAnomaly> Compare(Leaderboard previous, Leaderboard next, bool fieldLocked)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(next);
        var anomalies = new List<LeaderboardAnomaly>();
        if (previous.Status is TournamentStatus.Closed or TournamentStatus.Cancelled && next.Status != previous.Status)
            anomalies.Add(new(StatusRegressed, null, null, $"status went from {Name(previous.Status)} to {Name(next.Status)}"));

        var nextPlayers = next.Players.ToDictionary(p => p.Id, StringComparer.Ordinal);
        foreach (var before in previous.Players.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            if (!nextPlayers.TryGetValue(before.Id, out var after))
            {
                if (fieldLocked) anomalies.Add(new(PlayerDisappeared, before.Id, null, "golfer is missing from the leaderboard after the field locked"));
                continue;
            }
            var afterRounds = after.Rounds.ToDictionary(r => r.Sequence);
            foreach (var round in before.Rounds.OrderBy(r => r.Sequence))
            {
                if (!afterRounds.TryGetValue(round.Sequence, out var now))
                {
                    if (round.Thru > 0) anomalies.Add(new(RoundVanished, before.Id, round.Sequence, $"round had {round.Strokes} strokes thru {round.Thru}; it is gone"));
                    continue;
                }
                if (round.Thru == 18 && now.Thru < 18)
                    anomalies.Add(new(RoundBecameIncomplete, before.Id, round.Sequence, $"round was complete; now thru {now.Thru}"));
                else if (now.Thru < round.Thru)
                    anomalies.Add(new(ThruWentBackwards, before.Id, round.Sequence, $"thru went from {round.Thru} to {now.Thru}"));
            }
        }
        return anomalies;
    }

    static string Name(TournamentStatus s) => s.ToString().ToLowerInvariant();
}
