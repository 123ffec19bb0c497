using Fairway.Engine.Config;
using Fairway.Engine.Json;

namespace Fairway.Engine.Fields;

/// <summary>A golfer offered for the field. <see cref="WorldRanking"/>: lower is better; null means unranked.</summary>
public sealed record FieldCandidate(string ProviderPlayerId, int? WorldRanking, string Name);

/// <summary>The chosen field: primaries first, then alternates, each in selection order.</summary>
public sealed record FieldSelection(IReadOnlyList<FieldCandidate> Primary, IReadOnlyList<FieldCandidate> Alternates);

public static class FieldSelector
{
    /// <summary>Orders candidates by (ranking ascending, unranked last, then id ordinal) so the result does not
    /// depend on input order; the first field_size are primary, the next alternates_count are alternates.
    /// Duplicate ids and more candidates than field_size + alternates_count are rejected, never trimmed.</summary>
    public static EngineResult<FieldSelection> Select(ContestConfig config, IReadOnlyList<FieldCandidate> participants)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(participants);
        var sink = new ErrorSink();
        var firstSeen = new Dictionary<string, int>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < participants.Count; i++)
        {
            var path = JsonPath.Index("participants", i);
            var c = participants[i];
            if (c is null)
            {
                sink.Add(path, ErrorCodes.MissingField, "Candidate is null.");
                continue;
            }
            if (string.IsNullOrEmpty(c.ProviderPlayerId))
            {
                sink.Add(JsonPath.Field(path, "provider_player_id"), ErrorCodes.EmptyString, "Provider player id must not be empty.");
                continue;
            }
            if (!firstSeen.TryAdd(c.ProviderPlayerId, i) && reported.Add(c.ProviderPlayerId))
            {
                sink.Add(JsonPath.Field(path, "provider_player_id"), ErrorCodes.DuplicateCandidate,
                    $"Player '{c.ProviderPlayerId}' is listed more than once (first at index {firstSeen[c.ProviderPlayerId]}).");
            }
        }

        var capacity = (long)config.FieldSize + config.AlternatesCount;
        if (participants.Count > capacity)
        {
            sink.Add("participants", ErrorCodes.FieldOverCapacity,
                $"{participants.Count} candidates exceed the capacity of {capacity} (field_size {config.FieldSize} + alternates_count {config.AlternatesCount}).");
        }

        return sink.ToResult(() =>
        {
            var ordered = participants
                .OrderBy(c => c.WorldRanking is null ? 1 : 0)
                .ThenBy(c => c.WorldRanking ?? 0)
                .ThenBy(c => c.ProviderPlayerId, StringComparer.Ordinal)
                .ToArray();
            return new FieldSelection(
                ordered.Take(config.FieldSize).ToArray(),
                ordered.Skip(config.FieldSize).Take(config.AlternatesCount).ToArray());
        });
    }
}
