using System.Globalization;
using Fairway.Engine.Contests;

namespace Fairway.Engine.Config;

public enum FieldSource
{
    ProviderSync,
    StaticImport,
}

/// <summary>Contest rules as configured (never hard-coded). Money is in integer minor units of <see cref="Currency"/>.</summary>
public sealed class ContestRules
{
    internal ContestRules() { }

    public int RosterSize { get; internal init; }
    public long EntryFee { get; internal init; }
    public string Currency { get; internal init; } = "";
    public int MinEntries { get; internal init; }
    public int MaxEntries { get; internal init; }
    public int RakeBps { get; internal init; }
    /// <summary>Sorted by place, 1..n.</summary>
    public IReadOnlyList<PayoutPlace> PayoutTable { get; internal init; } = Array.Empty<PayoutPlace>();
    public DateTimeOffset LockTime { get; internal init; }
    public int UnplayedRoundStrokes { get; internal init; }
    public long SettlementHoldSeconds { get; internal init; }
}

/// <summary>A validated tournament config plus contest rules. Only <see cref="ContestConfigValidator"/> creates one,
/// so holding an instance proves every rule passed.</summary>
public sealed class ContestConfig
{
    internal ContestConfig() { }

    public string Id { get; internal init; } = "";
    public string ContestId { get; internal init; } = "";
    public string ProviderEventId { get; internal init; } = "";
    public Uri IngestionEndpoint { get; internal init; } = null!;
    /// <summary>The endpoint exactly as configured (Uri normalises text, and the hash must not depend on that).</summary>
    public string IngestionEndpointText { get; internal init; } = "";
    public DateOnly EventStartDate { get; internal init; }
    public DateOnly EventEndDate { get; internal init; }
    public int RoundCount { get; internal init; }
    public int? CutAfterRound { get; internal init; }
    public int LeaderboardSchemaVersion { get; internal init; }
    public FieldSource FieldSource { get; internal init; }
    public int FieldSize { get; internal init; }
    public int AlternatesCount { get; internal init; }
    public ContestRules Rules { get; internal init; } = null!;

    /// <summary>Canonical JSON in the config's own snake_case format; feeding it back to the validator yields an equal config.</summary>
    public string ToCanonicalJson() => CanonicalJson.Serialize((object)ToTree());

    /// <summary>SHA-256 (lowercase hex) of <see cref="ToCanonicalJson"/>: the immutable version's identity.</summary>
    public string Hash() => CanonicalJson.Sha256Hex(ToCanonicalJson());

    private Dictionary<string, object?> ToTree() => new()
    {
        ["id"] = Id,
        ["contest_id"] = ContestId,
        ["provider_event_id"] = ProviderEventId,
        ["ingestion_endpoint"] = IngestionEndpointText,
        ["event_start_date"] = EventStartDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["event_end_date"] = EventEndDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["round_count"] = RoundCount,
        ["cut_after_round"] = CutAfterRound,
        ["leaderboard_schema_version"] = LeaderboardSchemaVersion,
        ["field_source"] = FieldSource == FieldSource.ProviderSync ? "provider_sync" : "static_import",
        ["field_size"] = FieldSize,
        ["alternates_count"] = AlternatesCount,
        ["rules"] = new Dictionary<string, object?>
        {
            ["roster_size"] = Rules.RosterSize,
            ["entry_fee"] = Rules.EntryFee,
            ["currency"] = Rules.Currency,
            ["min_entries"] = Rules.MinEntries,
            ["max_entries"] = Rules.MaxEntries,
            ["rake_bps"] = Rules.RakeBps,
            ["payout_table"] = Rules.PayoutTable
                .Select(p => new Dictionary<string, object?> { ["place"] = p.Place, ["bps"] = p.Bps })
                .ToArray(),
            ["lock_time"] = Rules.LockTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["unplayed_round_strokes"] = Rules.UnplayedRoundStrokes,
            ["settlement_hold_seconds"] = Rules.SettlementHoldSeconds,
        },
    };
}
