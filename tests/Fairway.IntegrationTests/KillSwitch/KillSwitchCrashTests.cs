using System.Net.Http.Json;
using Dapper;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Faults;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations.Versions;

namespace Fairway.IntegrationTests.KillSwitch;

/// <summary>
/// Crash points on a real process: a host armed with <c>FAIRWAY_CRASH_POINTS</c> dies (FailFast) between
/// the kill-switch update plus its audit row and the commit; after the crash neither persisted, and a
/// restarted host changes the switch normally. Production refuses the variable at start-up.
/// </summary>
public sealed class KillSwitchCrashTests
{
    [Fact]
    public async Task A_host_crashing_between_the_update_and_the_commit_leaves_neither_the_change_nor_its_audit_row()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        using (var crashing = await FairwayHostProcess.StartAsync("api", db, env => env[CrashPoints.Variable] = Fairway.Host.Operations.KillSwitch.KillSwitch.CrashAfterUpdateBeforeCommit))
        {
            using var http = crashing.Client(TestAuth.Admin);
            await Assert.ThrowsAnyAsync<Exception>(() => http.PutAsJsonAsync("/api/admin/kill-switch", new { engaged = false, reason = "smoke tests passed" }));
            var exit = await crashing.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, exit);
            Assert.Contains(crashing.Process.Stderr, l => l.Contains($"crash point '{Fairway.Host.Operations.KillSwitch.KillSwitch.CrashAfterUpdateBeforeCommit}' reached"));
        }

        await using (var c = await TestDatabases.OpenAsync(db))
        {
            var row = await c.QuerySingleAsync<(bool Engaged, string ChangedBy, string Reason)>("SELECT engaged, changed_by, reason FROM kill_switch");
            Assert.Equal((true, "migration", M202611230010_KillSwitchAndReconciliation.InitialReason), row);
            Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch'"));
        }

        // Restarted without the crash point, the same request goes through once.
        using var host = await FairwayHostProcess.StartAsync("api", db);
        using var ok = host.Client(TestAuth.Admin);
        var r = await ok.PutAsJsonAsync("/api/admin/kill-switch", new { engaged = false, reason = "smoke tests passed" });
        Assert.Equal(System.Net.HttpStatusCode.OK, r.StatusCode);
        await using var c2 = await TestDatabases.OpenAsync(db);
        Assert.Equal(1, await c2.ExecuteScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'kill_switch'"));
        Assert.False(await c2.ExecuteScalarAsync<bool>("SELECT engaged FROM kill_switch"));
    }

    [Fact]
    public void Crash_points_are_refused_in_production_and_accepted_elsewhere()
    {
        var env = FairwayHostProcess.Environment("postgresql://u:p@127.0.0.1:5432/db", 8080).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        env[CrashPoints.Variable] = "ledger.after_postings_before_commit";
        Assert.NotNull(SettingsLoader.Load(env, HostRole.All).Settings);

        env[EnvironmentSchema.Production] = "true";
        var refused = SettingsLoader.Load(env, HostRole.All);
        Assert.Null(refused.Settings);
        Assert.Contains(refused.Errors, e => e.StartsWith("FAIRWAY_CRASH_POINTS:", StringComparison.Ordinal));

        env[CrashPoints.Variable] = "";
        Assert.DoesNotContain(SettingsLoader.Load(env, HostRole.All).Errors, e => e.StartsWith("FAIRWAY_CRASH_POINTS:", StringComparison.Ordinal));
        Assert.Equal(["a", "b"], CrashPoints.Parse(" a, b ,,").Order().ToArray());
    }
}
