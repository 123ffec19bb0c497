using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Every database backup attempt (by <c>fairway db backup</c> or the recurring database-backup job), succeeded or
/// failed, with its archive's name, size, SHA-256 and manifest. <c>database_backup_age_seconds</c> is computed from it.
/// Times are real time (the archive is a real-world file), never the test clock.
/// </summary>
[Migration(202611300201, "database_backups (append-only)")]
public sealed class M202611300201_DatabaseBackups : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE database_backups (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                started_at     timestamptz NOT NULL,
                finished_at    timestamptz NOT NULL CHECK (finished_at >= started_at),
                outcome        text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
                actor          text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
                archive        text NULL CHECK (length(archive) <= 1000),
                size_bytes     bigint NULL CHECK (size_bytes >= 0),
                sha256         text NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                schema_version bigint NOT NULL,
                manifest       jsonb NULL,
                error          text NULL CHECK (length(error) <= 4000),
                CHECK ((outcome = 'succeeded') = (archive IS NOT NULL AND sha256 IS NOT NULL AND manifest IS NOT NULL AND error IS NULL))
            );
            CREATE INDEX database_backups_succeeded_idx ON database_backups (finished_at) WHERE outcome = 'succeeded';
            """);
        this.Protect("database_backups");
    }

    public override void Down() => Execute.Sql("DROP TABLE database_backups;");
}
