using System.Text.Json;
using System.Text.Json.Nodes;
using Fairway.Engine;

namespace Fairway.Engine.Tests;

internal static class TestJson
{
    public const string ValidConfigText = """
    {
      "id": "cfg-masters-2026-v1",
      "contest_id": "contest-masters-2026",
      "provider_event_id": "b9a4e6c2-1111-4000-8000-000000000001",
      "ingestion_endpoint": "https://api.sportradar.com/golf/trial/v3/en/tournaments/b9a4e6c2/leaderboard.json",
      "event_start_date": "2026-04-09",
      "event_end_date": "2026-04-12",
      "round_count": 4,
      "cut_after_round": 2,
      "leaderboard_schema_version": 1,
      "field_source": "provider_sync",
      "field_size": 90,
      "alternates_count": 5,
      "rules": {
        "roster_size": 6,
        "entry_fee": 2500,
        "currency": "usd",
        "min_entries": 3,
        "max_entries": 1000,
        "rake_bps": 1000,
        "payout_table": [ { "place": 1, "bps": 6000 }, { "place": 2, "bps": 3000 }, { "place": 3, "bps": 1000 } ],
        "lock_time": "2026-04-09T11:00:00Z",
        "unplayed_round_strokes": 80,
        "settlement_hold_seconds": 3600
      }
    }
    """;

    public static JsonObject ValidConfig() => JsonNode.Parse(ValidConfigText)!.AsObject();

    public static JsonElement Element(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    public static JsonElement Element(JsonNode node) => Element(node.ToJsonString());

    /// <summary>Replaces the node at <paramref name="set"/> with raw JSON text (e.g. 70.0, which JsonNode would normalise).</summary>
    public static string WithRaw(JsonObject root, Action<JsonObject, JsonNode> set, string rawText)
    {
        var copy = root.DeepClone().AsObject();
        set(copy, JsonValue.Create("__RAW_VALUE__")!);
        return copy.ToJsonString().Replace("\"__RAW_VALUE__\"", rawText);
    }

    public static void AssertHasError(IReadOnlyList<EngineError> errors, string path, string code)
    {
        Assert.True(errors.Any(e => e.Path == path && e.Code == code),
            $"Expected {code} at {path}; got: {string.Join(" | ", errors.Select(e => $"{e.Path} {e.Code}"))}");
    }

    public static void AssertOnlyError(IReadOnlyList<EngineError> errors, string path, string code)
    {
        AssertHasError(errors, path, code);
        Assert.Single(errors);
    }

    /// <summary>A leaderboard JSON from compact player specs: (id, status or null, rounds as (sequence, strokes, thru)).</summary>
    public static string Leaderboard(string status, params (string Id, string? Status, (int Seq, int Strokes, int Thru)[] Rounds)[] players)
    {
        var lb = new JsonObject
        {
            ["id"] = "evt-1",
            ["name"] = "Test Open",
            ["status"] = status,
            ["leaderboard"] = new JsonArray(players.Select(p =>
            {
                var o = new JsonObject
                {
                    ["id"] = p.Id,
                    ["first_name"] = "F",
                    ["last_name"] = "L",
                    ["rounds"] = new JsonArray(p.Rounds.Select(r => (JsonNode)new JsonObject
                    {
                        ["sequence"] = r.Seq,
                        ["strokes"] = r.Strokes,
                        ["thru"] = r.Thru,
                    }).ToArray()),
                };
                if (p.Status is not null)
                {
                    o["status"] = p.Status;
                }
                return (JsonNode)o;
            }).ToArray()),
        };
        return lb.ToJsonString();
    }
}
