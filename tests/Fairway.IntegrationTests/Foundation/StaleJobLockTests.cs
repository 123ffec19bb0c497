using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Jobs;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

public sealed class StaleJobLockTests
{
    [Fact]
    public async Task A_lock_row_left_by_a_killed_process_holds_the_recurring_schedulers_back_for_the_stale_lock_timeout_not_a_minute()
    {
        // A database of its own: the schedulers' lock is taken away from them for a while.
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db, testClock: true);
        using var worker = await FairwayHostProcess.StartAsync("worker", db, testClock: true);
        using var admin = api.Client(TestAuth.Admin);
        await using var c = new NpgsqlConnection(TestDatabases.ConnectionString(db));
        await c.OpenAsync();
        Task<long> RunsAsync() => c.ExecuteScalarAsync<long>("SELECT count(*) FROM reconciliation_runs");

        // A quiet start: the worker registered its schedules, ran whatever its first passes found due, and nothing is
        // waiting or running, so the only way a reconciliation can run after this is the hour the test adds below.
        await Wait.UntilAsync(async () =>
        {
            var stats = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/jobs/stats")).RootElement;
            return stats.GetProperty("recurring").GetInt64() > 0 && stats.GetProperty("recurring_due").GetArrayLength() == 0
                && stats.GetProperty("enqueued").GetInt64() == 0 && stats.GetProperty("processing").GetInt64() == 0;
        }, "the worker has registered its recurring jobs and nothing is due, waiting or running");

        // What a process killed inside a recurring schedulers' pass leaves behind: the pass's lock row, never deleted. The
        // row is inserted only when no live pass holds it (a live holder would delete it when it finishes its pass).
        await Wait.UntilAsync(async () => await c.ExecuteAsync("""
            INSERT INTO hangfire.lock (resource, updatecount, acquired) VALUES ('hangfire:recurring-jobs:lock', 0, now())
            ON CONFLICT (resource) DO NOTHING
            """) == 1, "no scheduler pass holds the recurring jobs' lock, so the test's row is the one left behind");
        var before = await RunsAsync();
        var stale = Stopwatch.StartNew();
        // An hour later on Fairway's clock every recurring job is due, the ledger reconciliation among them.
        (await admin.PostAsJsonAsync("/api/admin/test-clock/advance", new { seconds = 3600 })).EnsureSuccessStatusCode();

        // The schedulers respect the row while it may still belong to a live holder, then take it over: the job runs
        // within the stale-lock timeout plus a few polls (Hangfire.PostgreSql's default of a minute fails this wait).
        await Wait.UntilAsync(async () => await RunsAsync() > before, "the reconciliation comes due and runs once the stale lock row has expired",
            (int)JobsSetup.StaleLockTimeout.TotalSeconds + 25);
        Assert.True(stale.Elapsed >= JobsSetup.StaleLockTimeout - TimeSpan.FromSeconds(1),
            $"the reconciliation ran {stale.Elapsed.TotalSeconds:F1} s after the lock row was left: the schedulers ignored a lock row they should have treated as held");
    }
}
