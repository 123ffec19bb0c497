namespace Fairway.Engine.Golf;

/// <summary>Tournament status as reported by the provider (Sportradar Golf v3).</summary>
public enum TournamentStatus
{
    Scheduled,
    Created,
    InProgress,
    Playoff,
    Delayed,
    Postponed,
    /// <summary>Play is over but results are not yet official.</summary>
    Complete,
    /// <summary>Official and final: the only terminal signal.</summary>
    Closed,
    Cancelled,
}

/// <summary>The exceptional player statuses; a player in good standing has none.</summary>
public enum PlayerStatus
{
    Cut,
    Withdrawn,
    Disqualified,
    /// <summary>Made cut, did not finish (secondary cut).</summary>
    MadeCutDidNotFinish,
}

public sealed record TournamentRound(int Number, string Status);

/// <summary>One round of one player. <see cref="Thru"/> is holes completed (18 = round complete).</summary>
public sealed record PlayerRound(int Sequence, long Strokes, int Thru);

public sealed class LeaderboardPlayer
{
    internal LeaderboardPlayer(string id, PlayerStatus? status, IReadOnlyList<PlayerRound> rounds)
    {
        Id = id;
        Status = status;
        Rounds = rounds;
    }

    public string Id { get; }
    public PlayerStatus? Status { get; }
    /// <summary>In document order; sequences are unique.</summary>
    public IReadOnlyList<PlayerRound> Rounds { get; }
}

/// <summary>A provider leaderboard that passed <see cref="LeaderboardParser"/>. Lists keep document order so error
/// paths can point back into the payload; everything computed from it is sorted.</summary>
public sealed class Leaderboard
{
    internal Leaderboard(string eventId, TournamentStatus status, IReadOnlyList<TournamentRound> rounds, IReadOnlyList<LeaderboardPlayer> players)
    {
        EventId = eventId;
        Status = status;
        Rounds = rounds;
        Players = players;
    }

    public string EventId { get; }
    public TournamentStatus Status { get; }
    public IReadOnlyList<TournamentRound> Rounds { get; }
    public IReadOnlyList<LeaderboardPlayer> Players { get; }
}
