using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>An API process and a separate worker process on a database of their own (these tests engage the kill-switch).</summary>
public sealed class ReconciliationHostsFixture : IAsyncLifetime
{
    public string DatabaseUrl { get; private set; } = "";
    public FairwayHostProcess Api { get; private set; } = null!;
    public FairwayHostProcess Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestDatabases.CreateMigratedAsync();
        var api = FairwayHostProcess.StartAsync("api", DatabaseUrl);
        var worker = FairwayHostProcess.StartAsync("worker", DatabaseUrl);
        Api = await api;
        Worker = await worker;
    }

    public Task DisposeAsync()
    {
        Api?.Dispose();
        Worker?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The recurring job <c>ledger-reconciliation</c>, triggered through the admin API of a real API process
/// and run by a separate real worker process: the violation is listed, counted on the worker's
/// /metrics, and the kill-switch is engaged by <c>reconciler</c> with an audit row.
/// </summary>
public sealed class ReconciliationJobTests(ReconciliationHostsFixture f) : IClassFixture<ReconciliationHostsFixture>
{
    static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    async Task<HttpResponseMessage> TriggerAsync(HttpClient http, string id, int wait)
    {
        // Workers register their recurring jobs at start-up; allow a moment after readiness.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var r = await http.PostAsync($"/api/admin/jobs/recurring/{id}/trigger?wait_seconds={wait}", null);
            if (r.StatusCode != HttpStatusCode.NotFound || sw.Elapsed > TimeSpan.FromSeconds(15)) return r;
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task Triggered_reconciliation_on_the_worker_detects_tampering_counts_it_and_engages_the_kill_switch()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var off = await http.PutAsJsonAsync("/api/admin/kill-switch", new { engaged = false, reason = "smoke tests passed" });
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);

        await using var t = LedgerTestDatabase.On(f.DatabaseUrl);
        var contest = LedgerTestDatabase.Contest();
        await t.PostAsync(t.Fund(contest, 4000));
        await t.PostAsync(t.Release(contest, 1000));
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.ExecAsync("UPDATE ledger_accounts SET balance = balance - 250 WHERE id = @escrow", new { escrow });

        var r = await TriggerAsync(http, "ledger-reconciliation", 60);
        var body = Json(await r.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Succeeded", body.GetProperty("state").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("job_id").GetString()));

        var runs = Json(await http.GetStringAsync("/api/admin/reconciliation/runs?limit=1")).GetProperty("runs");
        var run = runs.EnumerateArray().Single();
        Assert.Equal("reconciler", run.GetProperty("triggered_by").GetString());
        Assert.Equal(1, run.GetProperty("violation_count").GetInt32());
        var violation = run.GetProperty("violations").EnumerateArray().Single();
        Assert.Equal("account_balance_matches_postings", violation.GetProperty("check").GetString());
        Assert.Equal(escrow, violation.GetProperty("subject_id").GetString());

        // The worker process ran it: its /metrics carries the counter; it logged the violation at Error level.
        using var worker = f.Worker.Client();
        var metrics = await worker.GetStringAsync("/metrics");
        Assert.Contains("ledger_invariant_violation_total{check=\"account_balance_matches_postings\"} 1", metrics);
        await f.Worker.Process.WaitForOutputAsync(l => l.Contains("Ledger invariant violation") && l.Contains(escrow) && l.Contains("\"@l\":\"Error\""), TimeSpan.FromSeconds(10));

        var ks = Json(await http.GetStringAsync("/api/admin/kill-switch"));
        Assert.True(ks.GetProperty("engaged").GetBoolean());
        Assert.Equal("reconciler", ks.GetProperty("changed_by").GetString());
        Assert.Contains("account_balance_matches_postings", ks.GetProperty("reason").GetString());
        Assert.Equal(1, await t.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch' AND actor = 'reconciler' AND action = 'kill_switch.engaged'"));

        // Running it now, synchronously, through the API gives the same finding (recorded with the admin as trigger).
        var now = await http.PostAsync("/api/admin/reconciliation/run", null);
        Assert.Equal(HttpStatusCode.OK, now.StatusCode);
        var nowBody = Json(await now.Content.ReadAsStringAsync());
        Assert.Equal(1, nowBody.GetProperty("violation_count").GetInt32());
        Assert.Equal("admin:ops-1", nowBody.GetProperty("triggered_by").GetString());
    }

    [Fact]
    public async Task Unknown_recurring_job_is_404_and_wait_seconds_is_bounded()
    {
        using var http = f.Api.Client(TestAuth.Admin);
        var r = await http.PostAsync("/api/admin/jobs/recurring/no-such-job/trigger", null);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("RECURRING_JOB_NOT_FOUND", Json(await r.Content.ReadAsStringAsync()).GetProperty("code").GetString());

        var bad = await http.PostAsync("/api/admin/jobs/recurring/ledger-reconciliation/trigger?wait_seconds=121", null);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("VALIDATION_FAILED", Json(await bad.Content.ReadAsStringAsync()).GetProperty("code").GetString());

        using var player = f.Api.Client(TestAuth.Player());
        Assert.Equal(HttpStatusCode.Forbidden, (await player.PostAsync("/api/admin/jobs/recurring/ledger-reconciliation/trigger", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/admin/reconciliation/runs")).StatusCode);
    }
}
