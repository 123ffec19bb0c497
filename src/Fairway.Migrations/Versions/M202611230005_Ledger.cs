using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// The double-entry ledger: accounts (with a stored balance maintained only by the posting function),
/// append-only journal entries and postings, the single writer <c>fairway_post_journal_entry</c>, and
/// deferred constraint triggers that re-check every entry at commit against any other writer.
/// Sign convention and account ids: src/Fairway.Host/Ledger/README.md.
/// </summary>
[Migration(202611230005, "ledger: ledger_accounts, ledger_entries and ledger_postings (append-only), fairway_post_journal_entry")]
public sealed class M202611230005_Ledger : Migration
{
    /// <summary>SQLSTATEs raised by the ledger's functions and triggers (class FWL).</summary>
    public const string InvalidSqlState = "FWL01";
    public const string ImbalanceSqlState = "FWL02";
    public const string EscrowNegativeSqlState = "FWL03";
    public const string IdempotencyConflictSqlState = "FWL04";
    public const string AccountMismatchSqlState = "FWL05";

    public override void Up()
    {
        Execute.Sql($$"""
            CREATE TABLE ledger_accounts (
                id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 300),
                kind        text NOT NULL CHECK (kind IN ('stripe_clearing', 'contest_escrow', 'winnings_payable', 'platform_revenue', 'refunds')),
                contest_id  text NULL CHECK (length(contest_id) BETWEEN 1 AND 200),
                user_id     text NULL CHECK (length(user_id) BETWEEN 1 AND 200),
                currency    char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                -- Maintained only by fairway_post_journal_entry; the reconciliation job compares it with the postings.
                balance     bigint NOT NULL DEFAULT 0,
                created_at  timestamptz NOT NULL,
                CONSTRAINT ledger_accounts_id_convention CHECK (
                    CASE kind
                        WHEN 'stripe_clearing'  THEN id = 'clearing:' || currency AND contest_id IS NULL AND user_id IS NULL
                        WHEN 'contest_escrow'   THEN contest_id IS NOT NULL AND id = 'escrow:' || contest_id AND user_id IS NULL
                        WHEN 'winnings_payable' THEN user_id IS NOT NULL AND id = 'payable:' || user_id || ':' || currency AND contest_id IS NULL
                        WHEN 'platform_revenue' THEN id = 'revenue:' || currency AND contest_id IS NULL AND user_id IS NULL
                        WHEN 'refunds'          THEN id = 'refunds:' || currency AND contest_id IS NULL AND user_id IS NULL
                    END),
                CONSTRAINT ledger_accounts_escrow_not_negative CHECK (kind <> 'contest_escrow' OR balance >= 0)
            );
            CREATE INDEX ledger_accounts_kind_idx ON ledger_accounts (kind, id);
            CREATE INDEX ledger_accounts_contest_idx ON ledger_accounts (contest_id) WHERE contest_id IS NOT NULL;
            CREATE INDEX ledger_accounts_user_idx ON ledger_accounts (user_id) WHERE user_id IS NOT NULL;

            CREATE TABLE ledger_entries (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
                kind            text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,99}$'),
                currency        char(3) NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
                occurred_at     timestamptz NOT NULL,
                cause_type      text NOT NULL CHECK (length(cause_type) BETWEEN 1 AND 100),
                cause_id        text NOT NULL CHECK (length(cause_id) BETWEEN 1 AND 200),
                description     text CHECK (length(description) <= 2000),
                correlation_id  text,
                content_hash    text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$')
            );
            CREATE INDEX ledger_entries_cause_idx ON ledger_entries (cause_type, cause_id, id);

            CREATE TABLE ledger_postings (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                entry_id    bigint NOT NULL REFERENCES ledger_entries (id),
                account_id  text NOT NULL REFERENCES ledger_accounts (id),
                amount      bigint NOT NULL CHECK (amount <> 0)
            );
            CREATE INDEX ledger_postings_account_idx ON ledger_postings (account_id, id);
            CREATE INDEX ledger_postings_entry_idx ON ledger_postings (entry_id);

            -- Accounts are never deleted and never change identity; only the balance moves.
            CREATE FUNCTION fairway_ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind
                   OR NEW.contest_id IS DISTINCT FROM OLD.contest_id OR NEW.user_id IS DISTINCT FROM OLD.user_id
                   OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
                    RAISE EXCEPTION 'ledger_accounts: % refused (only the balance may change)', TG_OP
                        USING ERRCODE = '{{AppendOnly.RefusedSqlState}}';
                END IF;
                RETURN NEW;
            END
            $fn$;
            CREATE TRIGGER ledger_accounts_guard_row BEFORE UPDATE OR DELETE ON ledger_accounts
                FOR EACH ROW EXECUTE FUNCTION fairway_ledger_accounts_guard();
            CREATE TRIGGER ledger_accounts_guard_truncate BEFORE TRUNCATE ON ledger_accounts
                FOR EACH STATEMENT EXECUTE FUNCTION fairway_refuse_mutation();

            -- Belt and braces against any writer other than fairway_post_journal_entry: at commit, every
            -- entry touched has at least two postings, sums to exactly zero, and is in one currency.
            CREATE FUNCTION fairway_ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $fn$
            DECLARE
                v_entry bigint;
                v_count bigint;
                v_sum numeric;
                v_foreign bigint;
            BEGIN
                IF TG_TABLE_NAME = 'ledger_postings' THEN v_entry := NEW.entry_id; ELSE v_entry := NEW.id; END IF;
                SELECT count(*), coalesce(sum(p.amount), 0), count(*) FILTER (WHERE a.currency <> e.currency)
                  INTO v_count, v_sum, v_foreign
                  FROM ledger_entries e
                  LEFT JOIN ledger_postings p ON p.entry_id = e.id
                  LEFT JOIN ledger_accounts a ON a.id = p.account_id
                 WHERE e.id = v_entry AND p.id IS NOT NULL;
                IF v_count < 2 THEN
                    RAISE EXCEPTION 'LEDGER_IMBALANCE: journal entry % has % posting(s); at least 2 are required', v_entry, v_count
                        USING ERRCODE = '{{ImbalanceSqlState}}';
                END IF;
                IF v_sum <> 0 THEN
                    RAISE EXCEPTION 'LEDGER_IMBALANCE: journal entry % postings sum to %, not 0', v_entry, v_sum
                        USING ERRCODE = '{{ImbalanceSqlState}}';
                END IF;
                IF v_foreign > 0 THEN
                    RAISE EXCEPTION 'LEDGER_ACCOUNT_MISMATCH: journal entry % posts to % account(s) of another currency', v_entry, v_foreign
                        USING ERRCODE = '{{AccountMismatchSqlState}}';
                END IF;
                RETURN NULL;
            END
            $fn$;
            CREATE CONSTRAINT TRIGGER ledger_postings_entry_balanced AFTER INSERT ON ledger_postings
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fairway_ledger_check_entry();
            CREATE CONSTRAINT TRIGGER ledger_entries_have_postings AFTER INSERT ON ledger_entries
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fairway_ledger_check_entry();

            -- The only writer of the ledger. Runs in the caller's transaction.
            -- p_postings: [{"account":"escrow:c1","kind":"contest_escrow","contest_id":"c1","user_id":null,"amount":1000}, ...]
            CREATE FUNCTION fairway_post_journal_entry(
                p_idempotency_key text, p_kind text, p_currency text, p_occurred_at timestamptz,
                p_cause_type text, p_cause_id text, p_description text, p_correlation_id text, p_postings jsonb)
            RETURNS TABLE (entry_id bigint, created boolean)
            LANGUAGE plpgsql AS $fn$
            #variable_conflict use_column
            DECLARE
                v_posting jsonb;
                v_account text;
                v_kind text;
                v_contest text;
                v_user text;
                v_amount numeric;
                v_expected text;
                v_sum numeric := 0;
                v_hash text;
                v_entry bigint;
                v_existing_hash text;
                v_row record;
            BEGIN
                IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: idempotency key must be 1..200 characters' USING ERRCODE = '{{InvalidSqlState}}';
                END IF;
                IF p_kind IS NULL OR p_kind !~ '^[a-z][a-z0-9_.]{0,99}$' THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: entry kind % must match ^[a-z][a-z0-9_.]{0,99}$', p_kind USING ERRCODE = '{{InvalidSqlState}}';
                END IF;
                IF p_currency IS NULL OR p_currency !~ '^[a-z]{3}$' THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: currency % must be three lowercase letters', p_currency USING ERRCODE = '{{InvalidSqlState}}';
                END IF;
                IF p_occurred_at IS NULL OR coalesce(length(p_cause_type), 0) = 0 OR coalesce(length(p_cause_id), 0) = 0 THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: occurred_at, cause_type and cause_id are required' USING ERRCODE = '{{InvalidSqlState}}';
                END IF;
                IF p_postings IS NULL OR jsonb_typeof(p_postings) <> 'array' OR jsonb_array_length(p_postings) < 2 THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: a journal entry needs at least two postings' USING ERRCODE = '{{InvalidSqlState}}';
                END IF;

                FOR v_posting IN SELECT value FROM jsonb_array_elements(p_postings) LOOP
                    IF jsonb_typeof(v_posting) <> 'object' OR jsonb_typeof(v_posting->'account') IS DISTINCT FROM 'string'
                       OR jsonb_typeof(v_posting->'kind') IS DISTINCT FROM 'string'
                       OR coalesce(jsonb_typeof(v_posting->'contest_id'), 'null') NOT IN ('string', 'null')
                       OR coalesce(jsonb_typeof(v_posting->'user_id'), 'null') NOT IN ('string', 'null') THEN
                        RAISE EXCEPTION 'LEDGER_INVALID: malformed posting %', v_posting USING ERRCODE = '{{InvalidSqlState}}';
                    END IF;
                    IF jsonb_typeof(v_posting->'amount') IS DISTINCT FROM 'number' THEN
                        RAISE EXCEPTION 'LEDGER_INVALID: posting % has no numeric amount', v_posting USING ERRCODE = '{{InvalidSqlState}}';
                    END IF;
                    v_amount := (v_posting->>'amount')::numeric;
                    IF v_amount = 0 OR v_amount <> trunc(v_amount) OR abs(v_amount) > 9223372036854775807 THEN
                        RAISE EXCEPTION 'LEDGER_INVALID: posting amount % must be a non-zero integer (minor units)', v_amount USING ERRCODE = '{{InvalidSqlState}}';
                    END IF;
                    v_account := v_posting->>'account';
                    v_kind := v_posting->>'kind';
                    v_contest := v_posting->>'contest_id';
                    v_user := v_posting->>'user_id';
                    v_expected := CASE v_kind
                        WHEN 'stripe_clearing'  THEN CASE WHEN v_contest IS NULL AND v_user IS NULL THEN 'clearing:' || p_currency END
                        WHEN 'contest_escrow'   THEN CASE WHEN v_user IS NULL THEN 'escrow:' || v_contest END
                        WHEN 'winnings_payable' THEN CASE WHEN v_contest IS NULL THEN 'payable:' || v_user || ':' || p_currency END
                        WHEN 'platform_revenue' THEN CASE WHEN v_contest IS NULL AND v_user IS NULL THEN 'revenue:' || p_currency END
                        WHEN 'refunds'          THEN CASE WHEN v_contest IS NULL AND v_user IS NULL THEN 'refunds:' || p_currency END
                    END;
                    IF v_expected IS NULL OR v_expected <> v_account THEN
                        RAISE EXCEPTION 'LEDGER_INVALID: account % does not follow the id convention of kind % (expected %)', v_account, v_kind, coalesce(v_expected, '<invalid kind/contest/user combination>')
                            USING ERRCODE = '{{InvalidSqlState}}';
                    END IF;
                    v_sum := v_sum + v_amount;
                END LOOP;

                IF (SELECT count(DISTINCT value->>'account') FROM jsonb_array_elements(p_postings)) <> jsonb_array_length(p_postings) THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: an account appears more than once in one entry (net the amounts first)' USING ERRCODE = '{{InvalidSqlState}}';
                END IF;
                IF v_sum <> 0 THEN
                    RAISE EXCEPTION 'LEDGER_IMBALANCE: postings of % sum to %, not 0', p_idempotency_key, v_sum USING ERRCODE = '{{ImbalanceSqlState}}';
                END IF;

                -- Canonical content: kind, currency, cause and the postings sorted by account. jsonb's text form
                -- is deterministic (keys ordered), so equal content always gives the same hash.
                SELECT encode(sha256(convert_to(jsonb_build_object(
                           'kind', p_kind, 'currency', p_currency, 'cause_type', p_cause_type, 'cause_id', p_cause_id,
                           'postings', (SELECT jsonb_agg(jsonb_build_object(
                                                'account', e->>'account', 'kind', e->>'kind', 'contest_id', e->>'contest_id',
                                                'user_id', e->>'user_id', 'amount', (e->>'amount')::numeric::bigint)
                                            ORDER BY e->>'account')
                                          FROM jsonb_array_elements(p_postings) e))::text, 'UTF8')), 'hex')
                  INTO v_hash;

                -- Idempotency: the unique key is claimed first; a concurrent caller with the same key waits here
                -- until the first commits (then sees its entry) or rolls back (then writes its own).
                SELECT le.id, le.content_hash INTO v_entry, v_existing_hash FROM ledger_entries le WHERE le.idempotency_key = p_idempotency_key;
                IF NOT FOUND THEN
                    INSERT INTO ledger_entries (idempotency_key, kind, currency, occurred_at, cause_type, cause_id, description, correlation_id, content_hash)
                    VALUES (p_idempotency_key, p_kind, p_currency, p_occurred_at, p_cause_type, p_cause_id, p_description, p_correlation_id, v_hash)
                    ON CONFLICT (idempotency_key) DO NOTHING
                    RETURNING id INTO v_entry;
                    IF v_entry IS NULL THEN
                        SELECT le.id, le.content_hash INTO v_entry, v_existing_hash FROM ledger_entries le WHERE le.idempotency_key = p_idempotency_key;
                    ELSE
                        v_existing_hash := NULL;
                    END IF;
                END IF;
                IF v_existing_hash IS NOT NULL THEN
                    IF v_existing_hash <> v_hash THEN
                        RAISE EXCEPTION 'IDEMPOTENCY_CONFLICT: idempotency key % already names journal entry % with different content', p_idempotency_key, v_entry
                            USING ERRCODE = '{{IdempotencyConflictSqlState}}';
                    END IF;
                    RETURN QUERY SELECT v_entry, false;
                    RETURN;
                END IF;

                -- Missing accounts are created, then every affected account is locked in id order (no deadlocks).
                INSERT INTO ledger_accounts (id, kind, contest_id, user_id, currency, balance, created_at)
                SELECT e->>'account', e->>'kind', e->>'contest_id', e->>'user_id', p_currency, 0, p_occurred_at
                  FROM jsonb_array_elements(p_postings) e
                 ORDER BY e->>'account'
                ON CONFLICT (id) DO NOTHING;

                FOR v_row IN
                    SELECT a.id, a.kind, a.currency, a.balance, (e->>'amount')::numeric::bigint AS amount
                      FROM ledger_accounts a JOIN jsonb_array_elements(p_postings) e ON e->>'account' = a.id
                     ORDER BY a.id
                       FOR UPDATE OF a
                LOOP
                    IF v_row.currency <> p_currency THEN
                        RAISE EXCEPTION 'LEDGER_ACCOUNT_MISMATCH: account % is in %, the entry is in %', v_row.id, v_row.currency, p_currency
                            USING ERRCODE = '{{AccountMismatchSqlState}}';
                    END IF;
                    IF v_row.kind = 'contest_escrow' AND v_row.balance + v_row.amount < 0 THEN
                        RAISE EXCEPTION 'ESCROW_NEGATIVE: escrow % holds %, posting % would take it below zero', v_row.id, v_row.balance, v_row.amount
                            USING ERRCODE = '{{EscrowNegativeSqlState}}';
                    END IF;
                END LOOP;

                INSERT INTO ledger_postings (entry_id, account_id, amount)
                SELECT v_entry, e->>'account', (e->>'amount')::numeric::bigint
                  FROM jsonb_array_elements(p_postings) e
                 ORDER BY e->>'account';

                UPDATE ledger_accounts a
                   SET balance = a.balance + (e->>'amount')::numeric::bigint
                  FROM jsonb_array_elements(p_postings) e
                 WHERE a.id = e->>'account';

                RETURN QUERY SELECT v_entry, true;
            END
            $fn$;
            """);
        this.Protect("ledger_entries");
        this.Protect("ledger_postings");
    }

    public override void Down()
    {
        Execute.Sql("""
            DROP FUNCTION fairway_post_journal_entry(text, text, text, timestamptz, text, text, text, text, jsonb);
            DROP TABLE ledger_postings;
            DROP TABLE ledger_entries;
            DROP TABLE ledger_accounts;
            DROP FUNCTION fairway_ledger_check_entry();
            DROP FUNCTION fairway_ledger_accounts_guard();
            """);
    }
}
