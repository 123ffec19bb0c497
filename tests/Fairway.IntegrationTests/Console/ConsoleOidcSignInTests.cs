using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Microsoft.Playwright.Assertions;

namespace Fairway.IntegrationTests.Console;

/// <summary>
/// The production sign-in: the console runs the authorization-code flow with PKCE against the deployment's OIDC
/// authority (a local stand-in speaking the protocol over real HTTP), and the API accepts the access token it gets.
/// </summary>
public sealed class ConsoleOidcSignInTests
{
    /// <summary>An OIDC authority that signs in whoever asks (as the configured subject) and checks PKCE and the client.</summary>
    sealed class Authority : IDisposable
    {
        readonly HttpListener listener = new();
        readonly RSA rsa = RSA.Create(2048);
        readonly ConcurrentDictionary<string, (string Challenge, string RedirectUri)> codes = new();
        public string Url { get; }
        public string Subject { get; init; } = "idp-ops";
        public bool Admin { get; init; } = true;
        public int Exchanged;
        public List<string> Refused { get; } = [];

        public Authority()
        {
            Url = $"http://127.0.0.1:{PostgresCluster.FreePort()}";
            listener.Prefixes.Add(Url + "/");
            listener.Start();
            _ = Task.Run(ServeAsync);
        }

        async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); } catch { return; }
                try { await HandleAsync(ctx); } catch (Exception e) { Refused.Add(e.Message); ctx.Response.StatusCode = 500; ctx.Response.Close(); }
            }
        }

        async Task HandleAsync(HttpListenerContext ctx)
        {
            var q = ctx.Request.QueryString;
            ctx.Response.AddHeader("Access-Control-Allow-Origin", "*"); // the console calls discovery and the token endpoint from its own origin
            switch (ctx.Request.Url!.AbsolutePath)
            {
                case "/.well-known/openid-configuration":
                    await JsonAsync(ctx, new { issuer = Url, authorization_endpoint = Url + "/authorize", token_endpoint = Url + "/token", jwks_uri = Url + "/jwks" });
                    return;
                case "/jwks":
                    var p = rsa.ExportParameters(false);
                    await JsonAsync(ctx, new { keys = new[] { new { kty = "RSA", use = "sig", kid = "k1", alg = "RS256", n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } } });
                    return;
                case "/authorize":
                    if (q["client_id"] != "fairway-console" || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"]))
                    {
                        Refused.Add("authorize: " + ctx.Request.Url.Query);
                        ctx.Response.StatusCode = 400; ctx.Response.Close(); return;
                    }
                    var code = Guid.NewGuid().ToString("N");
                    codes[code] = (q["code_challenge"]!, q["redirect_uri"]!);
                    ctx.Response.Redirect($"{q["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(q["state"]!)}");
                    ctx.Response.Close();
                    return;
                case "/token":
                    var form = System.Web.HttpUtility.ParseQueryString(await new StreamReader(ctx.Request.InputStream).ReadToEndAsync());
                    var verifier = form["code_verifier"] ?? "";
                    var ok = form["grant_type"] == "authorization_code" && form["client_id"] == "fairway-console" && codes.TryRemove(form["code"] ?? "", out var issued)
                             && issued.RedirectUri == form["redirect_uri"] && issued.Challenge == Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
                    if (!ok)
                    {
                        Refused.Add("token: " + form);
                        ctx.Response.StatusCode = 400;
                        await JsonAsync(ctx, new { error = "invalid_grant" });
                        return;
                    }
                    Interlocked.Increment(ref Exchanged);
                    await JsonAsync(ctx, new { access_token = Token(), token_type = "Bearer", expires_in = 600 });
                    return;
                default:
                    ctx.Response.StatusCode = 404; ctx.Response.Close(); return;
            }
        }

        string Token() => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Url,
            Audience = TestAuth.Audience,
            Subject = new ClaimsIdentity(Admin ? [new Claim("sub", Subject), new Claim("role", "admin")] : [new Claim("sub", Subject)]),
            Expires = DateTime.UtcNow.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "k1" }, SecurityAlgorithms.RsaSha256),
        });

        static async Task JsonAsync(HttpListenerContext ctx, object body)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            ctx.Response.ContentType = "application/json";
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }

        public void Dispose() { listener.Stop(); rsa.Dispose(); }
    }

    static Task<FairwayHostProcess> ApiTrustingAsync(Authority authority, string database) =>
        FairwayHostProcess.StartAsync("api", database, env =>
        {
            env.Remove("AUTH_JWT_SIGNING_KEY");
            env["AUTH_OIDC_AUTHORITY"] = authority.Url;
            env["AUTH_JWT_ISSUER"] = authority.Url;
            env["ADMIN_CONSOLE_OIDC_CLIENT_ID"] = "fairway-console";
        });

    [Fact]
    public async Task The_console_signs_in_through_the_oidc_authority_with_pkce_and_only_an_admin_sees_anything()
    {
        var database = await TestDatabases.CreateMigratedAsync();
        using var admins = new Authority();
        using var api = await ApiTrustingAsync(admins, database);
        await using var browser = await ConsoleBrowser.LaunchAsync();

        await using (var tab = await browser.OpenAsync(api.BaseUrl))
        {
            await tab.ByTestId("oidc-sign-in").ClickAsync();
            await tab.WaitLoadedAsync();
            await Expect(tab.ByTestId("whoami")).ToHaveTextAsync("admin:idp-ops");
            await Expect(tab.ByTestId("card-kill-switch")).ToContainTextAsync("ENGAGED"); // a fresh deployment
            Assert.Equal(1, admins.Exchanged);
            Assert.Empty(admins.Refused);
            // The code and state are gone from the address bar once used.
            Assert.DoesNotContain("code=", tab.Page.Url);
            await tab.ScreenshotAsync("oidc-signed-in");
            tab.AssertNoScriptErrors();
        }

        // The same authority signing in someone without role admin: nothing is shown.
        using var players = new Authority { Subject = "idp-player", Admin = false };
        using var api2 = await ApiTrustingAsync(players, database);
        await using var refused = await browser.OpenAsync(api2.BaseUrl);
        await refused.ByTestId("oidc-sign-in").ClickAsync();
        // Two redirects, a code exchange and the API's first look at the authority's keys: more than the default 5 s on a loaded machine.
        await Expect(refused.ByTestId("signin-message")).ToContainTextAsync("no admin role", new() { Timeout = 30000 });
        Assert.Equal(1, players.Exchanged);
        Assert.DoesNotContain(refused.Responses, r => r.Url.Contains("/api/admin/", StringComparison.Ordinal) && r.Status < 400);
    }
}
