using System.Net;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>
/// A deployment that trusts only an external OIDC issuer: the host fetches the issuer's discovery
/// document and keys over real HTTP, accepts its RS256 tokens, and rejects locally minted ones.
/// </summary>
public sealed class OidcAuthorityTests
{
    [Fact]
    public async Task Tokens_of_the_oidc_authority_are_accepted_and_local_ones_are_not()
    {
        using var issuer = new OidcIssuer();
        using var api = await FairwayHostProcess.StartAsync("api", await TestDatabases.CreateMigratedAsync(), env =>
        {
            env.Remove("AUTH_JWT_SIGNING_KEY");
            env["AUTH_OIDC_AUTHORITY"] = issuer.Authority;
            env["AUTH_JWT_ISSUER"] = issuer.Authority;
        });

        using var external = api.Client(issuer.Token("idp-user-1"));
        var me = JsonDocument.Parse(await external.GetStringAsync("/api/me")).RootElement;
        Assert.Equal("idp-user-1", me.GetProperty("subject").GetString());
        // The issuer's role claim is honoured too: an admin route answers.
        Assert.Equal(HttpStatusCode.OK, (await external.GetAsync($"/api/admin/jobs/probes/{Guid.NewGuid()}")).StatusCode);

        using var local = api.Client(TestAuth.Token("forger", admin: true, issuer: issuer.Authority));
        Assert.Equal(HttpStatusCode.Unauthorized, (await local.GetAsync("/api/me")).StatusCode);
    }
}
