namespace Fairway.Engine.Settlement;

/// <summary>The canonical result document and its hash.</summary>
public sealed record SettlementDocument(string Json, string OutputHash);

/// <summary>Builds the one serialized form of a settlement. The host's settlement service and the offline replay
/// both call this, so the same result always yields the same bytes and the same output_hash.</summary>
public static class SettlementResultDocument
{
    public const string Format = "fairway.settlement-result/1";

    /// <summary>output_hash = SHA-256 of the canonical JSON of the result object without output_hash;
    /// <see cref="SettlementDocument.Json"/> is the canonical JSON of the object with it.</summary>
    public static SettlementDocument Build(SettlementResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var tree = new Dictionary<string, object?>
        {
            ["format"] = Format,
            ["contest_id"] = result.ContestId,
            ["gross"] = result.Gross,
            ["rake"] = result.Rake,
            ["net"] = result.Net,
            ["entries"] = result.Entries
                .Select(e => new Dictionary<string, object?>
                {
                    ["id"] = e.Id,
                    ["user_id"] = e.UserId,
                    ["score"] = e.Score,
                    ["rank"] = e.Rank,
                    ["prize"] = e.Prize,
                })
                .ToArray(),
        };
        var hash = CanonicalJson.Sha256Hex(CanonicalJson.Serialize((object)tree));
        tree["output_hash"] = hash;
        return new SettlementDocument(CanonicalJson.Serialize((object)tree), hash);
    }
}
