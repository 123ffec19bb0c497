using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Ledger;
using Npgsql;

namespace Fairway.IntegrationTests.KillSwitch;

/// <summary>One real API process on a database of its own, shared by the kill-switch and ledger admin API tests.</summary>
public sealed class AdminApiHostFixture : IAsyncLifetime
{
    public string DatabaseUrl { get; private set; } = "";
    public FairwayHostProcess Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestDatabases.CreateMigratedAsync();
        Api = await FairwayHostProcess.StartAsync("api", DatabaseUrl);
    }

    public Task DisposeAsync()
    {
        Api?.Dispose();
        return Task.CompletedTask;
    }

    public async Task<long> KillSwitchAuditRowsAsync(string? actor = null)
    {
        await using var c = await TestDatabases.OpenAsync(DatabaseUrl);
        return await c.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch' AND (@actor::text IS NULL OR actor = @actor)", new { actor });
    }
}

[CollectionDefinition(Name)]
public sealed class AdminApiHostCollection : ICollectionFixture<AdminApiHostFixture>
{
    public const string Name = "admin api host";
}

/// <summary>The kill-switch through the admin API and the CLI of a real host process (audited, idempotent, admin only).</summary>
[Collection(AdminApiHostCollection.Name)]
public sealed class KillSwitchApiTests(AdminApiHostFixture f)
{
    static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    static Task<HttpResponseMessage> PutAsync(HttpClient http, bool engaged, string reason) =>
        http.PutAsJsonAsync("/api/admin/kill-switch", new { engaged, reason });

    [Fact]
    public async Task On_and_off_write_exactly_one_audit_row_each_with_the_admin_and_reason_and_repeats_write_none()
    {
        using var http = f.Api.Client(TestAuth.Token("ops-7", admin: true));
        // Start from a known state whatever ran before (may or may not write a row).
        await PutAsync(http, true, "test setup: known state");
        var rows = await f.KillSwitchAuditRowsAsync();

        var off = await PutAsync(http, false, "smoke tests passed (OPS-12)");
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        var offBody = Json(await off.Content.ReadAsStringAsync());
        Assert.False(offBody.GetProperty("engaged").GetBoolean());
        Assert.True(offBody.GetProperty("changed").GetBoolean());
        Assert.Equal("admin:ops-7", offBody.GetProperty("changed_by").GetString());
        Assert.Equal(rows + 1, await f.KillSwitchAuditRowsAsync());

        var offAgain = Json(await (await PutAsync(http, false, "again")).Content.ReadAsStringAsync());
        Assert.False(offAgain.GetProperty("changed").GetBoolean());
        Assert.Equal("smoke tests passed (OPS-12)", offAgain.GetProperty("reason").GetString());
        Assert.Equal(rows + 1, await f.KillSwitchAuditRowsAsync());

        var on = Json(await (await PutAsync(http, true, "incident INC-3: ledger drift")).Content.ReadAsStringAsync());
        Assert.True(on.GetProperty("changed").GetBoolean());
        Assert.Equal(rows + 2, await f.KillSwitchAuditRowsAsync());

        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        var last = await c.QuerySingleAsync<(string Actor, string Action, string Reason, string Before, string After)>(
            "SELECT actor, action, reason, before_state->>'engaged', after_state->>'engaged' FROM audit_events WHERE entity_type = 'kill_switch' ORDER BY id DESC LIMIT 1");
        Assert.Equal(("admin:ops-7", "kill_switch.engaged", "incident INC-3: ledger drift", "false", "true"), last);
        var get = Json(await http.GetStringAsync("/api/admin/kill-switch"));
        Assert.True(get.GetProperty("engaged").GetBoolean());
        Assert.Equal("admin:ops-7", get.GetProperty("changed_by").GetString());
    }

    [Fact]
    public async Task Players_get_403_and_nothing_changes()
    {
        using var admin = f.Api.Client(TestAuth.Admin);
        var before = Json(await admin.GetStringAsync("/api/admin/kill-switch")).GetProperty("engaged").GetBoolean();
        var rows = await f.KillSwitchAuditRowsAsync();
        using var player = f.Api.Client(TestAuth.Player());

        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/admin/kill-switch")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PutAsync(player, !before, "player trying")).StatusCode);
        using var anonymous = f.Api.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PutAsync(anonymous, !before, "anonymous trying")).StatusCode);

        Assert.Equal(before, Json(await admin.GetStringAsync("/api/admin/kill-switch")).GetProperty("engaged").GetBoolean());
        Assert.Equal(rows, await f.KillSwitchAuditRowsAsync());
    }

    [Fact]
    public async Task A_reason_is_required_and_bounded_and_engaged_is_required()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var rows = await f.KillSwitchAuditRowsAsync();
        foreach (var (json, field) in new[]
        {
            ("""{"engaged": false}""", "reason"),
            ("""{"engaged": false, "reason": "no"}""", "reason"),
            ("{\"engaged\": false, \"reason\": \"" + new string('x', 501) + "\"}", "reason"),
            ("""{"reason": "a good reason"}""", "engaged"),
        })
        {
            var r = await http.PutAsync("/api/admin/kill-switch", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var p = Json(await r.Content.ReadAsStringAsync());
            Assert.Equal("VALIDATION_FAILED", p.GetProperty("code").GetString());
            Assert.Contains(p.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field);
        }
        var strict = await http.PutAsync("/api/admin/kill-switch", new StringContent("""{"engaged": "false", "reason": "string bool"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, strict.StatusCode);
        Assert.Equal(rows, await f.KillSwitchAuditRowsAsync());
    }

    [Fact]
    public async Task Readyz_shows_the_kill_switch_and_stays_200_while_it_is_engaged_and_the_gauge_follows()
    {
        using var admin = f.Api.Client(TestAuth.Admin);
        await PutAsync(admin, true, "readiness test: engaged");
        using var http = f.Api.Client();

        var r = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = Json(await r.Content.ReadAsStringAsync());
        Assert.Equal("ready", body.GetProperty("status").GetString());
        var ks = body.GetProperty("kill_switch");
        Assert.True(ks.GetProperty("engaged").GetBoolean());
        Assert.False(string.IsNullOrEmpty(ks.GetProperty("changed_by").GetString()));
        Assert.False(string.IsNullOrEmpty(ks.GetProperty("reason").GetString()));
        Assert.Contains("kill_switch_engaged 1", await http.GetStringAsync("/metrics"));

        await PutAsync(admin, false, "readiness test: released");
        Assert.False(Json(await http.GetStringAsync("/readyz")).GetProperty("kill_switch").GetProperty("engaged").GetBoolean());
        Assert.Contains("kill_switch_engaged 0", await http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task The_cli_shows_and_sets_the_kill_switch_through_the_admin_api()
    {
        var env = new Dictionary<string, string>
        {
            ["FAIRWAY_API_URL"] = f.Api.BaseUrl.ToString(),
            ["FAIRWAY_API_TOKEN"] = TestAuth.Token("cli-ops", admin: true),
        };
        var on = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["killswitch", "on", "--reason", "cli drill: on"], env);
        Assert.True(on.ExitCode == 0, on.Stderr);

        var status = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["killswitch", "status"], env);
        Assert.Equal(0, status.ExitCode);
        Assert.True(Json(status.Stdout).GetProperty("engaged").GetBoolean());

        var rows = await f.KillSwitchAuditRowsAsync("admin:cli-ops");
        var off = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["killswitch", "off", "--reason", "cli drill: off"], env);
        Assert.Equal(0, off.ExitCode);
        var offBody = Json(off.Stdout);
        Assert.False(offBody.GetProperty("engaged").GetBoolean());
        Assert.Equal("admin:cli-ops", offBody.GetProperty("changed_by").GetString());
        Assert.Equal(rows + 1, await f.KillSwitchAuditRowsAsync("admin:cli-ops"));

        var missingReason = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["killswitch", "on"], env);
        Assert.NotEqual(0, missingReason.ExitCode);
        var tooShort = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["killswitch", "on", "--reason", "x"], env);
        Assert.Equal(1, tooShort.ExitCode);
        Assert.Contains("VALIDATION_FAILED", tooShort.Stdout);
    }
}

/// <summary>The read-only ledger admin API of a real host process (admin only, paged, bounded limit).</summary>
[Collection(AdminApiHostCollection.Name)]
public sealed class LedgerAdminApiTests(AdminApiHostFixture f)
{
    static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    [Fact]
    public async Task Accounts_account_detail_and_entries_by_cause_show_balances_and_postings()
    {
        await using var t = LedgerTestDatabase.On(f.DatabaseUrl);
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        var fee1 = t.Fund(contest, 1000);
        await t.PostAsync(fee1);
        await t.PostAsync(t.Fund(contest, 2000));
        await t.PostAsync(t.Release(contest, 500));
        using var http = f.Api.Client(TestAuth.Admin);

        var list = Json(await http.GetStringAsync($"/api/admin/ledger/accounts?kind=contest_escrow&contest_id={contest}"));
        var account = Assert.Single(list.GetProperty("accounts").EnumerateArray());
        Assert.Equal(escrow, account.GetProperty("id").GetString());
        Assert.Equal(2500, account.GetProperty("balance").GetInt64());

        var detail = Json(await http.GetStringAsync($"/api/admin/ledger/accounts/{escrow}?limit=2"));
        Assert.Equal(2500, detail.GetProperty("balance").GetInt64());
        Assert.Equal(2500, detail.GetProperty("postings_sum").GetInt64());
        Assert.True(detail.GetProperty("balance_matches_postings").GetBoolean());
        var postings = detail.GetProperty("postings").EnumerateArray().ToList();
        Assert.Equal([-500L, 2000L], postings.Select(p => p.GetProperty("amount").GetInt64()).ToArray());
        var before = detail.GetProperty("next_before").GetInt64();
        var page2 = Json(await http.GetStringAsync($"/api/admin/ledger/accounts/{escrow}?limit=2&before={before}"));
        Assert.Equal([1000L], page2.GetProperty("postings").EnumerateArray().Select(p => p.GetProperty("amount").GetInt64()).ToArray());

        var entries = Json(await http.GetStringAsync($"/api/admin/ledger/entries?cause_type=test_payment&cause_id={fee1.IdempotencyKey}"));
        var entry = Assert.Single(entries.GetProperty("entries").EnumerateArray());
        Assert.Equal(fee1.IdempotencyKey, entry.GetProperty("idempotency_key").GetString());
        Assert.Equal(0, entry.GetProperty("postings").EnumerateArray().Sum(p => p.GetProperty("amount").GetInt64()));
    }

    [Fact]
    public async Task Limits_are_bounded_unknown_accounts_are_404_and_players_are_refused()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var tooMany = await http.GetAsync("/api/admin/ledger/accounts?limit=201");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        var p = Json(await tooMany.Content.ReadAsStringAsync());
        Assert.Equal("VALIDATION_FAILED", p.GetProperty("code").GetString());
        Assert.Equal("limit", p.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/admin/ledger/accounts?kind=wallet")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/admin/ledger/entries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/admin/ledger/accounts?limit=200")).StatusCode);

        var missing = await http.GetAsync("/api/admin/ledger/accounts/escrow:nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("LEDGER_ACCOUNT_NOT_FOUND", Json(await missing.Content.ReadAsStringAsync()).GetProperty("code").GetString());

        using var player = f.Api.Client(TestAuth.Player());
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/admin/ledger/accounts")).StatusCode);
    }
}
