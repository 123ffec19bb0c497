using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>Append-only tables refuse UPDATE, DELETE and TRUNCATE in the database itself, for any caller.</summary>
public sealed class AppendOnlyTests
{
    public static TheoryData<string> Tables => new() { "audit_events", "job_probe_results", "runbook_executions" };

    static async Task<string> SeededAsync()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await TestDatabases.ExecAsync(url, """
            INSERT INTO audit_events (occurred_at, actor, action, entity_type, entity_id, reason) VALUES ('2026-01-01Z', 'test', 'seeded', 'thing', '1', 'seed');
            INSERT INTO job_probe_results VALUES ('6f9619ff-8b86-d011-b42d-00c04fc964ff', 1, 'h', 2, '2026-01-01Z');
            INSERT INTO runbook_executions (recorded_at, operator, runbook, step, outcome, execution_id) VALUES ('2026-01-01Z', 'ops', 'restart-services', '1', 'started', 1);
            """);
        return url;
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task Update_delete_and_truncate_are_refused_by_the_database(string table)
    {
        var url = await SeededAsync();
        var column = table == "job_probe_results" ? "executed_by_server" : table == "audit_events" ? "reason" : "notes";
        foreach (var sql in new[] { $"UPDATE {table} SET {column} = 'tampered'", $"DELETE FROM {table}", $"TRUNCATE {table}" })
        {
            var e = await Assert.ThrowsAsync<PostgresException>(() => TestDatabases.ExecAsync(url, sql));
            Assert.Equal(AppendOnly.RefusedSqlState, e.SqlState);
            Assert.Contains($"append-only table {table}", e.MessageText);
        }
        await using var c = await TestDatabases.OpenAsync(url);
        await using var cmd = new NpgsqlCommand($"SELECT count(*) FROM {table}", c);
        Assert.Equal(1L, await cmd.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Inserting_is_still_allowed()
    {
        var url = await SeededAsync();
        await TestDatabases.ExecAsync(url, "INSERT INTO audit_events (occurred_at, actor, action, entity_type, entity_id, reason) VALUES ('2026-01-02Z', 'test', 'again', 'thing', '1', 'second')");
        await using var c = await TestDatabases.OpenAsync(url);
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM audit_events", c);
        Assert.Equal(2L, await cmd.ExecuteScalarAsync());
    }
}
