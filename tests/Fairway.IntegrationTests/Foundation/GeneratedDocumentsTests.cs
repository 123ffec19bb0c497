using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>The committed OpenAPI document, env contract and example env file equal what the code generates.</summary>
public sealed class GeneratedDocumentsTests
{
    static Lazy<Task<string>> Generated => EmittedDocuments.Directory;

    [Theory]
    [InlineData("docs/api/openapi.json")]
    [InlineData("docs/api/errors.md")]
    [InlineData("docs/infra/ENV_SCHEMA.md")]
    [InlineData("infra/env/.env.example")]
    [InlineData("infra/stripe/webhook-endpoint.json")]
    public async Task Committed_document_is_current(string relative)
    {
        var dir = await Generated.Value;
        var generated = await File.ReadAllTextAsync(Path.Combine(dir, relative));
        var committed = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, relative));
        Assert.True(generated == committed, $"{relative} is stale: run ./scripts/docs and commit the result");
    }

    [Fact]
    public async Task Public_openapi_document_has_no_admin_routes_and_lists_the_player_routes()
    {
        var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(await Generated.Value, "docs/api/openapi.json"))).RootElement;
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/me", paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/api/admin", StringComparison.Ordinal) || p.StartsWith("/admin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Env_schema_documents_every_variable_the_code_reads()
    {
        var md = await File.ReadAllTextAsync(Path.Combine(await Generated.Value, "docs/infra/ENV_SCHEMA.md"));
        foreach (var name in new[] { "DATABASE_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "INGESTION_ENDPOINT_URL", "INGESTION_API_KEY", "AUTH_JWT_SIGNING_KEY", "AUTH_OIDC_AUTHORITY", "FAIRWAY_LISTEN_URL" })
            Assert.Contains($"| `{name}` |", md);
    }
}
