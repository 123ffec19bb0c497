using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>Foundation: the append-only guard, the audit trail, the job probe and the test clock.</summary>
[Migration(202611230001, "foundation: audit_events (append-only), job_probe_results, test_clock")]
public sealed class M202611230001_Foundation : Migration
{
    public override void Up()
    {
        Execute.Sql($"""
            CREATE FUNCTION fairway_refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = '{AppendOnly.RefusedSqlState}';
            END
            $fn$;

            CREATE TABLE audit_events (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                occurred_at     timestamptz NOT NULL,
                actor           text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
                action          text NOT NULL CHECK (length(action) BETWEEN 1 AND 200),
                entity_type     text NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 100),
                entity_id       text NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 200),
                reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
                before_state    jsonb,
                after_state     jsonb,
                evidence        jsonb,
                correlation_id  text
            );
            CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, id);
            CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at, id);

            -- Written by the job probe: proves which process ran a job enqueued elsewhere.
            CREATE TABLE job_probe_results (
                probe_id        uuid PRIMARY KEY,
                requested_by_pid integer NOT NULL,
                executed_by_server text NOT NULL,
                executed_by_pid integer NOT NULL,
                executed_at     timestamptz NOT NULL
            );

            -- The settable clock used only when FAIRWAY_TEST_CLOCK_ENABLED=true (never in production).
            CREATE TABLE test_clock (
                id      smallint PRIMARY KEY CHECK (id = 1),
                now_utc timestamptz NOT NULL
            );
            """);
        this.Protect("audit_events");
        this.Protect("job_probe_results");
    }

    public override void Down()
    {
        Execute.Sql("""
            DROP TABLE test_clock;
            DROP TABLE job_probe_results;
            DROP TABLE audit_events;
            DROP FUNCTION fairway_refuse_mutation();
            """);
    }
}
