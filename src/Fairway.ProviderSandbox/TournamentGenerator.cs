namespace Fairway.ProviderSandbox;

/// <summary>One golfer's participation in one round: tee time, when each hole is holed out, how far they get.</summary>
public sealed class RoundPlay
{
    public required int Round { get; init; }
    public required DateTimeOffset TeeTime { get; init; }
    /// <summary>HoleDone[h] = instant hole h+1 is finished.</summary>
    public required DateTimeOffset[] HoleDone { get; init; }
    /// <summary>18, or fewer when the golfer withdraws during this round.</summary>
    public required int MaxThru { get; init; }

    public DateTimeOffset FinishTime => HoleDone[MaxThru - 1];

    public int ThruAt(DateTimeOffset t)
    {
        var thru = 0;
        while (thru < MaxThru && HoleDone[thru] <= t) thru++;
        return thru;
    }
}

public sealed class Golfer
{
    public required int Index { get; init; }
    public required string Id { get; init; }
    public required string FirstName { get; init; }
    public required string LastName { get; init; }
    public required string Country { get; init; }
    public required int WorldRank { get; init; }
    /// <summary>Skill in 1/10000 per-hole probability shift (positive = better).</summary>
    public required int Skill { get; init; }
    /// <summary>Generated hole strokes [round-1][hole-1] for every round (only rounds in <see cref="Plays"/> are ever shown).</summary>
    public required int[][] Holes { get; init; }
    /// <summary>Plays[round-1]; null when the golfer does not take part in that round.</summary>
    public RoundPlay?[] Plays { get; set; } = [];
    /// <summary>CUT, MDF, WD, DQ or null (finished normally).</summary>
    public string? FinalStatus { get; set; }
    public DateTimeOffset? StatusAt { get; set; }
    public int? WdRound { get; set; }
    public int? WdThru { get; set; }
    public int? DqRound { get; set; }

    public int StrokesThrough(int rounds)
    {
        var s = 0;
        for (var r = 0; r < rounds; r++)
            if (Plays[r] is { } p)
                for (var h = 0; h < p.MaxThru; h++) s += Holes[r][h];
        return s;
    }
}

public sealed class PlayoffPlan
{
    public required int[] Participants { get; init; }   // golfer indices, ascending
    public required int Winner { get; init; }           // golfer index
    public required int HoleNumber { get; init; }       // course hole replayed
    public required int[][] Strokes { get; init; }      // [participant][playoff hole]
    public required DateTimeOffset[] HoleDone { get; init; }
}

public sealed class GeneratedTournament
{
    public required TournamentParameters Parameters { get; init; }
    public required string Name { get; init; }
    public required long Purse { get; init; }
    public required string CourseTimezone { get; init; }
    public required string[] RoundIds { get; init; }
    public required DateTimeOffset[] RoundStart { get; init; }
    public required DateTimeOffset[] RoundEnd { get; init; }
    public required Golfer[] Golfers { get; init; }
    public PlayoffPlan? Playoff { get; init; }
    public required DateTimeOffset PlayEnd { get; init; }      // last putt of the final round
    public required DateTimeOffset CompleteAt { get; init; }   // play (and playoff) over
    public required DateTimeOffset ClosedAt { get; init; }     // official
    public int? CutLineStrokes { get; init; }
    public int? MdfLineStrokes { get; init; }

    public string Id => Parameters.Id;
    public int RoundCount => Parameters.RoundCount;
}

/// <summary>
/// Deterministic tournament generator. Everything is integer arithmetic on <see cref="SeededRandom"/>
/// streams keyed by (seed, purpose, index...), so the same parameters give the same tournament everywhere.
/// </summary>
public static class TournamentGenerator
{
    public static readonly int[] Pars = [4, 5, 4, 3, 4, 4, 3, 4, 5, 4, 4, 3, 5, 4, 4, 3, 5, 4];
    public const int CoursePar = 72;

    private const long TagPlayer = 1, TagRanks = 2, TagHoles = 3, TagRoundDifficulty = 4, TagWithdrawals = 5,
        TagWaves = 6, TagPlayoff = 7, TagMeta = 8, TagRoundId = 9;

    private static readonly string[] FirstNames =
    [
        "Scottie", "Rory", "Xander", "Collin", "Viktor", "Patrick", "Ludvig", "Wyndham", "Tommy", "Hideki", "Justin",
        "Jordan", "Max", "Sahith", "Tony", "Shane", "Russell", "Sungjae", "Tom", "Cameron", "Brian", "Keegan", "Matt",
        "Sam", "Adam", "Sepp", "Jason", "Corey", "Akshay", "Nicolai", "Rasmus", "Byeong", "Taylor", "Denny", "Harris",
        "Billy", "Chris", "Kurt", "Lucas", "Davis", "Min", "Eric", "Maverick", "Stephan", "Aaron", "Robert", "Emiliano",
        "Thomas", "Luke", "Mackenzie", "Joaquin", "Nick", "Ben", "Alex", "Kevin", "Will", "Jake", "Tyrrell", "Matthieu",
    ];

    private static readonly string[] LastNames =
    [
        "Scheffler", "McIlroy", "Schauffele", "Morikawa", "Hovland", "Cantlay", "Aberg", "Clark", "Fleetwood",
        "Matsuyama", "Thomas", "Spieth", "Homa", "Theegala", "Finau", "Lowry", "Henley", "Im", "Kim", "Young", "Harman",
        "Bradley", "Fitzpatrick", "Burns", "Scott", "Straka", "Day", "Conners", "Bhatia", "Hojgaard", "Pendrith",
        "Moore", "McCarthy", "English", "Horschel", "Glover", "Kirk", "Kitayama", "Cole", "Lee", "McNealy", "Jaeger",
        "Rai", "MacIntyre", "Greyserman", "Niemann", "Rahm", "Koepka", "DeChambeau", "Hatton", "Fowler", "Hughes",
        "Pavon", "Norgaard", "Dunlap", "Riley", "Knapp", "Taylor", "Noren", "Power", "Hall", "Griffin", "Hatton",
    ];

    private static readonly (string Country, int Weight)[] Countries =
    [
        ("UNITED STATES", 48), ("ENGLAND", 8), ("SOUTH KOREA", 6), ("JAPAN", 5), ("AUSTRALIA", 6), ("CANADA", 4),
        ("SWEDEN", 4), ("IRELAND", 2), ("NORTHERN IRELAND", 2), ("SCOTLAND", 3), ("SOUTH AFRICA", 4), ("SPAIN", 3),
        ("DENMARK", 3), ("NORWAY", 1), ("FRANCE", 2), ("GERMANY", 1), ("ARGENTINA", 1), ("CHILE", 1), ("COLOMBIA", 1),
    ];

    private static readonly string[] NamePlaces =
        ["Riverbend", "Pine Hollow", "Cedar Ridge", "Harbor Links", "Willow Creek", "Eagle Bluff", "Sandpiper", "Stone Canyon", "Lakeshore", "Oak Hill"];

    private static readonly string[] NameKinds = ["Classic", "Invitational", "Open", "Championship", "Masters"];

    private static readonly string[] Timezones =
        ["America/New_York", "America/Chicago", "America/Los_Angeles", "America/Phoenix", "Europe/London"];

    private static readonly long[] Purses = [8_400_000, 9_000_000, 9_200_000, 12_000_000, 20_000_000, 21_000_000, 25_000_000];

    public static GeneratedTournament Generate(TournamentParameters p)
    {
        var seed = (long)p.Seed;
        var n = p.FieldSize;
        var rc = p.RoundCount;

        // ---- meta
        var meta = SeededRandom.For(seed, TagMeta);
        var name = p.Name ?? $"{NamePlaces[meta.NextInt(NamePlaces.Length)]} {NameKinds[meta.NextInt(NameKinds.Length)]}";
        var purse = Purses[meta.NextInt(Purses.Length)];
        var tz = Timezones[meta.NextInt(Timezones.Length)];
        var roundIds = new string[rc];
        for (var r = 0; r < rc; r++) roundIds[r] = SeededRandom.For(seed, TagRoundId, SeededRandom.HashString(p.Id), r + 1).NextGuid();

        // ---- schedule
        var durationMs = p.RoundDurationMinutes * 60_000L;
        var roundStart = new DateTimeOffset[rc];
        var roundEnd = new DateTimeOffset[rc];
        for (var r = 0; r < rc; r++)
        {
            roundStart[r] = p.Start.AddMilliseconds(r * (durationMs + p.RoundGapMinutes * 60_000L));
            roundEnd[r] = roundStart[r].AddMilliseconds(durationMs);
        }

        // ---- field
        var rankPoolSize = Math.Max(3 * n, 300);
        var rankPool = Enumerable.Range(1, rankPoolSize).ToList();
        var ranksRng = SeededRandom.For(seed, TagRanks, n);
        for (var i = 0; i < n; i++)
        {
            var j = i + ranksRng.NextInt(rankPoolSize - i); // partial Fisher-Yates
            (rankPool[i], rankPool[j]) = (rankPool[j], rankPool[i]);
        }
        var countryWeight = Countries.Sum(c => c.Weight);
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        var golfers = new Golfer[n];
        var difficulty = new int[rc];
        for (var r = 0; r < rc; r++) difficulty[r] = SeededRandom.For(seed, TagRoundDifficulty, r + 1).NextInclusive(-350, 350);

        for (var i = 0; i < n; i++)
        {
            var rng = SeededRandom.For(seed, TagPlayer, i);
            var id = rng.NextGuid();
            string first, last;
            var attempts = 0;
            do
            {
                first = FirstNames[rng.NextInt(FirstNames.Length)];
                last = LastNames[rng.NextInt(LastNames.Length)];
                if (++attempts > 50) last += " " + ToRoman(attempts - 49); // field larger than the name space
            } while (!usedNames.Add(first + " " + last));
            var cw = rng.NextInt(countryWeight);
            var country = Countries[^1].Country;
            foreach (var (c, w) in Countries)
            {
                if (cw < w) { country = c; break; }
                cw -= w;
            }
            var rank = rankPool[i];
            var skill = 600 - (int)(1200L * (rank - 1) / (rankPoolSize - 1)) + rng.NextInclusive(-150, 150);
            var holes = new int[rc][];
            for (var r = 0; r < rc; r++) holes[r] = GenerateRound(SeededRandom.For(seed, TagHoles, i, r + 1), skill - difficulty[r]);
            golfers[i] = new Golfer
            {
                Index = i, Id = id, FirstName = first, LastName = last, Country = country, WorldRank = rank, Skill = skill, Holes = holes,
                Plays = new RoundPlay?[rc],
            };
        }

        // ---- withdrawals and disqualifications (all before the cut is decided, so the cut ranks only golfers still playing)
        var preCutRounds = p.CutAfterRound ?? rc;
        var wdRng = SeededRandom.For(seed, TagWithdrawals);
        var pickOrder = Enumerable.Range(0, n).ToList();
        wdRng.Shuffle(pickOrder);
        var k = 0;
        for (var w = 0; w < p.Withdrawals; w++, k++)
        {
            var g = golfers[pickOrder[k]];
            g.WdRound = wdRng.NextInclusive(1, preCutRounds);
            var midRound = w == 0 || g.WdRound == rc || wdRng.NextInt(2) == 0;
            g.WdThru = midRound ? wdRng.NextInclusive(3, 15) : 18;
            g.FinalStatus = "WD";
        }
        for (var d = 0; d < p.Disqualifications; d++, k++)
        {
            var g = golfers[pickOrder[k]];
            g.DqRound = wdRng.NextInclusive(1, preCutRounds);
            g.FinalStatus = "DQ";
        }

        // ---- rounds: participants, cut, MDF, tee sheet
        var wavesRng = SeededRandom.For(seed, TagWaves, n);
        var baseOrder = Enumerable.Range(0, n).ToList();
        wavesRng.Shuffle(baseOrder);
        int? cutLine = null, mdfLine = null;
        var cutAt = p.CutAfterRound;
        var mdfAt = p.MdfAfterRound;
        for (var r = 1; r <= rc; r++)
        {
            if (cutAt == r - 1) cutLine = ApplyCut(golfers, r - 1, p.CutKeep, "CUT", roundEnd[r - 2]);
            if (mdfAt == r - 1) mdfLine = ApplyCut(golfers, r - 1, p.MdfKeep!.Value, "MDF", roundEnd[r - 2]);

            var plays = golfers.Where(g => PlaysRound(g, r)).Select(g => g.Index).ToHashSet();
            List<int> order;
            if (r <= 2)
            {
                order = baseOrder.Where(plays.Contains).ToList();
                if (r == 2) order = order.Skip(order.Count / 2).Concat(order.Take(order.Count / 2)).ToList(); // waves swap
            }
            else
            {
                // leaders go out last
                order = plays.OrderByDescending(i => golfers[i].StrokesThrough(r - 1)).ThenByDescending(i => i).ToList();
            }
            var groupSize = r <= 2 ? 3 : 2;
            var groups = (order.Count + groupSize - 1) / groupSize;
            var playMs = durationMs / 2;
            var spanMs = durationMs - playMs;
            for (var pos = 0; pos < order.Count; pos++)
            {
                var g = golfers[order[pos]];
                var group = pos / groupSize;
                // whole seconds, so every instant is easy to hit from a test or simulation
                var tee = roundStart[r - 1].AddSeconds(groups <= 1 ? 0 : spanMs / 1000 * group / (groups - 1));
                var done = new DateTimeOffset[18];
                for (var h = 0; h < 18; h++) done[h] = tee.AddSeconds(playMs / 1000 * (h + 1) / 18);
                var play = new RoundPlay { Round = r, TeeTime = tee, HoleDone = done, MaxThru = g.WdRound == r ? g.WdThru!.Value : 18 };
                g.Plays[r - 1] = play;
                if (g.WdRound == r) g.StatusAt = play.MaxThru == 18 ? roundEnd[r - 1] : play.FinishTime;
                if (g.DqRound == r) g.StatusAt = play.FinishTime;
            }
        }

        // ---- the finish: a forced playoff, or a sole winner
        var finishers = golfers.Where(g => g.FinalStatus is null && g.Plays[rc - 1] is { MaxThru: 18 }).ToList();
        var playEnd = roundEnd[rc - 1];
        PlayoffPlan? playoff = null;
        var complete = playEnd;
        if (finishers.Count > 0)
        {
            var poRng = SeededRandom.For(seed, TagPlayoff);
            var ranked = finishers.OrderBy(g => g.StrokesThrough(rc)).ThenBy(g => g.Index).ToList();
            var best = ranked[0].StrokesThrough(rc);
            if (p.Playoff && finishers.Count >= 2)
            {
                // Tie the top two (sometimes three) by meeting in the middle, so no final round moves by more
                // than half the gap; nobody else can be at or below the new lead total.
                var want = finishers.Count >= 3 && ranked[2].StrokesThrough(rc) - best <= 3 && poRng.NextInt(10) < 3 ? 3 : 2;
                var target = (best + ranked[want - 1].StrokesThrough(rc)) / 2;
                for (var i = 0; i < want; i++)
                    AdjustHoles(ranked[i].Holes[rc - 1], target - ranked[i].StrokesThrough(rc));
                best = target;
                var participants = finishers.Where(g => g.StrokesThrough(rc) == best).Select(g => g.Index).OrderBy(i => i).ToArray();
                var holesPlayed = poRng.NextInclusive(1, 3);
                var winner = participants[poRng.NextInt(participants.Length)];
                var holeNo = 18;
                var par = Pars[holeNo - 1];
                var strokes = new int[participants.Length][];
                for (var i = 0; i < participants.Length; i++) strokes[i] = new int[holesPlayed];
                for (var h = 0; h < holesPlayed - 1; h++)
                {
                    var s = par + poRng.NextInclusive(-1, 1);
                    for (var i = 0; i < participants.Length; i++) strokes[i][h] = s;
                }
                var winning = par + poRng.NextInclusive(-1, 0);
                for (var i = 0; i < participants.Length; i++)
                    strokes[i][holesPlayed - 1] = participants[i] == winner ? winning : winning + poRng.NextInclusive(1, 2);
                var holeMs = Math.Max(60_000L, durationMs / 20);
                var done = new DateTimeOffset[holesPlayed];
                for (var h = 0; h < holesPlayed; h++) done[h] = playEnd.AddSeconds(holeMs / 1000 * (h + 1));
                playoff = new PlayoffPlan { Participants = participants, Winner = winner, HoleNumber = holeNo, Strokes = strokes, HoleDone = done };
                complete = done[^1];
            }
            else if (ranked.Count >= 2 && ranked[1].StrokesThrough(rc) == best)
            {
                AdjustHoles(ranked[0].Holes[rc - 1], -1); // real events always have a sole winner
            }
        }

        return new GeneratedTournament
        {
            Parameters = p, Name = name, Purse = purse, CourseTimezone = tz, RoundIds = roundIds, RoundStart = roundStart,
            RoundEnd = roundEnd, Golfers = golfers, Playoff = playoff, PlayEnd = playEnd, CompleteAt = complete,
            ClosedAt = complete.AddMinutes(p.OfficialDelayMinutes), CutLineStrokes = cutLine, MdfLineStrokes = mdfLine,
        };
    }

    private static bool PlaysRound(Golfer g, int r)
    {
        if (g.WdRound is { } wr && (r > wr)) return false;
        if (g.DqRound is { } dr && (r > dr)) return false;
        return g.FinalStatus is not ("CUT" or "MDF");
    }

    /// <summary>Top <paramref name="keep"/> and ties by strokes after <paramref name="afterRound"/> go on; the rest get <paramref name="status"/>.</summary>
    private static int? ApplyCut(Golfer[] golfers, int afterRound, int keep, string status, DateTimeOffset at)
    {
        var alive = golfers.Where(g => g.FinalStatus is null && g.Plays[afterRound - 1] is { MaxThru: 18 }).ToList();
        if (alive.Count <= keep) return null;
        var totals = alive.Select(g => g.StrokesThrough(afterRound)).OrderBy(s => s).ToList();
        var line = totals[keep - 1];
        foreach (var g in alive.Where(g => g.StrokesThrough(afterRound) > line))
        {
            g.FinalStatus = status;
            g.StatusAt = at;
        }
        return line;
    }

    /// <summary>One round, hole by hole, for a golfer with per-hole shift <paramref name="shift"/> (1/10000 units).</summary>
    private static int[] GenerateRound(SeededRandom rng, int shift)
    {
        var form = (rng.NextInclusive(-300, 300) + rng.NextInclusive(-300, 300)) / 2;
        var s = shift + form;
        var holes = new int[18];
        for (var h = 0; h < 18; h++)
        {
            var par = Pars[h];
            var (eagle, birdie, bogey, dbl) = par switch
            {
                3 => (4, 1300, 1700, 300),
                4 => (15, 1700, 1550, 250),
                _ => (250, 3600, 900, 150),
            };
            birdie = Math.Clamp(birdie + s, 200, 6000);
            bogey = Math.Clamp(bogey - s, 150, 5000);
            var roll = rng.NextInt(10_000);
            int score;
            if (roll < eagle) score = par - 2;
            else if ((roll -= eagle) < birdie) score = par - 1;
            else if ((roll -= birdie) < bogey) score = par + 1;
            else if ((roll -= bogey) < dbl) score = par + (rng.NextInt(6) == 0 ? 3 : 2);
            else score = par;
            holes[h] = score;
        }
        return holes;
    }

    /// <summary>Changes a round's total by <paramref name="delta"/> strokes, one hole at a time, keeping holes plausible.</summary>
    public static void AdjustHoles(int[] holes, int delta)
    {
        while (delta < 0)
        {
            var best = -1;
            for (var h = 17; h >= 0; h--)
                if (holes[h] > 1 && (best < 0 || holes[h] - Pars[h] > holes[best] - Pars[best])) best = h;
            if (best < 0) break;
            holes[best]--;
            delta++;
        }
        while (delta > 0)
        {
            var best = 17;
            for (var h = 17; h >= 0; h--)
                if (holes[h] - Pars[h] < holes[best] - Pars[best]) best = h;
            holes[best]++;
            delta--;
        }
    }

    private static string ToRoman(int i) => i switch { 1 => "II", 2 => "III", 3 => "IV", _ => "V" + i };
}
