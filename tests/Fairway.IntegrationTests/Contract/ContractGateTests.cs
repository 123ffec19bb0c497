extern alias simulation;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fairway.Contract;
using Fairway.IntegrationTests.Infrastructure;
using simulation::Fairway.Simulation.Client;

namespace Fairway.IntegrationTests.Contract;

/// <summary>
/// The breaking-change gate of the public API: the document the build generates against the frozen v1 baseline
/// (read with Microsoft.OpenApi), and the gate itself on deliberate changes of each kind.
/// </summary>
public sealed class ContractGateTests
{
    const string BaselinePath = "docs/api/openapi.v1.json";
    /// <summary>v1 is frozen: the baseline is never edited (a new major version gets its own file and decision).</summary>
    const string BaselineSha256 = "eab9905709b1a49c6044ce08108a64e65cce507f8624ed362eca15723774b460";

    static string Baseline => File.ReadAllText(Path.Combine(RepoPaths.Root, BaselinePath));
    /// <summary>The current document (committed; GeneratedDocumentsTests keeps it equal to what the build generates).</summary>
    static string Current => File.ReadAllText(Path.Combine(RepoPaths.Root, "docs/api/openapi.json"));

    [Fact]
    public async Task Generated_document_has_no_breaking_change_against_the_v1_baseline_unless_the_version_is_raised_and_explained()
    {
        var result = ContractGate.Check(Baseline, await EmittedDocuments.OpenApiAsync());
        if (result.Breaking.Count == 0) return;
        var decisions = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs/decisions.md"));
        Assert.True(result.VersionRaised && decisions.Contains($"API contract {result.CurrentVersion}", StringComparison.Ordinal),
            $"the generated OpenAPI document breaks contract {result.BaselineVersion} ({BaselinePath}); either undo these changes, or raise " +
            $"ApiContract.Version and add a decision-log entry naming \"API contract <new version>\":\n  " + string.Join("\n  ", result.Breaking));
    }

    [Fact]
    public void The_v1_baseline_is_frozen_and_embedded_unchanged()
    {
        Assert.Equal(BaselineSha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(RepoPaths.Root, BaselinePath)))));
        Assert.Equal(Baseline, ContractGate.BaselineV1Json());
        Assert.Equal("v1", ContractGate.Read(Baseline, "baseline").Info.Version);
    }

    [Fact]
    public void Every_operation_documents_its_success_body_and_every_error_status_with_the_problem_schema_and_its_codes()
    {
        var doc = JsonNode.Parse(Current)!;
        var operations = 0;
        foreach (var (path, item) in doc["paths"]!.AsObject())
        foreach (var (method, op) in item!.AsObject())
        {
            operations++;
            var responses = op!["responses"]!.AsObject();
            Assert.True(responses.Any(r => r.Key.StartsWith('2') && r.Value!["content"]?["application/json"]?["schema"] is not null),
                $"{method} {path} documents no success body");
            foreach (var (status, response) in responses.Where(r => !r.Key.StartsWith('2')))
            {
                Assert.True(response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>() == "#/components/schemas/ProblemDocument",
                    $"{method} {path} {status} is not a problem+json ProblemDocument");
                Assert.True(response["x-problem-codes"] is JsonArray { Count: > 0 }, $"{method} {path} {status} lists no problem codes");
            }
            foreach (var status in new[] { "500", "503" }) Assert.True(responses.ContainsKey(status), $"{method} {path} does not document {status}");
        }
        Assert.True(operations >= 10, $"only {operations} operations");
    }

    /// <summary>Every documented example is read back strictly by the generated client's types (no unknown, no missing required member).</summary>
    [Theory]
    [InlineData("/api/contests", "get", "200", typeof(PageOfContestSummary))]
    [InlineData("/api/contests/{id}/entries", "post", "201", typeof(EntryCreated))]
    [InlineData("/api/contests/{id}/entries", "post", "request", typeof(CreateEntryRequest))]
    [InlineData("/api/me/entries", "get", "200", typeof(PageOfEntryView))]
    [InlineData("/api/contests/{id}/entries/{entry}/refund", "post", "202", typeof(RefundView))]
    [InlineData("/api/me/payout-account", "post", "201", typeof(PayoutAccountView))]
    public void Examples_match_their_schema_as_the_generated_client_reads_it(string path, string method, string status, Type type)
    {
        var op = JsonNode.Parse(Current)!["paths"]![path]![method]!;
        var media = status == "request" ? op["requestBody"]!["content"]!["application/json"]! : op["responses"]![status]!["content"]!["application/json"]!;
        var example = media["example"] ?? throw new Xunit.Sdk.XunitException($"{method} {path} {status} has no example");
        var strict = new JsonSerializerOptions { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };
        Assert.NotNull(JsonSerializer.Deserialize(example.ToJsonString(), type, strict));
    }

    // ---- the gate on deliberate changes ----------------------------------------------------------

    static string Mutate(Action<JsonNode> change)
    {
        var doc = JsonNode.Parse(Baseline)!;
        change(doc);
        return doc.ToJsonString();
    }

    static JsonObject Schema(JsonNode doc, string name) => doc["components"]!["schemas"]![name]!.AsObject();

    public static TheoryData<string, string> BreakingChanges() => new()
    {
        { "removed path", "paths./api/me" },
        { "removed operation", "GET /api/me/payout-account" },
        { "removed property", "ContestSummary.name" },
        { "changed type", "ContestSummary.entry_fee" },
        { "new required request property", "CreateEntryRequest.coupon" },
        { "narrowed format", "query parameter 'after'" },
        { "removed enum value", "ContestSummary.currency" },
        { "changed type", "response nullable" },
        { "removed response", "POST entries 201" },
    };

    [Theory]
    [MemberData(nameof(BreakingChanges))]
    public void The_gate_fails_each_kind_of_breaking_change(string kind, string change)
    {
        var (baseline, current) = change switch
        {
            "paths./api/me" => (Baseline, Mutate(d => d["paths"]!.AsObject().Remove("/api/me"))),
            "GET /api/me/payout-account" => (Baseline, Mutate(d => d["paths"]!["/api/me/payout-account"]!.AsObject().Remove("get"))),
            "ContestSummary.name" => (Baseline, Mutate(d => Schema(d, "ContestSummary")["properties"]!.AsObject().Remove("name"))),
            "ContestSummary.entry_fee" => (Baseline, Mutate(d => Schema(d, "ContestSummary")["properties"]!["entry_fee"] = new JsonObject { ["type"] = "string" })),
            "CreateEntryRequest.coupon" => (Baseline, Mutate(d =>
            {
                var s = Schema(d, "CreateEntryRequest");
                s["properties"]!["coupon"] = new JsonObject { ["type"] = "string" };
                s["required"] = new JsonArray("golfers", "coupon");
            })),
            "query parameter 'after'" => (Baseline, Mutate(d => d["paths"]!["/api/contests"]!["get"]!["parameters"]!.AsArray()
                .Single(p => p!["name"]!.GetValue<string>() == "after")!["schema"]!["format"] = "uuid")),
            // The baseline has no enum; give both an enum and drop a value from the current one.
            "ContestSummary.currency" => (
                Mutate(d => Schema(d, "ContestSummary")["properties"]!["currency"]!["enum"] = new JsonArray("usd", "eur")),
                Mutate(d => Schema(d, "ContestSummary")["properties"]!["currency"]!["enum"] = new JsonArray("usd"))),
            "response nullable" => (Baseline, Mutate(d => Schema(d, "ContestSummary")["properties"]!["name"]!["type"] = new JsonArray("null", "string"))),
            "POST entries 201" => (Baseline, Mutate(d => d["paths"]!["/api/contests/{id}/entries"]!["post"]!["responses"]!.AsObject().Remove("201"))),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        var result = ContractGate.Check(baseline, current);
        Assert.False(result.Passed, $"{change}: the gate passed");
        Assert.Contains(result.Breaking, b => b.Kind == kind);
    }

    [Fact]
    public void Additive_changes_pass()
    {
        var current = Mutate(d =>
        {
            d["paths"]!["/api/me/notifications"] = JsonNode.Parse("""{"get":{"operationId":"ListNotifications","responses":{"200":{"description":"OK"}}}}""");
            Schema(d, "ContestSummary")["properties"]!["sponsor"] = new JsonObject { ["type"] = "string" };
            Schema(d, "CreateEntryRequest")["properties"]!["nickname"] = new JsonObject { ["type"] = "string" };
            d["paths"]!["/api/contests"]!["get"]!["responses"]!["418"] = JsonNode.Parse("""{"description":"teapot"}""");
            d["paths"]!["/api/contests"]!["get"]!["parameters"]!.AsArray().Add(JsonNode.Parse("""{"name":"sort","in":"query","schema":{"type":"string"}}"""));
        });
        var result = ContractGate.Check(Baseline, current);
        Assert.True(result.Breaking.Count == 0, string.Join("\n", result.Breaking));
    }

    [Fact]
    public void A_breaking_change_passes_only_under_a_raised_version()
    {
        var broken = Mutate(d => d["paths"]!.AsObject().Remove("/api/me"));
        Assert.False(ContractGate.Check(Baseline, broken).Passed);
        var raised = JsonNode.Parse(broken)!;
        raised["info"]!["version"] = "v2";
        var result = ContractGate.Check(Baseline, raised.ToJsonString());
        Assert.True(result.Passed);
        Assert.NotEmpty(result.Breaking);
    }

    [Fact]
    public void A_document_that_is_not_openapi_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => ContractGate.Read("""{"openapi":"3.1.1","paths":{"/x":{"get":{"responses":"nope"}}}}""", "broken"));
    }
}
