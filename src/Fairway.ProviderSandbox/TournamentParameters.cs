using System.Globalization;
using System.Text.Json;

namespace Fairway.ProviderSandbox;

/// <summary>Fully resolved parameters of a generated tournament (defaults applied, validated).</summary>
public sealed record TournamentParameters(
    string Id,
    int Seed,
    string? Name,
    int FieldSize,
    int RoundCount,
    int? CutAfterRound,
    int CutKeep,
    int? MdfAfterRound,
    int? MdfKeep,
    int Withdrawals,
    int Disqualifications,
    bool Playoff,
    DateTimeOffset Start,
    int RoundDurationMinutes,
    int RoundGapMinutes,
    int OfficialDelayMinutes)
{
    /// <summary>Canonical text of everything except the id; the default id is derived from it.</summary>
    public string CanonicalWithoutId() => string.Join("|",
        Seed.ToString(CultureInfo.InvariantCulture), Name ?? "", FieldSize, RoundCount,
        CutAfterRound?.ToString(CultureInfo.InvariantCulture) ?? "null", CutKeep,
        MdfAfterRound?.ToString(CultureInfo.InvariantCulture) ?? "null",
        MdfKeep?.ToString(CultureInfo.InvariantCulture) ?? "null",
        Withdrawals, Disqualifications, Playoff ? "1" : "0", Json.Time(Start),
        RoundDurationMinutes, RoundGapMinutes, OfficialDelayMinutes);

    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "id", "seed", "name", "field_size", "round_count", "cut_after_round", "cut_keep", "mdf_after_round",
        "mdf_keep", "withdrawals", "disqualifications", "playoff", "start", "round_duration_minutes",
        "round_gap_minutes", "official_delay_minutes",
    };

    /// <summary>
    /// Parses a POST /_control/tournaments body. Every problem is reported (never coerced).
    /// <paramref name="now"/> only supplies the default start (next day 12:00 UTC after now).
    /// </summary>
    public static TournamentParameters? Parse(JsonElement body, DateTimeOffset now, List<string> errors)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add("body must be a JSON object");
            return null;
        }
        foreach (var p in body.EnumerateObject())
            if (!Known.Contains(p.Name)) errors.Add($"unknown property '{p.Name}'");

        var r = new BodyReader(body, errors);
        var seed = r.Int("seed", null, required: true) ?? 0;
        var id = r.String("id");
        var name = r.String("name");
        var fieldSize = r.Int("field_size", 156)!.Value;
        var roundCount = r.Int("round_count", 4)!.Value;
        var cutAfter = r.NullableInt("cut_after_round", 2);
        var cutKeep = r.Int("cut_keep", 65)!.Value;
        var mdfAfter = r.NullableInt("mdf_after_round", null);
        var mdfKeep = r.NullableInt("mdf_keep", null);
        var wd = r.Int("withdrawals", 2)!.Value;
        var dq = r.Int("disqualifications", 1)!.Value;
        var playoff = r.Bool("playoff", false);
        var start = r.Time("start") ?? DefaultStart(now);
        var duration = r.Int("round_duration_minutes", 300)!.Value;
        var gap = r.Int("round_gap_minutes", 1140)!.Value;
        var delay = r.Int("official_delay_minutes", 60)!.Value;

        if (id is not null && (id.Length is < 1 or > 100 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')))
            errors.Add("id must be 1..100 characters of [A-Za-z0-9-_.:]");
        if (name is not null && name.Length is < 1 or > 200) errors.Add("name must be 1..200 characters");
        if (fieldSize is < 2 or > 1000) errors.Add("field_size must be 2..1000");
        if (roundCount is < 1 or > 6) errors.Add("round_count must be 1..6");
        if (cutAfter is not null && (cutAfter < 1 || cutAfter >= roundCount))
            errors.Add("cut_after_round must be null or 1..round_count-1");
        if (cutKeep < 1) errors.Add("cut_keep must be >= 1");
        if (mdfAfter is not null)
        {
            if (mdfAfter <= (cutAfter ?? 0) || mdfAfter >= roundCount)
                errors.Add("mdf_after_round must be after cut_after_round and before round_count");
            if (mdfKeep is null or < 1) errors.Add("mdf_keep (>= 1) is required with mdf_after_round");
        }
        else if (mdfKeep is not null) errors.Add("mdf_keep requires mdf_after_round");
        if (wd < 0) errors.Add("withdrawals must be >= 0");
        if (dq < 0) errors.Add("disqualifications must be >= 0");
        if (wd + dq > fieldSize / 2) errors.Add("withdrawals + disqualifications must be <= field_size / 2");
        if (duration is < 1 or > 24 * 60) errors.Add("round_duration_minutes must be 1..1440");
        if (gap is < 0 or > 7 * 24 * 60) errors.Add("round_gap_minutes must be 0..10080");
        if (delay is < 0 or > 7 * 24 * 60) errors.Add("official_delay_minutes must be 0..10080");
        if (errors.Count > 0) return null;

        var resolved = new TournamentParameters("", seed, name, fieldSize, roundCount, cutAfter, cutKeep, mdfAfter, mdfKeep,
            wd, dq, playoff, start, duration, gap, delay);
        id ??= SeededRandom.For(seed, 0x1D, SeededRandom.HashString(resolved.CanonicalWithoutId())).NextGuid();
        return resolved with { Id = id };
    }

    private static DateTimeOffset DefaultStart(DateTimeOffset now)
    {
        var d = now.UtcDateTime.Date.AddDays(1).AddHours(12);
        return new DateTimeOffset(d, TimeSpan.Zero);
    }
}

/// <summary>Strict reader for control-API JSON bodies: wrong types are errors, never coerced.</summary>
internal sealed class BodyReader(JsonElement body, List<string> errors)
{
    public bool Has(string name) => body.TryGetProperty(name, out _);

    public int? Int(string name, int? dflt, bool required = false)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required) errors.Add($"'{name}' is required");
            return dflt;
        }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
        errors.Add($"'{name}' must be an integer");
        return dflt;
    }

    /// <summary>Absent → default; explicit null → null.</summary>
    public int? NullableInt(string name, int? dflt)
    {
        if (!body.TryGetProperty(name, out var v)) return dflt;
        if (v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)) return i;
        errors.Add($"'{name}' must be an integer or null");
        return dflt;
    }

    public long? Long(string name)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var i)) return i;
        errors.Add($"'{name}' must be an integer");
        return null;
    }

    public decimal? Decimal(string name, bool required = false)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required) errors.Add($"'{name}' is required");
            return null;
        }
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d)) return d;
        errors.Add($"'{name}' must be a number");
        return null;
    }

    public bool Bool(string name, bool dflt)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return dflt;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        errors.Add($"'{name}' must be a boolean");
        return dflt;
    }

    public string? String(string name, bool required = false)
    {
        if (!body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (required) errors.Add($"'{name}' is required");
            return null;
        }
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        errors.Add($"'{name}' must be a string");
        return null;
    }

    public DateTimeOffset? Time(string name, bool required = false)
    {
        var s = String(name, required);
        if (s is null) return null;
        if (Json.TryParseTime(s, out var t)) return t;
        errors.Add($"'{name}' must be an ISO-8601 time with offset, e.g. 2026-04-09T12:00:00Z");
        return null;
    }
}
