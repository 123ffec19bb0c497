using FluentMigrator;

namespace Fairway.Migrations.Versions;

/// <summary>
/// The ledger's writer takes a batch (issue 12, docs/decisions.md 2026-11-30 "Ledger postings in batches"):
/// <c>fairway_post_journal_entries(jsonb)</c> posts many journal entries in one call with exactly the checks, content
/// hashes, idempotency and postings of as many single posts, but touches each account's balance ONCE per batch. A
/// settlement releases one contest escrow to ~1,000 winners: as 1,000 single posts, the escrow row was locked, checked
/// and updated 1,000 times in one transaction, and every later read of it (the next post, each deferred balance check at
/// commit) walked the growing chain of its row versions — quadratic. <c>fairway_post_journal_entry</c> stays the single
/// writer's signature: it is now the batch of one, so every existing caller runs the same code.
/// <para>
/// A batch is validated entry by entry (the same errors, SQLSTATEs and messages as before), its new entries and postings
/// written, then the accounts it touches are locked in id order and checked: an escrow may not go below zero at any point
/// of the batch (its postings taken in batch order), and no account may be in another currency than the entry posting to
/// it. Any failure aborts the caller's transaction, as before.
/// </para>
/// </summary>
[Migration(202611300301, "ledger: fairway_post_journal_entries (batch writer, one balance update per account); fairway_post_journal_entry is its batch of one")]
public sealed class M202611300301_LedgerBatchPosting : Migration
{
    public override void Up()
    {
        Execute.Sql($$"""
            -- p_entries: [{"idempotency_key", "kind", "currency", "occurred_at", "cause_type", "cause_id", "description", "correlation_id",
            --              "postings": [{"account", "kind", "contest_id", "user_id", "amount"}, ...]}, ...]
            -- Returns one row per input entry, in input order.
            CREATE FUNCTION fairway_post_journal_entries(p_entries jsonb)
            RETURNS TABLE (entry_id bigint, created boolean)
            LANGUAGE plpgsql AS $fn$
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
                    RAISE EXCEPTION 'LEDGER_INVALID: a batch must be a JSON array of journal entries' USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
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
                                                          AND v->>'account' = {{AccountIdOf("(v->>'kind')", "(v->>'contest_id')", "(v->>'user_id')", "(t.item->>'currency')")}}
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

            {{Indent(EntryChecks, 12)}}

            {{Indent(ClaimKey, 12)}}
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
                                USING ERRCODE = '{{M202611230005_Ledger.AccountMismatchSqlState}}';
                        END IF;
                        RAISE EXCEPTION 'ESCROW_NEGATIVE: escrow % holds %, posting % would take it below zero', v_row.account, v_row.before, v_row.amount
                            USING ERRCODE = '{{M202611230005_Ledger.EscrowNegativeSqlState}}';
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
            $fn$;

            -- The single writer's signature, unchanged: a batch of one.
            CREATE OR REPLACE FUNCTION fairway_post_journal_entry(
                p_idempotency_key text, p_kind text, p_currency text, p_occurred_at timestamptz,
                p_cause_type text, p_cause_id text, p_description text, p_correlation_id text, p_postings jsonb)
            RETURNS TABLE (entry_id bigint, created boolean)
            LANGUAGE sql AS $fn$
                SELECT b.entry_id, b.created FROM fairway_post_journal_entries(jsonb_build_array(jsonb_build_object(
                    'idempotency_key', p_idempotency_key, 'kind', p_kind, 'currency', p_currency, 'occurred_at', p_occurred_at,
                    'cause_type', p_cause_type, 'cause_id', p_cause_id, 'description', p_description, 'correlation_id', p_correlation_id,
                    'postings', p_postings))) b;
            $fn$;
            """);
    }

    public override void Down()
    {
        Execute.Sql($"DROP FUNCTION {SingleWriter};");
        Execute.Sql(SingleWriterBeforeBatches);
        Execute.Sql("DROP FUNCTION fairway_post_journal_entries(jsonb);");
    }

    const string SingleWriter = "fairway_post_journal_entry(text, text, text, timestamptz, text, text, text, text, jsonb)";

    /// <summary>
    /// The account id a posting of each kind must name, as a SQL CASE (null: an invalid kind/contest/user combination).
    /// The kinds of 202611230005 and <c>processing_fees</c> (202611300050, which added it to the single writer in place).
    /// </summary>
    static string AccountIdOf(string kind, string contest, string user, string currency) => $"""
        CASE {kind}
            WHEN 'stripe_clearing'  THEN CASE WHEN {contest} IS NULL AND {user} IS NULL THEN 'clearing:' || {currency} END
            WHEN 'contest_escrow'   THEN CASE WHEN {user} IS NULL THEN 'escrow:' || {contest} END
            WHEN 'winnings_payable' THEN CASE WHEN {contest} IS NULL THEN 'payable:' || {user} || ':' || {currency} END
            WHEN 'platform_revenue' THEN CASE WHEN {contest} IS NULL AND {user} IS NULL THEN 'revenue:' || {currency} END
            WHEN 'refunds'          THEN CASE WHEN {contest} IS NULL AND {user} IS NULL THEN 'refunds:' || {currency} END
            WHEN 'processing_fees'  THEN CASE WHEN {contest} IS NULL AND {user} IS NULL THEN 'processing_fees:' || {currency} END
        END
        """;

    /// <summary>
    /// The checks and the content hash of one journal entry in <c>p_idempotency_key … p_postings</c> (plpgsql; sets
    /// <c>v_sum</c>, <c>v_hash</c>): the batch writer's per-entry path runs them, and <see cref="Down"/> restores the single
    /// writer with them. The text is exactly what 202611230005 installed and 202611300050 edited in place (hence the odd
    /// indentation of the <c>processing_fees</c> line), because a rollback must leave the previous definition byte for byte.
    /// </summary>
    const string EntryChecks = $$"""
        IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 200 THEN
            RAISE EXCEPTION 'LEDGER_INVALID: idempotency key must be 1..200 characters' USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;
        IF p_kind IS NULL OR p_kind !~ '^[a-z][a-z0-9_.]{0,99}$' THEN
            RAISE EXCEPTION 'LEDGER_INVALID: entry kind % must match ^[a-z][a-z0-9_.]{0,99}$', p_kind USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;
        IF p_currency IS NULL OR p_currency !~ '^[a-z]{3}$' THEN
            RAISE EXCEPTION 'LEDGER_INVALID: currency % must be three lowercase letters', p_currency USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;
        IF p_occurred_at IS NULL OR coalesce(length(p_cause_type), 0) = 0 OR coalesce(length(p_cause_id), 0) = 0 THEN
            RAISE EXCEPTION 'LEDGER_INVALID: occurred_at, cause_type and cause_id are required' USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;
        IF p_postings IS NULL OR jsonb_typeof(p_postings) <> 'array' OR jsonb_array_length(p_postings) < 2 THEN
            RAISE EXCEPTION 'LEDGER_INVALID: a journal entry needs at least two postings' USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;

        FOR v_posting IN SELECT value FROM jsonb_array_elements(p_postings) LOOP
            IF jsonb_typeof(v_posting) <> 'object' OR jsonb_typeof(v_posting->'account') IS DISTINCT FROM 'string'
               OR jsonb_typeof(v_posting->'kind') IS DISTINCT FROM 'string'
               OR coalesce(jsonb_typeof(v_posting->'contest_id'), 'null') NOT IN ('string', 'null')
               OR coalesce(jsonb_typeof(v_posting->'user_id'), 'null') NOT IN ('string', 'null') THEN
                RAISE EXCEPTION 'LEDGER_INVALID: malformed posting %', v_posting USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
            END IF;
            IF jsonb_typeof(v_posting->'amount') IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION 'LEDGER_INVALID: posting % has no numeric amount', v_posting USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
            END IF;
            v_amount := (v_posting->>'amount')::numeric;
            IF v_amount = 0 OR v_amount <> trunc(v_amount) OR abs(v_amount) > 9223372036854775807 THEN
                RAISE EXCEPTION 'LEDGER_INVALID: posting amount % must be a non-zero integer (minor units)', v_amount USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
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
                    USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
            END IF;
            v_sum := v_sum + v_amount;
        END LOOP;

        IF (SELECT count(DISTINCT value->>'account') FROM jsonb_array_elements(p_postings)) <> jsonb_array_length(p_postings) THEN
            RAISE EXCEPTION 'LEDGER_INVALID: an account appears more than once in one entry (net the amounts first)' USING ERRCODE = '{{M202611230005_Ledger.InvalidSqlState}}';
        END IF;
        IF v_sum <> 0 THEN
            RAISE EXCEPTION 'LEDGER_IMBALANCE: postings of % sum to %, not 0', p_idempotency_key, v_sum USING ERRCODE = '{{M202611230005_Ledger.ImbalanceSqlState}}';
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
        """;

    /// <summary>
    /// Claims <c>p_idempotency_key</c> for the entry checked by <see cref="EntryChecks"/> (sets <c>v_entry</c>; <c>v_existing_hash</c>
    /// is not null when the key named an entry already, which must then have the same content), and leaves the caller inside
    /// <c>IF v_existing_hash IS NOT NULL</c> to answer "not created". Shared text as for <see cref="EntryChecks"/>.
    /// </summary>
    const string ClaimKey = $$"""
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
                    USING ERRCODE = '{{M202611230005_Ledger.IdempotencyConflictSqlState}}';
            END IF;
        """;

    static string Indent(string text, int spaces) =>
        string.Join('\n', text.Split('\n').Select(line => line.Length == 0 ? line : new string(' ', spaces) + line));

    /// <summary>The single writer as it stood before this migration (202611230005, edited in place by 202611300050): what Down restores.</summary>
    static readonly string SingleWriterBeforeBatches = $$"""
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
        {{Indent(EntryChecks, 4)}}

        {{Indent(ClaimKey, 4)}}
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
                        USING ERRCODE = '{{M202611230005_Ledger.AccountMismatchSqlState}}';
                END IF;
                IF v_row.kind = 'contest_escrow' AND v_row.balance + v_row.amount < 0 THEN
                    RAISE EXCEPTION 'ESCROW_NEGATIVE: escrow % holds %, posting % would take it below zero', v_row.id, v_row.balance, v_row.amount
                        USING ERRCODE = '{{M202611230005_Ledger.EscrowNegativeSqlState}}';
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
        """;
}
