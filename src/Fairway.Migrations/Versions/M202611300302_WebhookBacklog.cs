using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Webhook processing in batches by Hangfire jobs (issue 12, docs/decisions.md 2026-11-30 "Webhooks processed in batches"):
/// <list type="bullet">
/// <item><c>stripe_webhook_pending</c>: the stored events not processed yet (the backlog), one row each, inserted by the
/// same statement that stores the event and deleted in the same transaction as its processing row (or when the event is
/// parked as a dead letter; a replay puts it back). It keeps "what is left to process" as small as the backlog instead of
/// an anti-join over every event ever received. Batch jobs claim rows <c>FOR UPDATE SKIP LOCKED</c> so concurrent jobs
/// split the work. <c>attempts</c> counts failed processing attempts: a failing event leaves the batches to its own
/// Hangfire job (Hangfire's retries and backoff) and the drain.</item>
/// <item><c>stripe_webhook_wakeup</c>: one flag row; the API enqueues a batch job only when it raises the flag, a batch job
/// lowers it when it starts, so a burst of deliveries enqueues a few jobs, not one per delivery.</item>
/// <item><c>stripe_webhook_processing</c> records which worker process applied an event, in which batch (the batch
/// transaction's start) and when the row was written (database clock; diagnostics, not business time).</item>
/// </list>
/// Events stored and neither processed nor parked when this runs are queued.
/// </summary>
[Migration(202611300302, "stripe_webhook_pending (the webhook backlog) and stripe_webhook_wakeup; who processed an event, in which batch")]
public sealed class M202611300302_WebhookBacklog : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE stripe_webhook_pending (
                event_id    text PRIMARY KEY REFERENCES stripe_webhook_events (event_id),
                received_at timestamptz NOT NULL,
                attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0)
            );
            CREATE INDEX stripe_webhook_pending_order_idx ON stripe_webhook_pending (received_at, event_id);
            COMMENT ON TABLE stripe_webhook_pending IS 'stored webhook events not processed yet (deleted with their processing row, or when parked)';

            CREATE TABLE stripe_webhook_wakeup (
                id        smallint PRIMARY KEY CHECK (id = 1),
                requested boolean NOT NULL
            );
            INSERT INTO stripe_webhook_wakeup (id, requested) VALUES (1, false);

            INSERT INTO stripe_webhook_pending (event_id, received_at)
            SELECT e.event_id, e.received_at FROM stripe_webhook_events e
             WHERE NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
               AND coalesce((SELECT l.kind FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind IN ('parked', 'replayed')
                              ORDER BY l.id DESC LIMIT 1) = 'parked', false) = false;

            ALTER TABLE stripe_webhook_processing
                ADD COLUMN processed_by text CHECK (length(processed_by) <= 300),
                ADD COLUMN batch_started_at timestamptz,
                ADD COLUMN written_at timestamptz;
            """);
    }

    public override void Down() => Execute.Sql("""
        ALTER TABLE stripe_webhook_processing DROP COLUMN processed_by, DROP COLUMN batch_started_at, DROP COLUMN written_at;
        DROP TABLE stripe_webhook_wakeup;
        DROP TABLE stripe_webhook_pending;
        """);
}
