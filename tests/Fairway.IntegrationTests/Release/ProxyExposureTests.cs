using System.Net;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Release;

/// <summary>
/// The public-exposure decision, executed: the production Caddyfile (infra/caddy/Caddyfile) run by a real Caddy in
/// front of a real API process. Public routes pass through; the admin API, the jobs dashboard, /readyz and /metrics
/// answer Caddy's own 404 however the path is spelled, even with an admin token, while the API itself serves them.
/// TLS is the only difference: a test address is http:// (Caddy obtains certificates only for a real host name).
/// </summary>
public sealed class ProxyExposureTests
{
    static async Task<string> CaddyAsync()
    {
        var (found, path, _) = await ManagedProcess.RunAsync("bash", ["-c", "command -v caddy"], new Dictionary<string, string>());
        if (found == 0) return path.Trim();
        // Like scripts/lib/pg.sh: install what a fresh machine lacks (Debian package `caddy`).
        var (exit, stdout, stderr) = await ManagedProcess.RunAsync("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy"],
            new Dictionary<string, string>(), TimeSpan.FromMinutes(5));
        Assert.True(exit == 0, $"installing caddy failed: {stdout}\n{stderr}");
        return "/usr/bin/caddy";
    }

    static Dictionary<string, string> ProxyEnv(string publicHost, string upstream) => new()
    {
        ["FAIRWAY_PUBLIC_HOST"] = publicHost, ["FAIRWAY_ACME_EMAIL"] = "ops@fairway.example", ["FAIRWAY_API_UPSTREAM"] = upstream,
        ["HOME"] = Directory.CreateTempSubdirectory("fairway-caddy.").FullName,
    };

    static string Caddyfile => Path.Combine(RepoPaths.Root, "infra/caddy/Caddyfile");

    [Fact]
    public async Task The_production_Caddyfile_is_valid_for_a_real_host_name()
    {
        var (exit, stdout, stderr) = await ManagedProcess.RunAsync(await CaddyAsync(), ["validate", "--config", Caddyfile, "--adapter", "caddyfile"],
            ProxyEnv("api.fairway.example", "api:8080"));
        Assert.True(exit == 0, stdout + stderr);
    }

    [Fact]
    public async Task Only_public_routes_reach_the_api_through_the_proxy()
    {
        var caddy = await CaddyAsync();
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db);
        var port = PostgresCluster.FreePort();
        using var proxy = ManagedProcess.Start(caddy, ["run", "--config", Caddyfile, "--adapter", "caddyfile"],
            ProxyEnv($"http://127.0.0.1:{port}", $"127.0.0.1:{api.BaseUrl.Port}"));
        using var through = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        through.DefaultRequestHeaders.Authorization = new("Bearer", TestAuth.Admin);
        using var direct = api.Client(TestAuth.Admin);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            Assert.False(proxy.HasExited, string.Join('\n', proxy.Stderr));
            try { if ((await through.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK) break; }
            catch (HttpRequestException) when (sw.Elapsed < TimeSpan.FromSeconds(30)) { }
            await Task.Delay(100);
        }

        foreach (var path in new[] { "/api/contests", "/openapi/v1.json", "/healthz", "/api/me" })
        {
            var r = await through.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"GET {path} through the proxy: {(int)r.StatusCode}");
        }
        // Stripe's deliveries reach Fairway's verification (an unsigned one is refused by Fairway, not by the proxy).
        var hook = await through.PostAsync("/webhooks/stripe", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, hook.StatusCode);
        Assert.Contains("WEBHOOK_INVALID", await hook.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await direct.GetAsync("/api/admin/kill-switch")).StatusCode);   // the API serves it...
        foreach (var path in new[] { "/api/admin/kill-switch", "/api/admin", "/API/ADMIN/kill-switch", "/api/%61dmin/kill-switch", "/api//admin/kill-switch",
                                     "/admin/jobs", "/readyz", "/metrics", "/", "/anything" })
        {
            var r = await through.GetAsync(path);   // ...the internet never gets it
            var body = await r.Content.ReadAsStringAsync();
            // 404, and from Caddy itself except where an odd spelling is forwarded and then matches no route in Fairway either.
            Assert.True(r.StatusCode == HttpStatusCode.NotFound && (body == "Not Found" || (path.Contains("//") && body.Contains("\"NOT_FOUND\""))),
                $"GET {path} through the proxy: {(int)r.StatusCode} {body}");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await through.PostAsync("/api/admin/kill-switch", new StringContent("{}"))).StatusCode);
        proxy.SendSigterm();
    }
}
