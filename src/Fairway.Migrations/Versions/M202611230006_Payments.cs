using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Money in: the payment columns of entries, one Stripe PaymentIntent per entry (<c>payments</c>), one full
/// refund per entry (<c>refunds</c>), the raw Stripe webhook events and their processing outcome (both
/// append-only), players' Connect accounts, and disputes. Semantics: src/Fairway.Host/Payments/README.md.
/// </summary>
[Migration(202611230006, "payments: entries payment columns, payments, refunds, stripe_webhook_events and stripe_webhook_processing (append-only), user_stripe_accounts, disputes")]
public sealed class M202611230006_Payments : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            -- The fee and currency are fixed when the entry is created, so the PaymentIntent created (or re-created
            -- after a crash) under the entry's idempotency key always carries identical parameters.
            ALTER TABLE entries
                ADD COLUMN entry_fee bigint NULL CHECK (entry_fee > 0),
                ADD COLUMN currency char(3) NULL CHECK (currency ~ '^[a-z]{3}$'),
                ADD COLUMN client_idempotency_key text NULL CHECK (length(client_idempotency_key) BETWEEN 1 AND 100),
                ADD COLUMN request_hash text NULL CHECK (request_hash ~ '^[0-9a-f]{64}$');
            ALTER TABLE entries ADD CONSTRAINT entries_user_idempotency_key_unique UNIQUE (user_id, client_idempotency_key);
            CREATE INDEX entries_pending_created_idx ON entries (created_at) WHERE status = 'PENDING_PAYMENT';

            CREATE TABLE payments (
                entry_id          text PRIMARY KEY REFERENCES entries (id),
                payment_intent_id text NOT NULL UNIQUE CHECK (payment_intent_id ~ '^pi_[A-Za-z0-9_]{1,200}$'),
                amount            bigint NOT NULL CHECK (amount > 0),
                currency          char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                -- SUCCEEDED is final for the payment; a refund is a row of refunds, not a payment status.
                status            text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'CANCELED')),
                last_error        text NULL CHECK (length(last_error) <= 2000),
                created_at        timestamptz NOT NULL,
                updated_at        timestamptz NOT NULL
            );
            CREATE INDEX payments_status_updated_idx ON payments (status, updated_at);

            CREATE TABLE refunds (
                id                text PRIMARY KEY CHECK (id ~ '^rf_'),
                entry_id          text NOT NULL UNIQUE REFERENCES payments (entry_id),
                payment_intent_id text NOT NULL REFERENCES payments (payment_intent_id),
                amount            bigint NOT NULL CHECK (amount > 0),
                currency          char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                reason            text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
                status            text NOT NULL CHECK (status IN ('REQUESTED', 'SUBMITTED', 'SUCCEEDED', 'FAILED')),
                stripe_refund_id  text NULL UNIQUE CHECK (stripe_refund_id ~ '^re_'),
                failure_reason    text NULL CHECK (length(failure_reason) <= 2000),
                requested_by      text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
                requested_at      timestamptz NOT NULL,
                updated_at        timestamptz NOT NULL,
                CONSTRAINT refunds_id_follows_entry CHECK (id = 'rf_' || entry_id),
                CONSTRAINT refunds_settled_has_stripe_id CHECK (status NOT IN ('SUBMITTED', 'SUCCEEDED') OR stripe_refund_id IS NOT NULL)
            );
            CREATE INDEX refunds_status_updated_idx ON refunds (status, updated_at);

            -- Every verified webhook exactly as received (raw body), once per Stripe event id.
            CREATE TABLE stripe_webhook_events (
                event_id       text PRIMARY KEY CHECK (event_id ~ '^evt_' AND length(event_id) <= 255),
                type           text NOT NULL CHECK (length(type) BETWEEN 1 AND 200),
                api_version    text NULL,
                stripe_created bigint NOT NULL,
                livemode       boolean NOT NULL,
                payload        text NOT NULL,
                received_at    timestamptz NOT NULL
            );
            CREATE INDEX stripe_webhook_events_received_idx ON stripe_webhook_events (received_at, event_id);

            -- One row when an event has been processed (in the same transaction as its effects); unprocessed = no row.
            CREATE TABLE stripe_webhook_processing (
                event_id     text PRIMARY KEY REFERENCES stripe_webhook_events (event_id),
                processed_at timestamptz NOT NULL,
                outcome      text NOT NULL CHECK (outcome IN ('applied', 'ignored', 'superseded')),
                detail       text NULL CHECK (length(detail) <= 2000)
            );

            CREATE TABLE user_stripe_accounts (
                user_id              text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 200),
                stripe_account_id    text NOT NULL UNIQUE CHECK (stripe_account_id ~ '^acct_'),
                charges_enabled      boolean NOT NULL,
                payouts_enabled      boolean NOT NULL,
                details_submitted    boolean NOT NULL,
                -- Stripe's `created` of the account state stored here; an older account.updated never overwrites it.
                stripe_state_created bigint NOT NULL,
                created_at           timestamptz NOT NULL,
                updated_at           timestamptz NOT NULL
            );

            CREATE TABLE disputes (
                id                text PRIMARY KEY CHECK (id ~ '^dp_'),
                payment_intent_id text NOT NULL CHECK (payment_intent_id ~ '^pi_'),
                entry_id          text NULL REFERENCES entries (id),
                charge_id         text NULL,
                amount            bigint NOT NULL CHECK (amount > 0),
                currency          char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                status            text NOT NULL CHECK (length(status) BETWEEN 1 AND 100),
                reason            text NULL,
                -- 'posted': the loss moved escrow → clearing; 'not_posted': lost but the money was no longer in escrow (see README).
                loss_ledger       text NULL CHECK (loss_ledger IN ('posted', 'not_posted')),
                created_at        timestamptz NOT NULL,
                updated_at        timestamptz NOT NULL
            );
            CREATE INDEX disputes_payment_intent_idx ON disputes (payment_intent_id);
            """);
        this.Protect("stripe_webhook_events");
        this.Protect("stripe_webhook_processing");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE disputes;
        DROP TABLE user_stripe_accounts;
        DROP TABLE stripe_webhook_processing;
        DROP TABLE stripe_webhook_events;
        DROP TABLE refunds;
        DROP TABLE payments;
        DROP INDEX entries_pending_created_idx;
        ALTER TABLE entries DROP CONSTRAINT entries_user_idempotency_key_unique;
        ALTER TABLE entries
            DROP COLUMN request_hash,
            DROP COLUMN client_idempotency_key,
            DROP COLUMN currency,
            DROP COLUMN entry_fee;
        """);
}
