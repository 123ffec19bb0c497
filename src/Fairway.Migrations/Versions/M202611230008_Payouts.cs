using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// Seed 003 automatic payout: one payout job per settlement (UNIQUE settlement_id), one transfer per
/// winner (UNIQUE contest_id, user_id) with its mutable state (every change audited), every attempt
/// append-only, and every scheduler run append-only. The destination account comes from
/// <c>user_stripe_accounts</c> (payments migration), looked up at execution time.
/// </summary>
[Migration(202611230008, "payouts: payout_jobs, payout_transfers, payout_transfer_attempts (append-only), payout_scheduler_runs (append-only)")]
public sealed class M202611230008_Payouts : Migration
{
    public override void Up()
    {
        Execute.Sql("""
            CREATE TABLE payout_jobs (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                settlement_id   bigint NOT NULL UNIQUE REFERENCES settlements (id),
                contest_id      text NOT NULL UNIQUE REFERENCES contests (id),
                status          text NOT NULL CHECK (status IN ('pending', 'processing', 'held', 'complete')),
                hold_reason     text,
                created_at      timestamptz NOT NULL,
                updated_at      timestamptz NOT NULL,
                completed_at    timestamptz,
                transfer_count  integer NOT NULL CHECK (transfer_count >= 0),
                total_amount    bigint NOT NULL CHECK (total_amount >= 0),
                completed_count integer,
                failed_count    integer,
                CHECK ((status = 'held') = (hold_reason IS NOT NULL)),
                CHECK ((status = 'complete') = (completed_at IS NOT NULL))
            );
            CREATE INDEX payout_jobs_open_idx ON payout_jobs (status) WHERE status <> 'complete';

            CREATE TABLE payout_transfers (
                id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                payout_job_id      bigint NOT NULL REFERENCES payout_jobs (id),
                contest_id         text NOT NULL REFERENCES contests (id),
                user_id            text NOT NULL,
                amount             bigint NOT NULL CHECK (amount > 0),
                currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                status             text NOT NULL CHECK (status IN ('pending', 'processing', 'retryable', 'completed', 'failed_terminal')),
                attempt_count      integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
                max_attempts       integer NOT NULL CHECK (max_attempts >= 1),
                next_attempt_at    timestamptz NOT NULL,
                stripe_transfer_id text UNIQUE,
                destination        text,
                failure_reason     text,
                last_error         text,
                last_error_class   text,
                ledger_entry_id    bigint,
                created_at         timestamptz NOT NULL,
                updated_at         timestamptz NOT NULL,
                completed_at       timestamptz,
                UNIQUE (contest_id, user_id),
                CHECK ((status = 'completed') = (stripe_transfer_id IS NOT NULL AND ledger_entry_id IS NOT NULL)),
                CHECK (status <> 'failed_terminal' OR failure_reason IS NOT NULL)
            );
            CREATE INDEX payout_transfers_job_idx ON payout_transfers (payout_job_id, status);
            CREATE INDEX payout_transfers_due_idx ON payout_transfers (next_attempt_at, id)
                WHERE status IN ('pending', 'retryable') AND stripe_transfer_id IS NULL;

            CREATE TABLE payout_transfer_attempts (
                transfer_id        bigint NOT NULL REFERENCES payout_transfers (id),
                attempt            integer NOT NULL CHECK (attempt >= 1),
                started_at         timestamptz NOT NULL,
                finished_at        timestamptz NOT NULL,
                outcome            text NOT NULL CHECK (outcome IN ('completed', 'retryable', 'failed_terminal')),
                error_class        text,
                error              text,
                stripe_transfer_id text,
                idempotency_key    text NOT NULL,
                ledger_entry_id    bigint,
                http_status        integer,
                worker             text NOT NULL,
                correlation_id     text,
                PRIMARY KEY (transfer_id, attempt),
                CHECK ((outcome = 'completed') = (ledger_entry_id IS NOT NULL))
            );

            CREATE TABLE payout_scheduler_runs (
                id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                started_at       timestamptz NOT NULL,
                finished_at      timestamptz NOT NULL,
                outcome          text NOT NULL CHECK (outcome IN ('ok', 'kill_switch_engaged', 'failed')),
                triggered_by     text NOT NULL,
                worker           text NOT NULL,
                attempted        integer NOT NULL,
                completed        integer NOT NULL,
                retryable        integer NOT NULL,
                failed_terminal  integer NOT NULL,
                jobs_completed   integer NOT NULL,
                error            text,
                correlation_id   text
            );
            """);
        this.Protect("payout_transfer_attempts");
        this.Protect("payout_scheduler_runs");
    }

    public override void Down() => Execute.Sql("""
        DROP TABLE payout_scheduler_runs;
        DROP TABLE payout_transfer_attempts;
        DROP TABLE payout_transfers;
        DROP TABLE payout_jobs;
        """);
}
