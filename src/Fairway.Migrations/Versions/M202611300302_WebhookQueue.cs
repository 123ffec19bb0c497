using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Webhook processing in batches (issue 12, docs/decisions.md 2026-11-30 "Webhooks: a queue table, a pump, batches"):
/// <list type="bullet">
/// <item><c>stripe_webhook_queue</c>: one row per stored event that still has to be processed, inserted by the same
/// statement that stores the event and deleted in the same transaction as its processing row (or when the event is
/// parked as a dead letter; a replay puts it back). Workers claim rows <c>FOR UPDATE SKIP LOCKED</c>, so the queue is the
/// work list instead of a Hangfire job per event, and stays as small as the backlog. <c>attempts</c>/<c>not_before</c>
/// space out the retries of a failing event.</item>
/// <item><c>stripe_webhook_processing</c> records which worker process applied an event, in which batch (the batch
/// transaction's start) and when the row was written (database clock; diagnostics, not business time).</item>
/// </list>
/// Events stored and neither processed nor parked when this runs are queued.
/// </summary>
[Migration(202611300302, "stripe_webhook_queue (the webhook work list); who processed an event, in which batch")]
public sealed class M202611300302_WebhookQueue : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE stripe_webhook_queue (
                event_id    text PRIMARY KEY REFERENCES stripe_webhook_events (event_id),
                received_at timestamptz NOT NULL,
                attempts    integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                not_before  timestamptz
            );
            CREATE INDEX stripe_webhook_queue_order_idx ON stripe_webhook_queue (received_at, event_id);
            COMMENT ON TABLE stripe_webhook_queue IS 'stored webhook events still to be processed (deleted with their processing row, or when parked)';

            INSERT INTO stripe_webhook_queue (event_id, received_at)
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
        DROP TABLE stripe_webhook_queue;
        """);
}
