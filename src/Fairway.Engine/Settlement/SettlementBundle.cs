using System.Text.Json;
using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Json;

namespace Fairway.Engine.Settlement;

/// <summary>A settlement bundle's validated contents: everything needed to recompute a settlement offline.</summary>
public sealed record SettlementBundleContents(SettlementRules Rules, Leaderboard Leaderboard, IReadOnlyList<SettlementEntry> Entries);

/// <summary>Reads and writes <c>fairway.settlement-bundle/1</c>: contest rules, the provider leaderboard as fetched,
/// and the entries. Bundles are our own format, so reading is strict about unknown keys.</summary>
public static class SettlementBundle
{
    public const string Format = "fairway.settlement-bundle/1";

    private static readonly string[] TopKeys = { "format", "contest", "leaderboard", "entries" };
    private static readonly string[] ContestKeys =
    {
        "id", "entry_fee", "currency", "rake_bps", "roster_size", "round_count", "unplayed_round_strokes", "payout_table",
    };
    private static readonly string[] EntryKeys = { "id", "user_id", "golfers" };

    /// <summary>Canonical bundle JSON. Entries are sorted by id so the bundle does not depend on database row order;
    /// the leaderboard is embedded canonically (keys sorted, ignored non-integer numbers kept verbatim).
    /// Refuses to write a bundle that would not replay: the same validation as settlement runs first.</summary>
    public static EngineResult<string> Write(SettlementRules rules, string leaderboardJson, IReadOnlyList<SettlementEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(leaderboardJson);
        ArgumentNullException.ThrowIfNull(entries);
        var sink = new ErrorSink();
        if (!JsonInput.TryParseDocument(leaderboardJson, "leaderboard", sink, out var doc))
        {
            return EngineResult<string>.Failure(sink.Errors);
        }
        using (doc)
        {
            var leaderboard = LeaderboardParser.Parse(doc!.RootElement, "leaderboard", sink);
            if (leaderboard is null)
            {
                return EngineResult<string>.Failure(sink.Errors);
            }
            var check = SettlementCalculator.Settle(rules, leaderboard, entries, "contest", "entries");
            if (!check.IsSuccess)
            {
                return EngineResult<string>.Failure(check.Errors);
            }

            var tree = new Dictionary<string, object?>
            {
                ["format"] = Format,
                ["contest"] = new Dictionary<string, object?>
                {
                    ["id"] = rules.ContestId,
                    ["entry_fee"] = rules.EntryFee,
                    ["currency"] = rules.Currency,
                    ["rake_bps"] = rules.RakeBps,
                    ["roster_size"] = rules.RosterSize,
                    ["round_count"] = rules.RoundCount,
                    ["unplayed_round_strokes"] = rules.UnplayedRoundStrokes,
                    ["payout_table"] = rules.PayoutTable
                        .OrderBy(p => p.Place)
                        .Select(p => new Dictionary<string, object?> { ["place"] = p.Place, ["bps"] = p.Bps })
                        .ToArray(),
                },
                ["leaderboard"] = doc.RootElement,
                ["entries"] = entries
                    .OrderBy(e => e.Id, StringComparer.Ordinal)
                    .Select(e => new Dictionary<string, object?>
                    {
                        ["id"] = e.Id,
                        ["user_id"] = e.UserId,
                        ["golfers"] = e.Golfers.ToArray(),
                    })
                    .ToArray(),
            };
            return EngineResult<string>.Success(CanonicalJson.Serialize((object)tree));
        }
    }

    public static EngineResult<SettlementBundleContents> Read(string bundleJson)
    {
        ArgumentNullException.ThrowIfNull(bundleJson);
        var sink = new ErrorSink();
        if (!JsonInput.TryParseDocument(bundleJson, JsonPath.Root, sink, out var doc))
        {
            return EngineResult<SettlementBundleContents>.Failure(sink.Errors);
        }
        using (doc)
        {
            return Read(doc!.RootElement, sink);
        }
    }

    private static EngineResult<SettlementBundleContents> Read(JsonElement root, ErrorSink sink)
    {
        var top = ObjectView.Open(root, JsonPath.Root, sink, TopKeys, strict: true);
        if (top is null)
        {
            return EngineResult<SettlementBundleContents>.Failure(sink.Errors);
        }
        if (top.String("format") is { } format && format != Format)
        {
            sink.Add("format", ErrorCodes.UnsupportedBundleFormat, $"Expected '{Format}', found '{format}'.");
        }

        var rules = top.Required("contest") is { } contest ? ReadContest(contest, sink) : null;
        var leaderboard = top.Required("leaderboard") is { } lb ? LeaderboardParser.Parse(lb, "leaderboard", sink) : null;
        var entries = top.Array("entries") is { } entriesElement ? ReadEntries(entriesElement, sink) : null;

        if (sink.Count > 0)
        {
            return EngineResult<SettlementBundleContents>.Failure(sink.Errors);
        }
        return EngineResult<SettlementBundleContents>.Success(new SettlementBundleContents(rules!, leaderboard!, entries!));
    }

    private static SettlementRules? ReadContest(JsonElement element, ErrorSink sink)
    {
        var before = sink.Count;
        var c = ObjectView.Open(element, "contest", sink, ContestKeys, strict: true);
        if (c is null)
        {
            return null;
        }
        // Ranges are left to settlement validation, which reports them under the same contest.* paths.
        var id = c.String("id", allowEmpty: true);
        var entryFee = c.Integer("entry_fee", long.MinValue, long.MaxValue);
        var currency = c.String("currency", allowEmpty: true);
        var rakeBps = c.Int("rake_bps", int.MinValue, int.MaxValue);
        var rosterSize = c.Int("roster_size", int.MinValue, int.MaxValue);
        var roundCount = c.Int("round_count", int.MinValue, int.MaxValue);
        var unplayed = c.Int("unplayed_round_strokes", int.MinValue, int.MaxValue);
        var payoutTable = ReadPayoutRows(c, sink);
        if (sink.Count > before)
        {
            return null;
        }
        return new SettlementRules(id!, entryFee!.Value, currency!, rakeBps!.Value, rosterSize!.Value, roundCount!.Value,
            unplayed!.Value, payoutTable!);
    }

    private static IReadOnlyList<PayoutPlace>? ReadPayoutRows(ObjectView contest, ErrorSink sink)
    {
        if (contest.Array("payout_table") is not { } array)
        {
            return null;
        }
        var rows = new List<PayoutPlace>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var row = ObjectView.Open(item, JsonPath.Index(contest.FieldPath("payout_table"), i++), sink, new[] { "place", "bps" }, strict: true);
            var place = row?.Int("place", int.MinValue, int.MaxValue);
            var bps = row?.Int("bps", int.MinValue, int.MaxValue);
            if (place is not null && bps is not null)
            {
                rows.Add(new PayoutPlace(place.Value, bps.Value));
            }
        }
        return rows;
    }

    private static IReadOnlyList<SettlementEntry>? ReadEntries(JsonElement array, ErrorSink sink)
    {
        var before = sink.Count;
        var entries = new List<SettlementEntry>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var path = JsonPath.Index("entries", i++);
            var e = ObjectView.Open(item, path, sink, EntryKeys, strict: true);
            if (e is null)
            {
                continue;
            }
            var id = e.String("id", allowEmpty: true);
            var userId = e.String("user_id", allowEmpty: true);
            var golfers = new List<string>();
            if (e.Array("golfers") is { } golfersElement)
            {
                var g = 0;
                foreach (var golfer in golfersElement.EnumerateArray())
                {
                    if (JsonInput.String(golfer, JsonPath.Index(e.FieldPath("golfers"), g++), sink, allowEmpty: true) is { } golferId)
                    {
                        golfers.Add(golferId);
                    }
                }
            }
            if (id is not null && userId is not null)
            {
                entries.Add(new SettlementEntry(id, userId, golfers));
            }
        }
        return sink.Count == before ? entries : null;
    }
}

/// <summary>Offline settlement replay for the ops CLI: bundle in, canonical result document out. No database, no clock.</summary>
public static class SettlementBundleReplay
{
    /// <summary>The canonical JSON of the full result (including output_hash), with no trailing newline; or every error.</summary>
    public static EngineResult<string> Run(string bundleJson)
    {
        var bundle = SettlementBundle.Read(bundleJson);
        if (!bundle.IsSuccess)
        {
            return EngineResult<string>.Failure(bundle.Errors);
        }
        var (rules, leaderboard, entries) = bundle.Value;
        var settled = SettlementCalculator.Settle(rules, leaderboard, entries, "contest", "entries");
        return settled.IsSuccess
            ? EngineResult<string>.Success(SettlementResultDocument.Build(settled.Value).Json)
            : EngineResult<string>.Failure(settled.Errors);
    }
}
