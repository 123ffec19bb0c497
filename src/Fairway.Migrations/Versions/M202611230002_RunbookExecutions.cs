using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>Seed 001: every runbook step executed by ops is recorded (who, which runbook, which step, result).</summary>
[Migration(202611230002, "runbook_executions (append-only)")]
public sealed class M202611230002_RunbookExecutions : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE runbook_executions (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                recorded_at    timestamptz NOT NULL,
                operator       text NOT NULL CHECK (length(operator) BETWEEN 1 AND 200),
                runbook        text NOT NULL CHECK (runbook ~ '^[a-z0-9][a-z0-9-]{0,99}$'),
                step           text NOT NULL CHECK (length(step) BETWEEN 1 AND 200),
                outcome        text NOT NULL CHECK (outcome IN ('started', 'succeeded', 'failed', 'escalated', 'rolled_back')),
                notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
                correlation_id text
            );
            CREATE INDEX runbook_executions_runbook_idx ON runbook_executions (runbook, id);
            """);
        this.Protect("runbook_executions");
    }

    public override void Down() => Execute.Sql("DROP TABLE runbook_executions;");
}
