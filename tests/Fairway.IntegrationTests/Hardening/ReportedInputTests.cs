using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Hardening;

/// <summary>
/// The inputs the issue 10 probe reported answering 500 (or being read whole), each pinned: a 4xx problem with
/// its stable code, logged once at warning level, and nothing written. The fuzz test covers their classes
/// across every route; these are the exact reported cases.
/// </summary>
public sealed class ReportedInputTests(ReportedInputTests.Host host) : IClassFixture<ReportedInputTests.Host>
{
    /// <summary>One API process (test clock on, so the test-clock route exists) on a fresh database for all cases.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public string Url { get; private set; } = "";
        public FairwayHostProcess Api { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Url = await TestDatabases.CreateMigratedAsync();
            Api = await FairwayHostProcess.StartAsync("api", Url, testClock: true);
        }

        public Task DisposeAsync() { Api.Dispose(); return Task.CompletedTask; }
    }

    string url => host.Url;
    FairwayHostProcess api => host.Api;

    public static TheoryData<string, string, string?, string, int, string> Cases => new()
    {
        // method, path, body (\x escapes are raw bytes), content type, status, code
        { "PUT", "/api/admin/test-clock", null, "application/json", 400, "BODY_REQUIRED" },
        { "PUT", "/api/admin/test-clock", "", "application/json", 400, "BODY_REQUIRED" },
        { "POST", "/api/admin/tournaments", """{"id":"t-1","provider_event_id":"sr:1","name":"a\udfff"}""", "application/json", 400, "INVALID_TEXT" },
        { "POST", "/api/admin/tournaments", """{"id":"t-1","provider_event_id":"sr:1","name":"a\u0000"}""", "application/json", 400, "INVALID_TEXT" },
        { "POST", "/api/admin/tournaments", "{\"id\":\"t-1\",\"provider_event_id\":\"sr:1\",\"name\":\"a\\xff\\xfe\"}", "application/json", 400, "INVALID_TEXT" },
        { "POST", "/api/admin/contests/config/validate", """{"tournament_id":"t-1","config":{"rules":{"note":"\u0000"}}}""", "application/json", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/ledger/accounts?after=%00", null, "", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/contests?after=%00", null, "", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/tournaments?after=%00", null, "", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/stripe/webhooks?after=%00", null, "", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/contests?after=%ff", null, "", 400, "INVALID_TEXT" },
        { "GET", "/api/admin/contests?limit=99999999999", null, "", 400, "MALFORMED_REQUEST" },
        { "GET", "/api/admin/stripe/webhooks?unprocessed=maybe", null, "", 400, "MALFORMED_REQUEST" },
        { "GET", "/api/admin/contests/%ED%BF%BF", null, "", 400, "INVALID_TEXT" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_reported_input_gets_a_4xx_problem_with_its_code_is_logged_once_and_writes_nothing(string method, string path, string? body, string contentType, int status, string code)
    {
        var before = await AuditRowsAsync();
        using var http = api.Client(TestAuth.Admin);
        using var req = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            req.Content = new ByteArrayContent(Bytes(body));
            req.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        else if (contentType.Length > 0)
        {
            req.Content = new ByteArrayContent([]);
            req.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        using var r = await http.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(code, problem.GetProperty("code").GetString());
        var correlation = problem.GetProperty("correlation_id").GetString()!;
        Assert.Equal(before, await AuditRowsAsync());

        var lines = await LinesOfAsync(correlation);
        Assert.Single(lines, l => l.Contains("\"@l\":\"Warning\"") && l.Contains($"\"ProblemCode\":\"{code}\""));
        Assert.DoesNotContain(lines, l => l.Contains("\"@l\":\"Error\""));
    }

    [Fact]
    public async Task A_10_MB_body_is_refused_with_413_on_its_Content_Length_and_never_read()
    {
        using var http = api.Client(TestAuth.Admin);
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/admin/tournaments") { Content = new ByteArrayContent(new byte[10 * 1024 * 1024]) };
        req.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        req.Headers.ExpectContinue = true;
        using var r = await http.SendAsync(req);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("BODY_TOO_LARGE", problem.GetProperty("code").GetString());
        Assert.Contains("admin_json accepts at most 1048576 bytes; Content-Length 10485760", problem.GetProperty("detail").GetString());
    }

    /// <summary>The body as bytes: \xHH in the text is the raw byte HH (to send invalid UTF-8).</summary>
    static byte[] Bytes(string body)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '\\' && i + 3 < body.Length && body[i + 1] == 'x') { bytes.Add(Convert.ToByte(body.Substring(i + 2, 2), 16)); i += 3; }
            else bytes.AddRange(Encoding.UTF8.GetBytes(body[i].ToString()));
        }
        return bytes.ToArray();
    }

    async Task<long> AuditRowsAsync()
    {
        await using var c = await TestDatabases.OpenAsync(url);
        return await c.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_events") + await c.ExecuteScalarAsync<long>("SELECT count(*) FROM tournaments");
    }

    /// <summary>The host's log lines of one request, once its request log line has arrived.</summary>
    async Task<List<string>> LinesOfAsync(string correlation)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var lines = api.Process.Stdout.Where(l => l.Contains($"\"CorrelationId\":\"{correlation}\"")).ToList();
            if (lines.Any(l => l.Contains("RequestLoggingMiddleware")) || sw.Elapsed > TimeSpan.FromSeconds(10)) return lines;
            await Task.Delay(50);
        }
    }
}
