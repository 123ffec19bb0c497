using System.Net;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

[Collection(ApiAndWorkerCollection.Name)]
public sealed class AuthTests(ApiAndWorkerFixture f)
{
    static async Task<JsonElement> Problem(HttpResponseMessage r)
    {
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task No_token_is_401_problem_with_stable_code()
    {
        using var http = f.Api.Client();
        var r = await http.GetAsync("/api/me");
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var p = await Problem(r);
        Assert.Equal("UNAUTHENTICATED", p.GetProperty("code").GetString());
        Assert.Equal(401, p.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(p.GetProperty("correlation_id").GetString()));
    }

    [Fact]
    public async Task Player_token_on_admin_route_is_403_problem()
    {
        using var http = f.Api.Client(TestAuth.Player());
        var r = await http.GetAsync("/api/admin/test-clock");
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal("FORBIDDEN", (await Problem(r)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Admin_token_reaches_admin_route()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var r = await http.GetAsync("/api/admin/test-clock");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task Player_token_reaches_player_route_and_sees_its_subject()
    {
        using var http = f.Api.Client(TestAuth.Player("golfer-fan-7"));
        var body = JsonDocument.Parse(await http.GetStringAsync("/api/me")).RootElement;
        Assert.Equal("golfer-fan-7", body.GetProperty("subject").GetString());
        Assert.Equal(0, body.GetProperty("roles").GetArrayLength());
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData("wrong-issuer")]
    [InlineData("expired")]
    public async Task Invalid_tokens_are_401_token_invalid(string kind)
    {
        var token = kind switch
        {
            "wrong-key" => TestAuth.Token("p", key: Convert.ToBase64String(new byte[32])),
            "wrong-issuer" => TestAuth.Token("p", issuer: "someone-else"),
            _ => TestAuth.Token("p", expires: DateTime.UtcNow.AddHours(-1)),
        };
        using var http = f.Api.Client(token);
        var r = await http.GetAsync("/api/me");
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("TOKEN_INVALID", (await Problem(r)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Jobs_dashboard_is_admin_only()
    {
        using var anonymous = f.Api.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/jobs")).StatusCode);
        using var player = f.Api.Client(TestAuth.Player());
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/admin/jobs")).StatusCode);
        using var admin = f.Api.Client(TestAuth.Admin);
        var r = await admin.GetAsync("/admin/jobs");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("Hangfire", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_and_metrics_are_public()
    {
        using var http = f.Api.Client();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Token_minted_by_the_cli_is_accepted()
    {
        var env = new Dictionary<string, string>
        {
            ["AUTH_JWT_SIGNING_KEY"] = TestAuth.SigningKeyBase64,
            ["AUTH_JWT_ISSUER"] = TestAuth.Issuer,
            ["AUTH_JWT_AUDIENCE"] = TestAuth.Audience,
        };
        var (exit, stdout, _) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["token", "--sub", "ops-9", "--admin"], env);
        Assert.Equal(0, exit);
        using var http = f.Api.Client(stdout.Trim());
        var me = JsonDocument.Parse(await http.GetStringAsync("/api/me")).RootElement;
        Assert.Equal("ops-9", me.GetProperty("subject").GetString());
        Assert.Equal("admin", me.GetProperty("roles")[0].GetString());
    }

    [Fact]
    public async Task Cli_cannot_mint_without_a_local_signing_key()
    {
        var env = new Dictionary<string, string> { ["AUTH_JWT_ISSUER"] = "https://idp.example", ["AUTH_JWT_AUDIENCE"] = "fairway-api" };
        var (exit, stdout, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["token", "--sub", "ops-9", "--admin"], env);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout.Trim());
        Assert.Contains("no local signing key", stderr);
    }
}
