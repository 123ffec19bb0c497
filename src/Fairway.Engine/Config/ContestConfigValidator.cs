using System.Text.Json;
using Fairway.Engine.Contests;
using Fairway.Engine.Json;

namespace Fairway.Engine.Config;

/// <summary>Validates a contest config document (our own format, so unknown keys are errors) and lists every error.</summary>
public static class ContestConfigValidator
{
    public const int SupportedLeaderboardSchemaVersion = 1;
    public const int MaxRoundCount = 8;
    public const int MaxUnplayedRoundStrokes = 200;

    private static readonly string[] TopKeys =
    {
        "id", "contest_id", "provider_event_id", "ingestion_endpoint", "event_start_date", "event_end_date",
        "round_count", "cut_after_round", "leaderboard_schema_version", "field_source", "field_size",
        "alternates_count", "rules",
    };

    private static readonly string[] RuleKeys =
    {
        "roster_size", "entry_fee", "currency", "min_entries", "max_entries", "rake_bps", "payout_table",
        "lock_time", "unplayed_round_strokes", "settlement_hold_seconds",
    };

    private static readonly string[] PayoutKeys = { "place", "bps" };

    public static EngineResult<ContestConfig> Validate(string json)
    {
        var sink = new ErrorSink();
        if (!JsonInput.TryParseDocument(json, JsonPath.Root, sink, out var doc))
        {
            return EngineResult<ContestConfig>.Failure(sink.Errors);
        }
        using (doc)
        {
            return Validate(doc!.RootElement);
        }
    }

    public static EngineResult<ContestConfig> Validate(JsonElement config)
    {
        var sink = new ErrorSink();
        var top = ObjectView.Open(config, JsonPath.Root, sink, TopKeys, strict: true);
        if (top is null)
        {
            return EngineResult<ContestConfig>.Failure(sink.Errors);
        }

        var id = top.String("id");
        var contestId = top.String("contest_id");
        var providerEventId = top.String("provider_event_id");

        var endpointText = top.String("ingestion_endpoint");
        var endpoint = endpointText is null ? null : StrictFormats.HttpUrl(endpointText);
        if (endpointText is not null && endpoint is null)
        {
            sink.Add("ingestion_endpoint", ErrorCodes.InvalidUrl, "Must be an absolute http or https URL.");
        }

        var start = ReadDate(top, "event_start_date", sink);
        var end = ReadDate(top, "event_end_date", sink);
        if (start is { } s && end is { } e && e < s)
        {
            sink.Add("event_end_date", ErrorCodes.EventDatesInverted, "event_end_date is before event_start_date.");
        }

        var roundCount = top.Int("round_count", 1, MaxRoundCount);

        int? cutAfterRound = null;
        if (top.Required("cut_after_round") is { } cutElement && cutElement.ValueKind != JsonValueKind.Null)
        {
            // Only the upper bound depends on round_count; without a valid round_count, check what we can.
            cutAfterRound = JsonInput.Int(cutElement, "cut_after_round", sink, 1, roundCount ?? MaxRoundCount);
        }

        if (top.Int("leaderboard_schema_version", int.MinValue, int.MaxValue) is { } version
            && version != SupportedLeaderboardSchemaVersion)
        {
            sink.Add("leaderboard_schema_version", ErrorCodes.UnsupportedSchemaVersion,
                $"Only leaderboard schema version {SupportedLeaderboardSchemaVersion} is supported, found {version}.");
        }

        FieldSource? fieldSource = top.String("field_source") switch
        {
            null => null,
            "provider_sync" => FieldSource.ProviderSync,
            "static_import" => FieldSource.StaticImport,
            var other => Invalid<FieldSource>(sink, "field_source", ErrorCodes.InvalidFieldSource,
                $"Must be 'provider_sync' or 'static_import', found '{other}'."),
        };

        var fieldSize = top.Int("field_size", 1, int.MaxValue);
        var alternates = top.Int("alternates_count", 0, int.MaxValue);

        ContestRules? rules = null;
        if (top.Required("rules") is { } rulesElement)
        {
            rules = ReadRules(rulesElement, fieldSize, sink);
        }

        return sink.ToResult(() => new ContestConfig
        {
            Id = id!,
            ContestId = contestId!,
            ProviderEventId = providerEventId!,
            IngestionEndpoint = endpoint!,
            IngestionEndpointText = endpointText!,
            EventStartDate = start!.Value,
            EventEndDate = end!.Value,
            RoundCount = roundCount!.Value,
            CutAfterRound = cutAfterRound,
            LeaderboardSchemaVersion = SupportedLeaderboardSchemaVersion,
            FieldSource = fieldSource!.Value,
            FieldSize = fieldSize!.Value,
            AlternatesCount = alternates!.Value,
            Rules = rules!,
        });
    }

    private static ContestRules? ReadRules(JsonElement element, int? fieldSize, ErrorSink sink)
    {
        var r = ObjectView.Open(element, "rules", sink, RuleKeys, strict: true);
        if (r is null)
        {
            return null;
        }

        var rosterSize = r.Int("roster_size", 1, int.MaxValue);
        if (rosterSize is { } rs && fieldSize is { } fs && rs > fs)
        {
            sink.Add("rules.roster_size", ErrorCodes.RosterSizeExceedsField,
                $"A roster of {rs} distinct golfers cannot be picked from a field of {fs}.");
        }

        var entryFee = r.Integer("entry_fee", 0, long.MaxValue);

        var currency = r.String("currency");
        if (currency is not null && !StrictFormats.Currency(currency))
        {
            sink.Add("rules.currency", ErrorCodes.InvalidCurrency, $"Must be 3 lowercase ASCII letters, found '{currency}'.");
            currency = null;
        }

        var minEntries = r.Int("min_entries", 1, int.MaxValue);
        var maxEntries = r.Int("max_entries", 1, int.MaxValue);
        if (minEntries is { } min && maxEntries is { } max && min > max)
        {
            sink.Add("rules.min_entries", ErrorCodes.EntryLimitsInverted, $"min_entries {min} is greater than max_entries {max}.");
        }
        if (entryFee is { } fee && maxEntries is { } cap && (Int128)fee * cap > long.MaxValue)
        {
            sink.Add("rules.entry_fee", ErrorCodes.PoolOverflow, "entry_fee × max_entries does not fit in a 64-bit amount.");
        }

        var rakeBps = r.Int("rake_bps", 0, PayoutTableRules.FullBps);
        var payoutTable = ReadPayoutTable(r, sink);
        if (payoutTable is not null && minEntries is { } minimum)
        {
            var paidPlaces = payoutTable.Count(p => p.Bps > 0);
            if (minimum < paidPlaces)
            {
                sink.Add("rules.min_entries", ErrorCodes.MinEntriesBelowPaidPlaces,
                    $"min_entries {minimum} is below the {paidPlaces} paid places.");
            }
        }

        DateTimeOffset? lockTime = null;
        if (r.String("lock_time") is { } lockText)
        {
            lockTime = StrictFormats.UtcInstant(lockText);
            if (lockTime is null)
            {
                sink.Add("rules.lock_time", ErrorCodes.InvalidTimestamp,
                    $"Must be a UTC instant in the form yyyy-MM-ddTHH:mm:ssZ, found '{lockText}'.");
            }
        }

        var unplayed = r.Int("unplayed_round_strokes", 1, MaxUnplayedRoundStrokes);
        var hold = r.Integer("settlement_hold_seconds", 0, long.MaxValue);

        if (rosterSize is null || entryFee is null || currency is null || minEntries is null || maxEntries is null
            || rakeBps is null || payoutTable is null || lockTime is null || unplayed is null || hold is null)
        {
            return null;
        }
        return new ContestRules
        {
            RosterSize = rosterSize.Value,
            EntryFee = entryFee.Value,
            Currency = currency,
            MinEntries = minEntries.Value,
            MaxEntries = maxEntries.Value,
            RakeBps = rakeBps.Value,
            PayoutTable = payoutTable,
            LockTime = lockTime.Value,
            UnplayedRoundStrokes = unplayed.Value,
            SettlementHoldSeconds = hold.Value,
        };
    }

    /// <summary>Returns the table sorted by place when every rule holds, otherwise null (errors already reported).</summary>
    internal static IReadOnlyList<PayoutPlace>? ReadPayoutTable(ObjectView parent, ErrorSink sink)
    {
        var path = parent.FieldPath("payout_table");
        if (parent.Array("payout_table") is not { } array)
        {
            return null;
        }
        var before = sink.Count;
        var rows = new List<(int, PayoutPlace)>();
        var allValid = true;
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var rowPath = JsonPath.Index(path, index);
            var row = ObjectView.Open(item, rowPath, sink, PayoutKeys, strict: true);
            var place = row?.Int("place", 1, int.MaxValue);
            var bps = row?.Int("bps", 0, PayoutTableRules.FullBps);
            if (place is { } p && bps is { } b)
            {
                rows.Add((index, new PayoutPlace(p, b)));
            }
            else
            {
                allValid = false;
            }
            index++;
        }
        PayoutTableRules.CheckTable(rows, index, allValid, path, sink);
        return sink.Count == before
            ? rows.Select(r => r.Item2).OrderBy(r => r.Place).ToArray()
            : null;
    }

    private static DateOnly? ReadDate(ObjectView view, string name, ErrorSink sink)
    {
        if (view.String(name) is not { } text)
        {
            return null;
        }
        var date = StrictFormats.Date(text);
        if (date is null)
        {
            sink.Add(view.FieldPath(name), ErrorCodes.InvalidDate, $"Must be a calendar date in the form yyyy-MM-dd, found '{text}'.");
        }
        return date;
    }

    private static T? Invalid<T>(ErrorSink sink, string path, string code, string message) where T : struct
    {
        sink.Add(path, code, message);
        return null;
    }
}
