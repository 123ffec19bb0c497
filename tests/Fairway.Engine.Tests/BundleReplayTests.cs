using System.Text.Json.Nodes;
using Fairway.Engine.Contests;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using static Fairway.Engine.Tests.TestJson;

namespace Fairway.Engine.Tests;

public class BundleReplayTests
{
    private static string Example(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "examples", name));

    [Fact]
    public void Example_bundle_replays_to_the_committed_result_byte_for_byte()
    {
        var expected = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "examples", "bundle-ties-and-cut.result.json"));
        var first = SettlementBundleReplay.Run(Example("bundle-ties-and-cut.json"));
        Assert.True(first.IsSuccess, string.Join("; ", first.Errors));
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetBytes(first.Value));
        Assert.Equal(first.Value, SettlementBundleReplay.Run(Example("bundle-ties-and-cut.json")).Value);
    }

    [Fact]
    public void Output_hash_is_the_hash_of_the_result_without_it()
    {
        var doc = JsonNode.Parse(SettlementBundleReplay.Run(Example("bundle-ties-and-cut.json")).Value)!.AsObject();
        var hash = (string)doc["output_hash"]!;
        doc.Remove("output_hash");
        Assert.Equal(hash, CanonicalJson.Sha256Hex(CanonicalJson.Canonicalize(doc.ToJsonString()).Value));
        Assert.Equal("fairway.settlement-result/1", (string)doc["format"]!);
    }

    [Fact]
    public void Host_document_matches_replay_for_the_same_settlement()
    {
        var bundle = SettlementBundle.Read(Example("bundle-ties-and-cut.json")).Value;
        var settled = SettlementCalculator.Settle(bundle.Rules, bundle.Leaderboard, bundle.Entries).Value;
        Assert.Equal(SettlementBundleReplay.Run(Example("bundle-ties-and-cut.json")).Value, SettlementResultDocument.Build(settled).Json);
    }

    [Fact]
    public void Written_bundle_replays_identically_and_keeps_ignored_floats_verbatim()
    {
        var original = SettlementBundle.Read(Example("bundle-ties-and-cut.json")).Value;
        var lbJson = JsonNode.Parse(Example("bundle-ties-and-cut.json"))!["leaderboard"]!.ToJsonString();
        var written = SettlementBundle.Write(original.Rules, lbJson, original.Entries).Value;

        Assert.Contains("\"money\":360000.5", written);
        Assert.Contains("\"purse\":2000000.0", written);
        Assert.Equal(written, CanonicalJson.Canonicalize(written).Value);
        Assert.Equal(SettlementBundleReplay.Run(Example("bundle-ties-and-cut.json")).Value, SettlementBundleReplay.Run(written).Value);
        Assert.Equal(written, SettlementBundle.Write(original.Rules, lbJson, original.Entries.Reverse().ToArray()).Value);
    }

    [Fact]
    public void Writer_refuses_what_replay_would_refuse()
    {
        var rules = new SettlementRules("c", 10, "usd", 0, 2, 4, 80, new[] { new PayoutPlace(1, 10000) });
        var errors = SettlementBundle.Write(rules, "{\"id\":\"e\",\"status\":\"closed\",\"leaderboard\":[]}",
            new[] { new SettlementEntry("x", "u", new[] { "a" }) }).Errors;
        AssertOnlyError(errors, "entries[0].golfers", "ROSTER_WRONG_SIZE");
        AssertOnlyError(SettlementBundle.Write(rules, "{\"id\":", Array.Empty<SettlementEntry>()).Errors, "leaderboard", "INVALID_JSON");
    }

    [Fact]
    public void Malformed_bundles_list_every_error()
    {
        var b = JsonNode.Parse(Example("bundle-ties-and-cut.json"))!.AsObject();
        b["format"] = "fairway.settlement-bundle/2";
        b["contest"]!["entry_fee"] = "1001";
        b["contest"]!["extra"] = 1;
        b["leaderboard"]!["leaderboard"]![0]!["rounds"]![0]!["strokes"] = -70;
        b["entries"]![0]!["golfers"]![0] = 7;
        b["signature"] = "x";
        var errors = SettlementBundleReplay.Run(b.ToJsonString()).Errors;
        AssertHasError(errors, "format", "UNSUPPORTED_BUNDLE_FORMAT");
        AssertHasError(errors, "contest.entry_fee", "WRONG_TYPE");
        AssertHasError(errors, "contest.extra", "UNKNOWN_FIELD");
        AssertHasError(errors, "leaderboard.leaderboard[0].rounds[0].strokes", "OUT_OF_RANGE");
        AssertHasError(errors, "entries[0].golfers[0]", "WRONG_TYPE");
        AssertHasError(errors, "signature", "UNKNOWN_FIELD");
        Assert.Equal(6, errors.Count);
    }

    [Fact]
    public void Bundle_rule_violations_are_reported_under_contest_paths()
    {
        var b = JsonNode.Parse(Example("bundle-ties-and-cut.json"))!.AsObject();
        b["contest"]!["rake_bps"] = 20000;
        b["entries"]![1]!["id"] = "entry-06";
        var errors = SettlementBundleReplay.Run(b.ToJsonString()).Errors;
        AssertHasError(errors, "contest.rake_bps", "OUT_OF_RANGE");
        AssertHasError(errors, "entries[1].id", "DUPLICATE_ENTRY_ID");
        Assert.Equal(2, errors.Count);
        AssertOnlyError(SettlementBundleReplay.Run("not json").Errors, "$", "INVALID_JSON");
    }
}
