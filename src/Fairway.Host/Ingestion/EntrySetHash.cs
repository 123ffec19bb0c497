using System.Text.Json;
using Fairway.Engine;
using Fairway.Engine.Settlement;

namespace Fairway.Host.Ingestion;

/// <summary>SHA-256 of the canonical JSON of an entry set (sorted by id): which entries a score was computed over.</summary>
public static class EntrySetHash
{
    public static string Of(IReadOnlyList<SettlementEntry> entries)
    {
        var json = JsonSerializer.Serialize(entries.OrderBy(e => e.Id, StringComparer.Ordinal)
            .Select(e => new { id = e.Id, user_id = e.UserId, golfers = e.Golfers }));
        return CanonicalJson.Sha256Hex(CanonicalJson.Canonicalize(json).Value);
    }
}
