using System.Text.Json;
using Fairway.Engine.Json;

namespace Fairway.Engine.Golf;

/// <summary>Parses a Sportradar Golf v3 Tournament Leaderboard (schema version 1). Only the fields scoring and the
/// lifecycle use are read, and those strictly; every other field is ignored.</summary>
public static class LeaderboardParser
{
    private static readonly string[] TopKeys = { "id", "status", "rounds", "leaderboard" };
    private static readonly string[] TournamentRoundKeys = { "number", "status" };
    private static readonly string[] PlayerKeys = { "id", "status", "rounds" };
    private static readonly string[] PlayerRoundKeys = { "sequence", "strokes", "thru" };

    private static readonly Dictionary<string, TournamentStatus> TournamentStatuses = new(StringComparer.Ordinal)
    {
        ["scheduled"] = TournamentStatus.Scheduled,
        ["created"] = TournamentStatus.Created,
        ["inprogress"] = TournamentStatus.InProgress,
        ["playoff"] = TournamentStatus.Playoff,
        ["delayed"] = TournamentStatus.Delayed,
        ["postponed"] = TournamentStatus.Postponed,
        ["complete"] = TournamentStatus.Complete,
        ["closed"] = TournamentStatus.Closed,
        ["cancelled"] = TournamentStatus.Cancelled,
    };

    private static readonly Dictionary<string, PlayerStatus> PlayerStatuses = new(StringComparer.Ordinal)
    {
        ["CUT"] = PlayerStatus.Cut,
        ["WD"] = PlayerStatus.Withdrawn,
        ["DQ"] = PlayerStatus.Disqualified,
        ["MDF"] = PlayerStatus.MadeCutDidNotFinish,
    };

    public const int HolesPerRound = 18;

    public static EngineResult<Leaderboard> Parse(string json)
    {
        var sink = new ErrorSink();
        if (!JsonInput.TryParseDocument(json, JsonPath.Root, sink, out var doc))
        {
            return EngineResult<Leaderboard>.Failure(sink.Errors);
        }
        using (doc)
        {
            return Parse(doc!.RootElement);
        }
    }

    public static EngineResult<Leaderboard> Parse(JsonElement root)
    {
        var sink = new ErrorSink();
        var leaderboard = Parse(root, JsonPath.Root, sink);
        return sink.ToResult(() => leaderboard!);
    }

    /// <summary>Adds errors to <paramref name="sink"/> and returns null when invalid. Paths are prefixed by <paramref name="path"/>
    /// so a leaderboard embedded in a bundle reports e.g. <c>leaderboard.leaderboard[0].id</c>.</summary>
    internal static Leaderboard? Parse(JsonElement root, string path, ErrorSink sink)
    {
        var before = sink.Count;
        var top = ObjectView.Open(root, path, sink, TopKeys, strict: false);
        if (top is null)
        {
            return null;
        }

        var eventId = top.String("id");

        TournamentStatus? status = null;
        if (top.String("status", allowEmpty: true) is { } statusText)
        {
            if (TournamentStatuses.TryGetValue(statusText, out var st))
            {
                status = st;
            }
            else
            {
                sink.Add(top.FieldPath("status"), ErrorCodes.UnknownTournamentStatus, $"Unknown tournament status '{statusText}'.");
            }
        }

        var rounds = new List<TournamentRound>();
        if (top.Optional("rounds") is { } roundsElement && JsonInput.IsArray(roundsElement, top.FieldPath("rounds"), sink))
        {
            var numbers = new HashSet<int>();
            var i = 0;
            foreach (var item in roundsElement.EnumerateArray())
            {
                var roundPath = JsonPath.Index(top.FieldPath("rounds"), i++);
                var r = ObjectView.Open(item, roundPath, sink, TournamentRoundKeys, strict: false);
                var number = r?.Int("number", 1, int.MaxValue);
                var roundStatus = r?.String("status");
                if (number is { } n && !numbers.Add(n))
                {
                    sink.Add(JsonPath.Field(roundPath, "number"), ErrorCodes.DuplicateRoundNumber, $"Round number {n} appears more than once.");
                }
                if (number is not null && roundStatus is not null)
                {
                    rounds.Add(new TournamentRound(number.Value, roundStatus));
                }
            }
        }

        var players = new List<LeaderboardPlayer>();
        if (top.Array("leaderboard") is { } playersElement)
        {
            var firstSeen = new Dictionary<string, int>(StringComparer.Ordinal);
            var i = 0;
            foreach (var item in playersElement.EnumerateArray())
            {
                var playerPath = JsonPath.Index(top.FieldPath("leaderboard"), i);
                var player = ParsePlayer(item, playerPath, sink);
                if (player is not null)
                {
                    if (!firstSeen.TryAdd(player.Id, i))
                    {
                        sink.Add(JsonPath.Field(playerPath, "id"), ErrorCodes.DuplicatePlayer,
                            $"Player '{player.Id}' appears more than once (first at index {firstSeen[player.Id]}).");
                    }
                    players.Add(player);
                }
                i++;
            }
        }

        return sink.Count == before ? new Leaderboard(eventId!, status!.Value, rounds, players) : null;
    }

    private static LeaderboardPlayer? ParsePlayer(JsonElement item, string path, ErrorSink sink)
    {
        var before = sink.Count;
        var p = ObjectView.Open(item, path, sink, PlayerKeys, strict: false);
        if (p is null)
        {
            return null;
        }
        var id = p.String("id");

        PlayerStatus? status = null;
        if (p.Optional("status") is { } statusElement
            && JsonInput.String(statusElement, p.FieldPath("status"), sink, allowEmpty: true) is { } statusText)
        {
            if (PlayerStatuses.TryGetValue(statusText, out var st))
            {
                status = st;
            }
            else
            {
                sink.Add(p.FieldPath("status"), ErrorCodes.UnknownPlayerStatus,
                    $"Unknown player status '{statusText}' (expected CUT, WD, DQ or MDF, or no status).");
            }
        }

        var rounds = new List<PlayerRound>();
        if (p.Array("rounds") is { } roundsElement)
        {
            var sequences = new HashSet<int>();
            var i = 0;
            foreach (var roundItem in roundsElement.EnumerateArray())
            {
                var roundPath = JsonPath.Index(p.FieldPath("rounds"), i++);
                var r = ObjectView.Open(roundItem, roundPath, sink, PlayerRoundKeys, strict: false);
                var sequence = r?.Int("sequence", 1, int.MaxValue);
                var strokes = r?.Integer("strokes", 0, long.MaxValue);
                var thru = r?.Int("thru", 0, HolesPerRound);
                if (sequence is { } seq && !sequences.Add(seq))
                {
                    sink.Add(JsonPath.Field(roundPath, "sequence"), ErrorCodes.DuplicateRoundSequence,
                        $"Round sequence {seq} appears more than once for this player.");
                }
                if (sequence is not null && strokes is not null && thru is not null)
                {
                    rounds.Add(new PlayerRound(sequence.Value, strokes.Value, thru.Value));
                }
            }
        }

        return sink.Count == before ? new LeaderboardPlayer(id!, status, rounds) : null;
    }
}
