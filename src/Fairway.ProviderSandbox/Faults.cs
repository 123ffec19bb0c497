using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox;

public static class FaultKinds
{
    public const string Http500 = "http_500", Http503 = "http_503", Timeout = "timeout", ConnectionRefused = "connection_refused",
        FloatStrokes = "float_strokes", NegativeStrokes = "negative_strokes", MissingPlayerId = "missing_player_id",
        DuplicatePlayer = "duplicate_player", RoundBeyondCount = "round_beyond_count", ThruOutOfRange = "thru_out_of_range",
        UnknownPlayerStatus = "unknown_player_status", UnknownTournamentStatus = "unknown_tournament_status",
        TruncatedJson = "truncated_json", StaleRepeat = "stale_repeat";

    public static readonly string[] All =
    [
        Http500, Http503, Timeout, ConnectionRefused, FloatStrokes, NegativeStrokes, MissingPlayerId, DuplicatePlayer,
        RoundBeyondCount, ThruOutOfRange, UnknownPlayerStatus, UnknownTournamentStatus, TruncatedJson, StaleRepeat,
    ];

    /// <summary>Kinds answered with 200 and a bad (but leaderboard-shaped) body, applied to the parsed document.</summary>
    public static readonly HashSet<string> DocumentMutations =
    [
        FloatStrokes, NegativeStrokes, MissingPlayerId, DuplicatePlayer, RoundBeyondCount, ThruOutOfRange,
        UnknownPlayerStatus, UnknownTournamentStatus,
    ];
}

public sealed class Fault
{
    public required string Id { get; init; }
    public string? TournamentId { get; init; }
    public required string Kind { get; init; }
    public int? Count { get; init; }
    public DateTimeOffset? Until { get; init; }
    public int DelayMs { get; init; }
    public DateTimeOffset? AsOf { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public int Applied { get; set; }

    public bool IsActive(DateTimeOffset now) => (Count is null || Applied < Count) && (Until is null || now < Until);

    public bool Matches(string tournamentId) => TournamentId is null || TournamentId == tournamentId;

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["tournament_id"] = TournamentId,
        ["kind"] = Kind,
        ["count"] = Count,
        ["remaining"] = Count is null ? null : Count - Applied,
        ["until"] = Json.TimeOrNull(Until),
        ["delay_ms"] = Kind == FaultKinds.Timeout ? DelayMs : null,
        ["as_of"] = Json.TimeOrNull(AsOf),
        ["applied"] = Applied,
        ["created_at"] = Json.Time(CreatedAt),
    };
}

/// <summary>The malformed-payload injections. Each one breaks exactly one rule of the leaderboard contract.</summary>
public static class PayloadCorruptor
{
    public static void Apply(JsonObject doc, string kind, int roundCount, int applicationIndex)
    {
        var board = (JsonArray)doc["leaderboard"]!;
        var first = board.Count > 0 ? (JsonObject)board[0]! : null;
        // Round-level faults hit the best-placed golfer with a completed round, else one with any round.
        var withRound = board.OfType<JsonObject>().FirstOrDefault(p => ((JsonArray)p["rounds"]!).OfType<JsonObject>().Any(r => (int)r["thru"]! == 18))
                        ?? board.OfType<JsonObject>().FirstOrDefault(p => ((JsonArray)p["rounds"]!).Count > 0);
        var round = withRound is null ? null : LastRound(withRound);

        switch (kind)
        {
            case FaultKinds.FloatStrokes:
                if (round is not null) round["strokes"] = JsonValue.Create((decimal)(int)round["strokes"]! + 0.5m);
                else if (first is not null) first["strokes"] = JsonValue.Create((decimal)(int)first["strokes"]! + 0.5m);
                break;
            case FaultKinds.NegativeStrokes:
                if (round is not null) round["strokes"] = -Math.Max(1, (int)round["strokes"]!);
                else if (first is not null) first["strokes"] = -1;
                break;
            case FaultKinds.MissingPlayerId:
                first?.Remove("id");
                break;
            case FaultKinds.DuplicatePlayer:
                if (first is not null) board.Add(first.DeepClone());
                break;
            case FaultKinds.RoundBeyondCount:
                if (first is not null)
                    ((JsonArray)first["rounds"]!).Add(new JsonObject
                    {
                        ["sequence"] = roundCount + 1, ["strokes"] = 72, ["score"] = 0, ["thru"] = 18,
                        ["eagles"] = 0, ["birdies"] = 3, ["pars"] = 12, ["bogeys"] = 3, ["double_bogeys"] = 0, ["other_scores"] = 0,
                    });
                break;
            case FaultKinds.ThruOutOfRange:
                // Alternates 19, -1, 19, ... per application of the same fault.
                var bad = applicationIndex % 2 == 0 ? 19 : -1;
                if (round is not null) round["thru"] = bad;
                else if (first is not null)
                    ((JsonArray)first["rounds"]!).Add(new JsonObject
                    {
                        ["sequence"] = 1, ["strokes"] = 0, ["score"] = 0, ["thru"] = bad,
                        ["eagles"] = 0, ["birdies"] = 0, ["pars"] = 0, ["bogeys"] = 0, ["double_bogeys"] = 0, ["other_scores"] = 0,
                    });
                break;
            case FaultKinds.UnknownPlayerStatus:
                if (first is not null) first["status"] = "XYZ";
                break;
            case FaultKinds.UnknownTournamentStatus:
                doc["status"] = "xyz";
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a document mutation");
        }
    }

    private static JsonObject LastRound(JsonObject player)
    {
        var rounds = ((JsonArray)player["rounds"]!).OfType<JsonObject>().ToList();
        return rounds.LastOrDefault(r => (int)r["thru"]! == 18) ?? rounds[^1];
    }
}
