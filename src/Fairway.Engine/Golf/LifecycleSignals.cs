namespace Fairway.Engine.Golf;

/// <summary>What a leaderboard says about the contest lifecycle.</summary>
public enum LifecycleSignal
{
    /// <summary>Nothing has started yet (scheduled, created, postponed before any play).</summary>
    None,
    /// <summary>Play has started: the tournament or one of its rounds is in progress, or any golfer has a hole on the card.</summary>
    PlayStarted,
    /// <summary>Officially final: status <c>closed</c>, or every round closed and every golfer in good standing completed every round.</summary>
    Final,
    /// <summary>The provider cancelled the tournament.</summary>
    Cancelled,
}

/// <summary>
/// Reads lifecycle signals from a validated leaderboard. <c>complete</c> alone is never final (play is
/// over, results are not official); silence is not a leaderboard and so never completes anything.
/// </summary>
public static class LifecycleSignals
{
    public static LifecycleSignal Read(Leaderboard leaderboard, int roundCount)
    {
        ArgumentNullException.ThrowIfNull(leaderboard);
        if (roundCount < 1) throw new ArgumentOutOfRangeException(nameof(roundCount));
        if (leaderboard.Status == TournamentStatus.Cancelled) return LifecycleSignal.Cancelled;
        if (IsFinal(leaderboard, roundCount)) return LifecycleSignal.Final;
        return HasStarted(leaderboard) ? LifecycleSignal.PlayStarted : LifecycleSignal.None;
    }

    /// <summary>Terminal evidence: status closed, or verified completion of the final round.</summary>
    public static bool IsFinal(Leaderboard leaderboard, int roundCount)
    {
        if (leaderboard.Status == TournamentStatus.Closed) return true;
        if (leaderboard.Status == TournamentStatus.Cancelled) return false;
        var rounds = leaderboard.Rounds.Where(r => r.Number >= 1 && r.Number <= roundCount).ToList();
        var allRoundsClosed = rounds.Select(r => r.Number).Distinct().Count() == roundCount
                              && rounds.All(r => string.Equals(r.Status, "closed", StringComparison.Ordinal));
        if (!allRoundsClosed || leaderboard.Players.Count == 0) return false;
        return leaderboard.Players.Where(p => p.Status is null).All(p =>
            Enumerable.Range(1, roundCount).All(n => p.Rounds.Any(r => r.Sequence == n && r.Thru == 18)));
    }

    static bool HasStarted(Leaderboard leaderboard) =>
        leaderboard.Status is TournamentStatus.InProgress or TournamentStatus.Playoff or TournamentStatus.Complete or TournamentStatus.Closed
        || leaderboard.Rounds.Any(r => r.Status is "inprogress" or "closed" or "complete")
        || leaderboard.Players.Any(p => p.Rounds.Any(r => r.Thru > 0));
}
