-- Fairway schema snapshot: what the FluentMigrator migrations produce (public schema; Hangfire's schema excluded).
-- Schema version: 202612010060
-- Generated: 2026-12-01 by `fairway db snapshot`
-- Changes (migrations applied, oldest first):
--   202611230001 foundation: audit_events (append-only), job_probe_results, test_clock
--   202611230002 runbook_executions (append-only)
--   202611230003 golf and contests: tournaments, contests, contest_config_versions, contest_fields, scoring_audits, entries
--   202611230004 ingestion: ingestion_payloads, ingestion_events (append-only), contest_standings (derived)
--   202611230005 ledger: ledger_accounts, ledger_entries and ledger_postings (append-only), fairway_post_journal_entry
--   202611230006 payments: entries payment columns, payments, refunds, stripe_webhook_events and stripe_webhook_processing (append-only), user_stripe_accounts, disputes
--   202611230007 settlement: settlements, settlement_results, settlement_runs (append-only), settlement_requests, settlement_correction_checks (append-only)
--   202611230008 payouts: payout_jobs, payout_transfers, payout_transfer_attempts (append-only), payout_scheduler_runs (append-only)
--   202611230010 kill_switch (engaged on a fresh deployment), reconciliation_runs (append-only)
--   202611230011 recurring_job_pauses
--   202611300001 money paths without dead ends: payout_transfer_sends, refund_sends, refund retries and funding, payment sweep schedule, stripe_webhook_attempt_log
--   202611300050 ledger: processing_fees account kind, ledger_corrections (append-only); stripe_reconciliation_cursors, _items, _runs (append-only)
--   202611300200 runbook_executions: executions (start, steps, finish) with reason and incident
--   202611300201 database_backups (append-only)
--   202611300300 entry-set versions kept by triggers on entries; contest_standings without the per-entry result document
--   202611300301 ledger: fairway_post_journal_entries (batch writer, one balance update per account); fairway_post_journal_entry is its batch of one
--   202611300302 stripe_webhook_pending (the webhook backlog) and stripe_webhook_wakeup; who processed an event, in which batch
--   202612010060 payments.stripe_status and stripe_status_at: the PaymentIntent status the sweeper last read

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: fairway_entries_deleted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_entries_deleted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM fairway_entry_set_bump(ARRAY(SELECT DISTINCT contest_id FROM deleted WHERE status = 'ACTIVE'));
    RETURN NULL;
END
$$;

--
-- Name: fairway_entries_inserted(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_entries_inserted() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM fairway_entry_set_bump(ARRAY(SELECT DISTINCT contest_id FROM inserted WHERE status = 'ACTIVE'));
    RETURN NULL;
END
$$;

--
-- Name: fairway_entries_updated(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_entries_updated() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.contest_id IS DISTINCT FROM NEW.contest_id THEN
        PERFORM fairway_entry_set_bump(ARRAY[OLD.contest_id, NEW.contest_id]);
    ELSE
        INSERT INTO contest_entry_sets (contest_id, version) VALUES (NEW.contest_id, nextval('contest_entry_set_version_seq'))
        ON CONFLICT (contest_id) DO UPDATE SET version = excluded.version;
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: fairway_entry_set_bump(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_entry_set_bump(p_contests text[]) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO contest_entry_sets (contest_id, version)
    SELECT c, nextval('contest_entry_set_version_seq') FROM (SELECT DISTINCT unnest(p_contests) AS c) d ORDER BY c
    ON CONFLICT (contest_id) DO UPDATE SET version = excluded.version;
$$;

--
-- Name: fairway_ledger_accounts_guard(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_ledger_accounts_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id IS DISTINCT FROM OLD.id OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.contest_id IS DISTINCT FROM OLD.contest_id OR NEW.user_id IS DISTINCT FROM OLD.user_id
       OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'ledger_accounts: % refused (only the balance may change)', TG_OP
            USING ERRCODE = 'FWA01';
    END IF;
    RETURN NEW;
END
$$;

--
-- Name: fairway_ledger_check_entry(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_ledger_check_entry() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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
            USING ERRCODE = 'FWL02';
    END IF;
    IF v_sum <> 0 THEN
        RAISE EXCEPTION 'LEDGER_IMBALANCE: journal entry % postings sum to %, not 0', v_entry, v_sum
            USING ERRCODE = 'FWL02';
    END IF;
    IF v_foreign > 0 THEN
        RAISE EXCEPTION 'LEDGER_ACCOUNT_MISMATCH: journal entry % posts to % account(s) of another currency', v_entry, v_foreign
            USING ERRCODE = 'FWL05';
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: fairway_post_journal_entries(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_post_journal_entries(p_entries jsonb) RETURNS TABLE(entry_id bigint, created boolean)
    LANGUAGE plpgsql
    AS $_$
#variable_conflict use_column
DECLARE
    v_item jsonb;
    p_idempotency_key text; p_kind text; p_currency text; p_occurred_at timestamptz;
    p_cause_type text; p_cause_id text; p_description text; p_correlation_id text; p_postings jsonb;
    v_posting jsonb;
    v_account text;
    v_kind text;
    v_contest text;
    v_user text;
    v_amount numeric;
    v_expected text;
    v_sum numeric;
    v_hash text;
    v_entry bigint;
    v_existing_hash text;
    v_row record;
    v_ids bigint[] := '{}';
    v_created boolean[] := '{}';
    v_fast boolean;
    -- the postings of the entries created now, in batch order
    n_seq int[] := '{}'; n_entry bigint[] := '{}'; n_account text[] := '{}'; n_kind text[] := '{}'; n_contest text[] := '{}';
    n_user text[] := '{}'; n_amount bigint[] := '{}'; n_currency text[] := '{}'; n_occurred timestamptz[] := '{}';
BEGIN
    IF p_entries IS NULL OR jsonb_typeof(p_entries) <> 'array' THEN
        RAISE EXCEPTION 'LEDGER_INVALID: a batch must be a JSON array of journal entries' USING ERRCODE = 'FWL01';
    END IF;

    -- Fast path, set-based: every entry well-formed, new and named once in the batch (the normal case). Anything else
    -- (an invalid entry, a key posted before, a key twice, a concurrent post of the same key) takes the per-entry
    -- path below, which reports the first problem exactly as a single post always has.
    v_fast := NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(p_entries) AS t(item)
         WHERE NOT (
               jsonb_typeof(t.item) = 'object'
               AND coalesce(length(t.item->>'idempotency_key'), 0) BETWEEN 1 AND 200
               AND coalesce(t.item->>'kind' ~ '^[a-z][a-z0-9_.]{0,99}$', false)
               AND coalesce(t.item->>'currency' ~ '^[a-z]{3}$', false)
               AND jsonb_typeof(t.item->'occurred_at') = 'string'
               AND coalesce(length(t.item->>'cause_type'), 0) > 0 AND coalesce(length(t.item->>'cause_id'), 0) > 0
               AND coalesce(jsonb_typeof(t.item->'description'), 'null') IN ('string', 'null')
               AND coalesce(jsonb_typeof(t.item->'correlation_id'), 'null') IN ('string', 'null')
               AND jsonb_typeof(t.item->'postings') = 'array' AND jsonb_array_length(t.item->'postings') >= 2
               AND (SELECT bool_and(CASE WHEN jsonb_typeof(v) = 'object' AND jsonb_typeof(v->'account') = 'string' AND jsonb_typeof(v->'kind') = 'string'
                                          AND coalesce(jsonb_typeof(v->'contest_id'), 'null') IN ('string', 'null')
                                          AND coalesce(jsonb_typeof(v->'user_id'), 'null') IN ('string', 'null')
                                          AND jsonb_typeof(v->'amount') = 'number'
                                         THEN (v->>'amount')::numeric <> 0 AND (v->>'amount')::numeric = trunc((v->>'amount')::numeric)
                                              AND abs((v->>'amount')::numeric) <= 9223372036854775807
                                              AND v->>'account' = CASE (v->>'kind')
    WHEN 'stripe_clearing'  THEN CASE WHEN (v->>'contest_id') IS NULL AND (v->>'user_id') IS NULL THEN 'clearing:' || (t.item->>'currency') END
    WHEN 'contest_escrow'   THEN CASE WHEN (v->>'user_id') IS NULL THEN 'escrow:' || (v->>'contest_id') END
    WHEN 'winnings_payable' THEN CASE WHEN (v->>'contest_id') IS NULL THEN 'payable:' || (v->>'user_id') || ':' || (t.item->>'currency') END
    WHEN 'platform_revenue' THEN CASE WHEN (v->>'contest_id') IS NULL AND (v->>'user_id') IS NULL THEN 'revenue:' || (t.item->>'currency') END
    WHEN 'refunds'          THEN CASE WHEN (v->>'contest_id') IS NULL AND (v->>'user_id') IS NULL THEN 'refunds:' || (t.item->>'currency') END
    WHEN 'processing_fees'  THEN CASE WHEN (v->>'contest_id') IS NULL AND (v->>'user_id') IS NULL THEN 'processing_fees:' || (t.item->>'currency') END
END
                                         ELSE false END)
                           AND count(DISTINCT v->>'account') = count(*)
                           AND sum(CASE WHEN jsonb_typeof(v->'amount') = 'number' THEN (v->>'amount')::numeric END) = 0
                      FROM jsonb_array_elements(t.item->'postings') AS p(v))));
    IF v_fast THEN
        BEGIN
            -- Content hashes exactly as the per-entry path computes them; no key may exist already or twice.
            WITH input AS (SELECT t.ord, t.item FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(item, ord)),
            hashed AS (
                SELECT i.ord, i.item->>'idempotency_key' AS key, i.item->>'kind' AS kind, i.item->>'currency' AS ccy,
                       (i.item->>'occurred_at')::timestamptz AS occurred, i.item->>'cause_type' AS cause_type, i.item->>'cause_id' AS cause_id,
                       i.item->>'description' AS description, i.item->>'correlation_id' AS correlation_id,
                       encode(sha256(convert_to(jsonb_build_object(
                           'kind', i.item->>'kind', 'currency', i.item->>'currency', 'cause_type', i.item->>'cause_type', 'cause_id', i.item->>'cause_id',
                           'postings', (SELECT jsonb_agg(jsonb_build_object(
                                                'account', e->>'account', 'kind', e->>'kind', 'contest_id', e->>'contest_id',
                                                'user_id', e->>'user_id', 'amount', (e->>'amount')::numeric::bigint)
                                            ORDER BY e->>'account')
                                          FROM jsonb_array_elements(i.item->'postings') e))::text, 'UTF8')), 'hex') AS hash
                  FROM input i),
            inserted AS (
                INSERT INTO ledger_entries (idempotency_key, kind, currency, occurred_at, cause_type, cause_id, description, correlation_id, content_hash)
                SELECT h.key, h.kind, h.ccy, h.occurred, h.cause_type, h.cause_id, h.description, h.correlation_id, h.hash
                  FROM hashed h
                 WHERE NOT EXISTS (SELECT 1 FROM ledger_entries le WHERE le.idempotency_key = h.key)
                   AND (SELECT count(*) FROM hashed d WHERE d.key = h.key) = 1
                 ORDER BY h.ord
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING ledger_entries.id, ledger_entries.idempotency_key)
            SELECT array_agg(x.id ORDER BY h.ord), count(x.id) = count(*) INTO v_ids, v_fast
              FROM hashed h LEFT JOIN inserted x ON x.idempotency_key = h.key;
            IF NOT v_fast THEN
                RAISE EXCEPTION 'fast path not applicable' USING ERRCODE = 'FWL99';
            END IF;
            v_created := array_fill(true, ARRAY[coalesce(array_length(v_ids, 1), 0)]);
            SELECT array_agg(q.seq ORDER BY q.seq), array_agg(q.entry ORDER BY q.seq), array_agg(q.account ORDER BY q.seq), array_agg(q.kind ORDER BY q.seq),
                   array_agg(q.contest ORDER BY q.seq), array_agg(q.usr ORDER BY q.seq), array_agg(q.amount ORDER BY q.seq),
                   array_agg(q.ccy ORDER BY q.seq), array_agg(q.occurred ORDER BY q.seq)
              INTO n_seq, n_entry, n_account, n_kind, n_contest, n_user, n_amount, n_currency, n_occurred
              FROM (SELECT (row_number() OVER (ORDER BY t.ord, v->>'account'))::int AS seq, v_ids[t.ord] AS entry, v->>'account' AS account, v->>'kind' AS kind,
                           v->>'contest_id' AS contest, v->>'user_id' AS usr, (v->>'amount')::numeric::bigint AS amount,
                           t.item->>'currency' AS ccy, (t.item->>'occurred_at')::timestamptz AS occurred
                      FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(item, ord), jsonb_array_elements(t.item->'postings') AS p(v)) q;
        EXCEPTION WHEN SQLSTATE 'FWL99' THEN
            v_fast := false;
            v_ids := '{}';
            v_created := '{}';
        END;
    END IF;

    IF NOT v_fast THEN
        FOR v_item IN SELECT value FROM jsonb_array_elements(p_entries) LOOP
            p_idempotency_key := v_item->>'idempotency_key';
            p_kind := v_item->>'kind';
            p_currency := v_item->>'currency';
            p_occurred_at := (v_item->>'occurred_at')::timestamptz;
            p_cause_type := v_item->>'cause_type';
            p_cause_id := v_item->>'cause_id';
            p_description := v_item->>'description';
            p_correlation_id := v_item->>'correlation_id';
            p_postings := v_item->'postings';
            IF jsonb_typeof(p_postings) = 'null' THEN p_postings := NULL; END IF;
            v_sum := 0;

            IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
                RAISE EXCEPTION 'LEDGER_INVALID: idempotency key must be 1..200 characters' USING ERRCODE = 'FWL01';
            END IF;
            IF p_kind IS NULL OR p_kind !~ '^[a-z][a-z0-9_.]{0,99}$' THEN
                RAISE EXCEPTION 'LEDGER_INVALID: entry kind % must match ^[a-z][a-z0-9_.]{0,99}$', p_kind USING ERRCODE = 'FWL01';
            END IF;
            IF p_currency IS NULL OR p_currency !~ '^[a-z]{3}$' THEN
                RAISE EXCEPTION 'LEDGER_INVALID: currency % must be three lowercase letters', p_currency USING ERRCODE = 'FWL01';
            END IF;
            IF p_occurred_at IS NULL OR coalesce(length(p_cause_type), 0) = 0 OR coalesce(length(p_cause_id), 0) = 0 THEN
                RAISE EXCEPTION 'LEDGER_INVALID: occurred_at, cause_type and cause_id are required' USING ERRCODE = 'FWL01';
            END IF;
            IF p_postings IS NULL OR jsonb_typeof(p_postings) <> 'array' OR jsonb_array_length(p_postings) < 2 THEN
                RAISE EXCEPTION 'LEDGER_INVALID: a journal entry needs at least two postings' USING ERRCODE = 'FWL01';
            END IF;

            FOR v_posting IN SELECT value FROM jsonb_array_elements(p_postings) LOOP
                IF jsonb_typeof(v_posting) <> 'object' OR jsonb_typeof(v_posting->'account') IS DISTINCT FROM 'string'
                   OR jsonb_typeof(v_posting->'kind') IS DISTINCT FROM 'string'
                   OR coalesce(jsonb_typeof(v_posting->'contest_id'), 'null') NOT IN ('string', 'null')
                   OR coalesce(jsonb_typeof(v_posting->'user_id'), 'null') NOT IN ('string', 'null') THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: malformed posting %', v_posting USING ERRCODE = 'FWL01';
                END IF;
                IF jsonb_typeof(v_posting->'amount') IS DISTINCT FROM 'number' THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: posting % has no numeric amount', v_posting USING ERRCODE = 'FWL01';
                END IF;
                v_amount := (v_posting->>'amount')::numeric;
                IF v_amount = 0 OR v_amount <> trunc(v_amount) OR abs(v_amount) > 9223372036854775807 THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: posting amount % must be a non-zero integer (minor units)', v_amount USING ERRCODE = 'FWL01';
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
                                WHEN 'processing_fees'  THEN CASE WHEN v_contest IS NULL AND v_user IS NULL THEN 'processing_fees:' || p_currency END
                END;
                IF v_expected IS NULL OR v_expected <> v_account THEN
                    RAISE EXCEPTION 'LEDGER_INVALID: account % does not follow the id convention of kind % (expected %)', v_account, v_kind, coalesce(v_expected, '<invalid kind/contest/user combination>')
                        USING ERRCODE = 'FWL01';
                END IF;
                v_sum := v_sum + v_amount;
            END LOOP;

            IF (SELECT count(DISTINCT value->>'account') FROM jsonb_array_elements(p_postings)) <> jsonb_array_length(p_postings) THEN
                RAISE EXCEPTION 'LEDGER_INVALID: an account appears more than once in one entry (net the amounts first)' USING ERRCODE = 'FWL01';
            END IF;
            IF v_sum <> 0 THEN
                RAISE EXCEPTION 'LEDGER_IMBALANCE: postings of % sum to %, not 0', p_idempotency_key, v_sum USING ERRCODE = 'FWL02';
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
                        USING ERRCODE = 'FWL04';
                END IF;
                v_ids := v_ids || v_entry;
                v_created := v_created || false;
                CONTINUE;
            END IF;

            v_ids := v_ids || v_entry;
            v_created := v_created || true;
            FOR v_posting IN SELECT value FROM jsonb_array_elements(p_postings) ORDER BY value->>'account' LOOP
                n_seq := n_seq || (coalesce(array_length(n_seq, 1), 0) + 1);
                n_entry := n_entry || v_entry;
                n_account := n_account || (v_posting->>'account');
                n_kind := n_kind || (v_posting->>'kind');
                n_contest := n_contest || (v_posting->>'contest_id');
                n_user := n_user || (v_posting->>'user_id');
                n_amount := n_amount || (v_posting->>'amount')::numeric::bigint;
                n_currency := n_currency || p_currency;
                n_occurred := n_occurred || p_occurred_at;
            END LOOP;
        END LOOP;
    END IF;

    IF coalesce(array_length(n_seq, 1), 0) > 0 THEN
        -- Missing accounts are created (as by the first entry of the batch naming them), then every affected account
        -- is locked in id order (no deadlocks) and checked once against all of its postings in batch order.
        INSERT INTO ledger_accounts (id, kind, contest_id, user_id, currency, balance, created_at)
        SELECT DISTINCT ON (p.account) p.account, p.kind, p.contest, p.usr, p.ccy, 0, p.occurred
          FROM unnest(n_seq, n_account, n_kind, n_contest, n_user, n_currency, n_occurred) AS p(seq, account, kind, contest, usr, ccy, occurred)
         ORDER BY p.account, p.seq
        ON CONFLICT (id) DO NOTHING;

        PERFORM 1 FROM ledger_accounts a WHERE a.id IN (SELECT DISTINCT unnest(n_account)) ORDER BY a.id FOR UPDATE OF a;
        -- The first problem in account id order; within an account, a currency mismatch before an escrow going negative.
        SELECT q.account, q.currency, q.ccy, q.before, q.amount, q.ccy <> q.currency INTO v_row
          FROM (SELECT p.account, p.seq, p.amount, p.ccy, a.currency, a.kind,
                       a.balance + coalesce(sum(p.amount) OVER (PARTITION BY p.account ORDER BY p.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
                  FROM unnest(n_seq, n_account, n_currency, n_amount) AS p(seq, account, ccy, amount)
                  JOIN ledger_accounts a ON a.id = p.account) q
         WHERE q.ccy <> q.currency OR (q.kind = 'contest_escrow' AND q.before + q.amount < 0)
         ORDER BY q.account, q.ccy <> q.currency DESC, q.seq
         LIMIT 1;
        IF FOUND THEN
            IF v_row.ccy <> v_row.currency THEN
                RAISE EXCEPTION 'LEDGER_ACCOUNT_MISMATCH: account % is in %, the entry is in %', v_row.account, v_row.currency, v_row.ccy
                    USING ERRCODE = 'FWL05';
            END IF;
            RAISE EXCEPTION 'ESCROW_NEGATIVE: escrow % holds %, posting % would take it below zero', v_row.account, v_row.before, v_row.amount
                USING ERRCODE = 'FWL03';
        END IF;

        INSERT INTO ledger_postings (entry_id, account_id, amount)
        SELECT p.entry, p.account, p.amount
          FROM unnest(n_seq, n_entry, n_account, n_amount) AS p(seq, entry, account, amount)
         ORDER BY p.seq;

        UPDATE ledger_accounts a
           SET balance = a.balance + d.total
          FROM (SELECT p.account, sum(p.amount)::bigint AS total FROM unnest(n_account, n_amount) AS p(account, amount) GROUP BY p.account) d
         WHERE a.id = d.account;
    END IF;

    RETURN QUERY SELECT r.id, r.created FROM unnest(v_ids, v_created) WITH ORDINALITY AS r(id, created, ord) ORDER BY r.ord;
END
$_$;

--
-- Name: fairway_post_journal_entry(text, text, text, timestamp with time zone, text, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_post_journal_entry(p_idempotency_key text, p_kind text, p_currency text, p_occurred_at timestamp with time zone, p_cause_type text, p_cause_id text, p_description text, p_correlation_id text, p_postings jsonb) RETURNS TABLE(entry_id bigint, created boolean)
    LANGUAGE sql
    AS $$
    SELECT b.entry_id, b.created FROM fairway_post_journal_entries(jsonb_build_array(jsonb_build_object(
        'idempotency_key', p_idempotency_key, 'kind', p_kind, 'currency', p_currency, 'occurred_at', p_occurred_at,
        'cause_type', p_cause_type, 'cause_id', p_cause_id, 'description', p_description, 'correlation_id', p_correlation_id,
        'postings', p_postings))) b;
$$;

--
-- Name: fairway_refuse_mutation(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fairway_refuse_mutation() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'FWA01';
END
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: VersionInfo; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public."VersionInfo" (
    "Version" bigint NOT NULL,
    "AppliedOn" timestamp without time zone,
    "Description" character varying(1024)
);

--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id bigint NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    reason text NOT NULL,
    before_state jsonb,
    after_state jsonb,
    evidence jsonb,
    correlation_id text,
    CONSTRAINT audit_events_action_check CHECK (((length(action) >= 1) AND (length(action) <= 200))),
    CONSTRAINT audit_events_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 200))),
    CONSTRAINT audit_events_entity_id_check CHECK (((length(entity_id) >= 1) AND (length(entity_id) <= 200))),
    CONSTRAINT audit_events_entity_type_check CHECK (((length(entity_type) >= 1) AND (length(entity_type) <= 100))),
    CONSTRAINT audit_events_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000)))
);

--
-- Name: audit_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.audit_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.audit_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: contest_config_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contest_config_versions (
    contest_id text NOT NULL,
    version integer NOT NULL,
    config_text text NOT NULL,
    hash text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    published_at timestamp with time zone NOT NULL,
    published_by text NOT NULL,
    CONSTRAINT contest_config_versions_hash_check CHECK ((hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT contest_config_versions_version_check CHECK ((version >= 1))
);

--
-- Name: contest_entry_set_version_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.contest_entry_set_version_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: contest_entry_sets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contest_entry_sets (
    contest_id text NOT NULL,
    version bigint NOT NULL
);

--
-- Name: contest_fields; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contest_fields (
    id bigint NOT NULL,
    contest_id text NOT NULL,
    source text NOT NULL,
    primary_field jsonb NOT NULL,
    alternates jsonb NOT NULL,
    hash text NOT NULL,
    selected_at timestamp with time zone NOT NULL,
    selected_by text NOT NULL,
    CONSTRAINT contest_fields_hash_check CHECK ((hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT contest_fields_source_check CHECK ((source = ANY (ARRAY['static_import'::text, 'provider_sync'::text])))
);

--
-- Name: contest_fields_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.contest_fields ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.contest_fields_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: contest_standings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contest_standings (
    contest_id text NOT NULL,
    ingestion_event_id bigint NOT NULL,
    config_version integer NOT NULL,
    entry_set_hash text NOT NULL,
    output_hash text NOT NULL,
    computed_at timestamp with time zone NOT NULL
);

--
-- Name: contests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.contests (
    id text NOT NULL,
    tournament_id text NOT NULL,
    name text NOT NULL,
    state text NOT NULL,
    active_config_version integer NOT NULL,
    lock_time timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    state_changed_at timestamp with time zone NOT NULL,
    CONSTRAINT contests_active_config_version_check CHECK ((active_config_version >= 1)),
    CONSTRAINT contests_id_check CHECK ((id ~ '^[a-z0-9][a-z0-9-]{2,63}$'::text)),
    CONSTRAINT contests_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT contests_state_check CHECK ((state = ANY (ARRAY['SCHEDULED'::text, 'LOCKED'::text, 'LIVE'::text, 'COMPLETE'::text, 'CANCELLED'::text, 'ERROR'::text])))
);

--
-- Name: database_backups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.database_backups (
    id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    outcome text NOT NULL,
    actor text NOT NULL,
    archive text,
    size_bytes bigint,
    sha256 text,
    schema_version bigint NOT NULL,
    manifest jsonb,
    error text,
    CONSTRAINT database_backups_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 200))),
    CONSTRAINT database_backups_archive_check CHECK ((length(archive) <= 1000)),
    CONSTRAINT database_backups_check CHECK ((finished_at >= started_at)),
    CONSTRAINT database_backups_check1 CHECK (((outcome = 'succeeded'::text) = ((archive IS NOT NULL) AND (sha256 IS NOT NULL) AND (manifest IS NOT NULL) AND (error IS NULL)))),
    CONSTRAINT database_backups_error_check CHECK ((length(error) <= 4000)),
    CONSTRAINT database_backups_outcome_check CHECK ((outcome = ANY (ARRAY['succeeded'::text, 'failed'::text]))),
    CONSTRAINT database_backups_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT database_backups_size_bytes_check CHECK ((size_bytes >= 0))
);

--
-- Name: database_backups_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.database_backups ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.database_backups_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: disputes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.disputes (
    id text NOT NULL,
    payment_intent_id text NOT NULL,
    entry_id text,
    charge_id text,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    status text NOT NULL,
    reason text,
    loss_ledger text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT disputes_amount_check CHECK ((amount > 0)),
    CONSTRAINT disputes_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT disputes_id_check CHECK ((id ~ '^dp_'::text)),
    CONSTRAINT disputes_loss_ledger_check CHECK ((loss_ledger = ANY (ARRAY['posted'::text, 'posted_from_refunds'::text, 'not_posted'::text]))),
    CONSTRAINT disputes_payment_intent_id_check CHECK ((payment_intent_id ~ '^pi_'::text)),
    CONSTRAINT disputes_status_check CHECK (((length(status) >= 1) AND (length(status) <= 100)))
);

--
-- Name: entries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.entries (
    id text NOT NULL,
    contest_id text NOT NULL,
    user_id text NOT NULL,
    golfers jsonb NOT NULL,
    status text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    entry_fee bigint,
    currency character(3),
    client_idempotency_key text,
    request_hash text,
    CONSTRAINT entries_client_idempotency_key_check CHECK (((length(client_idempotency_key) >= 1) AND (length(client_idempotency_key) <= 100))),
    CONSTRAINT entries_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT entries_entry_fee_check CHECK ((entry_fee > 0)),
    CONSTRAINT entries_id_check CHECK (((length(id) >= 1) AND (length(id) <= 64))),
    CONSTRAINT entries_request_hash_check CHECK ((request_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT entries_status_check CHECK ((status = ANY (ARRAY['PENDING_PAYMENT'::text, 'ACTIVE'::text, 'VOID'::text, 'REFUNDED'::text, 'PAYMENT_FAILED'::text]))),
    CONSTRAINT entries_user_id_check CHECK (((length(user_id) >= 1) AND (length(user_id) <= 200)))
);

--
-- Name: ingestion_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ingestion_events (
    id bigint NOT NULL,
    tournament_id text NOT NULL,
    fetched_at timestamp with time zone NOT NULL,
    http_status integer,
    transport_error text,
    payload_hash text,
    schema_version integer NOT NULL,
    outcome text NOT NULL,
    errors jsonb NOT NULL,
    anomalies jsonb NOT NULL,
    provider_status text,
    duration_ms integer NOT NULL,
    CONSTRAINT ingestion_events_duration_ms_check CHECK ((duration_ms >= 0)),
    CONSTRAINT ingestion_events_outcome_check CHECK ((outcome = ANY (ARRAY['accepted'::text, 'duplicate'::text, 'rejected'::text, 'fetch_failed'::text])))
);

--
-- Name: ingestion_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.ingestion_events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ingestion_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ingestion_payloads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ingestion_payloads (
    payload_hash text NOT NULL,
    body bytea NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    CONSTRAINT ingestion_payloads_payload_hash_check CHECK ((payload_hash ~ '^[0-9a-f]{64}$'::text))
);

--
-- Name: job_probe_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_probe_results (
    probe_id uuid NOT NULL,
    requested_by_pid integer NOT NULL,
    executed_by_server text NOT NULL,
    executed_by_pid integer NOT NULL,
    executed_at timestamp with time zone NOT NULL
);

--
-- Name: kill_switch; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.kill_switch (
    id smallint NOT NULL,
    engaged boolean NOT NULL,
    changed_at timestamp with time zone NOT NULL,
    changed_by text NOT NULL,
    reason text NOT NULL,
    CONSTRAINT kill_switch_changed_by_check CHECK (((length(changed_by) >= 1) AND (length(changed_by) <= 200))),
    CONSTRAINT kill_switch_id_check CHECK ((id = 1)),
    CONSTRAINT kill_switch_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000)))
);

--
-- Name: ledger_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_accounts (
    id text NOT NULL,
    kind text NOT NULL,
    contest_id text,
    user_id text,
    currency character(3) NOT NULL,
    balance bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT ledger_accounts_contest_id_check CHECK (((length(contest_id) >= 1) AND (length(contest_id) <= 200))),
    CONSTRAINT ledger_accounts_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT ledger_accounts_escrow_not_negative CHECK (((kind <> 'contest_escrow'::text) OR (balance >= 0))),
    CONSTRAINT ledger_accounts_id_check CHECK (((length(id) >= 1) AND (length(id) <= 300))),
    CONSTRAINT ledger_accounts_id_convention CHECK (
CASE kind
    WHEN 'stripe_clearing'::text THEN ((id = ('clearing:'::text || (currency)::text)) AND (contest_id IS NULL) AND (user_id IS NULL))
    WHEN 'contest_escrow'::text THEN ((contest_id IS NOT NULL) AND (id = ('escrow:'::text || contest_id)) AND (user_id IS NULL))
    WHEN 'winnings_payable'::text THEN ((user_id IS NOT NULL) AND (id = ((('payable:'::text || user_id) || ':'::text) || (currency)::text)) AND (contest_id IS NULL))
    WHEN 'platform_revenue'::text THEN ((id = ('revenue:'::text || (currency)::text)) AND (contest_id IS NULL) AND (user_id IS NULL))
    WHEN 'refunds'::text THEN ((id = ('refunds:'::text || (currency)::text)) AND (contest_id IS NULL) AND (user_id IS NULL))
    WHEN 'processing_fees'::text THEN ((id = ('processing_fees:'::text || (currency)::text)) AND (contest_id IS NULL) AND (user_id IS NULL))
    ELSE NULL::boolean
END),
    CONSTRAINT ledger_accounts_kind_check CHECK ((kind = ANY (ARRAY['stripe_clearing'::text, 'contest_escrow'::text, 'winnings_payable'::text, 'platform_revenue'::text, 'refunds'::text, 'processing_fees'::text]))),
    CONSTRAINT ledger_accounts_user_id_check CHECK (((length(user_id) >= 1) AND (length(user_id) <= 200)))
);

--
-- Name: ledger_corrections; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_corrections (
    id bigint NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    currency character(3) NOT NULL,
    amount bigint NOT NULL,
    from_account text NOT NULL,
    to_account text NOT NULL,
    ledger_entry_id bigint NOT NULL,
    reason text NOT NULL,
    requested_by text NOT NULL,
    evidence jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    correlation_id text,
    CONSTRAINT ledger_corrections_amount_check CHECK ((amount > 0)),
    CONSTRAINT ledger_corrections_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT ledger_corrections_evidence_check CHECK ((jsonb_typeof(evidence) = 'object'::text)),
    CONSTRAINT ledger_corrections_kind_check CHECK ((kind = ANY (ARRAY['dispute_loss_outside_escrow'::text, 'refund_outside_fairway'::text, 'transfer_outside_fairway'::text, 'payment_outside_fairway'::text, 'processing_fee_adjustment'::text]))),
    CONSTRAINT ledger_corrections_reason_check CHECK (((length(reason) >= 3) AND (length(reason) <= 500))),
    CONSTRAINT ledger_corrections_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 200))),
    CONSTRAINT ledger_corrections_subject_check CHECK ((subject ~ '^(dp|re|tr|pi|txn)_[A-Za-z0-9_]{1,200}$'::text)),
    CONSTRAINT ledger_corrections_subject_fits_kind CHECK (
CASE kind
    WHEN 'dispute_loss_outside_escrow'::text THEN (subject ~ '^dp_'::text)
    WHEN 'refund_outside_fairway'::text THEN (subject ~ '^re_'::text)
    WHEN 'transfer_outside_fairway'::text THEN (subject ~ '^tr_'::text)
    WHEN 'payment_outside_fairway'::text THEN (subject ~ '^pi_'::text)
    WHEN 'processing_fee_adjustment'::text THEN (subject ~ '^txn_'::text)
    ELSE NULL::boolean
END),
    CONSTRAINT ledger_corrections_two_accounts CHECK ((from_account <> to_account))
);

--
-- Name: ledger_corrections_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.ledger_corrections ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.ledger_corrections_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ledger_entries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_entries (
    id bigint NOT NULL,
    idempotency_key text NOT NULL,
    kind text NOT NULL,
    currency character(3) NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    cause_type text NOT NULL,
    cause_id text NOT NULL,
    description text,
    correlation_id text,
    content_hash text NOT NULL,
    CONSTRAINT ledger_entries_cause_id_check CHECK (((length(cause_id) >= 1) AND (length(cause_id) <= 200))),
    CONSTRAINT ledger_entries_cause_type_check CHECK (((length(cause_type) >= 1) AND (length(cause_type) <= 100))),
    CONSTRAINT ledger_entries_content_hash_check CHECK ((content_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT ledger_entries_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT ledger_entries_description_check CHECK ((length(description) <= 2000)),
    CONSTRAINT ledger_entries_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200))),
    CONSTRAINT ledger_entries_kind_check CHECK ((kind ~ '^[a-z][a-z0-9_.]{0,99}$'::text))
);

--
-- Name: ledger_entries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.ledger_entries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ledger_entries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ledger_postings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_postings (
    id bigint NOT NULL,
    entry_id bigint NOT NULL,
    account_id text NOT NULL,
    amount bigint NOT NULL,
    CONSTRAINT ledger_postings_amount_check CHECK ((amount <> 0))
);

--
-- Name: ledger_postings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.ledger_postings ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.ledger_postings_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: payments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payments (
    entry_id text NOT NULL,
    payment_intent_id text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    status text NOT NULL,
    last_error text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    sweep_count integer DEFAULT 0 NOT NULL,
    next_sweep_at timestamp with time zone,
    stripe_status text,
    stripe_status_at timestamp with time zone,
    CONSTRAINT payments_amount_check CHECK ((amount > 0)),
    CONSTRAINT payments_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT payments_last_error_check CHECK ((length(last_error) <= 2000)),
    CONSTRAINT payments_payment_intent_id_check CHECK ((payment_intent_id ~ '^pi_[A-Za-z0-9_]{1,200}$'::text)),
    CONSTRAINT payments_status_check CHECK ((status = ANY (ARRAY['PENDING'::text, 'SUCCEEDED'::text, 'FAILED'::text, 'CANCELED'::text]))),
    CONSTRAINT payments_stripe_status_check CHECK ((length(stripe_status) <= 40)),
    CONSTRAINT payments_sweep_count_check CHECK ((sweep_count >= 0))
);

--
-- Name: payout_jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_jobs (
    id bigint NOT NULL,
    settlement_id bigint NOT NULL,
    contest_id text NOT NULL,
    status text NOT NULL,
    hold_reason text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    completed_at timestamp with time zone,
    transfer_count integer NOT NULL,
    total_amount bigint NOT NULL,
    completed_count integer,
    failed_count integer,
    CONSTRAINT payout_jobs_check CHECK (((status = 'held'::text) = (hold_reason IS NOT NULL))),
    CONSTRAINT payout_jobs_check1 CHECK (((status = 'complete'::text) = (completed_at IS NOT NULL))),
    CONSTRAINT payout_jobs_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'held'::text, 'complete'::text]))),
    CONSTRAINT payout_jobs_total_amount_check CHECK ((total_amount >= 0)),
    CONSTRAINT payout_jobs_transfer_count_check CHECK ((transfer_count >= 0))
);

--
-- Name: payout_jobs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.payout_jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.payout_jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: payout_scheduler_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_scheduler_runs (
    id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    outcome text NOT NULL,
    triggered_by text NOT NULL,
    worker text NOT NULL,
    attempted integer NOT NULL,
    completed integer NOT NULL,
    retryable integer NOT NULL,
    failed_terminal integer NOT NULL,
    jobs_completed integer NOT NULL,
    error text,
    correlation_id text,
    CONSTRAINT payout_scheduler_runs_outcome_check CHECK ((outcome = ANY (ARRAY['ok'::text, 'kill_switch_engaged'::text, 'failed'::text])))
);

--
-- Name: payout_scheduler_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.payout_scheduler_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.payout_scheduler_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: payout_transfer_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_transfer_attempts (
    transfer_id bigint NOT NULL,
    attempt integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    outcome text NOT NULL,
    error_class text,
    error text,
    stripe_transfer_id text,
    idempotency_key text NOT NULL,
    ledger_entry_id bigint,
    http_status integer,
    worker text NOT NULL,
    correlation_id text,
    CONSTRAINT payout_transfer_attempts_attempt_check CHECK ((attempt >= 1)),
    CONSTRAINT payout_transfer_attempts_check CHECK (((outcome = 'completed'::text) = (ledger_entry_id IS NOT NULL))),
    CONSTRAINT payout_transfer_attempts_outcome_check CHECK ((outcome = ANY (ARRAY['completed'::text, 'retryable'::text, 'failed_terminal'::text])))
);

--
-- Name: payout_transfer_sends; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_transfer_sends (
    transfer_id bigint NOT NULL,
    attempt integer NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    idempotency_key text NOT NULL,
    worker text NOT NULL,
    correlation_id text,
    CONSTRAINT payout_transfer_sends_attempt_check CHECK ((attempt >= 1))
);

--
-- Name: payout_transfers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.payout_transfers (
    id bigint NOT NULL,
    payout_job_id bigint NOT NULL,
    contest_id text NOT NULL,
    user_id text NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    max_attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    stripe_transfer_id text,
    destination text,
    failure_reason text,
    last_error text,
    last_error_class text,
    ledger_entry_id bigint,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT payout_transfers_amount_check CHECK ((amount > 0)),
    CONSTRAINT payout_transfers_attempt_count_check CHECK ((attempt_count >= 0)),
    CONSTRAINT payout_transfers_check CHECK (((status = 'completed'::text) = ((stripe_transfer_id IS NOT NULL) AND (ledger_entry_id IS NOT NULL)))),
    CONSTRAINT payout_transfers_check1 CHECK (((status <> 'failed_terminal'::text) OR (failure_reason IS NOT NULL))),
    CONSTRAINT payout_transfers_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT payout_transfers_max_attempts_check CHECK ((max_attempts >= 1)),
    CONSTRAINT payout_transfers_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'processing'::text, 'retryable'::text, 'completed'::text, 'failed_terminal'::text])))
);

--
-- Name: payout_transfers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.payout_transfers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.payout_transfers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: reconciliation_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.reconciliation_runs (
    id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    triggered_by text NOT NULL,
    checks text[] NOT NULL,
    violation_count integer NOT NULL,
    violations jsonb NOT NULL,
    correlation_id text,
    CONSTRAINT reconciliation_runs_triggered_by_check CHECK (((length(triggered_by) >= 1) AND (length(triggered_by) <= 200))),
    CONSTRAINT reconciliation_runs_violation_count_check CHECK ((violation_count >= 0)),
    CONSTRAINT reconciliation_runs_violations_check CHECK ((jsonb_typeof(violations) = 'array'::text))
);

--
-- Name: reconciliation_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.reconciliation_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.reconciliation_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: recurring_job_pauses; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.recurring_job_pauses (
    recurring_job_id text NOT NULL,
    paused_at timestamp with time zone NOT NULL,
    paused_by text NOT NULL,
    reason text NOT NULL,
    CONSTRAINT recurring_job_pauses_reason_check CHECK (((length(reason) >= 3) AND (length(reason) <= 500))),
    CONSTRAINT recurring_job_pauses_recurring_job_id_check CHECK (((length(recurring_job_id) >= 1) AND (length(recurring_job_id) <= 100)))
);

--
-- Name: refund_sends; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refund_sends (
    refund_id text NOT NULL,
    attempt integer NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    idempotency_key text NOT NULL,
    worker text NOT NULL,
    correlation_id text,
    CONSTRAINT refund_sends_attempt_check CHECK ((attempt >= 1))
);

--
-- Name: refunds; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refunds (
    id text NOT NULL,
    entry_id text NOT NULL,
    payment_intent_id text NOT NULL,
    amount bigint NOT NULL,
    currency character(3) NOT NULL,
    reason text NOT NULL,
    status text NOT NULL,
    stripe_refund_id text,
    failure_reason text,
    requested_by text NOT NULL,
    requested_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    funded_from text NOT NULL,
    attempt_count integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 8 NOT NULL,
    next_attempt_at timestamp with time zone,
    CONSTRAINT refunds_amount_check CHECK ((amount > 0)),
    CONSTRAINT refunds_attempt_count_check CHECK ((attempt_count >= 0)),
    CONSTRAINT refunds_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT refunds_failure_reason_check CHECK ((length(failure_reason) <= 2000)),
    CONSTRAINT refunds_funded_from_check CHECK ((funded_from = ANY (ARRAY['escrow'::text, 'house'::text]))),
    CONSTRAINT refunds_id_check CHECK ((id ~ '^rf_'::text)),
    CONSTRAINT refunds_id_follows_entry CHECK ((id = ('rf_'::text || entry_id))),
    CONSTRAINT refunds_max_attempts_check CHECK ((max_attempts >= 1)),
    CONSTRAINT refunds_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 500))),
    CONSTRAINT refunds_requested_by_check CHECK (((length(requested_by) >= 1) AND (length(requested_by) <= 200))),
    CONSTRAINT refunds_settled_has_stripe_id CHECK (((status <> ALL (ARRAY['SUBMITTED'::text, 'SUCCEEDED'::text])) OR (stripe_refund_id IS NOT NULL))),
    CONSTRAINT refunds_status_check CHECK ((status = ANY (ARRAY['REQUESTED'::text, 'SUBMITTED'::text, 'SUCCEEDED'::text, 'FAILED'::text, 'CANCELED'::text]))),
    CONSTRAINT refunds_stripe_refund_id_check CHECK ((stripe_refund_id ~ '^re_'::text))
);

--
-- Name: runbook_execution_ids; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.runbook_execution_ids
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: runbook_executions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runbook_executions (
    id bigint NOT NULL,
    recorded_at timestamp with time zone NOT NULL,
    operator text NOT NULL,
    runbook text NOT NULL,
    step text NOT NULL,
    outcome text NOT NULL,
    notes text DEFAULT ''::text NOT NULL,
    correlation_id text,
    execution_id bigint,
    reason text,
    incident text,
    CONSTRAINT runbook_executions_incident_check CHECK ((incident ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$'::text)),
    CONSTRAINT runbook_executions_notes_check CHECK ((length(notes) <= 4000)),
    CONSTRAINT runbook_executions_operator_check CHECK (((length(operator) >= 1) AND (length(operator) <= 200))),
    CONSTRAINT runbook_executions_outcome_check CHECK ((outcome = ANY (ARRAY['started'::text, 'succeeded'::text, 'failed'::text, 'escalated'::text, 'rolled_back'::text]))),
    CONSTRAINT runbook_executions_reason_check CHECK (((length(reason) >= 3) AND (length(reason) <= 500))),
    CONSTRAINT runbook_executions_runbook_check CHECK ((runbook ~ '^[a-z0-9][a-z0-9-]{0,99}$'::text)),
    CONSTRAINT runbook_executions_step_check CHECK (((length(step) >= 1) AND (length(step) <= 200)))
);

--
-- Name: runbook_executions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.runbook_executions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.runbook_executions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: scoring_audits; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.scoring_audits (
    id bigint NOT NULL,
    contest_id text NOT NULL,
    config_version integer NOT NULL,
    purpose text NOT NULL,
    leaderboard_event_id bigint,
    leaderboard_hash text NOT NULL,
    entry_set_hash text NOT NULL,
    output_hash text NOT NULL,
    computed_at timestamp with time zone NOT NULL,
    CONSTRAINT scoring_audits_entry_set_hash_check CHECK ((entry_set_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT scoring_audits_leaderboard_hash_check CHECK ((leaderboard_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT scoring_audits_output_hash_check CHECK ((output_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT scoring_audits_purpose_check CHECK ((purpose = ANY (ARRAY['standings'::text, 'settlement'::text, 'replay'::text])))
);

--
-- Name: scoring_audits_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.scoring_audits ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.scoring_audits_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: settlement_correction_checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlement_correction_checks (
    id bigint NOT NULL,
    settlement_id bigint NOT NULL,
    contest_id text NOT NULL,
    ingestion_event_id bigint NOT NULL,
    leaderboard_hash text NOT NULL,
    settled_output_hash text NOT NULL,
    corrected_output_hash text NOT NULL,
    outcome text NOT NULL,
    action text,
    checked_at timestamp with time zone NOT NULL,
    CONSTRAINT settlement_correction_checks_action_check CHECK ((action = ANY (ARRAY['payouts_held'::text, 'recorded_only'::text]))),
    CONSTRAINT settlement_correction_checks_check CHECK (((outcome = 'mismatch'::text) = (action IS NOT NULL))),
    CONSTRAINT settlement_correction_checks_outcome_check CHECK ((outcome = ANY (ARRAY['match'::text, 'mismatch'::text])))
);

--
-- Name: settlement_correction_checks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.settlement_correction_checks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.settlement_correction_checks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: settlement_requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlement_requests (
    contest_id text NOT NULL,
    first_enqueued_at timestamp with time zone NOT NULL,
    last_enqueued_at timestamp with time zone NOT NULL,
    enqueue_count integer NOT NULL,
    last_job_id text,
    CONSTRAINT settlement_requests_enqueue_count_check CHECK ((enqueue_count >= 1))
);

--
-- Name: settlement_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlement_results (
    settlement_id bigint NOT NULL,
    entry_id text NOT NULL,
    user_id text NOT NULL,
    golfers jsonb NOT NULL,
    rank integer NOT NULL,
    score bigint NOT NULL,
    prize bigint NOT NULL,
    CONSTRAINT settlement_results_prize_check CHECK ((prize >= 0)),
    CONSTRAINT settlement_results_rank_check CHECK ((rank >= 1))
);

--
-- Name: settlement_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlement_runs (
    id bigint NOT NULL,
    contest_id text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    outcome text NOT NULL,
    settlement_id bigint,
    error_code text,
    error_json jsonb,
    triggered_by text NOT NULL,
    correlation_id text,
    CONSTRAINT settlement_runs_check CHECK (((outcome = 'failed'::text) = (error_code IS NOT NULL))),
    CONSTRAINT settlement_runs_outcome_check CHECK ((outcome = ANY (ARRAY['settled'::text, 'failed'::text])))
);

--
-- Name: settlement_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.settlement_runs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.settlement_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: settlements; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settlements (
    id bigint NOT NULL,
    contest_id text NOT NULL,
    config_version integer NOT NULL,
    config_hash text NOT NULL,
    leaderboard_event_id bigint NOT NULL,
    leaderboard_hash text NOT NULL,
    complete_event_id bigint NOT NULL,
    entry_set_hash text NOT NULL,
    entry_count integer NOT NULL,
    output_hash text NOT NULL,
    gross bigint NOT NULL,
    rake bigint NOT NULL,
    net bigint NOT NULL,
    currency text NOT NULL,
    winners integer NOT NULL,
    started_at timestamp with time zone NOT NULL,
    committed_at timestamp with time zone NOT NULL,
    load_ms integer NOT NULL,
    compute_ms integer NOT NULL,
    persist_ms integer NOT NULL,
    settled_by text NOT NULL,
    correlation_id text,
    CONSTRAINT settlements_check CHECK (((rake + net) = gross)),
    CONSTRAINT settlements_compute_ms_check CHECK ((compute_ms >= 0)),
    CONSTRAINT settlements_config_hash_check CHECK ((config_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT settlements_config_version_check CHECK ((config_version >= 1)),
    CONSTRAINT settlements_currency_check CHECK ((currency ~ '^[a-z]{3}$'::text)),
    CONSTRAINT settlements_entry_count_check CHECK ((entry_count >= 0)),
    CONSTRAINT settlements_entry_set_hash_check CHECK ((entry_set_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT settlements_gross_check CHECK ((gross >= 0)),
    CONSTRAINT settlements_load_ms_check CHECK ((load_ms >= 0)),
    CONSTRAINT settlements_net_check CHECK ((net >= 0)),
    CONSTRAINT settlements_output_hash_check CHECK ((output_hash ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT settlements_persist_ms_check CHECK ((persist_ms >= 0)),
    CONSTRAINT settlements_rake_check CHECK ((rake >= 0)),
    CONSTRAINT settlements_winners_check CHECK ((winners >= 0))
);

--
-- Name: settlements_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.settlements_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: settlements_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.settlements_id_seq OWNED BY public.settlements.id;

--
-- Name: stripe_reconciliation_cursors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_reconciliation_cursors (
    stream text NOT NULL,
    watermark bigint NOT NULL,
    scan_ceiling bigint,
    scan_target bigint,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT stripe_reconciliation_cursors_check CHECK (((scan_ceiling IS NULL) = (scan_target IS NULL))),
    CONSTRAINT stripe_reconciliation_cursors_stream_check CHECK ((stream = ANY (ARRAY['payment_intents'::text, 'refunds'::text, 'transfers'::text, 'balance_transactions'::text, 'local_successes'::text]))),
    CONSTRAINT stripe_reconciliation_cursors_watermark_check CHECK ((watermark >= 0))
);

--
-- Name: stripe_reconciliation_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_reconciliation_items (
    subject text NOT NULL,
    status text NOT NULL,
    discrepancy text,
    detail text NOT NULL,
    first_seen_at timestamp with time zone NOT NULL,
    status_since timestamp with time zone NOT NULL,
    last_checked_at timestamp with time zone NOT NULL,
    last_run_id bigint,
    resolution text,
    CONSTRAINT stripe_reconciliation_items_check CHECK ((((status = 'discrepancy'::text) = (discrepancy IS NOT NULL)) OR (status = 'dismissed'::text))),
    CONSTRAINT stripe_reconciliation_items_detail_check CHECK (((length(detail) >= 1) AND (length(detail) <= 2000))),
    CONSTRAINT stripe_reconciliation_items_discrepancy_check CHECK ((discrepancy = ANY (ARRAY['stripe_money_without_local_record'::text, 'local_success_without_stripe_money'::text, 'amount_mismatch'::text, 'currency_mismatch'::text, 'second_transfer_for_payout'::text, 'fee_mismatch'::text, 'stripe_listing_overflow'::text]))),
    CONSTRAINT stripe_reconciliation_items_resolution_check CHECK ((length(resolution) <= 2000)),
    CONSTRAINT stripe_reconciliation_items_status_check CHECK ((status = ANY (ARRAY['awaiting_stripe'::text, 'awaiting_fairway'::text, 'discrepancy'::text, 'resolved'::text, 'dismissed'::text]))),
    CONSTRAINT stripe_reconciliation_items_subject_check CHECK ((subject ~ '^(pi|re|tr|txn|dp|ch)_[A-Za-z0-9_]{1,200}$'::text))
);

--
-- Name: stripe_reconciliation_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_reconciliation_runs (
    id bigint NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    triggered_by text NOT NULL,
    outcome text NOT NULL,
    streams jsonb NOT NULL,
    examined integer NOT NULL,
    rechecked integer NOT NULL,
    fees_booked integer NOT NULL,
    awaiting integer NOT NULL,
    violation_count integer NOT NULL,
    violations jsonb NOT NULL,
    balances jsonb NOT NULL,
    kill_switch_engaged_by_run boolean NOT NULL,
    error text,
    correlation_id text,
    CONSTRAINT stripe_reconciliation_runs_awaiting_check CHECK ((awaiting >= 0)),
    CONSTRAINT stripe_reconciliation_runs_balances_check CHECK ((jsonb_typeof(balances) = 'array'::text)),
    CONSTRAINT stripe_reconciliation_runs_error_check CHECK ((length(error) <= 2000)),
    CONSTRAINT stripe_reconciliation_runs_examined_check CHECK ((examined >= 0)),
    CONSTRAINT stripe_reconciliation_runs_fees_booked_check CHECK ((fees_booked >= 0)),
    CONSTRAINT stripe_reconciliation_runs_outcome_check CHECK ((outcome = ANY (ARRAY['completed'::text, 'failed'::text]))),
    CONSTRAINT stripe_reconciliation_runs_rechecked_check CHECK ((rechecked >= 0)),
    CONSTRAINT stripe_reconciliation_runs_streams_check CHECK ((jsonb_typeof(streams) = 'array'::text)),
    CONSTRAINT stripe_reconciliation_runs_triggered_by_check CHECK (((length(triggered_by) >= 1) AND (length(triggered_by) <= 200))),
    CONSTRAINT stripe_reconciliation_runs_violation_count_check CHECK ((violation_count >= 0)),
    CONSTRAINT stripe_reconciliation_runs_violations_check CHECK ((jsonb_typeof(violations) = 'array'::text))
);

--
-- Name: stripe_reconciliation_runs_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.stripe_reconciliation_runs ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.stripe_reconciliation_runs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: stripe_webhook_attempt_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_webhook_attempt_log (
    id bigint NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    detail text,
    correlation_id text,
    CONSTRAINT stripe_webhook_attempt_log_detail_check CHECK ((length(detail) <= 2000)),
    CONSTRAINT stripe_webhook_attempt_log_kind_check CHECK ((kind = ANY (ARRAY['failed'::text, 'parked'::text, 'replayed'::text])))
);

--
-- Name: stripe_webhook_attempt_log_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.stripe_webhook_attempt_log ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.stripe_webhook_attempt_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: stripe_webhook_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_webhook_events (
    event_id text NOT NULL,
    type text NOT NULL,
    api_version text,
    stripe_created bigint NOT NULL,
    livemode boolean NOT NULL,
    payload text NOT NULL,
    received_at timestamp with time zone NOT NULL,
    CONSTRAINT stripe_webhook_events_event_id_check CHECK (((event_id ~ '^evt_'::text) AND (length(event_id) <= 255))),
    CONSTRAINT stripe_webhook_events_type_check CHECK (((length(type) >= 1) AND (length(type) <= 200)))
);

--
-- Name: stripe_webhook_pending; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_webhook_pending (
    event_id text NOT NULL,
    received_at timestamp with time zone NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    CONSTRAINT stripe_webhook_pending_attempts_check CHECK ((attempts >= 0))
);

--
-- Name: stripe_webhook_processing; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_webhook_processing (
    event_id text NOT NULL,
    processed_at timestamp with time zone NOT NULL,
    outcome text NOT NULL,
    detail text,
    processed_by text,
    batch_started_at timestamp with time zone,
    written_at timestamp with time zone,
    CONSTRAINT stripe_webhook_processing_detail_check CHECK ((length(detail) <= 2000)),
    CONSTRAINT stripe_webhook_processing_outcome_check CHECK ((outcome = ANY (ARRAY['applied'::text, 'ignored'::text, 'superseded'::text]))),
    CONSTRAINT stripe_webhook_processing_processed_by_check CHECK ((length(processed_by) <= 300))
);

--
-- Name: stripe_webhook_wakeup; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.stripe_webhook_wakeup (
    id smallint NOT NULL,
    requested boolean NOT NULL,
    CONSTRAINT stripe_webhook_wakeup_id_check CHECK ((id = 1))
);

--
-- Name: test_clock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.test_clock (
    id smallint NOT NULL,
    now_utc timestamp with time zone NOT NULL,
    CONSTRAINT test_clock_id_check CHECK ((id = 1))
);

--
-- Name: tournaments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tournaments (
    id text NOT NULL,
    provider_event_id text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT tournaments_id_check CHECK ((id ~ '^[a-z0-9][a-z0-9-]{2,63}$'::text)),
    CONSTRAINT tournaments_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT tournaments_provider_event_id_check CHECK (((length(provider_event_id) >= 1) AND (length(provider_event_id) <= 200)))
);

--
-- Name: user_stripe_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_stripe_accounts (
    user_id text NOT NULL,
    stripe_account_id text NOT NULL,
    charges_enabled boolean NOT NULL,
    payouts_enabled boolean NOT NULL,
    details_submitted boolean NOT NULL,
    stripe_state_created bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT user_stripe_accounts_stripe_account_id_check CHECK ((stripe_account_id ~ '^acct_'::text)),
    CONSTRAINT user_stripe_accounts_user_id_check CHECK (((length(user_id) >= 1) AND (length(user_id) <= 200)))
);

--
-- Name: settlements id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements ALTER COLUMN id SET DEFAULT nextval('public.settlements_id_seq'::regclass);

--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);

--
-- Name: contest_config_versions contest_config_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_config_versions
    ADD CONSTRAINT contest_config_versions_pkey PRIMARY KEY (contest_id, version);

--
-- Name: contest_entry_sets contest_entry_sets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_entry_sets
    ADD CONSTRAINT contest_entry_sets_pkey PRIMARY KEY (contest_id);

--
-- Name: contest_fields contest_fields_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_fields
    ADD CONSTRAINT contest_fields_pkey PRIMARY KEY (id);

--
-- Name: contest_standings contest_standings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_standings
    ADD CONSTRAINT contest_standings_pkey PRIMARY KEY (contest_id);

--
-- Name: contests contests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contests
    ADD CONSTRAINT contests_pkey PRIMARY KEY (id);

--
-- Name: database_backups database_backups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.database_backups
    ADD CONSTRAINT database_backups_pkey PRIMARY KEY (id);

--
-- Name: disputes disputes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.disputes
    ADD CONSTRAINT disputes_pkey PRIMARY KEY (id);

--
-- Name: entries entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.entries
    ADD CONSTRAINT entries_pkey PRIMARY KEY (id);

--
-- Name: entries entries_user_idempotency_key_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.entries
    ADD CONSTRAINT entries_user_idempotency_key_unique UNIQUE (user_id, client_idempotency_key);

--
-- Name: ingestion_events ingestion_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ingestion_events
    ADD CONSTRAINT ingestion_events_pkey PRIMARY KEY (id);

--
-- Name: ingestion_payloads ingestion_payloads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ingestion_payloads
    ADD CONSTRAINT ingestion_payloads_pkey PRIMARY KEY (payload_hash);

--
-- Name: job_probe_results job_probe_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_probe_results
    ADD CONSTRAINT job_probe_results_pkey PRIMARY KEY (probe_id);

--
-- Name: kill_switch kill_switch_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.kill_switch
    ADD CONSTRAINT kill_switch_pkey PRIMARY KEY (id);

--
-- Name: ledger_accounts ledger_accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_accounts
    ADD CONSTRAINT ledger_accounts_pkey PRIMARY KEY (id);

--
-- Name: ledger_corrections ledger_corrections_kind_subject_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_kind_subject_key UNIQUE (kind, subject);

--
-- Name: ledger_corrections ledger_corrections_ledger_entry_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_ledger_entry_id_key UNIQUE (ledger_entry_id);

--
-- Name: ledger_corrections ledger_corrections_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_pkey PRIMARY KEY (id);

--
-- Name: ledger_entries ledger_entries_idempotency_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entries
    ADD CONSTRAINT ledger_entries_idempotency_key_key UNIQUE (idempotency_key);

--
-- Name: ledger_entries ledger_entries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_entries
    ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (id);

--
-- Name: ledger_postings ledger_postings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_postings
    ADD CONSTRAINT ledger_postings_pkey PRIMARY KEY (id);

--
-- Name: payments payments_payment_intent_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_payment_intent_id_key UNIQUE (payment_intent_id);

--
-- Name: payments payments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_pkey PRIMARY KEY (entry_id);

--
-- Name: payout_jobs payout_jobs_contest_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_jobs
    ADD CONSTRAINT payout_jobs_contest_id_key UNIQUE (contest_id);

--
-- Name: payout_jobs payout_jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_jobs
    ADD CONSTRAINT payout_jobs_pkey PRIMARY KEY (id);

--
-- Name: payout_jobs payout_jobs_settlement_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_jobs
    ADD CONSTRAINT payout_jobs_settlement_id_key UNIQUE (settlement_id);

--
-- Name: payout_scheduler_runs payout_scheduler_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_scheduler_runs
    ADD CONSTRAINT payout_scheduler_runs_pkey PRIMARY KEY (id);

--
-- Name: payout_transfer_attempts payout_transfer_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfer_attempts
    ADD CONSTRAINT payout_transfer_attempts_pkey PRIMARY KEY (transfer_id, attempt);

--
-- Name: payout_transfer_sends payout_transfer_sends_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfer_sends
    ADD CONSTRAINT payout_transfer_sends_pkey PRIMARY KEY (transfer_id, attempt);

--
-- Name: payout_transfers payout_transfers_contest_id_user_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfers
    ADD CONSTRAINT payout_transfers_contest_id_user_id_key UNIQUE (contest_id, user_id);

--
-- Name: payout_transfers payout_transfers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfers
    ADD CONSTRAINT payout_transfers_pkey PRIMARY KEY (id);

--
-- Name: payout_transfers payout_transfers_stripe_transfer_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfers
    ADD CONSTRAINT payout_transfers_stripe_transfer_id_key UNIQUE (stripe_transfer_id);

--
-- Name: reconciliation_runs reconciliation_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reconciliation_runs
    ADD CONSTRAINT reconciliation_runs_pkey PRIMARY KEY (id);

--
-- Name: recurring_job_pauses recurring_job_pauses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.recurring_job_pauses
    ADD CONSTRAINT recurring_job_pauses_pkey PRIMARY KEY (recurring_job_id);

--
-- Name: refund_sends refund_sends_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refund_sends
    ADD CONSTRAINT refund_sends_pkey PRIMARY KEY (refund_id, attempt);

--
-- Name: refunds refunds_entry_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_entry_id_key UNIQUE (entry_id);

--
-- Name: refunds refunds_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_pkey PRIMARY KEY (id);

--
-- Name: refunds refunds_stripe_refund_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_stripe_refund_id_key UNIQUE (stripe_refund_id);

--
-- Name: runbook_executions runbook_executions_execution_required; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.runbook_executions
    ADD CONSTRAINT runbook_executions_execution_required CHECK ((execution_id IS NOT NULL)) NOT VALID;

--
-- Name: runbook_executions runbook_executions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runbook_executions
    ADD CONSTRAINT runbook_executions_pkey PRIMARY KEY (id);

--
-- Name: runbook_executions runbook_executions_start_has_reason; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.runbook_executions
    ADD CONSTRAINT runbook_executions_start_has_reason CHECK (((step <> 'start'::text) OR (reason IS NOT NULL))) NOT VALID;

--
-- Name: scoring_audits scoring_audits_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.scoring_audits
    ADD CONSTRAINT scoring_audits_pkey PRIMARY KEY (id);

--
-- Name: settlement_correction_checks settlement_correction_checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_correction_checks
    ADD CONSTRAINT settlement_correction_checks_pkey PRIMARY KEY (id);

--
-- Name: settlement_correction_checks settlement_correction_checks_settlement_id_ingestion_event__key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_correction_checks
    ADD CONSTRAINT settlement_correction_checks_settlement_id_ingestion_event__key UNIQUE (settlement_id, ingestion_event_id);

--
-- Name: settlement_requests settlement_requests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_requests
    ADD CONSTRAINT settlement_requests_pkey PRIMARY KEY (contest_id);

--
-- Name: settlement_results settlement_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_results
    ADD CONSTRAINT settlement_results_pkey PRIMARY KEY (settlement_id, entry_id);

--
-- Name: settlement_runs settlement_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_runs
    ADD CONSTRAINT settlement_runs_pkey PRIMARY KEY (id);

--
-- Name: settlements settlements_contest_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_contest_id_key UNIQUE (contest_id);

--
-- Name: settlements settlements_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_pkey PRIMARY KEY (id);

--
-- Name: stripe_reconciliation_cursors stripe_reconciliation_cursors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_reconciliation_cursors
    ADD CONSTRAINT stripe_reconciliation_cursors_pkey PRIMARY KEY (stream);

--
-- Name: stripe_reconciliation_items stripe_reconciliation_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_reconciliation_items
    ADD CONSTRAINT stripe_reconciliation_items_pkey PRIMARY KEY (subject);

--
-- Name: stripe_reconciliation_runs stripe_reconciliation_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_reconciliation_runs
    ADD CONSTRAINT stripe_reconciliation_runs_pkey PRIMARY KEY (id);

--
-- Name: stripe_webhook_attempt_log stripe_webhook_attempt_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_attempt_log
    ADD CONSTRAINT stripe_webhook_attempt_log_pkey PRIMARY KEY (id);

--
-- Name: stripe_webhook_events stripe_webhook_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_events
    ADD CONSTRAINT stripe_webhook_events_pkey PRIMARY KEY (event_id);

--
-- Name: stripe_webhook_pending stripe_webhook_pending_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_pending
    ADD CONSTRAINT stripe_webhook_pending_pkey PRIMARY KEY (event_id);

--
-- Name: stripe_webhook_processing stripe_webhook_processing_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_processing
    ADD CONSTRAINT stripe_webhook_processing_pkey PRIMARY KEY (event_id);

--
-- Name: stripe_webhook_wakeup stripe_webhook_wakeup_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_wakeup
    ADD CONSTRAINT stripe_webhook_wakeup_pkey PRIMARY KEY (id);

--
-- Name: test_clock test_clock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.test_clock
    ADD CONSTRAINT test_clock_pkey PRIMARY KEY (id);

--
-- Name: tournaments tournaments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tournaments
    ADD CONSTRAINT tournaments_pkey PRIMARY KEY (id);

--
-- Name: tournaments tournaments_provider_event_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tournaments
    ADD CONSTRAINT tournaments_provider_event_id_key UNIQUE (provider_event_id);

--
-- Name: user_stripe_accounts user_stripe_accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_stripe_accounts
    ADD CONSTRAINT user_stripe_accounts_pkey PRIMARY KEY (user_id);

--
-- Name: user_stripe_accounts user_stripe_accounts_stripe_account_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_stripe_accounts
    ADD CONSTRAINT user_stripe_accounts_stripe_account_id_key UNIQUE (stripe_account_id);

--
-- Name: UC_Version; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX "UC_Version" ON public."VersionInfo" USING btree ("Version");

--
-- Name: audit_events_entity_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_entity_idx ON public.audit_events USING btree (entity_type, entity_id, id);

--
-- Name: audit_events_occurred_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_occurred_idx ON public.audit_events USING btree (occurred_at, id);

--
-- Name: contest_fields_contest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contest_fields_contest_idx ON public.contest_fields USING btree (contest_id, id);

--
-- Name: contests_state_lock_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contests_state_lock_idx ON public.contests USING btree (state, lock_time);

--
-- Name: contests_tournament_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX contests_tournament_idx ON public.contests USING btree (tournament_id);

--
-- Name: database_backups_succeeded_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX database_backups_succeeded_idx ON public.database_backups USING btree (finished_at) WHERE (outcome = 'succeeded'::text);

--
-- Name: disputes_payment_intent_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX disputes_payment_intent_idx ON public.disputes USING btree (payment_intent_id);

--
-- Name: entries_contest_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX entries_contest_status_idx ON public.entries USING btree (contest_id, status);

--
-- Name: entries_pending_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX entries_pending_created_idx ON public.entries USING btree (created_at) WHERE (status = 'PENDING_PAYMENT'::text);

--
-- Name: entries_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX entries_user_idx ON public.entries USING btree (user_id, created_at);

--
-- Name: ingestion_events_accepted_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ingestion_events_accepted_idx ON public.ingestion_events USING btree (tournament_id, id) WHERE (outcome = ANY (ARRAY['accepted'::text, 'duplicate'::text]));

--
-- Name: ingestion_events_tournament_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ingestion_events_tournament_idx ON public.ingestion_events USING btree (tournament_id, id);

--
-- Name: ledger_accounts_contest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_accounts_contest_idx ON public.ledger_accounts USING btree (contest_id) WHERE (contest_id IS NOT NULL);

--
-- Name: ledger_accounts_kind_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_accounts_kind_idx ON public.ledger_accounts USING btree (kind, id);

--
-- Name: ledger_accounts_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_accounts_user_idx ON public.ledger_accounts USING btree (user_id) WHERE (user_id IS NOT NULL);

--
-- Name: ledger_corrections_created_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_corrections_created_idx ON public.ledger_corrections USING btree (created_at, id);

--
-- Name: ledger_entries_cause_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_entries_cause_idx ON public.ledger_entries USING btree (cause_type, cause_id, id);

--
-- Name: ledger_postings_account_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_postings_account_idx ON public.ledger_postings USING btree (account_id, id);

--
-- Name: ledger_postings_entry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ledger_postings_entry_idx ON public.ledger_postings USING btree (entry_id);

--
-- Name: payments_status_updated_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_status_updated_idx ON public.payments USING btree (status, updated_at);

--
-- Name: payments_sweep_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payments_sweep_due_idx ON public.payments USING btree (next_sweep_at NULLS FIRST, entry_id) WHERE (status = ANY (ARRAY['PENDING'::text, 'FAILED'::text]));

--
-- Name: payout_jobs_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_jobs_open_idx ON public.payout_jobs USING btree (status) WHERE (status <> 'complete'::text);

--
-- Name: payout_transfers_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_transfers_due_idx ON public.payout_transfers USING btree (next_attempt_at, id) WHERE ((status = ANY (ARRAY['pending'::text, 'retryable'::text])) AND (stripe_transfer_id IS NULL));

--
-- Name: payout_transfers_job_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX payout_transfers_job_idx ON public.payout_transfers USING btree (payout_job_id, status);

--
-- Name: reconciliation_runs_started_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX reconciliation_runs_started_idx ON public.reconciliation_runs USING btree (started_at, id);

--
-- Name: refunds_due_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_due_idx ON public.refunds USING btree (next_attempt_at) WHERE (status = ANY (ARRAY['REQUESTED'::text, 'SUBMITTED'::text, 'FAILED'::text]));

--
-- Name: refunds_status_updated_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refunds_status_updated_idx ON public.refunds USING btree (status, updated_at);

--
-- Name: runbook_executions_execution_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runbook_executions_execution_idx ON public.runbook_executions USING btree (execution_id, id);

--
-- Name: runbook_executions_one_finish; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX runbook_executions_one_finish ON public.runbook_executions USING btree (execution_id) WHERE (step = 'finish'::text);

--
-- Name: runbook_executions_one_start; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX runbook_executions_one_start ON public.runbook_executions USING btree (execution_id) WHERE (step = 'start'::text);

--
-- Name: runbook_executions_runbook_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runbook_executions_runbook_idx ON public.runbook_executions USING btree (runbook, id);

--
-- Name: scoring_audits_contest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX scoring_audits_contest_idx ON public.scoring_audits USING btree (contest_id, id);

--
-- Name: scoring_audits_event_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX scoring_audits_event_idx ON public.scoring_audits USING btree (leaderboard_event_id);

--
-- Name: settlement_results_winners_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX settlement_results_winners_idx ON public.settlement_results USING btree (settlement_id, user_id) WHERE (prize > 0);

--
-- Name: settlement_runs_contest_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX settlement_runs_contest_idx ON public.settlement_runs USING btree (contest_id, id);

--
-- Name: stripe_reconciliation_items_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stripe_reconciliation_items_open_idx ON public.stripe_reconciliation_items USING btree (last_checked_at, subject) WHERE (status = ANY (ARRAY['awaiting_stripe'::text, 'awaiting_fairway'::text, 'discrepancy'::text]));

--
-- Name: stripe_reconciliation_runs_started_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stripe_reconciliation_runs_started_idx ON public.stripe_reconciliation_runs USING btree (started_at, id);

--
-- Name: stripe_webhook_attempt_log_event_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stripe_webhook_attempt_log_event_idx ON public.stripe_webhook_attempt_log USING btree (event_id, id);

--
-- Name: stripe_webhook_events_received_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stripe_webhook_events_received_idx ON public.stripe_webhook_events USING btree (received_at, event_id);

--
-- Name: stripe_webhook_pending_order_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX stripe_webhook_pending_order_idx ON public.stripe_webhook_pending USING btree (received_at, event_id);

--
-- Name: audit_events audit_events_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only_row BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: audit_events audit_events_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: contest_config_versions contest_config_versions_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER contest_config_versions_append_only_row BEFORE DELETE OR UPDATE ON public.contest_config_versions FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: contest_config_versions contest_config_versions_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER contest_config_versions_append_only_truncate BEFORE TRUNCATE ON public.contest_config_versions FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: contest_fields contest_fields_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER contest_fields_append_only_row BEFORE DELETE OR UPDATE ON public.contest_fields FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: contest_fields contest_fields_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER contest_fields_append_only_truncate BEFORE TRUNCATE ON public.contest_fields FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: database_backups database_backups_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER database_backups_append_only_row BEFORE DELETE OR UPDATE ON public.database_backups FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: database_backups database_backups_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER database_backups_append_only_truncate BEFORE TRUNCATE ON public.database_backups FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: entries entries_entry_set_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER entries_entry_set_delete AFTER DELETE ON public.entries REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_entries_deleted();

--
-- Name: entries entries_entry_set_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER entries_entry_set_insert AFTER INSERT ON public.entries REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_entries_inserted();

--
-- Name: entries entries_entry_set_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER entries_entry_set_update AFTER UPDATE ON public.entries FOR EACH ROW WHEN ((((old.status = 'ACTIVE'::text) OR (new.status = 'ACTIVE'::text)) AND ((old.status IS DISTINCT FROM new.status) OR (old.id IS DISTINCT FROM new.id) OR (old.contest_id IS DISTINCT FROM new.contest_id) OR (old.user_id IS DISTINCT FROM new.user_id) OR (old.golfers IS DISTINCT FROM new.golfers) OR (old.entry_fee IS DISTINCT FROM new.entry_fee) OR (old.currency IS DISTINCT FROM new.currency)))) EXECUTE FUNCTION public.fairway_entries_updated();

--
-- Name: ingestion_events ingestion_events_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ingestion_events_append_only_row BEFORE DELETE OR UPDATE ON public.ingestion_events FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ingestion_events ingestion_events_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ingestion_events_append_only_truncate BEFORE TRUNCATE ON public.ingestion_events FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ingestion_payloads ingestion_payloads_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ingestion_payloads_append_only_row BEFORE DELETE OR UPDATE ON public.ingestion_payloads FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ingestion_payloads ingestion_payloads_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ingestion_payloads_append_only_truncate BEFORE TRUNCATE ON public.ingestion_payloads FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: job_probe_results job_probe_results_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER job_probe_results_append_only_row BEFORE DELETE OR UPDATE ON public.job_probe_results FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: job_probe_results job_probe_results_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER job_probe_results_append_only_truncate BEFORE TRUNCATE ON public.job_probe_results FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: kill_switch kill_switch_no_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER kill_switch_no_delete BEFORE DELETE ON public.kill_switch FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: kill_switch kill_switch_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER kill_switch_no_truncate BEFORE TRUNCATE ON public.kill_switch FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_accounts ledger_accounts_guard_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_accounts_guard_row BEFORE DELETE OR UPDATE ON public.ledger_accounts FOR EACH ROW EXECUTE FUNCTION public.fairway_ledger_accounts_guard();

--
-- Name: ledger_accounts ledger_accounts_guard_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_accounts_guard_truncate BEFORE TRUNCATE ON public.ledger_accounts FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_corrections ledger_corrections_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_corrections_append_only_row BEFORE DELETE OR UPDATE ON public.ledger_corrections FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_corrections ledger_corrections_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_corrections_append_only_truncate BEFORE TRUNCATE ON public.ledger_corrections FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_entries ledger_entries_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_entries_append_only_row BEFORE DELETE OR UPDATE ON public.ledger_entries FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_entries ledger_entries_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_entries_append_only_truncate BEFORE TRUNCATE ON public.ledger_entries FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_entries ledger_entries_have_postings; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER ledger_entries_have_postings AFTER INSERT ON public.ledger_entries DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.fairway_ledger_check_entry();

--
-- Name: ledger_postings ledger_postings_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_postings_append_only_row BEFORE DELETE OR UPDATE ON public.ledger_postings FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_postings ledger_postings_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER ledger_postings_append_only_truncate BEFORE TRUNCATE ON public.ledger_postings FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: ledger_postings ledger_postings_entry_balanced; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER ledger_postings_entry_balanced AFTER INSERT ON public.ledger_postings DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.fairway_ledger_check_entry();

--
-- Name: payout_scheduler_runs payout_scheduler_runs_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_scheduler_runs_append_only_row BEFORE DELETE OR UPDATE ON public.payout_scheduler_runs FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: payout_scheduler_runs payout_scheduler_runs_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_scheduler_runs_append_only_truncate BEFORE TRUNCATE ON public.payout_scheduler_runs FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: payout_transfer_attempts payout_transfer_attempts_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_transfer_attempts_append_only_row BEFORE DELETE OR UPDATE ON public.payout_transfer_attempts FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: payout_transfer_attempts payout_transfer_attempts_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_transfer_attempts_append_only_truncate BEFORE TRUNCATE ON public.payout_transfer_attempts FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: payout_transfer_sends payout_transfer_sends_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_transfer_sends_append_only_row BEFORE DELETE OR UPDATE ON public.payout_transfer_sends FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: payout_transfer_sends payout_transfer_sends_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER payout_transfer_sends_append_only_truncate BEFORE TRUNCATE ON public.payout_transfer_sends FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: reconciliation_runs reconciliation_runs_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reconciliation_runs_append_only_row BEFORE DELETE OR UPDATE ON public.reconciliation_runs FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: reconciliation_runs reconciliation_runs_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER reconciliation_runs_append_only_truncate BEFORE TRUNCATE ON public.reconciliation_runs FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: refund_sends refund_sends_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER refund_sends_append_only_row BEFORE DELETE OR UPDATE ON public.refund_sends FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: refund_sends refund_sends_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER refund_sends_append_only_truncate BEFORE TRUNCATE ON public.refund_sends FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: runbook_executions runbook_executions_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER runbook_executions_append_only_row BEFORE DELETE OR UPDATE ON public.runbook_executions FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: runbook_executions runbook_executions_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER runbook_executions_append_only_truncate BEFORE TRUNCATE ON public.runbook_executions FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: scoring_audits scoring_audits_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER scoring_audits_append_only_row BEFORE DELETE OR UPDATE ON public.scoring_audits FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: scoring_audits scoring_audits_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER scoring_audits_append_only_truncate BEFORE TRUNCATE ON public.scoring_audits FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_correction_checks settlement_correction_checks_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_correction_checks_append_only_row BEFORE DELETE OR UPDATE ON public.settlement_correction_checks FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_correction_checks settlement_correction_checks_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_correction_checks_append_only_truncate BEFORE TRUNCATE ON public.settlement_correction_checks FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_results settlement_results_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_results_append_only_row BEFORE DELETE OR UPDATE ON public.settlement_results FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_results settlement_results_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_results_append_only_truncate BEFORE TRUNCATE ON public.settlement_results FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_runs settlement_runs_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_runs_append_only_row BEFORE DELETE OR UPDATE ON public.settlement_runs FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlement_runs settlement_runs_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlement_runs_append_only_truncate BEFORE TRUNCATE ON public.settlement_runs FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlements settlements_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlements_append_only_row BEFORE DELETE OR UPDATE ON public.settlements FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: settlements settlements_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER settlements_append_only_truncate BEFORE TRUNCATE ON public.settlements FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_reconciliation_runs stripe_reconciliation_runs_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_reconciliation_runs_append_only_row BEFORE DELETE OR UPDATE ON public.stripe_reconciliation_runs FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_reconciliation_runs stripe_reconciliation_runs_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_reconciliation_runs_append_only_truncate BEFORE TRUNCATE ON public.stripe_reconciliation_runs FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_attempt_log stripe_webhook_attempt_log_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_attempt_log_append_only_row BEFORE DELETE OR UPDATE ON public.stripe_webhook_attempt_log FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_attempt_log stripe_webhook_attempt_log_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_attempt_log_append_only_truncate BEFORE TRUNCATE ON public.stripe_webhook_attempt_log FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_events stripe_webhook_events_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_events_append_only_row BEFORE DELETE OR UPDATE ON public.stripe_webhook_events FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_events stripe_webhook_events_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_events_append_only_truncate BEFORE TRUNCATE ON public.stripe_webhook_events FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_processing stripe_webhook_processing_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_processing_append_only_row BEFORE DELETE OR UPDATE ON public.stripe_webhook_processing FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: stripe_webhook_processing stripe_webhook_processing_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER stripe_webhook_processing_append_only_truncate BEFORE TRUNCATE ON public.stripe_webhook_processing FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: contest_config_versions contest_config_versions_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_config_versions
    ADD CONSTRAINT contest_config_versions_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: contest_entry_sets contest_entry_sets_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_entry_sets
    ADD CONSTRAINT contest_entry_sets_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: contest_fields contest_fields_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_fields
    ADD CONSTRAINT contest_fields_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: contest_standings contest_standings_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_standings
    ADD CONSTRAINT contest_standings_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: contest_standings contest_standings_ingestion_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contest_standings
    ADD CONSTRAINT contest_standings_ingestion_event_id_fkey FOREIGN KEY (ingestion_event_id) REFERENCES public.ingestion_events(id);

--
-- Name: contests contests_tournament_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.contests
    ADD CONSTRAINT contests_tournament_id_fkey FOREIGN KEY (tournament_id) REFERENCES public.tournaments(id);

--
-- Name: disputes disputes_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.disputes
    ADD CONSTRAINT disputes_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.entries(id);

--
-- Name: entries entries_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.entries
    ADD CONSTRAINT entries_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: ingestion_events ingestion_events_payload_hash_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ingestion_events
    ADD CONSTRAINT ingestion_events_payload_hash_fkey FOREIGN KEY (payload_hash) REFERENCES public.ingestion_payloads(payload_hash);

--
-- Name: ingestion_events ingestion_events_tournament_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ingestion_events
    ADD CONSTRAINT ingestion_events_tournament_id_fkey FOREIGN KEY (tournament_id) REFERENCES public.tournaments(id);

--
-- Name: ledger_corrections ledger_corrections_from_account_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_from_account_fkey FOREIGN KEY (from_account) REFERENCES public.ledger_accounts(id);

--
-- Name: ledger_corrections ledger_corrections_ledger_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_ledger_entry_id_fkey FOREIGN KEY (ledger_entry_id) REFERENCES public.ledger_entries(id);

--
-- Name: ledger_corrections ledger_corrections_to_account_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_corrections
    ADD CONSTRAINT ledger_corrections_to_account_fkey FOREIGN KEY (to_account) REFERENCES public.ledger_accounts(id);

--
-- Name: ledger_postings ledger_postings_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_postings
    ADD CONSTRAINT ledger_postings_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.ledger_accounts(id);

--
-- Name: ledger_postings ledger_postings_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_postings
    ADD CONSTRAINT ledger_postings_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.ledger_entries(id);

--
-- Name: payments payments_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payments
    ADD CONSTRAINT payments_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.entries(id);

--
-- Name: payout_jobs payout_jobs_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_jobs
    ADD CONSTRAINT payout_jobs_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: payout_jobs payout_jobs_settlement_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_jobs
    ADD CONSTRAINT payout_jobs_settlement_id_fkey FOREIGN KEY (settlement_id) REFERENCES public.settlements(id);

--
-- Name: payout_transfer_attempts payout_transfer_attempts_transfer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfer_attempts
    ADD CONSTRAINT payout_transfer_attempts_transfer_id_fkey FOREIGN KEY (transfer_id) REFERENCES public.payout_transfers(id);

--
-- Name: payout_transfers payout_transfers_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfers
    ADD CONSTRAINT payout_transfers_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: payout_transfers payout_transfers_payout_job_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.payout_transfers
    ADD CONSTRAINT payout_transfers_payout_job_id_fkey FOREIGN KEY (payout_job_id) REFERENCES public.payout_jobs(id);

--
-- Name: refunds refunds_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.payments(entry_id);

--
-- Name: refunds refunds_payment_intent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_payment_intent_id_fkey FOREIGN KEY (payment_intent_id) REFERENCES public.payments(payment_intent_id);

--
-- Name: scoring_audits scoring_audits_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.scoring_audits
    ADD CONSTRAINT scoring_audits_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: scoring_audits scoring_audits_event_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.scoring_audits
    ADD CONSTRAINT scoring_audits_event_fk FOREIGN KEY (leaderboard_event_id) REFERENCES public.ingestion_events(id);

--
-- Name: settlement_correction_checks settlement_correction_checks_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_correction_checks
    ADD CONSTRAINT settlement_correction_checks_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: settlement_correction_checks settlement_correction_checks_ingestion_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_correction_checks
    ADD CONSTRAINT settlement_correction_checks_ingestion_event_id_fkey FOREIGN KEY (ingestion_event_id) REFERENCES public.ingestion_events(id);

--
-- Name: settlement_correction_checks settlement_correction_checks_settlement_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_correction_checks
    ADD CONSTRAINT settlement_correction_checks_settlement_id_fkey FOREIGN KEY (settlement_id) REFERENCES public.settlements(id);

--
-- Name: settlement_requests settlement_requests_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_requests
    ADD CONSTRAINT settlement_requests_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: settlement_results settlement_results_settlement_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_results
    ADD CONSTRAINT settlement_results_settlement_id_fkey FOREIGN KEY (settlement_id) REFERENCES public.settlements(id) DEFERRABLE INITIALLY DEFERRED;

--
-- Name: settlement_runs settlement_runs_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_runs
    ADD CONSTRAINT settlement_runs_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: settlement_runs settlement_runs_settlement_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlement_runs
    ADD CONSTRAINT settlement_runs_settlement_id_fkey FOREIGN KEY (settlement_id) REFERENCES public.settlements(id) DEFERRABLE INITIALLY DEFERRED;

--
-- Name: settlements settlements_complete_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_complete_event_id_fkey FOREIGN KEY (complete_event_id) REFERENCES public.ingestion_events(id);

--
-- Name: settlements settlements_contest_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_contest_id_fkey FOREIGN KEY (contest_id) REFERENCES public.contests(id);

--
-- Name: settlements settlements_leaderboard_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_leaderboard_event_id_fkey FOREIGN KEY (leaderboard_event_id) REFERENCES public.ingestion_events(id);

--
-- Name: settlements settlements_leaderboard_hash_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settlements
    ADD CONSTRAINT settlements_leaderboard_hash_fkey FOREIGN KEY (leaderboard_hash) REFERENCES public.ingestion_payloads(payload_hash);

--
-- Name: stripe_webhook_attempt_log stripe_webhook_attempt_log_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_attempt_log
    ADD CONSTRAINT stripe_webhook_attempt_log_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.stripe_webhook_events(event_id);

--
-- Name: stripe_webhook_pending stripe_webhook_pending_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_pending
    ADD CONSTRAINT stripe_webhook_pending_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.stripe_webhook_events(event_id);

--
-- Name: stripe_webhook_processing stripe_webhook_processing_event_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.stripe_webhook_processing
    ADD CONSTRAINT stripe_webhook_processing_event_id_fkey FOREIGN KEY (event_id) REFERENCES public.stripe_webhook_events(event_id);

--
-- PostgreSQL database dump complete
--
