using System.Text.Json;
using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Fairway.Engine.Tests;

/// <summary>
/// The streaming engine (EntrySet, RankedSettlement, the streamed result document and entry-set hash) against the
/// implementations it replaced, kept here verbatim as oracles: same ranks, prizes, bytes and hashes, whatever the input.
/// </summary>
[Properties(Arbitrary = new[] { typeof(SettlementArbitraries), typeof(OddStrings) }, MaxTest = 300)]
public class StreamingSettlementTests
{
    /// <summary>The settlement ranking and pool split as they were before the streaming engine (for validated entries).</summary>
    private static SettlementResult OracleSettle(SettlementRules rules, Leaderboard lb, IReadOnlyList<SettlementEntry> entries)
    {
        var scores = StrokePlayScoring.Apply(rules.RoundCount, rules.UnplayedRoundStrokes, lb);
        var entryScores = entries.Select(e => e.Golfers.Aggregate(0L, (sum, g) => checked(sum + scores.TotalFor(g)))).ToArray();
        var gross = checked(rules.EntryFee * entries.Count);
        var rake = (long)((Int128)gross * rules.RakeBps / 10_000);
        var net = gross - rake;
        var placePrizes = new long[rules.PayoutTable.Count];
        foreach (var row in rules.PayoutTable)
        {
            placePrizes[row.Place - 1] = (long)((Int128)net * row.Bps / 10_000);
        }
        var leftover = net - placePrizes.Sum();
        for (var i = 0; leftover > 0; i = (i + 1) % placePrizes.Length, leftover--)
        {
            placePrizes[i]++;
        }
        var ranked = entries.Select((e, i) => (Entry: e, Score: entryScores[i])).OrderBy(x => x.Score).ThenBy(x => x.Entry.Id, StringComparer.Ordinal).ToArray();
        var settled = new List<SettledEntry>();
        var position = 0;
        while (position < ranked.Length)
        {
            var tieEnd = position;
            while (tieEnd + 1 < ranked.Length && ranked[tieEnd + 1].Score == ranked[position].Score)
            {
                tieEnd++;
            }
            var tied = tieEnd - position + 1;
            long pot = 0;
            for (var place = position + 1; place <= tieEnd + 1 && place <= placePrizes.Length; place++)
            {
                pot += placePrizes[place - 1];
            }
            var share = pot / tied;
            var extra = pot - share * tied;
            for (var k = 0; k < tied; k++)
            {
                var (entry, score) = ranked[position + k];
                settled.Add(new SettledEntry(entry.Id, entry.UserId, score, position + 1, share + (k < extra ? 1 : 0)));
            }
            position = tieEnd + 1;
        }
        return new SettlementResult(rules.ContestId, gross, rake, net, settled);
    }

    /// <summary>The result document as it was built before: a tree, canonicalised twice.</summary>
    private static SettlementDocument OracleDocument(SettlementResult result)
    {
        var tree = new Dictionary<string, object?>
        {
            ["format"] = SettlementResultDocument.Format,
            ["contest_id"] = result.ContestId,
            ["gross"] = result.Gross,
            ["rake"] = result.Rake,
            ["net"] = result.Net,
            ["entries"] = result.Entries.Select(e => new Dictionary<string, object?>
            {
                ["id"] = e.Id, ["user_id"] = e.UserId, ["score"] = e.Score, ["rank"] = e.Rank, ["prize"] = e.Prize,
            }).ToArray(),
        };
        var hash = CanonicalJson.Sha256Hex(Canonical((object)tree));
        tree["output_hash"] = hash;
        return new SettlementDocument(Canonical((object)tree), hash);
    }

    private static string Canonical(object tree) => CanonicalJson.Serialize(tree);

    /// <summary>The entry-set hash as the host computed it before: System.Text.Json, then canonicalised.</summary>
    private static string OracleEntrySetHash(IEnumerable<SettlementEntry> entries) =>
        CanonicalJson.Sha256Hex(CanonicalJson.Canonicalize(JsonSerializer.Serialize(entries.OrderBy(e => e.Id, StringComparer.Ordinal)
            .Select(e => new { id = e.Id, user_id = e.UserId, golfers = e.Golfers }))).Value);

    private static Leaderboard Lb(string json) => LeaderboardParser.Parse(json).Value;

    [Property]
    public void List_settlement_matches_the_oracle_byte_for_byte(SettlementScenario s)
    {
        var lb = Lb(s.LeaderboardJson);
        var settled = SettlementCalculator.Settle(s.Rules, lb, s.PermutedEntries).Value;
        var oracle = OracleSettle(s.Rules, lb, s.Entries);
        Assert.Equal(oracle.Entries, settled.Entries);
        Assert.Equal((oracle.Gross, oracle.Rake, oracle.Net), (settled.Gross, settled.Rake, settled.Net));
        Assert.Equal(OracleDocument(oracle), SettlementResultDocument.Build(settled));
    }

    [Property]
    public void Entry_set_settlement_and_its_streamed_document_match_the_list_form(SettlementScenario s)
    {
        var lb = Lb(s.LeaderboardJson);
        var set = EntrySet.From(s.PermutedEntries);
        var ranked = SettlementCalculator.Settle(s.Rules, lb, set).Value;
        var list = SettlementCalculator.Settle(s.Rules, lb, s.Entries).Value;
        Assert.Equal(list.Entries, ranked.ToResult().Entries);
        var document = SettlementResultDocument.Build(list);
        Assert.Equal(document, SettlementResultDocument.Build(ranked));
        Assert.Equal(document.OutputHash, SettlementResultDocument.OutputHash(ranked));

        var projected = SettlementCalculator.Project(s.Rules, lb, set).Value;
        Assert.Equal(SettlementResultDocument.Build(SettlementCalculator.Project(s.Rules, lb, s.Entries).Value), SettlementResultDocument.Build(projected));
    }

    [Property]
    public void Entry_set_hash_matches_the_oracle_in_any_arrival_order(SettlementScenario s)
    {
        var oracle = OracleEntrySetHash(s.Entries);
        Assert.Equal(oracle, EntrySet.From(s.Entries).Hash);
        Assert.Equal(oracle, EntrySet.From(s.PermutedEntries).Hash);
        using var streamed = new EntrySetBuilder();
        foreach (var e in s.Entries.OrderBy(e => e.Id, StringComparer.Ordinal))
        {
            streamed.Add(e.Id, e.UserId, e.Golfers.Select(g => streamed.GolferIndex(g.AsSpan())).ToArray());
        }
        Assert.Equal(oracle, streamed.Build().Hash);
    }

    [Property]
    public void Strings_with_escapes_and_any_unicode_hash_and_serialise_as_before(OddString id, OddString user, OddString golfer)
    {
        var entries = new[]
        {
            new SettlementEntry(id.Value, user.Value, new[] { golfer.Value, "g" }),
            new SettlementEntry(id.Value + "~", "u", new[] { "g", golfer.Value + "x" }),
        };
        Assert.Equal(OracleEntrySetHash(entries), EntrySet.From(entries).Hash);
        var rules = new SettlementRules(id.Value, 5, "usd", 0, 2, 1, 70, new[] { new PayoutPlace(1, 10_000) });
        var lb = Lb("""{"id":"e","status":"closed","leaderboard":[{"id":"g","rounds":[{"sequence":1,"strokes":70,"thru":18}]}]}""");
        var result = SettlementCalculator.Settle(rules, lb, entries).Value;
        Assert.Equal(OracleDocument(result), SettlementResultDocument.Build(result));
        var set = EntrySet.From(entries);
        Assert.Equal(
            entries.OrderBy(e => e.Id, StringComparer.Ordinal).Select(e => JsonSerializer.Serialize(e.Golfers)).Select(j => JsonDocument.Parse(j).RootElement.EnumerateArray().Select(x => x.GetString()).ToArray()),
            Enumerable.Range(0, set.Count).Select(i => JsonDocument.Parse(set.RosterJson(i)).RootElement.EnumerateArray().Select(x => x.GetString()).ToArray()));
    }

    [Fact]
    public void Lone_surrogates_and_control_characters_are_written_as_the_canonical_policy_says()
    {
        var result = new SettlementResult("c\ud800\u0001\"\\/\u00e9\U0001F600", 1, 0, 1, new[] { new SettledEntry("e\udc00x", "u\t", 3, 1, 1) });
        var document = SettlementResultDocument.Build(result);
        Assert.Equal(OracleDocument(result), document);
        Assert.Contains("c\\ud800\\u0001\\\"\\\\/\u00e9\U0001F600", document.Json);
    }

    [Fact]
    public void Invalid_entry_sets_report_exactly_the_errors_of_the_list_form()
    {
        var rules = new SettlementRules("c", 10, "usd", 0, 2, 1, 70, new[] { new PayoutPlace(1, 10_000) });
        var lb = Lb("""{"id":"e","status":"closed","leaderboard":[]}""");
        SettlementEntry[][] cases =
        {
            new[] { new SettlementEntry("a", "u", new[] { "g1", "g1" }), new SettlementEntry("b", "u", new[] { "g1", "g2" }) },
            new[] { new SettlementEntry("a", "u", new[] { "g1" }), new SettlementEntry("a", "u", new[] { "g1", "g2" }) },
            new[] { new SettlementEntry("a", "", new[] { "", "g2" }) },
        };
        foreach (var entries in cases)
        {
            var sorted = entries.OrderBy(e => e.Id, StringComparer.Ordinal).ToArray();
            var expected = SettlementCalculator.Settle(rules, lb, sorted).Errors;
            Assert.NotEmpty(expected);
            Assert.Equal(expected, SettlementCalculator.Settle(rules, lb, EntrySet.From(entries)).Errors);
        }
        // Below the paid places and pool overflow: same codes and paths.
        var wide = rules with { PayoutTable = new[] { new PayoutPlace(1, 5000), new PayoutPlace(2, 5000) } };
        var one = new[] { new SettlementEntry("a", "u", new[] { "g1", "g2" }) };
        Assert.Equal(SettlementCalculator.Settle(wide, lb, one).Errors, SettlementCalculator.Settle(wide, lb, EntrySet.From(one)).Errors);
        var huge = rules with { EntryFee = long.MaxValue };
        var two = new[] { new SettlementEntry("a", "u", new[] { "g1", "g2" }), new SettlementEntry("b", "u", new[] { "g1", "g2" }) };
        Assert.Equal(SettlementCalculator.Settle(huge, lb, two).Errors, SettlementCalculator.Settle(huge, lb, EntrySet.From(two)).Errors);
    }

    [Fact]
    public void Scores_spread_too_wide_for_counting_are_ranked_by_comparison_with_the_same_result()
    {
        // One golfer with a billion strokes: the score range is far wider than the entry count.
        var lb = Lb("""{"id":"e","status":"closed","leaderboard":[{"id":"big","rounds":[{"sequence":1,"strokes":1000000000,"thru":18}]},{"id":"small","rounds":[{"sequence":1,"strokes":60,"thru":18}]}]}""");
        var rules = new SettlementRules("c", 100, "usd", 500, 1, 1, 70, new[] { new PayoutPlace(1, 6000), new PayoutPlace(2, 4000) });
        var entries = Enumerable.Range(0, 40).Select(i => new SettlementEntry($"e{i:D2}", $"u{i % 7}", new[] { i % 3 == 0 ? "big" : i % 3 == 1 ? "small" : "absent" })).ToArray();
        var oracle = OracleSettle(rules, lb, entries);
        Assert.Equal(oracle.Entries, SettlementCalculator.Settle(rules, lb, EntrySet.From(entries.Reverse())).Value.ToResult().Entries);
    }

    [Fact]
    public void A_set_of_fifty_thousand_streamed_in_order_matches_the_oracle()
    {
        var golfers = Enumerable.Range(0, 156).Select(i => $"sr:player:{i:D4}").ToArray();
        var entries = Enumerable.Range(0, 50_000).Select(i => new SettlementEntry($"ent_{i * 7919 % 50_000:D6}", $"user-{i % 997}",
            Enumerable.Range(0, 6).Select(k => golfers[(i * 31 + k * 17) % golfers.Length]).ToArray())).ToArray();
        Assert.Equal(OracleEntrySetHash(entries), EntrySet.From(entries).Hash);
    }
}

public sealed record OddString(string Value)
{
    public override string ToString() => JsonSerializer.Serialize(Value);
}

/// <summary>Non-empty strings drawn from quotes, backslashes, control characters, non-ASCII and astral characters (surrogate pairs).</summary>
public static class OddStrings
{
    private static readonly string[] Pieces = { "a", "Z", "0", "\"", "\\", "/", "\b", "\f", "\n", "\r", "\t", "\u0001", "\u001f", " ", "é", "ß", "\u20ac", "\uffff", "\U0001F600", "<", "&", "\u2028" };

    public static Arbitrary<OddString> Odd() =>
        Gen.NonEmptyListOf(Gen.Elements(Pieces)).Select(p => new OddString(string.Concat(p))).ToArbitrary();
}
