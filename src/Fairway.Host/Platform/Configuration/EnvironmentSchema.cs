namespace Fairway.Host.Platform.Configuration;

/// <summary>
/// Every environment variable Fairway reads. Anything that differs between deployments (database,
/// Stripe keys, webhook secret, provider endpoint and key, JWT validation keys) is required and has
/// no default; only operational tuning knobs have documented defaults.
/// </summary>
public static class EnvironmentSchema
{
    public const string DatabaseUrl = "DATABASE_URL";
    public const string ListenUrl = "FAIRWAY_LISTEN_URL";
    public const string Production = "FAIRWAY_PRODUCTION";
    public const string TestClockEnabled = "FAIRWAY_TEST_CLOCK_ENABLED";
    public const string ShutdownTimeoutSeconds = "FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS";
    public const string LogLevel = "FAIRWAY_LOG_LEVEL";
    public const string WorkerCount = "FAIRWAY_WORKER_COUNT";
    public const string JobInvisibilityTimeoutSeconds = "FAIRWAY_JOB_INVISIBILITY_TIMEOUT_SECONDS";
    public const string JobPollIntervalMilliseconds = "FAIRWAY_JOB_POLL_INTERVAL_MILLISECONDS";
    public const string JwtIssuer = "AUTH_JWT_ISSUER";
    public const string JwtAudience = "AUTH_JWT_AUDIENCE";
    public const string JwtSigningKey = "AUTH_JWT_SIGNING_KEY";
    public const string OidcAuthority = "AUTH_OIDC_AUTHORITY";
    public const string StripeApiKey = "STRIPE_API_KEY";
    public const string StripeApiBase = "STRIPE_API_BASE";
    public const string StripeWebhookSecret = "STRIPE_WEBHOOK_SECRET";
    public const string StripeWebhookToleranceSeconds = "STRIPE_WEBHOOK_TOLERANCE_SECONDS";
    public const string StripeHttpTimeoutSeconds = "STRIPE_HTTP_TIMEOUT_SECONDS";
    public const string StripeMaxNetworkRetries = "STRIPE_MAX_NETWORK_RETRIES";
    public const string StripeHttpConnectionLifetimeSeconds = "STRIPE_HTTP_CONNECTION_LIFETIME_SECONDS";
    public const string StripeConnectReturnUrl = "STRIPE_CONNECT_RETURN_URL";
    public const string StripeConnectRefreshUrl = "STRIPE_CONNECT_REFRESH_URL";
    public const string PaymentSweeperPendingAgeSeconds = "PAYMENT_SWEEPER_PENDING_AGE_SECONDS";
    public const string IngestionEndpointUrl = "INGESTION_ENDPOINT_URL";
    public const string IngestionApiKey = "INGESTION_API_KEY";
    public const string IngestionLivePollSeconds = "INGESTION_LIVE_POLL_SECONDS";
    public const string IngestionIdlePollSeconds = "INGESTION_IDLE_POLL_SECONDS";
    public const string IngestionFailureThresholdSeconds = "INGESTION_FAILURE_THRESHOLD_SECONDS";
    public const string IngestionHttpTimeoutSeconds = "INGESTION_HTTP_TIMEOUT_SECONDS";
    public const string CrashPoints = "FAIRWAY_CRASH_POINTS";
    public const string SettlementCorrectionWindowSeconds = "SETTLEMENT_CORRECTION_WINDOW_SECONDS";
    public const string PayoutSchedulerCron = "PAYOUT_SCHEDULER_CRON";
    public const string PayoutMaxAttempts = "PAYOUT_MAX_ATTEMPTS";
    public const string PayoutRetryBaseSeconds = "PAYOUT_RETRY_BASE_SECONDS";
    public const string PayoutRetryMaxSeconds = "PAYOUT_RETRY_MAX_SECONDS";
    public const string PayoutBatchSize = "PAYOUT_BATCH_SIZE";
    public const string PayoutStripeTimeoutSeconds = "PAYOUT_STRIPE_TIMEOUT_SECONDS";
    public const string PayoutStuckThresholdSeconds = "PAYOUT_STUCK_THRESHOLD_SECONDS";
    public const string RefundMaxAttempts = "REFUND_MAX_ATTEMPTS";
    public const string RefundRetryBaseSeconds = "REFUND_RETRY_BASE_SECONDS";
    public const string RefundRetryMaxSeconds = "REFUND_RETRY_MAX_SECONDS";
    public const string SettlementMaxFailedAttempts = "SETTLEMENT_MAX_FAILED_ATTEMPTS";
    public const string StripeWebhookMaxAttempts = "STRIPE_WEBHOOK_MAX_ATTEMPTS";
    public const string MetricsListenUrl = "FAIRWAY_METRICS_LISTEN_URL";
    public const string EscrowReleaseGraceSeconds = "ESCROW_RELEASE_GRACE_SECONDS";
    public const string BackupDir = "BACKUP_DIR";
    public const string BackupCron = "BACKUP_CRON";
    public const string BackupRetentionCount = "BACKUP_RETENTION_COUNT";
    public const string BackupPgDumpPath = "BACKUP_PG_DUMP_PATH";
    public const string ConsoleOidcClientId = "ADMIN_CONSOLE_OIDC_CLIENT_ID";
    public const string ConsoleOidcScope = "ADMIN_CONSOLE_OIDC_SCOPE";

    public const string StripeReconciliationLagSeconds = "STRIPE_RECONCILIATION_LAG_SECONDS";
    public const string StripeReconciliationMaxPages = "STRIPE_RECONCILIATION_MAX_PAGES";
    public const string StripeReconciliationGraceSeconds = "STRIPE_RECONCILIATION_GRACE_SECONDS";

    public static IReadOnlyList<EnvironmentVariable> All { get; } =
    [
        new(DatabaseUrl, VariableType.PostgresUrl, Required: true, Secret: true, HostRole.All,
            "postgresql://fairway:CHANGE_ME@db.internal:5432/fairway",
            "PostgreSQL holding all of Fairway's state and the Hangfire job storage. Query parameters allowed: sslmode, pooling, maximum_pool_size, timeout, command_timeout."),
        new(ListenUrl, VariableType.Url, Required: true, Secret: false, HostRole.All,
            "http://0.0.0.0:8080",
            "Address Kestrel listens on. API instances serve the API there; worker instances serve /healthz, /readyz and /metrics there."),
        new(Production, VariableType.Boolean, Required: true, Secret: false, HostRole.All,
            "true",
            "Marks a production deployment. Its only effect is to refuse settings that must never reach production (the test clock, an http:// OIDC authority)."),
        new(TestClockEnabled, VariableType.Boolean, Required: false, Secret: false, HostRole.All,
            "false",
            "Replaces the system clock with a settable clock stored in the database, driven through /api/admin/test-clock (tests and the simulation only). Refused when FAIRWAY_PRODUCTION=true.",
            Default: "false"),
        new(ShutdownTimeoutSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "30",
            "On SIGTERM, how long in-flight requests and jobs may take to finish before the process exits.",
            Default: "30", Min: 1, Max: 600),
        new(LogLevel, VariableType.LogLevel, Required: false, Secret: false, HostRole.All,
            "Information",
            "Minimum level of the JSON logs written to stdout: Verbose, Debug, Information, Warning, Error, Fatal.",
            Default: "Information"),
        new(WorkerCount, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "4",
            "Number of concurrent Hangfire workers in a worker process.",
            Default: "4", Min: 1, Max: 64),
        new(JobInvisibilityTimeoutSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "300",
            "How long a job fetched by a worker that died (killed, crashed, lost its database connection) stays invisible before another worker runs it. A live worker keeps its jobs invisible for as long as they run (sliding timeout, renewed in the background), so this bounds only how long a dead worker's job waits (renewals run every fifth of it).",
            Default: "300", Min: 5, Max: 3600),
        new(JobPollIntervalMilliseconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "1000",
            "How often a worker looks for recurring jobs that came due, delayed jobs whose time came, and queued jobs when no notification woke it: the longest a due job waits before it starts.",
            Default: "1000", Min: 50, Max: 15000),
        new(JwtIssuer, VariableType.String, Required: true, Secret: false, HostRole.Api,
            "https://auth.fairway.example",
            "Expected `iss` of bearer tokens (the OIDC issuer, or the local issuer used with AUTH_JWT_SIGNING_KEY)."),
        new(JwtAudience, VariableType.String, Required: true, Secret: false, HostRole.Api,
            "fairway-api",
            "Expected `aud` of bearer tokens."),
        new(JwtSigningKey, VariableType.Base64Key, Required: false, Secret: true, HostRole.Api,
            "<base64 of at least 32 random bytes>",
            "Local HMAC-SHA256 signing key (base64, at least 32 bytes). When set, tokens minted by `fairway token` are accepted. At least one of AUTH_JWT_SIGNING_KEY and AUTH_OIDC_AUTHORITY is required."),
        new(OidcAuthority, VariableType.Url, Required: false, Secret: false, HostRole.Api,
            "https://auth.fairway.example",
            "OIDC authority whose discovery document and signing keys validate tokens. Must be https:// when FAIRWAY_PRODUCTION=true."),
        new(StripeApiKey, VariableType.String, Required: true, Secret: true, HostRole.All,
            "sk_live_CHANGE_ME",
            "Stripe secret API key (environment-scoped: a staging key never reaches production)."),
        new(StripeApiBase, VariableType.Url, Required: true, Secret: false, HostRole.All,
            "https://api.stripe.com",
            "Base address of the Stripe API: https://api.stripe.com in production, the local Stripe sandbox in tests and the simulation."),
        new(StripeWebhookSecret, VariableType.String, Required: true, Secret: true, HostRole.Api,
            "whsec_CHANGE_ME",
            "Signing secret of the Stripe webhook endpoint; every webhook is verified with it before anything else."),
        new(StripeWebhookToleranceSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Api,
            "300",
            "How old (seconds, by the signed timestamp) a Stripe webhook may be; older or future-dated deliveries are refused with 400 WEBHOOK_INVALID.",
            Default: "300", Min: 10, Max: 3600),
        new(StripeHttpTimeoutSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "20",
            "Timeout of one Stripe API HTTP attempt.",
            Default: "20", Min: 1, Max: 120),
        new(StripeMaxNetworkRetries, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "1",
            "Stripe.net's own retries of one call on 5xx and connection failures (same idempotency key); further retries are Hangfire's, with backoff.",
            Default: "1", Min: 0, Max: 5),
        new(StripeHttpConnectionLifetimeSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "300",
            "How long one pooled connection to Stripe is reused before a new one is opened (so a DNS change of api.stripe.com is followed); connections idle for 60 s are closed too.",
            Default: "300", Min: 1, Max: 3600),
        new(StripeConnectReturnUrl, VariableType.Url, Required: false, Secret: false, HostRole.Api,
            "https://app.fairway.example/payouts/return",
            "Where Stripe sends a player after Connect onboarding (AccountLink return_url).",
            Default: "https://app.fairway.example/payouts/return"),
        new(StripeConnectRefreshUrl, VariableType.Url, Required: false, Secret: false, HostRole.Api,
            "https://app.fairway.example/payouts/refresh",
            "Where Stripe sends a player whose onboarding link expired (AccountLink refresh_url).",
            Default: "https://app.fairway.example/payouts/refresh"),
        new(PaymentSweeperPendingAgeSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "900",
            "The payment sweeper asks Stripe about payments, entries and refunds left pending longer than this (a lost webhook loses nothing).",
            Default: "900", Min: 0, Max: 86400),
        new(IngestionEndpointUrl, VariableType.Url, Required: true, Secret: false, HostRole.All,
            "https://api.sportradar.com/golf/production/v3/en",
            "Base address of the golf data provider (Sportradar Golf v3), or the local provider sandbox. Workers poll `<this>/tournaments/<provider_event_id>/leaderboard.json`; the API refuses contest configs whose ingestion_endpoint is not that URL."),
        new(IngestionApiKey, VariableType.String, Required: true, Secret: true, HostRole.Worker,
            "CHANGE_ME",
            "API key for the golf data provider."),
        new(IngestionLivePollSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "15",
            "Polling cadence while a tournament is live (the provider caches live leaderboards for seconds).",
            Default: "15", Min: 5, Max: 300),
        new(IngestionIdlePollSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "300",
            "Polling cadence before and after play (the provider caches these for minutes).",
            Default: "300", Min: 60, Max: 3600),
        new(IngestionFailureThresholdSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "3600",
            "How long ingestion may go without a successful fetch before it is reported failing (metric ingestion_failing, error log). Never changes contest state.",
            Default: "3600", Min: 60, Max: 86400),
        new(IngestionHttpTimeoutSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "10",
            "Timeout of one provider HTTP attempt; retries with backoff and jitter and a circuit breaker wrap it.",
            Default: "10", Min: 1, Max: 120),
        new(CrashPoints, VariableType.String, Required: false, Secret: false, HostRole.All,
            "ledger.after_postings_before_commit",
            "Crash-recovery tests only: comma-separated crash point names; a process reaching a listed point logs one line and fails fast (no commit, no clean-up). Refused when FAIRWAY_PRODUCTION=true.",
            Default: ""),
        new(SettlementCorrectionWindowSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "259200",
            "How long after a contest's settlement ingestion keeps polling its tournament to detect provider corrections (audited, score_audit_mismatches; payouts not yet attempted are held).",
            Default: "259200", Min: 0, Max: 2592000),
        new(PayoutSchedulerCron, VariableType.String, Required: false, Secret: false, HostRole.Worker,
            "*/5 * * * *",
            "Cron (UTC) of the recurring payout scheduler that executes pending and retryable payout transfers.",
            Default: "*/5 * * * *"),
        new(PayoutMaxAttempts, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "5",
            "Attempts a payout transfer gets before it ends failed_terminal (an admin retry grants the same budget again).",
            Default: "5", Min: 1, Max: 50),
        new(PayoutRetryBaseSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "60",
            "Backoff of a retryable payout transfer: base × 2^(attempt−1) plus up to one base of jitter, capped by PAYOUT_RETRY_MAX_SECONDS.",
            Default: "60", Min: 1, Max: 86400),
        new(PayoutRetryMaxSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "3600",
            "Upper bound of the payout retry backoff.",
            Default: "3600", Min: 1, Max: 604800),
        new(PayoutBatchSize, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "2000",
            "Most payout transfers one scheduler run attempts; the rest wait for the next run.",
            Default: "2000", Min: 1, Max: 100000),
        new(PayoutStripeTimeoutSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "10",
            "HTTP timeout of one Stripe transfer call (the transfer's database transaction stays open at most this long).",
            Default: "10", Min: 1, Max: 60),
        new(PayoutStuckThresholdSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "3600",
            "A payout transfer not terminal this long after creation is reported stuck (payout_transfers_stuck, payout diagnostics).",
            Default: "3600", Min: 60, Max: 2592000),
        new(RefundMaxAttempts, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "8",
            "Sends to Stripe a refund gets before it stays FAILED (refunds owed, alerted) until an admin retries it (`fairway payments refund-retry`, same budget again).",
            Default: "8", Min: 1, Max: 50),
        new(RefundRetryBaseSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "300",
            "Backoff before a failed refund is sent again: base × 2^(attempt−1), capped by REFUND_RETRY_MAX_SECONDS.",
            Default: "300", Min: 1, Max: 86400),
        new(RefundRetryMaxSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "21600",
            "Upper bound of the refund retry backoff.",
            Default: "21600", Min: 1, Max: 604800),
        new(SettlementMaxFailedAttempts, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "5",
            "Failed settlement runs of a COMPLETE contest, for a cause Fairway cannot resolve by itself (escrow mismatch, engine refusal, …), before the contest moves to ERROR (left only by `fairway contests resolve`).",
            Default: "5", Min: 1, Max: 100),
        new(StripeWebhookMaxAttempts, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "10",
            "Failed processing attempts of one Stripe webhook event before it is parked as a dead letter (stripe_webhook_dead_letters; `fairway webhooks replay`).",
            Default: "10", Min: 1, Max: 100),
        new(MetricsListenUrl, VariableType.Url, Required: false, Secret: false, HostRole.All,
            "http://0.0.0.0:9464",
            "Second listener that serves only GET /metrics (anonymous, for Prometheus on the private network; every other path answers 404 there). When set, /metrics is not served on FAIRWAY_LISTEN_URL. Its port must differ from FAIRWAY_LISTEN_URL's. Required when FAIRWAY_PRODUCTION=true, so the public API port never serves metrics."),
        new(EscrowReleaseGraceSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "86400",
            "A contest's escrow still holding money this long after its settlement hold ended (COMPLETE) or after it was cancelled (CANCELLED) is reported overdue (metric escrow_held_overdue_contests, alert EscrowHeldOverdue).",
            Default: "86400", Min: 60, Max: 2592000),
        new(BackupDir, VariableType.String, Required: false, Secret: false, HostRole.Worker,
            "/var/backups/fairway",
            "Directory the recurring database-backup job writes its pg_dump archives and manifests to (the same format as `fairway db backup --to`). When unset, the job is not registered and database_backup_age_seconds grows until the BackupMissing alert fires."),
        new(BackupCron, VariableType.String, Required: false, Secret: false, HostRole.Worker,
            "17 3 * * *",
            "Cron (UTC) of the recurring database-backup job.",
            Default: "17 3 * * *"),
        new(BackupRetentionCount, VariableType.Integer, Required: false, Secret: false, HostRole.Worker,
            "14",
            "The database-backup job keeps this many newest archives in BACKUP_DIR and deletes older ones it wrote (copy them off the server before they age out).",
            Default: "14", Min: 1, Max: 1000),
        new(BackupPgDumpPath, VariableType.String, Required: false, Secret: false, HostRole.Worker,
            "pg_dump",
            "pg_dump executable used by the database-backup job; its major version must be at least the server's.",
            Default: "pg_dump"),
        new(ConsoleOidcClientId, VariableType.String, Required: false, Secret: false, HostRole.Api,
            "fairway-admin-console",
            "Client id of the admin console (/admin) at AUTH_OIDC_AUTHORITY (a public client: authorization code with PKCE, redirect URI <api>/admin/). When set, the console signs in through the authority; without it, an admin token is pasted. Requires AUTH_OIDC_AUTHORITY."),
        new(ConsoleOidcScope, VariableType.String, Required: false, Secret: false, HostRole.Api,
            "openid fairway-admin",
            "Scopes the admin console asks the OIDC authority for; the access token it gets must carry audience AUTH_JWT_AUDIENCE and role admin.",
            Default: "openid"),

        new(StripeReconciliationLagSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "900",
            "The reconciliation against Stripe judges Stripe objects created at least this long ago (younger ones may still have webhooks in flight).",
            Default: "900", Min: 0, Max: 86400),
        new(StripeReconciliationMaxPages, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "20",
            "Pages of 100 objects one reconciliation run lists per Stripe stream (payment intents, refunds, transfers, balance transactions); the rest waits for the next run.",
            Default: "20", Min: 1, Max: 1000),
        new(StripeReconciliationGraceSeconds, VariableType.Integer, Required: false, Secret: false, HostRole.All,
            "86400",
            "How long a Stripe object that Stripe has finished with may wait for Fairway to record it (a webhook in flight, the sweeper, the kill-switch) before it is a reconciliation violation.",
            Default: "86400", Min: 0, Max: 2592000),
    ];
}
