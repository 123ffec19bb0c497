using Dapper;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// One state column whose every change must have an audit row. <paramref name="EntityType"/> and the value of
/// <paramref name="KeyColumn"/> are what the audit row names (<c>audit_events.entity_type / entity_id</c>).
/// <paramref name="InsertCoveredBy"/>: a row created as part of its parent (a payout job's transfers) may instead be
/// explained by the parent's audit row in the same transaction, named by (entity type, column of this row holding
/// the parent's id). <paramref name="RowIsTheState"/>: the row's existence is the state (a pause), so inserts and
/// deletes are changes.
/// </summary>
public sealed record StateColumn(string Table, string Column, string EntityType, string KeyColumn,
    (string EntityType, string KeyColumn)? InsertCoveredBy = null, bool RowIsTheState = false);

/// <summary>
/// The generic "every state change has an audit row" check (README: a state change and its audit row commit
/// together or not at all). Installed into a test database, it records every change of an enrolled state column
/// (and every audit row) with the id of the transaction that made it, using triggers in a schema of its own,
/// <c>audit_check</c>, outside the migrations. <see cref="UnauditedAsync"/> lists the changes whose transaction
/// wrote no audit row for that entity. Only changes made by Fairway's processes (application_name <c>fairway</c>)
/// are checked; a test's own set-up SQL and out-of-band edits run as <c>fairway-test</c> (see
/// <see cref="TestDatabases.ConnectionString"/>) and are not Fairway's state changes.
/// <para>
/// <see cref="MoneyInvariants"/> runs the check wherever it is installed (the payments and money-out worlds), so
/// every money test also proves its state changes were audited.
/// </para>
/// <para>
/// To enrol a new state column: add one <see cref="StateColumn"/> line to <see cref="Enrolled"/> naming the table,
/// the column, and the entity type and key its audit rows use. A table with a column named <c>state</c> or
/// <c>status</c> that is not enrolled fails <c>AuditTrailTests</c> until it is enrolled or listed in
/// <see cref="NotState"/> with the reason it is not an entity's state.
/// </para>
/// </summary>
public static class AuditTrail
{
    public const string Schema = "audit_check";

    public static readonly StateColumn[] Enrolled =
    [
        new("contests", "state", "contest", "id"),
        new("entries", "status", "entry", "id"),
        new("payments", "status", "payment", "payment_intent_id"),
        new("refunds", "status", "refund", "id"),
        new("disputes", "status", "dispute", "id"),
        new("disputes", "loss_ledger", "dispute", "id"),
        new("payout_jobs", "status", "payout_job", "id"),
        new("payout_transfers", "status", "payout_transfer", "id", InsertCoveredBy: ("payout_job", "payout_job_id")),
        new("settlements", "id", "settlement", "contest_id"),
        new("kill_switch", "engaged", "kill_switch", "id"),
        new("user_stripe_accounts", "payouts_enabled", "user_stripe_account", "user_id"),
        new("recurring_job_pauses", "recurring_job_id", "recurring_job", "recurring_job_id", RowIsTheState: true),
    ];

    /// <summary>Tables with a state/status column that are not an entity's state, and why.</summary>
    public static readonly IReadOnlyDictionary<string, string> NotState = new Dictionary<string, string>
    {
        ["ingestion_events"] = "an append-only record of one provider fetch; http_status and provider_status are what the provider said",
        ["payout_transfer_attempts"] = "an append-only record of one Stripe call; http_status is Stripe's answer",
        ["audit_events"] = "the audit trail itself (before_state / after_state)",
        ["stripe_reconciliation_items"] = "the reconciliation's working note about one Stripe object (awaiting_stripe, awaiting_fairway, " +
            "resolved are observations recomputed on every run); moving into or out of discrepancy, the status that matters, writes its " +
            "audit row (reconciliation.discrepancy_opened / _closed), and a dismissal is an audited admin action",
    };

    public static async Task InstallAsync(string databaseUrl)
    {
        var sql = new System.Text.StringBuilder($"""
            CREATE SCHEMA IF NOT EXISTS {Schema};
            CREATE TABLE IF NOT EXISTS {Schema}.state_changes (
                id bigserial PRIMARY KEY, table_name text NOT NULL, column_name text NOT NULL, operation text NOT NULL,
                entity_type text NOT NULL, entity_key text, cover_type text, cover_key text, old_value text, new_value text,
                txid bigint NOT NULL, application_name text NOT NULL);
            CREATE TABLE IF NOT EXISTS {Schema}.audit_rows (audit_id bigint PRIMARY KEY, entity_type text NOT NULL, entity_id text NOT NULL, txid bigint NOT NULL);
            CREATE OR REPLACE FUNCTION {Schema}.record_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {Schema}.audit_rows VALUES (NEW.id, NEW.entity_type, NEW.entity_id, txid_current());
                RETURN NULL;
            END $$;
            DROP TRIGGER IF EXISTS {Schema}_audit_rows ON public.audit_events;
            CREATE TRIGGER {Schema}_audit_rows AFTER INSERT ON public.audit_events FOR EACH ROW EXECUTE FUNCTION {Schema}.record_audit_row();

            """);
        foreach (var s in Enrolled)
        {
            var name = $"{s.Table}_{s.Column}";
            var cover = s.InsertCoveredBy is { } c ? $"CASE WHEN TG_OP = 'INSERT' THEN '{c.EntityType}' END, CASE WHEN TG_OP = 'INSERT' THEN NEW.{c.KeyColumn}::text END" : "NULL, NULL";
            var events = s.RowIsTheState ? "INSERT OR DELETE" : $"INSERT OR UPDATE OF {s.Column}";
            sql.Append($"""
                CREATE OR REPLACE FUNCTION {Schema}.record_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        INSERT INTO {Schema}.state_changes (table_name, column_name, operation, entity_type, entity_key, cover_type, cover_key, old_value, new_value, txid, application_name)
                        VALUES ('{s.Table}', '{s.Column}', TG_OP, '{s.EntityType}', OLD.{s.KeyColumn}::text, NULL, NULL, OLD.{s.Column}::text, NULL, txid_current(), current_setting('application_name'));
                        RETURN NULL;
                    END IF;
                    IF TG_OP = 'INSERT' OR NEW.{s.Column} IS DISTINCT FROM OLD.{s.Column} THEN
                        INSERT INTO {Schema}.state_changes (table_name, column_name, operation, entity_type, entity_key, cover_type, cover_key, old_value, new_value, txid, application_name)
                        VALUES ('{s.Table}', '{s.Column}', TG_OP, '{s.EntityType}', NEW.{s.KeyColumn}::text, {cover},
                                CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.{s.Column}::text END, NEW.{s.Column}::text, txid_current(), current_setting('application_name'));
                    END IF;
                    RETURN NULL;
                END $$;
                DROP TRIGGER IF EXISTS {Schema}_{name} ON public.{s.Table};
                CREATE TRIGGER {Schema}_{name} AFTER {events} ON public.{s.Table} FOR EACH ROW EXECUTE FUNCTION {Schema}.record_{name}();

                """);
        }
        await TestDatabases.ExecAsync(databaseUrl, sql.ToString());
    }

    public static async Task<bool> IsInstalledAsync(string databaseUrl)
    {
        await using var c = await TestDatabases.OpenAsync(databaseUrl);
        return await c.ExecuteScalarAsync<bool>($"SELECT to_regclass('{Schema}.state_changes') IS NOT NULL");
    }

    /// <summary>Every state change made by a Fairway process whose transaction wrote no audit row for its entity (or, for an insert, its declared parent).</summary>
    public static async Task<IReadOnlyList<string>> UnauditedAsync(string databaseUrl)
    {
        await using var c = await TestDatabases.OpenAsync(databaseUrl);
        return (await c.QueryAsync<string>($"""
            SELECT format('%s.%s %s of %s %s: %s -> %s (transaction %s) has no audit row in its transaction',
                          s.table_name, s.column_name, s.operation, s.entity_type, s.entity_key, coalesce(s.old_value, '∅'), coalesce(s.new_value, '∅'), s.txid)
              FROM {Schema}.state_changes s
             WHERE s.application_name = 'fairway'
               AND NOT EXISTS (SELECT 1 FROM {Schema}.audit_rows a
                                WHERE a.txid = s.txid
                                  AND ((a.entity_type = s.entity_type AND a.entity_id = s.entity_key)
                                       OR (s.cover_type IS NOT NULL AND a.entity_type = s.cover_type AND a.entity_id = s.cover_key)))
             ORDER BY s.id
            """)).ToList();
    }

    /// <summary>How many changes of Fairway's processes were recorded per table.column (what a test exercised).</summary>
    public static async Task<IReadOnlyDictionary<string, long>> RecordedAsync(string databaseUrl)
    {
        await using var c = await TestDatabases.OpenAsync(databaseUrl);
        return (await c.QueryAsync<(string Key, long Count)>($"""
            SELECT table_name || '.' || column_name, count(*) FROM {Schema}.state_changes WHERE application_name = 'fairway' GROUP BY 1
            """)).ToDictionary(r => r.Key, r => r.Count);
    }
}
