using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Settlement (issue 6 §1): one settlement per contest (UNIQUE contest_id), its per-entry results with
/// the exact roster used (so the settlement bundle can be rebuilt from the database), the settling run
/// and every failed one (with its error), the scheduler's enqueue marker, and the
/// post-settlement correction checks. Everything is append-only except the enqueue marker, which is
/// operational bookkeeping and moves no money.
/// </summary>
[Migration(202611230007, "settlement: settlements, settlement_results, settlement_runs (append-only), settlement_requests, settlement_correction_checks (append-only)")]
public sealed class M202611230007_Settlement : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            -- The id is drawn before the results are written (COPY), so results can reference it and the
            -- settlement row, written last, can carry the persist timing.
            CREATE SEQUENCE settlements_id_seq AS bigint;

            CREATE TABLE settlements (
                id                   bigint PRIMARY KEY DEFAULT nextval('settlements_id_seq'),
                contest_id           text NOT NULL UNIQUE REFERENCES contests (id),
                config_version       integer NOT NULL CHECK (config_version >= 1),
                config_hash          text NOT NULL CHECK (config_hash ~ '^[0-9a-f]{64}$'),
                -- The accepted leaderboard the result was computed from (the latest accepted final event at
                -- settlement time) and the event that carried the COMPLETE transition's evidence.
                leaderboard_event_id bigint NOT NULL REFERENCES ingestion_events (id),
                leaderboard_hash     text NOT NULL REFERENCES ingestion_payloads (payload_hash),
                complete_event_id    bigint NOT NULL REFERENCES ingestion_events (id),
                entry_set_hash       text NOT NULL CHECK (entry_set_hash ~ '^[0-9a-f]{64}$'),
                entry_count          integer NOT NULL CHECK (entry_count >= 0),
                output_hash          text NOT NULL CHECK (output_hash ~ '^[0-9a-f]{64}$'),
                gross                bigint NOT NULL CHECK (gross >= 0),
                rake                 bigint NOT NULL CHECK (rake >= 0),
                net                  bigint NOT NULL CHECK (net >= 0),
                currency             text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                winners              integer NOT NULL CHECK (winners >= 0),
                started_at           timestamptz NOT NULL,
                committed_at         timestamptz NOT NULL,
                load_ms              integer NOT NULL CHECK (load_ms >= 0),
                compute_ms           integer NOT NULL CHECK (compute_ms >= 0),
                persist_ms           integer NOT NULL CHECK (persist_ms >= 0),
                settled_by           text NOT NULL,
                correlation_id       text,
                CHECK (rake + net = gross)
            );
            ALTER SEQUENCE settlements_id_seq OWNED BY settlements.id;

            CREATE TABLE settlement_results (
                settlement_id bigint NOT NULL REFERENCES settlements (id) DEFERRABLE INITIALLY DEFERRED,
                entry_id      text NOT NULL,
                user_id       text NOT NULL,
                -- The roster as it was settled: the bundle is rebuilt from here, not from the live entries table.
                golfers       jsonb NOT NULL,
                rank          integer NOT NULL CHECK (rank >= 1),
                score         bigint NOT NULL,
                prize         bigint NOT NULL CHECK (prize >= 0),
                PRIMARY KEY (settlement_id, entry_id)
            );
            CREATE INDEX settlement_results_winners_idx ON settlement_results (settlement_id, user_id) WHERE prize > 0;

            -- Every settlement attempt that did something: the one that settled (same transaction) and every
            -- failure (own transaction, with its error; seed 001 "review settlement_audit for error_json").
            -- A re-run that finds the contest settled writes nothing.
            CREATE TABLE settlement_runs (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                contest_id     text NOT NULL REFERENCES contests (id),
                started_at     timestamptz NOT NULL,
                finished_at    timestamptz NOT NULL,
                outcome        text NOT NULL CHECK (outcome IN ('settled', 'failed')),
                settlement_id  bigint REFERENCES settlements (id) DEFERRABLE INITIALLY DEFERRED,
                error_code     text,
                error_json     jsonb,
                triggered_by   text NOT NULL,
                correlation_id text,
                CHECK ((outcome = 'failed') = (error_code IS NOT NULL))
            );
            CREATE INDEX settlement_runs_contest_idx ON settlement_runs (contest_id, id);

            -- Operational marker of the settlement scheduler (moves no money): when a settlement job was last
            -- enqueued for a contest, so a job being retried by Hangfire is not enqueued again every minute.
            CREATE TABLE settlement_requests (
                contest_id        text PRIMARY KEY REFERENCES contests (id),
                first_enqueued_at timestamptz NOT NULL,
                last_enqueued_at  timestamptz NOT NULL,
                enqueue_count     integer NOT NULL CHECK (enqueue_count >= 1),
                last_job_id       text
            );

            -- A provider leaderboard accepted after settlement, recomputed against the settled entries and config.
            CREATE TABLE settlement_correction_checks (
                id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                settlement_id         bigint NOT NULL REFERENCES settlements (id),
                contest_id            text NOT NULL REFERENCES contests (id),
                ingestion_event_id    bigint NOT NULL REFERENCES ingestion_events (id),
                leaderboard_hash      text NOT NULL,
                settled_output_hash   text NOT NULL,
                corrected_output_hash text NOT NULL,
                outcome               text NOT NULL CHECK (outcome IN ('match', 'mismatch')),
                -- mismatch only: payouts_held (no transfer attempted yet) or recorded_only (payouts already ran).
                action                text CHECK (action IN ('payouts_held', 'recorded_only')),
                checked_at            timestamptz NOT NULL,
                UNIQUE (settlement_id, ingestion_event_id),
                CHECK ((outcome = 'mismatch') = (action IS NOT NULL))
            );
            """);
        this.Protect("settlements");
        this.Protect("settlement_results");
        this.Protect("settlement_runs");
        this.Protect("settlement_correction_checks");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE settlement_correction_checks;
        DROP TABLE settlement_requests;
        DROP TABLE settlement_runs;
        DROP TABLE settlement_results;
        DROP TABLE settlements;
        """);
}
