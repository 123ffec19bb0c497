using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Seed 000 Iteration 02: every provider fetch is stored append-only before anything uses it
/// (payload bodies once per distinct SHA-256), with its validation outcome; live standings are a
/// derived, replaceable projection of the accepted events.
/// </summary>
[Migration(202611230004, "ingestion: ingestion_payloads, ingestion_events (append-only), contest_standings (derived)")]
public sealed class M202611230004_Ingestion : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE ingestion_payloads (
                payload_hash  text PRIMARY KEY CHECK (payload_hash ~ '^[0-9a-f]{64}$'),
                body          bytea NOT NULL,
                first_seen_at timestamptz NOT NULL
            );

            CREATE TABLE ingestion_events (
                id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tournament_id    text NOT NULL REFERENCES tournaments (id),
                fetched_at       timestamptz NOT NULL,
                http_status      integer,
                transport_error  text,
                payload_hash     text REFERENCES ingestion_payloads (payload_hash),
                schema_version   integer NOT NULL,
                -- accepted: valid and used; duplicate: identical to the previous accepted payload (not stored again);
                -- rejected: invalid or inconsistent, never used; fetch_failed: no usable response.
                outcome          text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected', 'fetch_failed')),
                errors           jsonb NOT NULL,
                anomalies        jsonb NOT NULL,
                provider_status  text,
                duration_ms      integer NOT NULL CHECK (duration_ms >= 0)
            );
            CREATE INDEX ingestion_events_tournament_idx ON ingestion_events (tournament_id, id);
            CREATE INDEX ingestion_events_accepted_idx ON ingestion_events (tournament_id, id) WHERE outcome IN ('accepted', 'duplicate');

            -- Derived projection (replaceable from ingestion_events at any time), one row per contest.
            CREATE TABLE contest_standings (
                contest_id         text PRIMARY KEY REFERENCES contests (id),
                ingestion_event_id bigint NOT NULL REFERENCES ingestion_events (id),
                config_version     integer NOT NULL,
                entry_set_hash     text NOT NULL,
                output_hash        text NOT NULL,
                computed_at        timestamptz NOT NULL,
                result             jsonb NOT NULL
            );

            ALTER TABLE scoring_audits ADD CONSTRAINT scoring_audits_event_fk FOREIGN KEY (leaderboard_event_id) REFERENCES ingestion_events (id);
            CREATE INDEX scoring_audits_event_idx ON scoring_audits (leaderboard_event_id);
            """);
        this.Protect("ingestion_payloads");
        this.Protect("ingestion_events");
    }

    public override void Down() => Execute.Sql("""
        DROP INDEX scoring_audits_event_idx;
        ALTER TABLE scoring_audits DROP CONSTRAINT scoring_audits_event_fk;
        DROP TABLE contest_standings;
        DROP TABLE ingestion_events;
        DROP TABLE ingestion_payloads;
        """);
}
