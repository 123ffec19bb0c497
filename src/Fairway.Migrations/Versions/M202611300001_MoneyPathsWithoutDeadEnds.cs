using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Money paths without dead ends (docs/decisions.md, 2026-11-30):
/// <list type="bullet">
/// <item>"sending" marks committed BEFORE every Stripe transfer or refund call (<c>payout_transfer_sends</c>,
/// <c>refund_sends</c>, append-only), so a retry after a crash looks the object up at Stripe instead of relying on
/// an idempotency key Stripe may have pruned;</item>
/// <item>refunds funded from escrow or from the house, retried automatically (attempt budget and due time), and
/// CANCELED when made moot;</item>
/// <item>a sweep schedule per payment (the sweeper orders by when it last looked, with backoff);</item>
/// <item>the processing history of webhook events (failures, parking after too many, admin replays), append-only.</item>
/// </list>
/// </summary>
[Migration(202611300001, "money paths without dead ends: payout_transfer_sends, refund_sends, refund retries and funding, payment sweep schedule, stripe_webhook_attempt_log")]
public sealed class M202611300001_MoneyPathsWithoutDeadEnds : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            -- One row per Stripe POST /v1/transfers about to be sent, committed before the call. A transfer with any row
            -- may exist at Stripe, whatever the transfer row says; its next attempt looks it up first.
            -- No foreign key, on purpose: the mark is written on its own connection while the attempt's transaction holds
            -- the transfer row FOR UPDATE, which a foreign-key check (FOR KEY SHARE) would wait for forever.
            CREATE TABLE payout_transfer_sends (
                transfer_id     bigint NOT NULL,
                attempt         integer NOT NULL CHECK (attempt >= 1),
                sent_at         timestamptz NOT NULL,
                idempotency_key text NOT NULL,
                worker          text NOT NULL,
                correlation_id  text,
                PRIMARY KEY (transfer_id, attempt)
            );

            ALTER TABLE refunds
                ADD COLUMN funded_from text NOT NULL DEFAULT 'escrow' CHECK (funded_from IN ('escrow', 'house')),
                ADD COLUMN attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
                ADD COLUMN max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),
                ADD COLUMN next_attempt_at timestamptz NULL;
            ALTER TABLE refunds ALTER COLUMN funded_from DROP DEFAULT;
            ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
            ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('REQUESTED', 'SUBMITTED', 'SUCCEEDED', 'FAILED', 'CANCELED'));
            CREATE INDEX refunds_due_idx ON refunds (next_attempt_at) WHERE status IN ('REQUESTED', 'SUBMITTED', 'FAILED');

            -- One row per Stripe POST /v1/refunds about to be sent (key refund:<refund_id>:<attempt>), committed before the call.
            -- No foreign key, for the same reason as payout_transfer_sends (the refund row is held FOR UPDATE meanwhile).
            CREATE TABLE refund_sends (
                refund_id       text NOT NULL,
                attempt         integer NOT NULL CHECK (attempt >= 1),
                sent_at         timestamptz NOT NULL,
                idempotency_key text NOT NULL,
                worker          text NOT NULL,
                correlation_id  text,
                PRIMARY KEY (refund_id, attempt)
            );

            -- A dispute lost while its entry's refund was decided but not paid takes the loss out of refunds owed.
            ALTER TABLE disputes DROP CONSTRAINT disputes_loss_ledger_check;
            ALTER TABLE disputes ADD CONSTRAINT disputes_loss_ledger_check CHECK (loss_ledger IN ('posted', 'posted_from_refunds', 'not_posted'));

            -- The sweeper's own schedule per payment: when it may look at Stripe again, and how often it has.
            ALTER TABLE payments
                ADD COLUMN sweep_count integer NOT NULL DEFAULT 0 CHECK (sweep_count >= 0),
                ADD COLUMN next_sweep_at timestamptz NULL;
            CREATE INDEX payments_sweep_due_idx ON payments (next_sweep_at NULLS FIRST, entry_id) WHERE status IN ('PENDING', 'FAILED');

            -- What happened to an event's processing besides its success: each failed attempt, its parking after too
            -- many failures (a dead letter), and each admin replay. Ordered by id; the latest 'parked' or 'replayed'
            -- row decides whether the event is parked, failures after the latest 'replayed' count towards parking.
            CREATE TABLE stripe_webhook_attempt_log (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id       text NOT NULL REFERENCES stripe_webhook_events (event_id),
                kind           text NOT NULL CHECK (kind IN ('failed', 'parked', 'replayed')),
                at             timestamptz NOT NULL,
                actor          text NOT NULL,
                detail         text NULL CHECK (length(detail) <= 2000),
                correlation_id text NULL
            );
            CREATE INDEX stripe_webhook_attempt_log_event_idx ON stripe_webhook_attempt_log (event_id, id);
            """);
        this.Protect("payout_transfer_sends");
        this.Protect("refund_sends");
        this.Protect("stripe_webhook_attempt_log");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE stripe_webhook_attempt_log;
        DROP INDEX payments_sweep_due_idx;
        ALTER TABLE payments DROP COLUMN next_sweep_at, DROP COLUMN sweep_count;
        ALTER TABLE disputes DROP CONSTRAINT disputes_loss_ledger_check;
        ALTER TABLE disputes ADD CONSTRAINT disputes_loss_ledger_check CHECK (loss_ledger IN ('posted', 'not_posted'));
        DROP TABLE refund_sends;
        DROP INDEX refunds_due_idx;
        ALTER TABLE refunds DROP CONSTRAINT refunds_status_check;
        ALTER TABLE refunds ADD CONSTRAINT refunds_status_check CHECK (status IN ('REQUESTED', 'SUBMITTED', 'SUCCEEDED', 'FAILED'));
        ALTER TABLE refunds DROP COLUMN next_attempt_at, DROP COLUMN max_attempts, DROP COLUMN attempt_count, DROP COLUMN funded_from;
        DROP TABLE payout_transfer_sends;
        """);
}
