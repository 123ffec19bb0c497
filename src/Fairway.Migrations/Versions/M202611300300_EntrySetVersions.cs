using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Live standings at scale (issue 12, docs/decisions.md 2026-11-30 "Standings from cached entry sets"):
/// <list type="bullet">
/// <item><c>contest_entry_sets</c>: a version per contest that changes, in the same transaction, whenever the set of its
/// ACTIVE entries (or an ACTIVE entry's id, user, roster, fee or currency) changes — kept by triggers on <c>entries</c>, so no writer can
/// forget it. A process may keep a contest's compact entry set in memory and reuse it while the version is unchanged
/// (rosters are immutable after lock): a leaderboard event then costs one small query per contest, not a read of every
/// entry.</item>
/// <item><c>contest_standings.result</c> is dropped: the per-entry standings are no longer stored as one JSON document per
/// contest and event (10,000 entries ≈ 1 MB of jsonb written on every event). The row keeps what defines the projection
/// (event, config version, entry-set hash, output hash); readers recompute the entries from the stored leaderboard, the
/// config and the entry set, through the same engine call (cached per process).</item>
/// </list>
/// Down restores the column NOT NULL; the rows written without it are a derived projection and are deleted (the next
/// poll of each tracked tournament recomputes them).
/// </summary>
[Migration(202611300300, "entry-set versions kept by triggers on entries; contest_standings without the per-entry result document")]
public sealed class M202611300300_EntrySetVersions : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE SEQUENCE contest_entry_set_version_seq;
            CREATE TABLE contest_entry_sets (
                contest_id text PRIMARY KEY REFERENCES contests (id),
                -- From one sequence for all contests: a (contest, version) pair names one entry set forever.
                version    bigint NOT NULL
            );
            COMMENT ON TABLE contest_entry_sets IS 'version of each contest''s ACTIVE entry set; bumped by triggers on entries (never written by the application)';

            CREATE FUNCTION fairway_entry_set_bump(p_contests text[]) RETURNS void LANGUAGE sql AS $fn$
                INSERT INTO contest_entry_sets (contest_id, version)
                SELECT c, nextval('contest_entry_set_version_seq') FROM (SELECT DISTINCT unnest(p_contests) AS c) d ORDER BY c
                ON CONFLICT (contest_id) DO UPDATE SET version = excluded.version;
            $fn$;

            -- Bulk loads insert many rows in one statement: one bump per statement, not per row.
            CREATE FUNCTION fairway_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                PERFORM fairway_entry_set_bump(ARRAY(SELECT DISTINCT contest_id FROM inserted WHERE status = 'ACTIVE'));
                RETURN NULL;
            END
            $fn$;
            CREATE TRIGGER entries_entry_set_insert AFTER INSERT ON entries
                REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION fairway_entries_inserted();

            CREATE FUNCTION fairway_entries_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                PERFORM fairway_entry_set_bump(ARRAY(SELECT DISTINCT contest_id FROM deleted WHERE status = 'ACTIVE'));
                RETURN NULL;
            END
            $fn$;
            CREATE TRIGGER entries_entry_set_delete AFTER DELETE ON entries
                REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION fairway_entries_deleted();

            -- Updates are single rows in practice (a payment converged, an entry voided); only those that touch the ACTIVE set bump.
            CREATE FUNCTION fairway_entries_updated() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF OLD.contest_id IS DISTINCT FROM NEW.contest_id THEN
                    PERFORM fairway_entry_set_bump(ARRAY[OLD.contest_id, NEW.contest_id]);
                ELSE
                    INSERT INTO contest_entry_sets (contest_id, version) VALUES (NEW.contest_id, nextval('contest_entry_set_version_seq'))
                    ON CONFLICT (contest_id) DO UPDATE SET version = excluded.version;
                END IF;
                RETURN NULL;
            END
            $fn$;
            CREATE TRIGGER entries_entry_set_update AFTER UPDATE ON entries FOR EACH ROW
                WHEN ((OLD.status = 'ACTIVE' OR NEW.status = 'ACTIVE')
                      AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.id IS DISTINCT FROM NEW.id OR OLD.contest_id IS DISTINCT FROM NEW.contest_id
                           OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.golfers IS DISTINCT FROM NEW.golfers
                           OR OLD.entry_fee IS DISTINCT FROM NEW.entry_fee OR OLD.currency IS DISTINCT FROM NEW.currency))
                EXECUTE FUNCTION fairway_entries_updated();

            -- Contests that already have ACTIVE entries start with a version.
            SELECT fairway_entry_set_bump(ARRAY(SELECT DISTINCT contest_id FROM entries WHERE status = 'ACTIVE'));

            ALTER TABLE contest_standings DROP COLUMN result;
            """);
    }

    public override void Down() => Execute.Sql("""
        DELETE FROM contest_standings;
        ALTER TABLE contest_standings ADD COLUMN result jsonb NOT NULL;
        DROP TRIGGER entries_entry_set_update ON entries;
        DROP TRIGGER entries_entry_set_delete ON entries;
        DROP TRIGGER entries_entry_set_insert ON entries;
        DROP FUNCTION fairway_entries_updated();
        DROP FUNCTION fairway_entries_deleted();
        DROP FUNCTION fairway_entries_inserted();
        DROP FUNCTION fairway_entry_set_bump(text[]);
        DROP TABLE contest_entry_sets;
        DROP SEQUENCE contest_entry_set_version_seq;
        """);
}
