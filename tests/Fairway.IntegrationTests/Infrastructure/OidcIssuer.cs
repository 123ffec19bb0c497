using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// An external OIDC issuer over real HTTP: its discovery document and RS256 keys, and tokens signed with them.
/// <see cref="Available"/> false makes it answer 503 to everything (the identity provider is down).
/// </summary>
public sealed class OidcIssuer : IDisposable
{
    readonly HttpListener listener = new();
    public RSA Rsa { get; } = RSA.Create(2048);
    /// <summary>The URL Fairway's AUTH_OIDC_AUTHORITY names.</summary>
    public string Authority { get; }
    /// <summary>The `iss` of its tokens and discovery document (the authority itself unless given).</summary>
    public string Issuer { get; }
    public volatile bool Available = true;

    public OidcIssuer(string? issuer = null)
    {
        Authority = $"http://127.0.0.1:{PostgresCluster.FreePort()}";
        Issuer = issuer ?? Authority;
        listener.Prefixes.Add(Authority + "/");
        listener.Start();
        _ = Task.Run(ServeAsync);
    }

    async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await listener.GetContextAsync(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            if (!Available)
            {
                ctx.Response.StatusCode = 503;
                ctx.Response.Close();
                continue;
            }
            var p = Rsa.ExportParameters(false);
            object body = ctx.Request.Url!.AbsolutePath switch
            {
                "/.well-known/openid-configuration" => new { issuer = Issuer, jwks_uri = Authority + "/jwks", id_token_signing_alg_values_supported = new[] { "RS256" } },
                _ => new { keys = new[] { new { kty = "RSA", use = "sig", kid = "k1", alg = "RS256", n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } } },
            };
            var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body));
            ctx.Response.ContentType = "application/json";
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    public string Token(string sub, bool admin = true) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = TestAuth.Audience,
        Subject = new ClaimsIdentity(admin ? [new Claim("sub", sub), new Claim("role", "admin")] : [new Claim("sub", sub)]),
        Expires = DateTime.UtcNow.AddMinutes(10),
        SigningCredentials = new SigningCredentials(new RsaSecurityKey(Rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
    });

    public void Dispose() { listener.Stop(); listener.Close(); Rsa.Dispose(); }
}
