using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Seed 000 Iteration 01 data model: tournaments, contests with their lifecycle state, immutable
/// hashed config versions, field selections, the scoring audit, and entries (rosters; payment
/// columns come with the payments migration).
/// </summary>
[Migration(202611230003, "golf and contests: tournaments, contests, contest_config_versions, contest_fields, scoring_audits, entries")]
public sealed class M202611230003_GolfAndContests : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE tournaments (
                id                text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
                provider_event_id text NOT NULL UNIQUE CHECK (length(provider_event_id) BETWEEN 1 AND 200),
                name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                created_at        timestamptz NOT NULL
            );

            -- Mutable only through ContestLifecycleService / ContestConfigService, each change audited.
            CREATE TABLE contests (
                id                    text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{2,63}$'),
                tournament_id         text NOT NULL REFERENCES tournaments (id),
                name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                state                 text NOT NULL CHECK (state IN ('SCHEDULED', 'LOCKED', 'LIVE', 'COMPLETE', 'CANCELLED', 'ERROR')),
                active_config_version integer NOT NULL CHECK (active_config_version >= 1),
                -- Copied from the active config so the lock job can find due contests with an index.
                lock_time             timestamptz NOT NULL,
                created_at            timestamptz NOT NULL,
                state_changed_at      timestamptz NOT NULL
            );
            CREATE INDEX contests_tournament_idx ON contests (tournament_id);
            CREATE INDEX contests_state_lock_idx ON contests (state, lock_time);

            CREATE TABLE contest_config_versions (
                contest_id   text NOT NULL REFERENCES contests (id),
                version      integer NOT NULL CHECK (version >= 1),
                -- The canonical JSON exactly as hashed (jsonb would reorder keys).
                config_text  text NOT NULL,
                hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
                created_at   timestamptz NOT NULL,
                published_at timestamptz NOT NULL,
                published_by text NOT NULL,
                PRIMARY KEY (contest_id, version)
            );

            CREATE TABLE contest_fields (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                contest_id    text NOT NULL REFERENCES contests (id),
                source        text NOT NULL CHECK (source IN ('static_import', 'provider_sync')),
                primary_field jsonb NOT NULL,
                alternates    jsonb NOT NULL,
                hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
                selected_at   timestamptz NOT NULL,
                selected_by   text NOT NULL
            );
            CREATE INDEX contest_fields_contest_idx ON contest_fields (contest_id, id);

            CREATE TABLE scoring_audits (
                id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                contest_id        text NOT NULL REFERENCES contests (id),
                config_version    integer NOT NULL,
                purpose           text NOT NULL CHECK (purpose IN ('standings', 'settlement', 'replay')),
                leaderboard_event_id bigint,
                leaderboard_hash  text NOT NULL CHECK (leaderboard_hash ~ '^[0-9a-f]{64}$'),
                entry_set_hash    text NOT NULL CHECK (entry_set_hash ~ '^[0-9a-f]{64}$'),
                output_hash       text NOT NULL CHECK (output_hash ~ '^[0-9a-f]{64}$'),
                computed_at       timestamptz NOT NULL
            );
            CREATE INDEX scoring_audits_contest_idx ON scoring_audits (contest_id, id);

            CREATE TABLE entries (
                id         text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
                contest_id text NOT NULL REFERENCES contests (id),
                user_id    text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 200),
                golfers    jsonb NOT NULL,
                -- Only a SUCCEEDED payment makes an entry ACTIVE (seed 000 invariant).
                status     text NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'ACTIVE', 'VOID', 'REFUNDED', 'PAYMENT_FAILED')),
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE INDEX entries_contest_status_idx ON entries (contest_id, status);
            CREATE INDEX entries_user_idx ON entries (user_id, created_at);
            """);
        this.Protect("contest_config_versions");
        this.Protect("contest_fields");
        this.Protect("scoring_audits");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE entries;
        DROP TABLE scoring_audits;
        DROP TABLE contest_fields;
        DROP TABLE contest_config_versions;
        DROP TABLE contests;
        DROP TABLE tournaments;
        """);
}
