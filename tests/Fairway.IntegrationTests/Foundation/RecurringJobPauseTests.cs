using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>A paused recurring job is skipped by every worker until resumed; pause and resume are audited.</summary>
[Collection(ApiAndWorkerCollection.Name)]
public sealed class RecurringJobPauseTests(ApiAndWorkerFixture f)
{
    [Fact]
    public async Task Paused_recurring_job_cannot_be_triggered_and_resumes_cleanly()
    {
        using var admin = f.Api.Client(TestAuth.Admin);
        const string job = "contest-lifecycle-clock";
        var jobs = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/jobs/recurring")).RootElement;
        Assert.Contains(jobs.EnumerateArray(), j => j.GetProperty("id").GetString() == job);

        var paused = JsonDocument.Parse(await (await admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{job}/pause", new { reason = "test pause" })).Content.ReadAsStringAsync()).RootElement;
        Assert.True(paused.GetProperty("changed").GetBoolean());
        Assert.False(JsonDocument.Parse(await (await admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{job}/pause", new { reason = "again" })).Content.ReadAsStringAsync()).RootElement.GetProperty("changed").GetBoolean());
        var refused = await admin.PostAsync($"/api/admin/jobs/recurring/{job}/trigger?wait_seconds=5", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("RECURRING_JOB_PAUSED", await refused.Content.ReadAsStringAsync());

        (await admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{job}/resume", new { reason = "test resume" })).EnsureSuccessStatusCode();
        var run = await admin.PostAsync($"/api/admin/jobs/recurring/{job}/trigger?wait_seconds=60", null);
        Assert.Equal("Succeeded", JsonDocument.Parse(await run.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());

        await using var c = await TestDatabases.OpenAsync(f.DatabaseUrl);
        var actions = (await c.QueryAsync<string>("SELECT action FROM audit_events WHERE entity_type = 'recurring_job' AND entity_id = @job ORDER BY id", new { job })).ToList();
        Assert.Equal(["recurring_job.paused", "recurring_job.resumed"], actions);
    }
}
