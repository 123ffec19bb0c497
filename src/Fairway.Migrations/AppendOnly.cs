using FluentMigrator;

namespace Fairway.Migrations;

/// <summary>
/// The reusable append-only pattern: a table protected this way refuses UPDATE, DELETE and TRUNCATE
/// in the database itself, whoever the caller is. Corrections are new rows, never edits.
/// The trigger function is created once by the first migration (<c>fairway_refuse_mutation</c>).
/// </summary>
public static class AppendOnly
{
    /// <summary>SQLSTATE raised when a write to an append-only table is refused.</summary>
    public const string RefusedSqlState = "FWA01";

    public static void Protect(this Migration migration, string table)
    {
        migration.Execute.Sql($"""
            CREATE TRIGGER {table}_append_only_row BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION fairway_refuse_mutation();
            CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION fairway_refuse_mutation();
            COMMENT ON TABLE {table} IS 'append-only: UPDATE, DELETE and TRUNCATE are refused by trigger';
            """);
    }

    public static void Unprotect(this Migration migration, string table)
    {
        migration.Execute.Sql($"""
            DROP TRIGGER IF EXISTS {table}_append_only_row ON {table};
            DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table};
            """);
    }
}
