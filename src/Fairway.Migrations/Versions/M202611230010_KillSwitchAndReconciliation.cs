using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// The kill-switch (one row, ENGAGED on a fresh deployment per the launch checklist) and the
/// append-only record of every ledger reconciliation run.
/// </summary>
[Migration(202611230010, "kill_switch (engaged on a fresh deployment), reconciliation_runs (append-only)")]
public sealed class M202611230010_KillSwitchAndReconciliation : Migration
{
    public const string InitialReason = "fresh deployment: kill-switch ON until smoke tests pass (launch checklist)";

    public override void Up()
    {
        Execute.Sql($"""
            CREATE TABLE kill_switch (
                id          smallint PRIMARY KEY CHECK (id = 1),
                engaged     boolean NOT NULL,
                changed_at  timestamptz NOT NULL,
                changed_by  text NOT NULL CHECK (length(changed_by) BETWEEN 1 AND 200),
                reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000)
            );
            INSERT INTO kill_switch (id, engaged, changed_at, changed_by, reason)
            VALUES (1, true, now(), 'migration', '{InitialReason}');
            -- The row is changed (audited) through the application, never removed.
            CREATE TRIGGER kill_switch_no_delete BEFORE DELETE ON kill_switch
                FOR EACH ROW EXECUTE FUNCTION fairway_refuse_mutation();
            CREATE TRIGGER kill_switch_no_truncate BEFORE TRUNCATE ON kill_switch
                FOR EACH STATEMENT EXECUTE FUNCTION fairway_refuse_mutation();

            CREATE TABLE reconciliation_runs (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                started_at      timestamptz NOT NULL,
                finished_at     timestamptz NOT NULL,
                triggered_by    text NOT NULL CHECK (length(triggered_by) BETWEEN 1 AND 200),
                checks          text[] NOT NULL,
                violation_count integer NOT NULL CHECK (violation_count >= 0),
                violations      jsonb NOT NULL CHECK (jsonb_typeof(violations) = 'array'),
                correlation_id  text
            );
            CREATE INDEX reconciliation_runs_started_idx ON reconciliation_runs (started_at, id);
            """);
        this.Protect("reconciliation_runs");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE reconciliation_runs;
        DROP TABLE kill_switch;
        """);
}
