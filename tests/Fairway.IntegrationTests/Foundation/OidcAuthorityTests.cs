using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>
/// A deployment that trusts only an external OIDC issuer: the host fetches the issuer's discovery
/// document and keys over real HTTP, accepts its RS256 tokens, and rejects locally minted ones.
/// </summary>
public sealed class OidcAuthorityTests
{
    sealed class FakeIssuer : IDisposable
    {
        readonly HttpListener listener = new();
        public RSA Rsa { get; } = RSA.Create(2048);
        public string Authority { get; }
        public FakeIssuer()
        {
            var port = PostgresCluster.FreePort();
            Authority = $"http://127.0.0.1:{port}";
            listener.Prefixes.Add(Authority + "/");
            listener.Start();
            _ = Task.Run(ServeAsync);
        }

        async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch { return; }
                var p = Rsa.ExportParameters(false);
                object body = ctx.Request.Url!.AbsolutePath switch
                {
                    "/.well-known/openid-configuration" => new { issuer = Authority, jwks_uri = Authority + "/jwks", id_token_signing_alg_values_supported = new[] { "RS256" } },
                    _ => new { keys = new[] { new { kty = "RSA", use = "sig", kid = "k1", alg = "RS256", n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } } },
                };
                var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body));
                ctx.Response.ContentType = "application/json";
                await ctx.Response.OutputStream.WriteAsync(bytes);
                ctx.Response.Close();
            }
        }

        public string Token(string sub) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Authority,
            Audience = TestAuth.Audience,
            Subject = new ClaimsIdentity([new Claim("sub", sub), new Claim("role", "admin")]),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(Rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });

        public void Dispose() { listener.Stop(); Rsa.Dispose(); }
    }

    [Fact]
    public async Task Tokens_of_the_oidc_authority_are_accepted_and_local_ones_are_not()
    {
        using var issuer = new FakeIssuer();
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
