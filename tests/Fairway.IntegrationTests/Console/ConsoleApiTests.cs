using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payouts;
using Fairway.IntegrationTests.Settlement;

namespace Fairway.IntegrationTests.Console;

public sealed class ConsoleApiFixture : IAsyncLifetime
{
    public MoneyOutWorld World { get; private set; } = null!;
    public async Task InitializeAsync()
    {
        World = await MoneyOutWorld.StartAsync();
        await World.Stripe.PointWebhooksAtAsync(World.Api.BaseUrl);
    }
    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>
/// The console's static files and the read-only admin routes it reads (also the CLI's): served by a real API
/// process over a real database, role admin only, bounded, validated.
/// </summary>
public sealed class ConsoleApiTests(ConsoleApiFixture f) : IClassFixture<ConsoleApiFixture>
{
    MoneyOutWorld W => f.World;

    static readonly string[] ReadRoutes =
    [
        "/api/admin/audit", "/api/admin/board/contests", "/api/admin/ledger/summary", "/api/admin/payouts/transfers", "/api/admin/refunds", "/api/admin/refunds/owed", "/api/admin/backups",
        "/api/admin/stripe/webhooks/recent", "/api/admin/alerts", "/api/admin/runbooks",
    ];

    [Fact]
    public async Task The_console_is_served_anonymously_without_data_and_the_jobs_dashboard_still_needs_an_admin()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = W.Api.BaseUrl };
        var redirect = await anonymous.GetAsync("/admin");
        Assert.Equal((HttpStatusCode.Redirect, "/admin/"), (redirect.StatusCode, redirect.Headers.Location?.ToString()));
        var page = await anonymous.GetAsync("/admin/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("/admin/console/app.js", await page.Content.ReadAsStringAsync());

        var script = await anonymous.GetAsync("/admin/console/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        var etag = script.Headers.ETag!;
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/admin/console/app.js");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await anonymous.SendAsync(conditional)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/admin/console/..%2F..%2FFairway.Host.dll")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/admin/console/no-such-file.js")).StatusCode);

        var config = JsonDocument.Parse(await anonymous.GetStringAsync("/admin/console/config.json")).RootElement;
        Assert.Equal((JsonValueKind.Null, 5), (config.GetProperty("oidc").ValueKind, config.GetProperty("refresh_seconds").GetInt32()));

        // Hangfire's dashboard keeps its place and its guard.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/jobs")).StatusCode);
        using var player = W.Api.Client(TestAuth.Player());
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/admin/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await W.Admin.GetAsync("/admin/jobs")).StatusCode);
    }

    [Fact]
    public async Task Every_read_route_of_the_console_answers_admins_only()
    {
        using var anonymous = W.Api.Client();
        using var player = W.Api.Client(TestAuth.Player());
        foreach (var route in ReadRoutes)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(route)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync(route)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await W.Admin.GetAsync(route)).StatusCode);
        }
    }

    [Theory]
    [InlineData("/api/admin/audit?limit=0", "limit")]
    [InlineData("/api/admin/audit?limit=501", "limit")]
    [InlineData("/api/admin/audit?entity_id=1", "entity_id")]
    [InlineData("/api/admin/audit?contest_id=c&entity_type=contest", "contest_id")]
    [InlineData("/api/admin/board/contests?state=DONE", "state")]
    [InlineData("/api/admin/board/contests?limit=201", "limit")]
    [InlineData("/api/admin/payouts/transfers?status=failed", "status")]
    [InlineData("/api/admin/payouts/transfers?limit=0", "limit")]
    [InlineData("/api/admin/refunds?status=failed", "status")]
    [InlineData("/api/admin/stripe/webhooks/recent?limit=500", "limit")]
    [InlineData("/api/admin/backups?limit=101", "limit")]
    [InlineData("/api/admin/refunds?limit=0", "limit")]
    [InlineData("/api/admin/payments/overdue?limit=201", "limit")]
    [InlineData("/api/admin/payments/disputes?limit=0", "limit")]
    [InlineData("/api/admin/reconciliation/stripe/runs?limit=201", "limit")]
    [InlineData("/api/admin/reconciliation/stripe/items?limit=1001", "limit")]
    [InlineData("/api/admin/tournaments?limit=201", "limit")]
    [InlineData("/api/admin/contests?limit=0", "limit")]
    [InlineData("/api/contests?limit=101", "limit")]
    [InlineData("/api/contests/any/standings?limit=501", "limit")]
    [InlineData("/api/contests/any/standings?offset=-1", "offset")]
    [InlineData("/api/admin/ingestion/tournaments/any/events?limit=0", "limit")]
    public async Task Out_of_range_queries_are_refused_with_the_field_named(string route, string field)
    {
        var r = await W.Admin.GetAsync(route);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((HttpStatusCode.BadRequest, "VALIDATION_FAILED"), (r.StatusCode, body.GetProperty("code").GetString()));
        Assert.Equal(field, body.GetProperty("errors")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task Polling_a_tournament_that_does_not_exist_is_refused_at_once_and_enqueues_no_job()
    {
        var r = await W.Admin.PostAsync("/api/admin/ingestion/tournaments/no-such-tournament/poll?wait_seconds=60", null);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((HttpStatusCode.NotFound, "TOURNAMENT_NOT_FOUND"), (r.StatusCode, body.GetProperty("code").GetString()));
        Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM hangfire.job WHERE arguments::text LIKE '%no-such-tournament%'"));
    }

    [Fact]
    public async Task A_contest_reads_as_one_story_on_the_board_the_ledger_summary_the_payout_lists_and_its_audit_trail()
    {
        var s = await W.SeedCompleteContestAsync(3, holdSeconds: 0, entryFee: 2500);
        var before = Assert.Single((await W.GetAsync($"/api/admin/board/contests?contest_id={s.ContestId}")).GetProperty("contests").EnumerateArray());
        Assert.Equal(("COMPLETE", 3, 7500, "usd"), (before.GetProperty("state").GetString(), before.GetProperty("active_entries").GetInt32(),
            before.GetProperty("escrow_balance").GetInt64(), before.GetProperty("currency").GetString()));
        Assert.Equal(JsonValueKind.Null, before.GetProperty("settlement_output_hash").ValueKind);
        // Counts cover every contest (not only the page), every state named.
        var counts = (await W.GetAsync($"/api/admin/board/contests?contest_id={s.ContestId}")).GetProperty("counts_by_state");
        Assert.Equal(["SCHEDULED", "LOCKED", "LIVE", "COMPLETE", "CANCELLED", "ERROR"], counts.EnumerateObject().Select(p => p.Name));
        Assert.Equal(await W.ScalarAsync<long>("SELECT count(*) FROM contests WHERE state = 'COMPLETE'"), counts.GetProperty("COMPLETE").GetInt64());
        var escrowTotal = await W.ScalarAsync<long>("SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts WHERE kind = 'contest_escrow' AND currency = 'usd'");
        var summary = (await W.GetAsync("/api/admin/ledger/summary")).GetProperty("totals").EnumerateArray()
            .Single(t => t.GetProperty("kind").GetString() == "contest_escrow" && t.GetProperty("currency").GetString() == "usd");
        Assert.Equal(escrowTotal, summary.GetProperty("balance").GetInt64());

        await W.ConnectAccountsAsync(s.Users.Skip(1));
        var settled = await W.SettleNowAsync(s.ContestId);
        await W.RunPayoutSchedulerAsync();

        var after = (await W.GetAsync($"/api/admin/board/contests?contest_id={s.ContestId}")).GetProperty("contests")[0];
        Assert.Equal((0L, settled.GetProperty("settlement").GetProperty("output_hash").GetString(), "complete", 1, 1),
            (after.GetProperty("escrow_balance").GetInt64(), after.GetProperty("settlement_output_hash").GetString(), after.GetProperty("payout_job_status").GetString(),
             after.GetProperty("transfers_completed").GetInt32(), after.GetProperty("transfers_failed").GetInt32()));
        Assert.Contains(s.ContestId, (await W.GetAsync("/api/admin/board/contests?state=COMPLETE&limit=200")).GetProperty("contests").EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        Assert.DoesNotContain(s.ContestId, (await W.GetAsync("/api/admin/board/contests?state=LIVE&limit=200")).GetProperty("contests").EnumerateArray().Select(c => c.GetProperty("id").GetString()));

        // The failed transfer (the winner without a payout account) is listed with its status; newest first.
        var failedId = (await W.TransfersAsync(s.ContestId)).Single(t => t.UserId == s.Users[0]).Id;
        var failed = (await W.GetAsync("/api/admin/payouts/transfers?status=failed_terminal&limit=200")).GetProperty("transfers").EnumerateArray().ToList();
        Assert.Contains(failedId, failed.Select(t => t.GetProperty("id").GetInt64()));
        Assert.All(failed, t => Assert.Equal("failed_terminal", t.GetProperty("status").GetString()));
        Assert.Equal(failed.Select(t => t.GetProperty("id").GetInt64()).OrderDescending(), failed.Select(t => t.GetProperty("id").GetInt64()));

        // The contest's audit trail: its own rows, its settlement's, its payout job's and transfers', newest first, paged by id.
        var audit = (await W.GetAsync($"/api/admin/audit?contest_id={s.ContestId}&limit=500")).GetProperty("events").EnumerateArray().ToList();
        var kinds = audit.Select(e => (e.GetProperty("entity_type").GetString(), e.GetProperty("action").GetString())).ToHashSet();
        Assert.Contains(("contest", "contest.transition"), kinds);
        Assert.Contains(("settlement", "settlement.committed"), kinds);
        Assert.Contains(("payout_job", "payout_job.created"), kinds);
        Assert.Contains(("payout_transfer", "payout_transfer.failed_terminal"), kinds);
        Assert.Equal(audit.Select(e => e.GetProperty("id").GetInt64()).OrderDescending(), audit.Select(e => e.GetProperty("id").GetInt64()));
        var expected = await W.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events a WHERE (a.entity_type IN ('contest', 'settlement') AND a.entity_id = @c)
               OR (a.entity_type = 'payout_job' AND a.entity_id IN (SELECT id::text FROM payout_jobs WHERE contest_id = @c))
               OR (a.entity_type = 'payout_transfer' AND a.entity_id IN (SELECT id::text FROM payout_transfers WHERE contest_id = @c))
            """, new { c = s.ContestId });
        Assert.Equal(expected, audit.Count);
        var page1 = await W.GetAsync($"/api/admin/audit?contest_id={s.ContestId}&limit=2");
        var page2 = await W.GetAsync($"/api/admin/audit?contest_id={s.ContestId}&limit=2&before={page1.GetProperty("next_before").GetInt64()}");
        Assert.Equal(audit.Skip(2).Take(2).Select(e => e.GetProperty("id").GetInt64()), page2.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
        var other = (await W.GetAsync("/api/admin/audit?entity_type=kill_switch&limit=500")).GetProperty("events").EnumerateArray();
        Assert.All(other, e => Assert.Equal("kill_switch", e.GetProperty("entity_type").GetString()));

        // Metrics for the dashboards, computed from the database at scrape time.
        var metrics = await W.Api.Client().GetStringAsync("/metrics");
        Assert.Matches(@"contests_by_state\{state=""COMPLETE""\} [1-9]", metrics);
        Assert.Matches(@"audit_events_last_hour\{entity_type=""settlement"",action=""settlement.committed""\} [1-9]", metrics);
    }

    [Fact]
    public async Task Recent_webhooks_are_newest_first_with_the_unprocessed_backlog_and_refunds_are_listed_by_status()
    {
        await W.KillSwitchAsync(true); // stored, not processed: the backlog grows
        try
        {
            await W.ConnectAccountsAsync(["webhook-user-1", "webhook-user-2"]);
            await W.Stripe.WaitIdleAsync();
            var recent = await W.GetAsync("/api/admin/stripe/webhooks/recent?limit=200");
            var events = recent.GetProperty("events").EnumerateArray().ToList();
            Assert.True(events.Count(e => e.GetProperty("type").GetString() == "account.updated" && e.GetProperty("outcome").ValueKind == JsonValueKind.Null) >= 2, recent.ToString());
            var received = events.Select(e => e.GetProperty("received_at").GetDateTimeOffset()).ToList();
            Assert.Equal(received.OrderDescending(), received);
            var unprocessed = await W.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_events e WHERE NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)");
            Assert.Equal(unprocessed, recent.GetProperty("unprocessed_count").GetInt64());
            Assert.NotEqual(JsonValueKind.Null, recent.GetProperty("oldest_unprocessed_received_at").ValueKind);
        }
        finally { await W.KillSwitchAsync(false); }

        var refunds = (await W.GetAsync("/api/admin/refunds?status=FAILED")).GetProperty("refunds").EnumerateArray();
        Assert.All(refunds, r => Assert.Equal("FAILED", r.GetProperty("status").GetString()));
        Assert.Empty((await W.GetAsync("/api/admin/refunds?status=CANCELED&contest_id=no-such-contest")).GetProperty("refunds").EnumerateArray());
    }

    [Fact]
    public async Task The_runbook_library_serves_the_runbooks_of_this_build()
    {
        var dir = Path.Combine(RepoPaths.Root, "docs", "runbooks");
        var files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.md").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList() : [];
        // The list is the runbook API's: the files with a front matter (the index and the postmortem template are not runbooks).
        var runbooks = files.Where(id => File.ReadAllText(Path.Combine(dir, id + ".md")).StartsWith("---", StringComparison.Ordinal)).ToList();
        var served = (await W.GetAsync("/api/admin/runbooks")).GetProperty("runbooks").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(runbooks, served);
        // The text of every file is served as written, for the console to render.
        foreach (var id in files)
            Assert.Equal(File.ReadAllText(Path.Combine(dir, id + ".md")), (await W.GetAsync($"/api/admin/runbooks/{id}/markdown")).GetProperty("markdown").GetString());
        var missing = await W.Admin.GetAsync("/api/admin/runbooks/no-such-runbook/markdown");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("RUNBOOK_NOT_FOUND", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_oidc_deployment_tells_the_console_where_to_sign_in_and_a_client_id_without_an_authority_is_refused()
    {
        const string authority = "http://127.0.0.1:9/realms/fairway";
        using var api = await FairwayHostProcess.StartAsync("api", W.DatabaseUrl, e =>
        {
            e["AUTH_OIDC_AUTHORITY"] = authority;
            e["ADMIN_CONSOLE_OIDC_CLIENT_ID"] = "fairway-console";
            e["ADMIN_CONSOLE_OIDC_SCOPE"] = "openid fairway-admin";
        });
        using var http = api.Client();
        var oidc = JsonDocument.Parse(await http.GetStringAsync("/admin/console/config.json")).RootElement.GetProperty("oidc");
        Assert.Equal((authority, "fairway-console", "openid fairway-admin"),
            (oidc.GetProperty("authority").GetString(), oidc.GetProperty("client_id").GetString(), oidc.GetProperty("scope").GetString()));
        // The page may call the authority (discovery, token endpoint) and nothing else outside its origin.
        var csp = (await http.GetAsync("/admin/")).Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("connect-src 'self' http://127.0.0.1:9;", csp);

        var refused = await ManagedProcess.RunDotnetAsync(RepoPaths.HostDll, ["--role", "api"], new Dictionary<string, string>(
            FairwayHostProcess.Environment(W.DatabaseUrl, PostgresCluster.FreePort())) { ["ADMIN_CONSOLE_OIDC_CLIENT_ID"] = "fairway-console" });
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("ADMIN_CONSOLE_OIDC_CLIENT_ID: requires AUTH_OIDC_AUTHORITY", refused.Stderr);
    }
}
