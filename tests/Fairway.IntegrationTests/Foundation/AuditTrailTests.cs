using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>
/// The generic audit check itself (<see cref="AuditTrail"/>): it reports a state change whose transaction wrote no
/// audit row for that entity, and only that; and every state/status column of the schema is enrolled in it or
/// explicitly explained as not an entity's state, so a new state table cannot slip past it. The check runs in
/// every money test through <see cref="MoneyInvariants"/>.
/// </summary>
public sealed class AuditTrailTests
{
    /// <summary>A data source that connects as Fairway's processes do (application_name <c>fairway</c>).</summary>
    static NpgsqlDataSource AsFairway(string url) =>
        NpgsqlDataSource.Create(DatabaseUrl.TryParse(url, out var cs, out var e) ? cs : throw new ArgumentException(e));

    [Fact]
    public async Task A_state_change_without_an_audit_row_in_its_transaction_is_reported_and_an_audited_one_is_not()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await AuditTrail.InstallAsync(url);
        await using var fairway = AsFairway(url);
        var audit = new AuditWriter(TimeProvider.System);

        // Audited: Fairway's own kill-switch service (state change and audit row in one transaction).
        var ks = new KillSwitchService(fairway, audit, TimeProvider.System, NullLogger<KillSwitchService>.Instance);
        Assert.True((await ks.SetAsync(false, "admin:a", "smoke tests passed")).Changed);
        Assert.Empty(await AuditTrail.UnauditedAsync(url));

        // Not audited: the same change without its audit row.
        await using (var c = await fairway.OpenConnectionAsync())
            await c.ExecuteAsync("UPDATE kill_switch SET engaged = true WHERE id = 1");
        var first = Assert.Single(await AuditTrail.UnauditedAsync(url));
        Assert.Contains("kill_switch.engaged UPDATE of kill_switch 1: false -> true", first);

        // An audit row in ANOTHER transaction does not explain it: they must commit together.
        await using (var c = await fairway.OpenConnectionAsync())
        {
            await c.ExecuteAsync("UPDATE kill_switch SET engaged = false WHERE id = 1");
            await using var tx = await c.BeginTransactionAsync();
            await audit.WriteAsync(tx, new AuditEntry("admin:a", "kill_switch.disengaged", "kill_switch", "1", "written apart"));
            await tx.CommitAsync();
        }
        Assert.Equal(2, (await AuditTrail.UnauditedAsync(url)).Count);

        // An audit row of another entity in the same transaction does not explain it either.
        await using (var c = await fairway.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            await c.ExecuteAsync("UPDATE kill_switch SET engaged = true WHERE id = 1", transaction: tx);
            await audit.WriteAsync(tx, new AuditEntry("admin:a", "contest.transition", "contest", "c-1", "wrong entity"), default);
            await tx.CommitAsync();
        }
        Assert.Equal(3, (await AuditTrail.UnauditedAsync(url)).Count);

        // A rolled-back change is no change; the test's own session (set-up SQL) is not Fairway.
        await using (var c = await fairway.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            await c.ExecuteAsync("UPDATE kill_switch SET engaged = false WHERE id = 1", transaction: tx);
            await tx.RollbackAsync();
        }
        await TestDatabases.ExecAsync(url, "UPDATE kill_switch SET engaged = false WHERE id = 1");
        Assert.Equal(3, (await AuditTrail.UnauditedAsync(url)).Count);

        // Through MoneyInvariants, which every money test calls.
        Assert.Contains(await MoneyInvariants.ViolationsAsync(url), v => v.StartsWith("every state change has an audit row", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Row_states_and_inserts_covered_by_a_parent_are_checked_as_enrolled()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await AuditTrail.InstallAsync(url);
        await using var fairway = AsFairway(url);
        // A pause (the row is the state), inserted and deleted without audit rows: two findings.
        await using (var c = await fairway.OpenConnectionAsync())
        {
            await c.ExecuteAsync("INSERT INTO recurring_job_pauses VALUES ('payment-sweeper', now(), 'x', 'no audit')");
            await c.ExecuteAsync("DELETE FROM recurring_job_pauses WHERE recurring_job_id = 'payment-sweeper'");
        }
        var found = await AuditTrail.UnauditedAsync(url);
        Assert.Equal(2, found.Count);
        Assert.Contains(found, f => f.Contains("recurring_job_pauses.recurring_job_id INSERT of recurring_job payment-sweeper"));
        Assert.Contains(found, f => f.Contains("recurring_job_pauses.recurring_job_id DELETE of recurring_job payment-sweeper"));
        Assert.Equal(2, (await AuditTrail.RecordedAsync(url))["recurring_job_pauses.recurring_job_id"]);
    }

    [Fact]
    public async Task Every_state_or_status_column_is_enrolled_or_explained_and_every_enrolment_names_a_real_column()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await using var c = await TestDatabases.OpenAsync(url);
        var columns = (await c.QueryAsync<(string Table, string Column)>("""
            SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND column_name ~ '(^|_)(state|status)$' ORDER BY 1, 2
            """)).ToList();
        Assert.NotEmpty(columns);
        var enrolledTables = AuditTrail.Enrolled.Select(s => s.Table).ToHashSet();
        var unexplained = columns.Where(col => !enrolledTables.Contains(col.Table) && !AuditTrail.NotState.ContainsKey(col.Table)).ToList();
        Assert.True(unexplained.Count == 0,
            "state columns neither enrolled in AuditTrail.Enrolled nor explained in AuditTrail.NotState: " + string.Join(", ", unexplained.Select(u => $"{u.Table}.{u.Column}")));
        foreach (var s in AuditTrail.Enrolled)
        {
            Assert.True(await c.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = @Table AND column_name = @Column)
                """, new { s.Table, s.Column }), $"enrolled {s.Table}.{s.Column} does not exist");
            Assert.True(await c.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = @Table AND column_name = @KeyColumn)
                """, new { s.Table, s.KeyColumn }), $"key column {s.Table}.{s.KeyColumn} does not exist");
        }
    }
}
