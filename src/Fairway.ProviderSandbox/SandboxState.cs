using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox;

public sealed class TournamentEntry(GeneratedTournament tournament)
{
    public GeneratedTournament Tournament { get; } = tournament;
    public List<Correction> Corrections { get; } = [];
    public DateTimeOffset? CancelledAt { get; set; }
    /// <summary>Suspensions of play on the sandbox clock (a postponement before the first tee, a weather delay during play).</summary>
    public List<(DateTimeOffset From, DateTimeOffset Until)> Suspensions { get; } = [];

    /// <summary>
    /// The instant of play that <paramref name="now"/> shows: play stands still during a suspension and resumes after it
    /// where it stopped, so everything later happens later by the suspension's length (a Sunday finish becomes Monday's).
    /// </summary>
    public (DateTimeOffset At, bool Suspended) PlayTime(DateTimeOffset now)
    {
        var shift = TimeSpan.Zero;
        foreach (var (from, until) in Suspensions)
        {
            if (now < from) break;
            if (now < until) return (from - shift, true);
            shift += until - from;
        }
        return (now - shift, false);
    }
    /// <summary>The last normally served leaderboard body, and the distinct one before it (for stale_repeat).</summary>
    public byte[]? LastBody { get; set; }
    public int LastMaxAge { get; set; }
    public byte[]? PreviousDistinctBody { get; set; }
    public int PreviousDistinctMaxAge { get; set; }
}

/// <summary>What the leaderboard endpoint should do for one request.</summary>
public sealed record LeaderboardPlan(int StatusCode, byte[]? Body, int MaxAge, string? Fault, bool Abort = false, int DelayMs = 0, int RetryAfterSeconds = 0);

/// <summary>All mutable sandbox state, behind one lock. The clock is the only time source.</summary>
public sealed class SandboxState(SandboxClock clock)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, TournamentEntry> _tournaments = new(StringComparer.Ordinal);
    private readonly List<Fault> _faults = [];
    private int _faultSeq;

    private long _requests;
    private readonly SortedDictionary<string, long> _requestsByTournament = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _responsesByStatus = new(StringComparer.Ordinal);
    private long _faultsApplied;
    private readonly SortedDictionary<string, long> _faultsByKind = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, SortedDictionary<string, long>> _faultsByTournament = new(StringComparer.Ordinal);

    public SandboxClock Clock { get; } = clock;

    public static int MaxAgeFor(string status) => status is "inprogress" or "playoff" ? 10 : 300;

    // ---------------------------------------------------------------- tournaments

    /// <summary>Creates (201), returns the identical existing one (200) or refuses a different one under the same id (409).</summary>
    public (int Status, JsonObject Body) CreateTournament(TournamentParameters p)
    {
        lock (_gate)
        {
            if (_tournaments.TryGetValue(p.Id, out var existing))
            {
                return existing.Tournament.Parameters == p
                    ? (200, Truth(existing))
                    : (409, Error($"tournament '{p.Id}' already exists with different parameters"));
            }
            var entry = new TournamentEntry(TournamentGenerator.Generate(p));
            _tournaments[p.Id] = entry;
            return (201, Truth(entry));
        }
    }

    public JsonObject? GetTruth(string id)
    {
        lock (_gate) return _tournaments.TryGetValue(id, out var e) ? Truth(e) : null;
    }

    public JsonArray ListTournaments()
    {
        lock (_gate)
        {
            var now = Clock.GetUtcNow();
            var arr = new JsonArray();
            foreach (var e in _tournaments.Values.OrderBy(e => e.Tournament.Id, StringComparer.Ordinal))
                arr.Add(new JsonObject
                {
                    ["id"] = e.Tournament.Id,
                    ["name"] = e.Tournament.Name,
                    ["seed"] = e.Tournament.Parameters.Seed,
                    ["status"] = LeaderboardProjector.TournamentStatus(e.Tournament, e.PlayTime(now).At, e.CancelledAt),
                });
            return arr;
        }
    }

    public (int Status, JsonObject Body) AddCorrection(string id, string playerId, int round, int strokes)
    {
        lock (_gate)
        {
            if (!_tournaments.TryGetValue(id, out var e)) return (404, Error($"tournament '{id}' not found"));
            var t = e.Tournament;
            var now = e.PlayTime(Clock.GetUtcNow()).At;
            if (e.CancelledAt is not null) return (409, Error("tournament is cancelled"));
            var golfer = t.Golfers.FirstOrDefault(x => x.Id == playerId);
            if (golfer is null) return (404, Error($"player '{playerId}' is not in the field"));
            if (round < 1 || round > t.RoundCount) return (400, Error($"round must be 1..{t.RoundCount}"));
            if (strokes is < 18 or > 200) return (400, Error("strokes must be 18..200"));
            var play = golfer.Plays[round - 1];
            if (play is null || play.MaxThru != 18 || play.FinishTime > now)
                return (409, Error("only a round the player has completed (all 18 holes, as of the sandbox clock) can be corrected"));
            var previous = LeaderboardProjector.HolesAt(golfer, round, now, e.Corrections).Sum();
            var c = new Correction(golfer.Index, golfer.Id, round, strokes, previous, now);
            e.Corrections.Add(c);
            return (201, CorrectionJson(c));
        }
    }

    public (int Status, JsonObject Body) Cancel(string id)
    {
        lock (_gate)
        {
            if (!_tournaments.TryGetValue(id, out var e)) return (404, Error($"tournament '{id}' not found"));
            var now = e.PlayTime(Clock.GetUtcNow()).At;
            if (e.CancelledAt is not null) return (409, Error($"tournament already cancelled at {Json.Time(e.CancelledAt.Value)}"));
            var status = LeaderboardProjector.TournamentStatus(e.Tournament, now, null);
            if (status == "closed") return (409, Error("a closed (official) tournament cannot be cancelled"));
            e.CancelledAt = now;
            return (200, new JsonObject { ["id"] = id, ["status"] = "cancelled", ["cancelled_at"] = Json.Time(now) });
        }
    }

    /// <summary>Suspends play from now until <paramref name="until"/> (sandbox clock): the feed says <c>postponed</c> before the
    /// first tee and <c>delayed</c> after it, then play resumes where it stopped.</summary>
    public (int Status, JsonObject Body) Suspend(string id, DateTimeOffset until)
    {
        lock (_gate)
        {
            if (!_tournaments.TryGetValue(id, out var e)) return (404, Error($"tournament '{id}' not found"));
            var now = Clock.GetUtcNow();
            if (until <= now) return (400, Error("until must be after the sandbox clock"));
            if (e.CancelledAt is not null) return (409, Error("tournament is cancelled"));
            if (e.Suspensions.Count > 0 && e.Suspensions[^1].Until > now) return (409, Error("tournament is already suspended"));
            var status = LeaderboardProjector.TournamentStatus(e.Tournament, e.PlayTime(now).At, null);
            if (status is "complete" or "closed") return (409, Error($"a {status} tournament cannot be suspended"));
            e.Suspensions.Add((now, until));
            return (200, new JsonObject { ["id"] = id, ["status"] = status == "scheduled" ? "postponed" : "delayed", ["from"] = Json.Time(now), ["until"] = Json.Time(until) });
        }
    }

    // ---------------------------------------------------------------- faults

    public (int Status, JsonObject Body) AddFault(string? tournamentId, string kind, int? count, DateTimeOffset? until, int? delayMs, DateTimeOffset? asOf)
    {
        lock (_gate)
        {
            var f = new Fault
            {
                Id = $"flt_{++_faultSeq}",
                TournamentId = tournamentId,
                Kind = kind,
                Count = count,
                Until = until,
                DelayMs = delayMs ?? 30_000,
                AsOf = asOf,
                CreatedAt = Clock.GetUtcNow(),
            };
            _faults.Add(f);
            return (201, f.ToJson());
        }
    }

    public JsonArray ListFaults()
    {
        lock (_gate)
        {
            var now = Clock.GetUtcNow();
            return new JsonArray(_faults.Where(f => f.IsActive(now)).Select(f => (JsonNode)f.ToJson()).ToArray());
        }
    }

    /// <summary>Removes all faults, or those of one tournament (scoped ones only), or one by id. Returns how many.</summary>
    public int ClearFaults(string? tournamentId = null, string? faultId = null)
    {
        lock (_gate)
        {
            return _faults.RemoveAll(f =>
                (faultId is null || f.Id == faultId) && (tournamentId is null || f.TournamentId == tournamentId));
        }
    }

    // ---------------------------------------------------------------- leaderboard

    public void CountRequest(string tournamentId)
    {
        lock (_gate)
        {
            _requests++;
            _requestsByTournament[tournamentId] = _requestsByTournament.GetValueOrDefault(tournamentId) + 1;
        }
    }

    public void CountResponse(string status)
    {
        lock (_gate) _responsesByStatus[status] = _responsesByStatus.GetValueOrDefault(status) + 1;
    }

    public bool Exists(string tournamentId)
    {
        lock (_gate) return _tournaments.ContainsKey(tournamentId);
    }

    /// <summary>Decides the response for one leaderboard request: consumes at most one fault (the oldest matching active one).</summary>
    public LeaderboardPlan? Plan(string tournamentId)
    {
        lock (_gate)
        {
            if (!_tournaments.TryGetValue(tournamentId, out var e)) return null;
            var now = Clock.GetUtcNow();
            var fault = _faults.FirstOrDefault(f => f.Matches(tournamentId) && f.IsActive(now));
            if (fault is null) return Normal(e, now);

            var applicationIndex = fault.Applied;
            fault.Applied++;
            _faultsApplied++;
            _faultsByKind[fault.Kind] = _faultsByKind.GetValueOrDefault(fault.Kind) + 1;
            if (!_faultsByTournament.TryGetValue(tournamentId, out var perKind))
                _faultsByTournament[tournamentId] = perKind = new SortedDictionary<string, long>(StringComparer.Ordinal);
            perKind[fault.Kind] = perKind.GetValueOrDefault(fault.Kind) + 1;
            if (fault.Count is { } c && fault.Applied >= c) _faults.Remove(fault);

            switch (fault.Kind)
            {
                case FaultKinds.Http500:
                    return new LeaderboardPlan(500, Json.Bytes(Error("Internal Server Error")), 0, fault.Kind);
                case FaultKinds.Http503:
                    return new LeaderboardPlan(503, Json.Bytes(Error("Service Unavailable")), 0, fault.Kind, RetryAfterSeconds: 5);
                case FaultKinds.ConnectionRefused:
                    return new LeaderboardPlan(0, null, 0, fault.Kind, Abort: true);
                case FaultKinds.Timeout:
                    return new LeaderboardPlan(200, null, 0, fault.Kind, DelayMs: fault.DelayMs);
                case FaultKinds.TruncatedJson:
                {
                    var (body, maxAge) = Render(e, now);
                    return new LeaderboardPlan(200, body[..(body.Length / 2)], maxAge, fault.Kind);
                }
                case FaultKinds.StaleRepeat:
                {
                    if (fault.AsOf is { } asOf)
                    {
                        var (body, maxAge) = Render(e, asOf);
                        return new LeaderboardPlan(200, body, maxAge, fault.Kind);
                    }
                    var (current, currentMaxAge) = Render(e, now);
                    // The previous distinct response relative to what would be served now.
                    if (e.LastBody is not null && !e.LastBody.AsSpan().SequenceEqual(current))
                        return new LeaderboardPlan(200, e.LastBody, e.LastMaxAge, fault.Kind);
                    if (e.PreviousDistinctBody is not null)
                        return new LeaderboardPlan(200, e.PreviousDistinctBody, e.PreviousDistinctMaxAge, fault.Kind);
                    return new LeaderboardPlan(200, e.LastBody ?? current, e.LastBody is null ? currentMaxAge : e.LastMaxAge, fault.Kind);
                }
                default:
                {
                    var doc = Project(e, now);
                    var maxAge = MaxAgeFor((string)doc["status"]!);
                    PayloadCorruptor.Apply(doc, fault.Kind, e.Tournament.RoundCount, applicationIndex);
                    return new LeaderboardPlan(200, Json.Bytes(doc), maxAge, fault.Kind);
                }
            }
        }
    }

    /// <summary>The normal response at the current clock (used after a timeout fault's hold too).</summary>
    public LeaderboardPlan? PlanNormal(string tournamentId)
    {
        lock (_gate)
        {
            return _tournaments.TryGetValue(tournamentId, out var e) ? Normal(e, Clock.GetUtcNow()) : null;
        }
    }

    private LeaderboardPlan Normal(TournamentEntry e, DateTimeOffset now)
    {
        var (body, maxAge) = Render(e, now);
        if (e.LastBody is null || !e.LastBody.AsSpan().SequenceEqual(body))
        {
            e.PreviousDistinctBody = e.LastBody;
            e.PreviousDistinctMaxAge = e.LastMaxAge;
            e.LastBody = body;
            e.LastMaxAge = maxAge;
        }
        return new LeaderboardPlan(200, body, maxAge, null);
    }

    private static (byte[] Body, int MaxAge) Render(TournamentEntry e, DateTimeOffset at)
    {
        var doc = Project(e, at);
        return (Json.Bytes(doc), MaxAgeFor((string)doc["status"]!));
    }

    private static JsonObject Project(TournamentEntry e, DateTimeOffset now)
    {
        var (at, suspended) = e.PlayTime(now);
        var doc = LeaderboardProjector.Project(e.Tournament, at, e.Corrections, e.CancelledAt);
        if (suspended && (string)doc["status"]! is "scheduled" or "inprogress")
            doc["status"] = (string)doc["status"]! == "scheduled" ? "postponed" : "delayed";
        // As a real feed does, a suspension that has begun announces the new schedule: a postponement (begun before the
        // first tee) moves the start date, and every suspension moves the end date, by its announced length. So the feed
        // after a postponement is not byte-identical to the one before it.
        TimeSpan moveStart = TimeSpan.Zero, moveEnd = TimeSpan.Zero;
        foreach (var (from, until) in e.Suspensions.Where(x => x.From <= now))
        {
            moveEnd += until - from;
            if (e.PlayTime(from).At < e.Tournament.RoundStart[0]) moveStart += until - from;
        }
        if (moveStart > TimeSpan.Zero) doc["start_date"] = Json.Date(e.Tournament.RoundStart[0] + moveStart);
        if (moveEnd > TimeSpan.Zero) doc["end_date"] = Json.Date(e.Tournament.RoundStart[e.Tournament.RoundCount - 1] + moveEnd);
        return doc;
    }

    // ---------------------------------------------------------------- stats / reset

    public JsonObject Stats()
    {
        lock (_gate)
        {
            var byTournament = new JsonObject();
            foreach (var (k, v) in _requestsByTournament) byTournament[k] = v;
            var byStatus = new JsonObject();
            foreach (var (k, v) in _responsesByStatus) byStatus[k] = v;
            var byKind = new JsonObject();
            foreach (var (k, v) in _faultsByKind) byKind[k] = v;
            var faultsByTournament = new JsonObject();
            foreach (var (t, kinds) in _faultsByTournament)
            {
                var o = new JsonObject();
                foreach (var (k, v) in kinds) o[k] = v;
                faultsByTournament[t] = o;
            }
            return new JsonObject
            {
                ["leaderboard_requests"] = new JsonObject { ["total"] = _requests, ["by_tournament"] = byTournament },
                ["responses_by_status"] = byStatus,
                ["faults_applied"] = new JsonObject { ["total"] = _faultsApplied, ["by_kind"] = byKind, ["by_tournament"] = faultsByTournament },
            };
        }
    }

    public void ResetStats()
    {
        lock (_gate)
        {
            _requests = 0;
            _faultsApplied = 0;
            _requestsByTournament.Clear();
            _responsesByStatus.Clear();
            _faultsByKind.Clear();
            _faultsByTournament.Clear();
        }
    }

    public void ResetAll()
    {
        lock (_gate)
        {
            _tournaments.Clear();
            _faults.Clear();
        }
        ResetStats();
    }

    // ---------------------------------------------------------------- JSON helpers

    public static JsonObject Error(string message) => new() { ["message"] = message };

    private static JsonObject CorrectionJson(Correction c) => new()
    {
        ["player_id"] = c.PlayerId,
        ["round"] = c.Round,
        ["strokes"] = c.Strokes,
        ["previous_strokes"] = c.PreviousStrokes,
        ["effective_at"] = Json.Time(c.EffectiveAt),
    };

    /// <summary>The generated truth: parameters, schedule, field and every golfer's planned outcome.</summary>
    private static JsonObject Truth(TournamentEntry e)
    {
        var t = e.Tournament;
        var p = t.Parameters;
        var rounds = new JsonArray();
        for (var r = 0; r < t.RoundCount; r++)
            rounds.Add(new JsonObject { ["number"] = r + 1, ["id"] = t.RoundIds[r], ["start"] = Json.Time(t.RoundStart[r]), ["end"] = Json.Time(t.RoundEnd[r]) });
        var schedule = new JsonObject
        {
            ["rounds"] = rounds,
            ["play_end"] = Json.Time(t.PlayEnd),
            ["playoff_start"] = t.Playoff is null ? null : Json.Time(t.PlayEnd),
            ["playoff_end"] = t.Playoff is null ? null : Json.Time(t.CompleteAt),
            ["complete_at"] = Json.Time(t.CompleteAt),
            ["closed_at"] = Json.Time(t.ClosedAt),
        };

        var players = new JsonArray();
        foreach (var g in t.Golfers)
        {
            var pr = new JsonArray();
            for (var r = 0; r < t.RoundCount; r++)
            {
                if (g.Plays[r] is not { } play) continue;
                pr.Add(new JsonObject
                {
                    ["sequence"] = r + 1,
                    ["strokes"] = g.Holes[r].Take(play.MaxThru).Sum(),
                    ["thru"] = play.MaxThru,
                    ["tee_time"] = Json.Time(play.TeeTime),
                    ["finish_time"] = Json.Time(play.FinishTime),
                });
            }
            players.Add(new JsonObject
            {
                ["id"] = g.Id,
                ["first_name"] = g.FirstName,
                ["last_name"] = g.LastName,
                ["country"] = g.Country,
                ["world_rank"] = g.WorldRank,
                ["final_status"] = g.FinalStatus,
                ["status_at"] = Json.TimeOrNull(g.StatusAt),
                ["withdrawal"] = g.WdRound is null ? null : new JsonObject { ["round"] = g.WdRound, ["thru"] = g.WdThru },
                ["disqualification"] = g.DqRound is null ? null : new JsonObject { ["round"] = g.DqRound },
                ["total_strokes"] = g.StrokesThrough(t.RoundCount),
                ["rounds"] = pr,
            });
        }

        JsonObject? playoff = null;
        if (t.Playoff is { } po)
        {
            playoff = new JsonObject
            {
                ["participants"] = new JsonArray(po.Participants.Select(i => (JsonNode)JsonValue.Create(t.Golfers[i].Id)).ToArray()),
                ["winner"] = t.Golfers[po.Winner].Id,
                ["hole_number"] = po.HoleNumber,
                ["holes"] = po.HoleDone.Length,
            };
        }

        return new JsonObject
        {
            ["id"] = t.Id,
            ["name"] = t.Name,
            ["seed"] = p.Seed,
            ["parameters"] = new JsonObject
            {
                ["field_size"] = p.FieldSize,
                ["round_count"] = p.RoundCount,
                ["cut_after_round"] = p.CutAfterRound,
                ["cut_keep"] = p.CutKeep,
                ["mdf_after_round"] = p.MdfAfterRound,
                ["mdf_keep"] = p.MdfKeep,
                ["withdrawals"] = p.Withdrawals,
                ["disqualifications"] = p.Disqualifications,
                ["playoff"] = p.Playoff,
                ["start"] = Json.Time(p.Start),
                ["round_duration_minutes"] = p.RoundDurationMinutes,
                ["round_gap_minutes"] = p.RoundGapMinutes,
                ["official_delay_minutes"] = p.OfficialDelayMinutes,
            },
            ["course"] = new JsonObject
            {
                ["par"] = TournamentGenerator.CoursePar,
                ["hole_pars"] = new JsonArray(TournamentGenerator.Pars.Select(x => (JsonNode)JsonValue.Create(x)).ToArray()),
            },
            ["schedule"] = schedule,
            ["cut"] = p.CutAfterRound is null ? null : new JsonObject
            {
                ["after_round"] = p.CutAfterRound, ["keep"] = p.CutKeep, ["line_strokes"] = t.CutLineStrokes,
                ["cut_count"] = t.Golfers.Count(g => g.FinalStatus == "CUT"),
            },
            ["mdf"] = p.MdfAfterRound is null ? null : new JsonObject
            {
                ["after_round"] = p.MdfAfterRound, ["keep"] = p.MdfKeep, ["line_strokes"] = t.MdfLineStrokes,
                ["mdf_count"] = t.Golfers.Count(g => g.FinalStatus == "MDF"),
            },
            ["playoff"] = playoff,
            ["cancelled_at"] = Json.TimeOrNull(e.CancelledAt),
            ["corrections"] = new JsonArray(e.Corrections.Select(c => (JsonNode)CorrectionJson(c)).ToArray()),
            ["players"] = players,
        };
    }
}
