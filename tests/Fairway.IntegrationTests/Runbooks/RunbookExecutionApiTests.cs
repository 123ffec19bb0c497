using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// Runbook executions on the record, through the real CLI and admin API: start, steps, finish, list and show; the
/// operator is the token's subject; rows are append-only and audited; what the runbook does not have, a finished
/// execution, a missing reason or an unexplained failure is refused with a stable code and writes nothing.
/// </summary>
[Collection(ApiAndWorkerCollection.Name)]
public sealed class RunbookExecutionApiTests(ApiAndWorkerFixture f)
{
    async Task<(int Exit, JsonElement Body, string Err)> CliAsync(string token, params string[] args)
    {
        var (exit, stdout, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, args, new Dictionary<string, string>
        {
            ["FAIRWAY_API_URL"] = f.Api.BaseUrl.ToString(),
            ["FAIRWAY_API_TOKEN"] = token,
        });
        return (exit, stdout.Trim().Length > 0 ? JsonDocument.Parse(stdout).RootElement : default, stderr);
    }

    [Fact]
    public async Task An_execution_is_recorded_step_by_step_with_its_operator_and_audited()
    {
        var ops = TestAuth.Token("ops-ana", admin: true);
        var (exit, started, err) = await CliAsync(ops, "runbook", "start", "settlement-failed", "--reason", "alert SettlementFailed at 03:12", "--incident", "INC-42");
        Assert.True(exit == 0, err);
        var id = started.GetProperty("id").GetInt64();
        Assert.Equal("admin:ops-ana", started.GetProperty("started_by").GetString());
        Assert.Equal("in_progress", started.GetProperty("state").GetString());
        Assert.Contains("settle", started.GetProperty("remaining_steps").EnumerateArray().Select(s => s.GetString()));

        (exit, var stepped, err) = await CliAsync(TestAuth.Token("ops-ben", admin: true), "runbook", "step", id.ToString(), "settlement-runs", "--outcome", "succeeded", "--notes", "KILL_SWITCH_ACTIVE");
        Assert.True(exit == 0, err);
        var step = stepped.GetProperty("steps")[0];
        Assert.Equal(("settlement-runs", "Diagnose", "admin:ops-ben"), (step.GetProperty("step").GetString(), step.GetProperty("section").GetString(), step.GetProperty("recorded_by").GetString()));
        Assert.DoesNotContain("settlement-runs", stepped.GetProperty("remaining_steps").EnumerateArray().Select(s => s.GetString()));

        (exit, var finished, err) = await CliAsync(ops, "runbook", "finish", id.ToString(), "--outcome", "escalated", "--notes", "paged engineering on-call");
        Assert.True(exit == 0, err);
        Assert.Equal(("finished", "escalated"), (finished.GetProperty("state").GetString(), finished.GetProperty("outcome").GetString()));

        (exit, var list, err) = await CliAsync(ops, "runbook", "list", "--runbook", "settlement-failed", "--state", "finished");
        Assert.True(exit == 0, err);
        Assert.Contains(id, list.GetProperty("executions").EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));

        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        var rows = (await c.QueryAsync<(string Step, string Outcome, string Operator)>(
            "SELECT step, outcome, operator FROM runbook_executions WHERE execution_id = @id ORDER BY id", new { id })).ToList();
        Assert.Equal([("start", "started", "admin:ops-ana"), ("settlement-runs", "succeeded", "admin:ops-ben"), ("finish", "escalated", "admin:ops-ana")], rows);
        Assert.Equal(["runbook.execution_started", "runbook.step_recorded", "runbook.execution_finished"],
            await c.QueryAsync<string>("SELECT action FROM audit_events WHERE entity_type = 'runbook_execution' AND entity_id = @id ORDER BY id", new { id = id.ToString() }));
        var e = await Assert.ThrowsAsync<PostgresException>(() => c.ExecuteAsync("UPDATE runbook_executions SET outcome = 'succeeded' WHERE execution_id = @id", new { id }));
        Assert.Equal("FWA01", e.SqlState);
    }

    [Fact]
    public async Task What_the_runbook_does_not_have_or_a_finished_execution_is_refused_and_nothing_is_written()
    {
        using var admin = f.Api.Client(TestAuth.Admin);
        async Task<(HttpStatusCode Status, string Code)> Post(string path, object body)
        {
            var r = await admin.PostAsJsonAsync(path, body);
            var text = await r.Content.ReadAsStringAsync();
            return (r.StatusCode, r.IsSuccessStatusCode ? "" : JsonDocument.Parse(text).RootElement.GetProperty("code").GetString()!);
        }
        Assert.Equal((HttpStatusCode.NotFound, "RUNBOOK_NOT_FOUND"), await Post("/api/admin/runbooks/executions", new { runbook = "no-such-runbook", reason = "testing" }));
        Assert.Equal((HttpStatusCode.BadRequest, "VALIDATION_FAILED"), await Post("/api/admin/runbooks/executions", new { runbook = "crash-loop" }));
        Assert.Equal((HttpStatusCode.BadRequest, "VALIDATION_FAILED"), await Post("/api/admin/runbooks/executions", new { runbook = "crash-loop", reason = "x", incident = "bad incident!" }));

        var started = await admin.PostAsJsonAsync("/api/admin/runbooks/executions", new { runbook = "crash-loop", reason = "worker down" });
        var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "RUNBOOK_STEP_UNKNOWN"), await Post($"/api/admin/runbooks/executions/{id}/steps", new { step = "settle", outcome = "succeeded" }));
        Assert.Equal((HttpStatusCode.BadRequest, "VALIDATION_FAILED"), await Post($"/api/admin/runbooks/executions/{id}/steps", new { step = "api-health", outcome = "failed" }));
        Assert.Equal((HttpStatusCode.BadRequest, "VALIDATION_FAILED"), await Post($"/api/admin/runbooks/executions/{id}/steps", new { step = "api-health", outcome = "skipped" }));
        Assert.Equal((HttpStatusCode.NotFound, "RUNBOOK_EXECUTION_NOT_FOUND"), await Post("/api/admin/runbooks/executions/999999999/steps", new { step = "api-health", outcome = "succeeded" }));
        Assert.Equal((HttpStatusCode.OK, ""), await Post($"/api/admin/runbooks/executions/{id}/finish", new { outcome = "succeeded" }));
        Assert.Equal((HttpStatusCode.Conflict, "RUNBOOK_EXECUTION_FINISHED"), await Post($"/api/admin/runbooks/executions/{id}/steps", new { step = "api-health", outcome = "succeeded" }));
        Assert.Equal((HttpStatusCode.Conflict, "RUNBOOK_EXECUTION_FINISHED"), await Post($"/api/admin/runbooks/executions/{id}/finish", new { outcome = "failed", notes = "again" }));

        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        Assert.Equal(["start", "finish"], await c.QueryAsync<string>("SELECT step FROM runbook_executions WHERE execution_id = @id ORDER BY id", new { id }));
        // A player cannot read or write runbook executions.
        using var player = f.Api.Client(TestAuth.Player());
        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync("/api/admin/runbooks/executions")).StatusCode);
    }

    [Fact]
    public async Task Eight_finishes_sent_at_once_record_exactly_one()
    {
        using var admin = f.Api.Client(TestAuth.Admin);
        var started = await admin.PostAsJsonAsync("/api/admin/runbooks/executions", new { runbook = "restart-services", reason = "planned restart" });
        var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => admin.PostAsJsonAsync($"/api/admin/runbooks/executions/{id}/finish", new { outcome = "succeeded" })));
        Assert.Single(results, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(7, results.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        Assert.Equal(1L, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM runbook_executions WHERE execution_id = @id AND step = 'finish'", new { id }));
    }
}
