using System.Text.Json.Nodes;
using Fairway.Engine.Config;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class ConfigValidationTests
{
    private static JsonObject Rules(JsonObject c) => c["rules"]!.AsObject();
    private static JsonArray Table(JsonObject c) => Rules(c)["payout_table"]!.AsArray();

    private static string Set(Action<JsonObject> mutate)
    {
        var c = ValidConfig();
        mutate(c);
        return c.ToJsonString();
    }

    private static string Raw(Action<JsonObject, JsonNode> set, string raw) => WithRaw(ValidConfig(), set, raw);

    private static readonly Dictionary<string, (Func<string> Json, string Path, string Code)> Cases = new()
    {
        ["id missing"] = (() => Set(c => c.Remove("id")), "id", "MISSING_FIELD"),
        ["id empty"] = (() => Set(c => c["id"] = ""), "id", "EMPTY_STRING"),
        ["id number"] = (() => Set(c => c["id"] = 5), "id", "WRONG_TYPE"),
        ["contest_id missing"] = (() => Set(c => c.Remove("contest_id")), "contest_id", "MISSING_FIELD"),
        ["provider_event_id null"] = (() => Set(c => c["provider_event_id"] = null), "provider_event_id", "WRONG_TYPE"),
        ["endpoint ftp"] = (() => Set(c => c["ingestion_endpoint"] = "ftp://example.com/x"), "ingestion_endpoint", "INVALID_URL"),
        ["endpoint relative"] = (() => Set(c => c["ingestion_endpoint"] = "/golf/leaderboard.json"), "ingestion_endpoint", "INVALID_URL"),
        ["endpoint padded"] = (() => Set(c => c["ingestion_endpoint"] = " https://example.com/x"), "ingestion_endpoint", "INVALID_URL"),
        ["start date slashes"] = (() => Set(c => c["event_start_date"] = "2026/04/09"), "event_start_date", "INVALID_DATE"),
        ["start date impossible"] = (() => Set(c => c["event_start_date"] = "2026-02-30"), "event_start_date", "INVALID_DATE"),
        ["start date with time"] = (() => Set(c => c["event_start_date"] = "2026-04-09T00:00:00Z"), "event_start_date", "INVALID_DATE"),
        ["start date number"] = (() => Set(c => c["event_start_date"] = 20260409), "event_start_date", "WRONG_TYPE"),
        ["end date missing"] = (() => Set(c => c.Remove("event_end_date")), "event_end_date", "MISSING_FIELD"),
        ["end before start"] = (() => Set(c => c["event_end_date"] = "2026-04-08"), "event_end_date", "EVENT_DATES_INVERTED"),
        ["round_count 0"] = (() => Set(c => c["round_count"] = 0), "round_count", "OUT_OF_RANGE"),
        ["round_count 9"] = (() => Set(c => c["round_count"] = 9), "round_count", "OUT_OF_RANGE"),
        ["round_count string"] = (() => Set(c => c["round_count"] = "4"), "round_count", "WRONG_TYPE"),
        ["round_count NaN string"] = (() => Set(c => c["round_count"] = "NaN"), "round_count", "WRONG_TYPE"),
        ["round_count 4.0"] = (() => Raw((c, v) => c["round_count"] = v, "4.0"), "round_count", "NOT_AN_INTEGER"),
        ["round_count 4e0"] = (() => Raw((c, v) => c["round_count"] = v, "4e0"), "round_count", "NOT_AN_INTEGER"),
        ["round_count 1e400"] = (() => Raw((c, v) => c["round_count"] = v, "1e400"), "round_count", "NOT_AN_INTEGER"),
        ["round_count huge"] = (() => Raw((c, v) => c["round_count"] = v, "99999999999999999999999"), "round_count", "OUT_OF_RANGE"),
        ["round_count bool"] = (() => Set(c => c["round_count"] = true), "round_count", "WRONG_TYPE"),
        ["cut 0"] = (() => Set(c => c["cut_after_round"] = 0), "cut_after_round", "OUT_OF_RANGE"),
        ["cut beyond rounds"] = (() => Set(c => c["cut_after_round"] = 5), "cut_after_round", "OUT_OF_RANGE"),
        ["cut missing"] = (() => Set(c => c.Remove("cut_after_round")), "cut_after_round", "MISSING_FIELD"),
        ["schema version 2"] = (() => Set(c => c["leaderboard_schema_version"] = 2), "leaderboard_schema_version", "UNSUPPORTED_SCHEMA_VERSION"),
        ["schema version string"] = (() => Set(c => c["leaderboard_schema_version"] = "1"), "leaderboard_schema_version", "WRONG_TYPE"),
        ["schema version 1.0"] = (() => Raw((c, v) => c["leaderboard_schema_version"] = v, "1.0"), "leaderboard_schema_version", "NOT_AN_INTEGER"),
        ["field_source unknown"] = (() => Set(c => c["field_source"] = "api"), "field_source", "INVALID_FIELD_SOURCE"),
        ["field_size 0"] = (() => Set(c => c["field_size"] = 0), "field_size", "OUT_OF_RANGE"),
        ["alternates negative"] = (() => Set(c => c["alternates_count"] = -1), "alternates_count", "OUT_OF_RANGE"),
        ["rules missing"] = (() => Set(c => c.Remove("rules")), "rules", "MISSING_FIELD"),
        ["rules array"] = (() => Set(c => c["rules"] = new JsonArray()), "rules", "WRONG_TYPE"),
        ["roster_size 0"] = (() => Set(c => Rules(c)["roster_size"] = 0), "rules.roster_size", "OUT_OF_RANGE"),
        ["roster bigger than field"] = (() => Set(c => Rules(c)["roster_size"] = 91), "rules.roster_size", "ROSTER_SIZE_EXCEEDS_FIELD"),
        ["entry_fee negative"] = (() => Set(c => Rules(c)["entry_fee"] = -1), "rules.entry_fee", "OUT_OF_RANGE"),
        ["entry_fee decimal"] = (() => Raw((c, v) => Rules(c)["entry_fee"] = v, "25.00"), "rules.entry_fee", "NOT_AN_INTEGER"),
        ["entry_fee string"] = (() => Set(c => Rules(c)["entry_fee"] = "2500"), "rules.entry_fee", "WRONG_TYPE"),
        ["pool overflow"] = (() => Set(c => Rules(c)["entry_fee"] = long.MaxValue / 10), "rules.entry_fee", "POOL_OVERFLOW"),
        ["currency upper"] = (() => Set(c => Rules(c)["currency"] = "USD"), "rules.currency", "INVALID_CURRENCY"),
        ["currency short"] = (() => Set(c => Rules(c)["currency"] = "us"), "rules.currency", "INVALID_CURRENCY"),
        ["min_entries 0"] = (() => Set(c => Rules(c)["min_entries"] = 0), "rules.min_entries", "OUT_OF_RANGE"),
        ["min above max"] = (() => Set(c => Rules(c)["max_entries"] = 2), "rules.min_entries", "ENTRY_LIMITS_INVERTED"),
        ["min below paid places"] = (() => Set(c => Rules(c)["min_entries"] = 2), "rules.min_entries", "MIN_ENTRIES_BELOW_PAID_PLACES"),
        ["rake 10001"] = (() => Set(c => Rules(c)["rake_bps"] = 10001), "rules.rake_bps", "OUT_OF_RANGE"),
        ["rake negative"] = (() => Set(c => Rules(c)["rake_bps"] = -1), "rules.rake_bps", "OUT_OF_RANGE"),
        ["payout empty"] = (() => Set(c => Rules(c)["payout_table"] = new JsonArray()), "rules.payout_table", "PAYOUT_TABLE_EMPTY"),
        ["payout sum 9999"] = (() => Set(c => Table(c)[2]!["bps"] = 999), "rules.payout_table", "PAYOUT_BPS_SUM_INVALID"),
        ["payout sum 10001"] = (() => Set(c => Table(c)[2]!["bps"] = 1001), "rules.payout_table", "PAYOUT_BPS_SUM_INVALID"),
        ["payout bps too big"] = (() => Set(c => Table(c)[2]!["bps"] = 10001), "rules.payout_table[2].bps", "OUT_OF_RANGE"),
        ["payout bps negative"] = (() => Set(c => Table(c)[1]!["bps"] = -1), "rules.payout_table[1].bps", "OUT_OF_RANGE"),
        ["payout gap"] = (() => Set(c => Table(c)[2]!["place"] = 4), "rules.payout_table", "PAYOUT_PLACES_NOT_CONTIGUOUS"),
        ["payout duplicate place"] = (() => Set(c => Table(c)[2]!["place"] = 2), "rules.payout_table[2].place", "PAYOUT_DUPLICATE_PLACE"),
        ["payout place 0"] = (() => Set(c => Table(c)[0]!["place"] = 0), "rules.payout_table[0].place", "OUT_OF_RANGE"),
        ["payout row extra key"] = (() => Set(c => Table(c)[0]!["tier"] = "A"), "rules.payout_table[0].tier", "UNKNOWN_FIELD"),
        ["payout bps float"] = (() => Raw((c, v) => Table(c)[0]!["bps"] = v, "6000.0"), "rules.payout_table[0].bps", "NOT_AN_INTEGER"),
        ["lock offset"] = (() => Set(c => Rules(c)["lock_time"] = "2026-04-09T11:00:00+00:00"), "rules.lock_time", "INVALID_TIMESTAMP"),
        ["lock fraction"] = (() => Set(c => Rules(c)["lock_time"] = "2026-04-09T11:00:00.000Z"), "rules.lock_time", "INVALID_TIMESTAMP"),
        ["lock space"] = (() => Set(c => Rules(c)["lock_time"] = "2026-04-09 11:00:00Z"), "rules.lock_time", "INVALID_TIMESTAMP"),
        ["lock hour 24"] = (() => Set(c => Rules(c)["lock_time"] = "2026-04-09T24:00:00Z"), "rules.lock_time", "INVALID_TIMESTAMP"),
        ["lock epoch number"] = (() => Set(c => Rules(c)["lock_time"] = 1775732400), "rules.lock_time", "WRONG_TYPE"),
        ["unplayed 0"] = (() => Set(c => Rules(c)["unplayed_round_strokes"] = 0), "rules.unplayed_round_strokes", "OUT_OF_RANGE"),
        ["unplayed 201"] = (() => Set(c => Rules(c)["unplayed_round_strokes"] = 201), "rules.unplayed_round_strokes", "OUT_OF_RANGE"),
        ["unplayed float"] = (() => Raw((c, v) => Rules(c)["unplayed_round_strokes"] = v, "80.5"), "rules.unplayed_round_strokes", "NOT_AN_INTEGER"),
        ["hold negative"] = (() => Set(c => Rules(c)["settlement_hold_seconds"] = -5), "rules.settlement_hold_seconds", "OUT_OF_RANGE"),
        ["unknown top key"] = (() => Set(c => c["created_at"] = "2026-01-01T00:00:00Z"), "created_at", "UNKNOWN_FIELD"),
        ["unknown rules key"] = (() => Set(c => Rules(c)["tiers"] = new JsonArray()), "rules.tiers", "UNKNOWN_FIELD"),
    };

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Each_rule_is_rejected_with_its_code_and_path(string caseName)
    {
        var (json, path, code) = Cases[caseName];
        var result = ContestConfigValidator.Validate(json());
        Assert.False(result.IsSuccess);
        AssertOnlyError(result.Errors, path, code);
    }

    [Fact]
    public void Valid_config_passes_with_typed_values()
    {
        var result = ContestConfigValidator.Validate(ValidConfigText);
        Assert.True(result.IsSuccess, string.Join("; ", result.Errors));
        var c = result.Value;
        Assert.Equal("contest-masters-2026", c.ContestId);
        Assert.Equal(new DateOnly(2026, 4, 9), c.EventStartDate);
        Assert.Equal(4, c.RoundCount);
        Assert.Equal(2, c.CutAfterRound);
        Assert.Equal(FieldSource.ProviderSync, c.FieldSource);
        Assert.Equal(2500L, c.Rules.EntryFee);
        Assert.Equal(new DateTimeOffset(2026, 4, 9, 11, 0, 0, TimeSpan.Zero), c.Rules.LockTime);
        Assert.Equal(new[] { 1, 2, 3 }, c.Rules.PayoutTable.Select(p => p.Place));
        Assert.Equal(64, c.Hash().Length);
    }

    [Fact]
    public void Null_cut_and_cut_on_last_round_are_accepted()
    {
        Assert.Null(ContestConfigValidator.Validate(Set(c => c["cut_after_round"] = null)).Value.CutAfterRound);
        Assert.Equal(4, ContestConfigValidator.Validate(Set(c => c["cut_after_round"] = 4)).Value.CutAfterRound);
    }

    [Fact]
    public void Unpaid_places_do_not_count_towards_min_entries_and_table_order_is_irrelevant()
    {
        var json = Set(c =>
        {
            Rules(c)["min_entries"] = 2;
            Rules(c)["payout_table"] = JsonNode.Parse("""[{"place":3,"bps":0},{"place":1,"bps":7000},{"place":2,"bps":3000}]""");
        });
        var result = ContestConfigValidator.Validate(json);
        Assert.True(result.IsSuccess, string.Join("; ", result.Errors));
        Assert.Equal(new[] { 1, 2, 3 }, result.Value.Rules.PayoutTable.Select(p => p.Place));
    }

    [Fact]
    public void Every_error_is_listed_at_once()
    {
        var json = Set(c =>
        {
            c.Remove("id");
            c["event_start_date"] = "April 9";
            c["round_count"] = "4";
            c["leaderboard_schema_version"] = 2;
            Rules(c)["roster_size"] = 0;
            Table(c)[1]!["bps"] = 2999;
            Rules(c)["currency"] = "EUR";
            c["extra"] = 1;
        });
        var errors = ContestConfigValidator.Validate(json).Errors;
        AssertHasError(errors, "id", "MISSING_FIELD");
        AssertHasError(errors, "event_start_date", "INVALID_DATE");
        AssertHasError(errors, "round_count", "WRONG_TYPE");
        AssertHasError(errors, "leaderboard_schema_version", "UNSUPPORTED_SCHEMA_VERSION");
        AssertHasError(errors, "rules.roster_size", "OUT_OF_RANGE");
        AssertHasError(errors, "rules.payout_table", "PAYOUT_BPS_SUM_INVALID");
        AssertHasError(errors, "rules.currency", "INVALID_CURRENCY");
        AssertHasError(errors, "extra", "UNKNOWN_FIELD");
        Assert.Equal(8, errors.Count);
        Assert.All(errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
    }

    [Fact]
    public void Malformed_documents_are_rejected()
    {
        AssertOnlyError(ContestConfigValidator.Validate("{\"id\": ").Errors, "$", "INVALID_JSON");
        AssertOnlyError(ContestConfigValidator.Validate("[]").Errors, "$", "WRONG_TYPE");
        AssertOnlyError(ContestConfigValidator.Validate(ValidConfigText.Replace("\"round_count\": 4", "\"round_count\": NaN")).Errors, "$", "INVALID_JSON");
        var duplicated = ValidConfigText.Replace("\"round_count\": 4,", "\"round_count\": 4, \"round_count\": 3,");
        AssertOnlyError(ContestConfigValidator.Validate(duplicated).Errors, "round_count", "DUPLICATE_FIELD");
    }

    [Fact]
    public void Hash_is_stable_and_ignores_formatting_and_key_order()
    {
        var a = ContestConfigValidator.Validate(ValidConfigText).Value;
        var b = ContestConfigValidator.Validate(ValidConfigText).Value;
        Assert.Equal(a.Hash(), b.Hash());

        var reordered = new JsonObject(ValidConfig().Reverse().Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));
        var c = ContestConfigValidator.Validate(reordered.ToJsonString()).Value;
        Assert.Equal(a.Hash(), c.Hash());
        Assert.Equal(a.ToCanonicalJson(), c.ToCanonicalJson());

        // Canonical JSON is itself a valid config with the same identity.
        Assert.Equal(a.Hash(), ContestConfigValidator.Validate(a.ToCanonicalJson()).Value.Hash());
        Assert.Equal(CanonicalJson.Sha256Hex(a.ToCanonicalJson()), a.Hash());
    }

    public static IEnumerable<object[]> FieldChanges => new (string, Action<JsonObject>)[]
    {
        ("id", c => c["id"] = "cfg-v2"),
        ("contest_id", c => c["contest_id"] = "other"),
        ("provider_event_id", c => c["provider_event_id"] = "other"),
        ("ingestion_endpoint", c => c["ingestion_endpoint"] = "https://example.com/other"),
        ("event_start_date", c => c["event_start_date"] = "2026-04-08"),
        ("event_end_date", c => c["event_end_date"] = "2026-04-13"),
        ("round_count", c => c["round_count"] = 3),
        ("cut_after_round", c => c["cut_after_round"] = null),
        ("field_source", c => c["field_source"] = "static_import"),
        ("field_size", c => c["field_size"] = 91),
        ("alternates_count", c => c["alternates_count"] = 6),
        ("roster_size", c => Rules(c)["roster_size"] = 5),
        ("entry_fee", c => Rules(c)["entry_fee"] = 2501),
        ("currency", c => Rules(c)["currency"] = "eur"),
        ("min_entries", c => Rules(c)["min_entries"] = 4),
        ("max_entries", c => Rules(c)["max_entries"] = 999),
        ("rake_bps", c => Rules(c)["rake_bps"] = 1001),
        ("payout bps", c => { Table(c)[0]!["bps"] = 5999; Table(c)[1]!["bps"] = 3001; }),
        ("lock_time", c => Rules(c)["lock_time"] = "2026-04-09T11:00:01Z"),
        ("unplayed_round_strokes", c => Rules(c)["unplayed_round_strokes"] = 81),
        ("settlement_hold_seconds", c => Rules(c)["settlement_hold_seconds"] = 3601),
    }.Select(x => new object[] { x.Item1, x.Item2 });

    [Theory]
    [MemberData(nameof(FieldChanges))]
    public void Hash_changes_when_any_field_changes(string field, Action<JsonObject> change)
    {
        var original = ContestConfigValidator.Validate(ValidConfigText).Value.Hash();
        var changed = ContestConfigValidator.Validate(Set(change));
        Assert.True(changed.IsSuccess, field + ": " + string.Join("; ", changed.Errors));
        Assert.NotEqual(original, changed.Value.Hash());
    }
}
