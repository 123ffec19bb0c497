-- Fairway schema snapshot: what the FluentMigrator migrations produce (public schema; Hangfire's schema excluded).
-- Schema version: 202611230002
-- Generated: 2026-11-23 by `fairway db snapshot`
-- Changes (migrations applied, oldest first):
--   202611230001 foundation: audit_events (append-only), job_probe_results, test_clock
--   202611230002 runbook_executions (append-only)

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
    CONSTRAINT runbook_executions_notes_check CHECK ((length(notes) <= 4000)),
    CONSTRAINT runbook_executions_operator_check CHECK (((length(operator) >= 1) AND (length(operator) <= 200))),
    CONSTRAINT runbook_executions_outcome_check CHECK ((outcome = ANY (ARRAY['started'::text, 'succeeded'::text, 'failed'::text, 'escalated'::text, 'rolled_back'::text]))),
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
-- Name: test_clock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.test_clock (
    id smallint NOT NULL,
    now_utc timestamp with time zone NOT NULL,
    CONSTRAINT test_clock_id_check CHECK ((id = 1))
);

--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);

--
-- Name: job_probe_results job_probe_results_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_probe_results
    ADD CONSTRAINT job_probe_results_pkey PRIMARY KEY (probe_id);

--
-- Name: runbook_executions runbook_executions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runbook_executions
    ADD CONSTRAINT runbook_executions_pkey PRIMARY KEY (id);

--
-- Name: test_clock test_clock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.test_clock
    ADD CONSTRAINT test_clock_pkey PRIMARY KEY (id);

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
-- Name: runbook_executions_runbook_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runbook_executions_runbook_idx ON public.runbook_executions USING btree (runbook, id);

--
-- Name: audit_events audit_events_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only_row BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: audit_events audit_events_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: job_probe_results job_probe_results_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER job_probe_results_append_only_row BEFORE DELETE OR UPDATE ON public.job_probe_results FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: job_probe_results job_probe_results_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER job_probe_results_append_only_truncate BEFORE TRUNCATE ON public.job_probe_results FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: runbook_executions runbook_executions_append_only_row; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER runbook_executions_append_only_row BEFORE DELETE OR UPDATE ON public.runbook_executions FOR EACH ROW EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- Name: runbook_executions runbook_executions_append_only_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER runbook_executions_append_only_truncate BEFORE TRUNCATE ON public.runbook_executions FOR EACH STATEMENT EXECUTE FUNCTION public.fairway_refuse_mutation();

--
-- PostgreSQL database dump complete
--
