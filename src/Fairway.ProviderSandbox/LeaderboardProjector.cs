using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox;

/// <summary>A persisting correction of one completed round's strokes, effective from <see cref="EffectiveAt"/> on the sandbox clock.</summary>
public sealed record Correction(int GolferIndex, string PlayerId, int Round, int Strokes, int PreviousStrokes, DateTimeOffset EffectiveAt);

/// <summary>
/// Pure projection of a generated tournament onto a Sportradar Golf v3 Tournament Leaderboard document at one
/// instant of the sandbox clock. Same inputs give the same bytes.
/// </summary>
public static class LeaderboardProjector
{
    public static string TournamentStatus(GeneratedTournament g, DateTimeOffset t, DateTimeOffset? cancelledAt)
    {
        if (cancelledAt is { } c && t >= c) return "cancelled";
        if (t < g.RoundStart[0]) return "scheduled";
        if (t < g.PlayEnd) return "inprogress";
        if (t < g.CompleteAt) return "playoff";
        if (t < g.ClosedAt) return "complete";
        return "closed";
    }

    public static string RoundStatus(GeneratedTournament g, int round, DateTimeOffset t)
    {
        if (t < g.RoundStart[round - 1]) return "scheduled";
        if (t < g.RoundEnd[round - 1]) return "inprogress";
        if (round < g.RoundCount) return "closed";
        return t < g.ClosedAt ? "complete" : "closed";
    }

    /// <summary>The hole strokes of a golfer's round as known at <paramref name="t"/> (corrections applied in order).</summary>
    public static int[] HolesAt(Golfer golfer, int round, DateTimeOffset t, IReadOnlyList<Correction> corrections)
    {
        var holes = golfer.Holes[round - 1];
        int[]? copy = null;
        foreach (var c in corrections)
        {
            if (c.GolferIndex != golfer.Index || c.Round != round || c.EffectiveAt > t) continue;
            copy ??= (int[])holes.Clone();
            TournamentGenerator.AdjustHoles(copy, c.Strokes - copy.Sum());
        }
        return copy ?? holes;
    }

    private sealed record RoundRow(int Sequence, int Strokes, int Score, int Thru, int Eagles, int Birdies, int Pars, int Bogeys, int Doubles, int Others);

    private sealed class Row(Golfer golfer)
    {
        public Golfer Golfer { get; } = golfer;
        public List<RoundRow> Rounds { get; } = [];
        public int Strokes;
        public int Score;
        public string? Status;
        public int Position;
        public bool Tied;
    }

    public static JsonObject Project(GeneratedTournament g, DateTimeOffset now, IReadOnlyList<Correction> corrections, DateTimeOffset? cancelledAt)
    {
        var status = TournamentStatus(g, now, cancelledAt);
        // A cancelled tournament is frozen as it stood when it was cancelled.
        var t = cancelledAt is { } c && now >= c ? c : now;
        var rc = g.RoundCount;

        var rows = new List<Row>(g.Golfers.Length);
        foreach (var golfer in g.Golfers)
        {
            var row = new Row(golfer);
            for (var r = 1; r <= rc; r++)
            {
                var play = golfer.Plays[r - 1];
                if (play is null || t < g.RoundStart[r - 1]) continue;
                var thru = play.ThruAt(t);
                var holes = HolesAt(golfer, r, t, corrections);
                int strokes = 0, par = 0, e = 0, b = 0, pa = 0, bo = 0, d = 0, o = 0;
                for (var h = 0; h < thru; h++)
                {
                    strokes += holes[h];
                    par += TournamentGenerator.Pars[h];
                    switch (holes[h] - TournamentGenerator.Pars[h])
                    {
                        case <= -2: e++; break;
                        case -1: b++; break;
                        case 0: pa++; break;
                        case 1: bo++; break;
                        case 2: d++; break;
                        default: o++; break;
                    }
                }
                row.Rounds.Add(new RoundRow(r, strokes, strokes - par, thru, e, b, pa, bo, d, o));
                row.Strokes += strokes;
                row.Score += strokes - par;
            }
            if (golfer.StatusAt is { } at && at <= t) row.Status = golfer.FinalStatus;
            rows.Add(row);
        }

        var playoff = g.Playoff;
        var playoffStarted = playoff is not null && t >= g.PlayEnd;
        var playoffResolved = playoff is not null && t >= g.CompleteAt;
        Rank(rows, playoffResolved ? playoff : null);

        var doc = new JsonObject
        {
            ["id"] = g.Id,
            ["name"] = g.Name,
            ["event_type"] = "stroke",
            ["purse"] = g.Purse,
            ["currency"] = "USD",
            ["start_date"] = Json.Date(g.RoundStart[0]),
            ["end_date"] = Json.Date(g.RoundStart[rc - 1]),
            ["course_timezone"] = g.CourseTimezone,
            ["status"] = status,
            ["coverage"] = "full",
        };
        var rounds = new JsonArray();
        for (var r = 1; r <= rc; r++)
        {
            var rs = RoundStatus(g, r, t);
            if (status == "cancelled" && rs is "scheduled" or "inprogress") rs = "cancelled";
            rounds.Add(new JsonObject { ["id"] = g.RoundIds[r - 1], ["number"] = r, ["status"] = rs });
        }
        doc["rounds"] = rounds;

        var board = new JsonArray();
        foreach (var row in rows)
        {
            var rr = new JsonArray();
            foreach (var x in row.Rounds)
            {
                rr.Add(new JsonObject
                {
                    ["sequence"] = x.Sequence, ["strokes"] = x.Strokes, ["score"] = x.Score, ["thru"] = x.Thru,
                    ["eagles"] = x.Eagles, ["birdies"] = x.Birdies, ["pars"] = x.Pars, ["bogeys"] = x.Bogeys,
                    ["double_bogeys"] = x.Doubles, ["other_scores"] = x.Others,
                });
            }
            var p = new JsonObject
            {
                ["id"] = row.Golfer.Id,
                ["first_name"] = row.Golfer.FirstName,
                ["last_name"] = row.Golfer.LastName,
                ["country"] = row.Golfer.Country,
                ["position"] = row.Position,
                ["tied"] = row.Tied,
                ["score"] = row.Score,
                ["strokes"] = row.Strokes,
                ["rounds"] = rr,
            };
            if (row.Status is not null) p["status"] = row.Status;
            board.Add(p);
        }
        doc["leaderboard"] = board;

        if (playoffStarted)
        {
            var arr = new JsonArray();
            var holeCount = playoff!.HoleDone.Count(x => x <= t);
            var par = TournamentGenerator.Pars[playoff.HoleNumber - 1];
            var order = Enumerable.Range(0, playoff.Participants.Length)
                .OrderBy(i => playoffResolved && playoff.Participants[i] != playoff.Winner ? 1 : 0).ThenBy(i => playoff.Participants[i]);
            foreach (var i in order)
            {
                var golfer = g.Golfers[playoff.Participants[i]];
                var holes = new JsonArray();
                var total = 0;
                for (var h = 0; h < holeCount; h++)
                {
                    total += playoff.Strokes[i][h];
                    holes.Add(new JsonObject { ["sequence"] = h + 1, ["number"] = playoff.HoleNumber, ["par"] = par, ["strokes"] = playoff.Strokes[i][h] });
                }
                var isWinner = golfer.Index == playoff.Winner;
                arr.Add(new JsonObject
                {
                    ["id"] = golfer.Id,
                    ["first_name"] = golfer.FirstName,
                    ["last_name"] = golfer.LastName,
                    ["country"] = golfer.Country,
                    ["position"] = playoffResolved && !isWinner ? 2 : 1,
                    ["tied"] = playoffResolved ? !isWinner && playoff.Participants.Length > 2 : true,
                    ["strokes"] = total,
                    ["holes"] = holes,
                });
            }
            doc["playoff"] = arr;
        }
        return doc;
    }

    /// <summary>
    /// Orders rows and assigns positions. Groups, in order: still playing / finished (by score), MDF, CUT
    /// (each by score, positions continuing after the previous group), then WD and DQ at the bottom with
    /// sequential positions. Ties share the position (standard competition ranking). A resolved playoff puts the
    /// winner alone at 1 and the losers at 2.
    /// </summary>
    private static void Rank(List<Row> rows, PlayoffPlan? resolvedPlayoff)
    {
        static int Group(Row r) => r.Status switch { null => 0, "MDF" => 1, "CUT" => 2, "WD" => 3, _ => 4 };
        rows.Sort((a, b) =>
        {
            var c = Group(a).CompareTo(Group(b));
            if (c != 0) return c;
            if (Group(a) >= 3)
            {
                c = b.Rounds.Count.CompareTo(a.Rounds.Count);
                if (c != 0) return c;
            }
            c = a.Score.CompareTo(b.Score);
            if (c != 0) return c;
            if (resolvedPlayoff is not null)
            {
                c = (a.Golfer.Index == resolvedPlayoff.Winner ? 0 : 1).CompareTo(b.Golfer.Index == resolvedPlayoff.Winner ? 0 : 1);
                if (c != 0) return c;
            }
            c = string.CompareOrdinal(a.Golfer.LastName, b.Golfer.LastName);
            if (c != 0) return c;
            c = string.CompareOrdinal(a.Golfer.FirstName, b.Golfer.FirstName);
            return c != 0 ? c : string.CompareOrdinal(a.Golfer.Id, b.Golfer.Id);
        });

        var offset = 0;
        var i = 0;
        while (i < rows.Count)
        {
            var group = Group(rows[i]);
            var end = i;
            while (end < rows.Count && Group(rows[end]) == group) end++;
            if (group >= 3)
            {
                for (var k = i; k < end; k++)
                {
                    rows[k].Position = offset + (k - i) + 1;
                    rows[k].Tied = false;
                }
            }
            else
            {
                var k = i;
                while (k < end)
                {
                    var same = k;
                    while (same < end && rows[same].Score == rows[k].Score) same++;
                    for (var m = k; m < same; m++)
                    {
                        rows[m].Position = offset + (k - i) + 1;
                        rows[m].Tied = same - k > 1;
                    }
                    k = same;
                }
                if (group == 0 && resolvedPlayoff is not null)
                {
                    var losers = resolvedPlayoff.Participants.Length - 1;
                    foreach (var row in rows.Take(end).Skip(i))
                    {
                        if (!resolvedPlayoff.Participants.Contains(row.Golfer.Index)) continue;
                        var winner = row.Golfer.Index == resolvedPlayoff.Winner;
                        row.Position = offset + (winner ? 1 : 2);
                        row.Tied = !winner && losers > 1;
                    }
                }
            }
            offset += end - i;
            i = end;
        }
    }
}
