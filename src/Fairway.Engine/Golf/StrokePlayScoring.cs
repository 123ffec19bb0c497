namespace Fairway.Engine.Golf;

/// <summary>Strokes of one golfer: one value per round 1..round_count, and their sum.</summary>
public sealed record GolferStrokes(string GolferId, IReadOnlyList<long> RoundStrokes, long Total);

/// <summary>Every leaderboard golfer's strokes, sorted by golfer id (ordinal), plus the rule for golfers not on it.</summary>
public sealed class StrokePlayScores
{
    private readonly Dictionary<string, GolferStrokes> _byId;

    internal StrokePlayScores(IReadOnlyList<GolferStrokes> golfers, long absentGolferTotal)
    {
        Golfers = golfers;
        AbsentGolferTotal = absentGolferTotal;
        _byId = golfers.ToDictionary(g => g.GolferId, StringComparer.Ordinal);
    }

    public IReadOnlyList<GolferStrokes> Golfers { get; }

    /// <summary>round_count × unplayed_round_strokes: what a golfer missing from the leaderboard scores.</summary>
    public long AbsentGolferTotal { get; }

    public long TotalFor(string golferId) => _byId.TryGetValue(golferId, out var g) ? g.Total : AbsentGolferTotal;
}

/// <summary>Cumulative stroke-play scoring. The contract: for each round r in 1..round_count a golfer scores that
/// round's strokes if the leaderboard shows it completed (thru == 18), otherwise unplayed_round_strokes. Player
/// status (CUT, WD, DQ, MDF) needs no special case: their unplayed rounds are simply not complete. Playoff holes
/// and round sequences beyond round_count never count.</summary>
public static class StrokePlayScoring
{
    public static StrokePlayScores Apply(int roundCount, int unplayedRoundStrokes, Leaderboard lb)
    {
        ArgumentNullException.ThrowIfNull(lb);
        ArgumentOutOfRangeException.ThrowIfLessThan(roundCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(unplayedRoundStrokes, 0);

        var golfers = lb.Players
            .OrderBy(p => p.Id, StringComparer.Ordinal)
            .Select(p => Score(p, roundCount, unplayedRoundStrokes))
            .ToArray();
        return new StrokePlayScores(golfers, checked((long)roundCount * unplayedRoundStrokes));
    }

    private static GolferStrokes Score(LeaderboardPlayer player, int roundCount, int unplayedRoundStrokes)
    {
        var perRound = new long[roundCount];
        Array.Fill(perRound, unplayedRoundStrokes);
        foreach (var round in player.Rounds)
        {
            if (round.Sequence <= roundCount && round.Thru == LeaderboardParser.HolesPerRound)
            {
                perRound[round.Sequence - 1] = round.Strokes;
            }
        }
        long total = 0;
        foreach (var strokes in perRound)
        {
            total = checked(total + strokes);
        }
        return new GolferStrokes(player.Id, perRound, total);
    }
}
