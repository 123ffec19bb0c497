using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Runbook executions on the record (issue 11): every row of <c>runbook_executions</c> now belongs to one execution
/// (<c>execution_id</c>, from its own sequence): a <c>start</c> row (outcome <c>started</c>, with the reason and the
/// incident), one row per step as it is done (<c>succeeded</c> or <c>failed</c>, with notes), and at
/// most one <c>finish</c> row. Still append-only: a correction is a new row.
/// </summary>
[Migration(202611300200, "runbook_executions: executions (start, steps, finish) with reason and incident")]
public sealed class M202611300200_RunbookExecutionsApi : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE SEQUENCE runbook_execution_ids AS bigint;
        ALTER TABLE runbook_executions
            ADD COLUMN execution_id bigint,
            ADD COLUMN reason       text CHECK (length(reason) BETWEEN 3 AND 500),
            ADD COLUMN incident     text CHECK (incident ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$');
        -- Rows written before executions existed keep their shape; every new row belongs to an execution.
        ALTER TABLE runbook_executions ADD CONSTRAINT runbook_executions_execution_required CHECK (execution_id IS NOT NULL) NOT VALID;
        ALTER TABLE runbook_executions ADD CONSTRAINT runbook_executions_start_has_reason CHECK (step <> 'start' OR reason IS NOT NULL) NOT VALID;
        CREATE INDEX runbook_executions_execution_idx ON runbook_executions (execution_id, id);
        CREATE UNIQUE INDEX runbook_executions_one_start ON runbook_executions (execution_id) WHERE step = 'start';
        CREATE UNIQUE INDEX runbook_executions_one_finish ON runbook_executions (execution_id) WHERE step = 'finish';
        """);

    public override void Down() => Execute.Sql("""
        DROP INDEX runbook_executions_one_finish;
        DROP INDEX runbook_executions_one_start;
        DROP INDEX runbook_executions_execution_idx;
        ALTER TABLE runbook_executions DROP CONSTRAINT runbook_executions_start_has_reason;
        ALTER TABLE runbook_executions DROP CONSTRAINT runbook_executions_execution_required;
        ALTER TABLE runbook_executions DROP COLUMN incident, DROP COLUMN reason, DROP COLUMN execution_id;
        DROP SEQUENCE runbook_execution_ids;
        """);
}
