using Dapper;
using Fairway.Host.Operations.Reconciliation;
using Fairway.Host.Platform.Jobs;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

public sealed class SingleInstanceJobTests
{
    [Fact]
    public async Task An_exclusive_jobs_lock_is_held_for_its_whole_run_and_freed_the_moment_its_worker_dies()
    {
        // A database of its own: the worker is killed.
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db);
        using var worker = await FairwayHostProcess.StartAsync("worker", db);
        using var admin = api.Client(TestAuth.Admin);
        var key = SingleInstanceJobFilter.KeyOf(SingleInstanceJobFilter.ResourceOf(typeof(ReconciliationJob).GetMethod(nameof(ReconciliationJob.RunAsync))!));
        await using var observer = new NpgsqlConnection(TestDatabases.ConnectionString(db));
        await observer.OpenAsync();
        Task<int?> HolderAsync() => observer.QuerySingleOrDefaultAsync<int?>(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = @c::bigint::oid AND objid = @o::bigint::oid",
            new { c = (long)(uint)(key >> 32), o = (long)(uint)key });

        // The run is kept inside its body: the ledger tables it reads are locked by this test's open transaction.
        await using var blocker = new NpgsqlConnection(TestDatabases.ConnectionString(db));
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await blocker.ExecuteAsync("LOCK TABLE reconciliation_runs, ledger_entries, ledger_postings, ledger_accounts IN ACCESS EXCLUSIVE MODE", transaction: tx);
        var trigger = await admin.PostAsync($"/api/admin/jobs/recurring/{ReconciliationJob.RecurringJobId}/trigger?wait_seconds=0", null);
        Assert.True(trigger.IsSuccessStatusCode, await trigger.Content.ReadAsStringAsync());

        // While it runs, the job's lock is a session advisory lock held by one of the worker's connections.
        await Wait.UntilAsync(async () => await HolderAsync() is not null, "the reconciliation run holds its single-instance lock", 60);
        worker.Process.Kill();
        await worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        // PostgreSQL ends the dead process's sessions and their locks with them: nothing is left to expire.
        await Wait.UntilAsync(async () => await HolderAsync() is null, "the dead worker's lock is released", 30);
        Assert.Equal(0L, await observer.ExecuteScalarAsync<long>("SELECT count(*) FROM hangfire.lock WHERE resource LIKE '%ReconciliationJob%'"));
        await tx.RollbackAsync();
    }
}
