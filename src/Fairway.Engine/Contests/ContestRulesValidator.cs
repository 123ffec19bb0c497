using Fairway.Engine.Json;

namespace Fairway.Engine.Contests;

/// <summary>A roster that passed validation: exactly roster_size distinct golfers, all in the field.</summary>
public sealed class Roster
{
    internal Roster(IReadOnlyList<string> golferIds) => GolferIds = golferIds;

    /// <summary>Sorted by ordinal, because the order a user picked golfers in has no meaning.</summary>
    public IReadOnlyList<string> GolferIds { get; }
}

/// <summary>Contest-side rules about entries. Deliberately knows nothing about golf scoring.</summary>
public static class ContestRulesValidator
{
    /// <summary>Lists every violation: ROSTER_WRONG_SIZE, ROSTER_DUPLICATE_GOLFER (once per duplicated id),
    /// ROSTER_GOLFER_NOT_IN_FIELD (once per offending position).</summary>
    public static EngineResult<Roster> ValidateRoster(IReadOnlyList<string> golferIds, int rosterSize, IReadOnlyCollection<string> field)
    {
        ArgumentNullException.ThrowIfNull(golferIds);
        ArgumentNullException.ThrowIfNull(field);
        var sink = new ErrorSink();
        CheckShape(golferIds, rosterSize, "golfers", sink);

        // Our own ordinal set, so a caller's case-insensitive set cannot quietly widen the field.
        var fieldIds = new HashSet<string>(field, StringComparer.Ordinal);
        for (var i = 0; i < golferIds.Count; i++)
        {
            var id = golferIds[i];
            if (!string.IsNullOrEmpty(id) && !fieldIds.Contains(id))
            {
                sink.Add(JsonPath.Index("golfers", i), ErrorCodes.RosterGolferNotInField, $"Golfer '{id}' is not in the field.");
            }
        }
        return sink.ToResult(() => new Roster(golferIds.Order(StringComparer.Ordinal).ToArray()));
    }

    /// <summary>Size, empty ids and duplicates: the roster rules that need no field (settlement uses these too).</summary>
    internal static void CheckShape(IReadOnlyList<string> golferIds, int rosterSize, string path, ErrorSink sink)
    {
        if (golferIds.Count != rosterSize)
        {
            sink.Add(path, ErrorCodes.RosterWrongSize, $"A roster needs exactly {rosterSize} golfers, found {golferIds.Count}.");
        }
        var firstSeen = new Dictionary<string, int>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < golferIds.Count; i++)
        {
            var id = golferIds[i];
            var itemPath = JsonPath.Index(path, i);
            if (string.IsNullOrEmpty(id))
            {
                sink.Add(itemPath, ErrorCodes.EmptyString, "Golfer id must not be empty.");
                continue;
            }
            if (!firstSeen.TryAdd(id, i) && reported.Add(id))
            {
                sink.Add(itemPath, ErrorCodes.RosterDuplicateGolfer,
                    $"Golfer '{id}' is picked more than once (first at index {firstSeen[id]}).");
            }
        }
    }
}
