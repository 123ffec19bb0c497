using Serilog.Events;

namespace Fairway.Host.Platform.Configuration;

/// <summary>The validated configuration of one host process. Built only by <see cref="SettingsLoader"/>.</summary>
public sealed record FairwaySettings
{
    public required HostRole Role { get; init; }
    public required string DatabaseConnectionString { get; init; }
    public required string ListenUrl { get; init; }
    public required bool Production { get; init; }
    public required bool TestClockEnabled { get; init; }
    public required TimeSpan ShutdownTimeout { get; init; }
    public required LogEventLevel LogLevel { get; init; }
    public required int WorkerCount { get; init; }
    /// <summary>How long a dead worker's fetched job stays invisible before another worker takes it (live workers renew it).</summary>
    public TimeSpan JobInvisibilityTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>How often a worker polls for due recurring jobs, due delayed jobs and queued jobs (the longest a due job waits).</summary>
    public TimeSpan JobPollInterval { get; init; } = TimeSpan.FromSeconds(1);
    public required string JwtIssuer { get; init; }
    public required string JwtAudience { get; init; }
    public required byte[]? JwtSigningKey { get; init; }
    public required Uri? OidcAuthority { get; init; }
    public required string StripeApiKey { get; init; }
    public required Uri StripeApiBase { get; init; }
    public required string StripeWebhookSecret { get; init; }
    public TimeSpan StripeWebhookTolerance { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan StripeHttpTimeout { get; init; } = TimeSpan.FromSeconds(20);
    public int StripeMaxNetworkRetries { get; init; } = 1;
    public TimeSpan StripeConnectionLifetime { get; init; } = TimeSpan.FromSeconds(300);
    public Uri StripeConnectReturnUrl { get; init; } = new("https://app.fairway.example/payouts/return");
    public Uri StripeConnectRefreshUrl { get; init; } = new("https://app.fairway.example/payouts/refresh");
    public TimeSpan PaymentSweeperPendingAge { get; init; } = TimeSpan.FromSeconds(900);
    public required Uri IngestionEndpoint { get; init; }
    public required string IngestionApiKey { get; init; }
    public TimeSpan IngestionLivePoll { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan IngestionIdlePoll { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan IngestionFailureThreshold { get; init; } = TimeSpan.FromSeconds(3600);
    public TimeSpan IngestionHttpTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan SettlementCorrectionWindow { get; init; } = TimeSpan.FromSeconds(259200);
    public string PayoutSchedulerCron { get; init; } = "*/5 * * * *";
    public int PayoutMaxAttempts { get; init; } = 5;
    public TimeSpan PayoutRetryBase { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan PayoutRetryMax { get; init; } = TimeSpan.FromSeconds(3600);
    public int PayoutBatchSize { get; init; } = 2000;
    public TimeSpan PayoutStripeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan PayoutStuckThreshold { get; init; } = TimeSpan.FromSeconds(3600);
    public int RefundMaxAttempts { get; init; } = 8;
    public TimeSpan RefundRetryBase { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan RefundRetryMax { get; init; } = TimeSpan.FromSeconds(21600);
    public int SettlementMaxFailedAttempts { get; init; } = 5;
    public int StripeWebhookMaxAttempts { get; init; } = 10;
    /// <summary>Null: /metrics is served on <see cref="ListenUrl"/> (refused in production).</summary>
    public string? MetricsListenUrl { get; init; }
    public TimeSpan EscrowReleaseGrace { get; init; } = TimeSpan.FromSeconds(86400);
    /// <summary>Null: the recurring database-backup job is not registered.</summary>
    public string? BackupDir { get; init; }
    public string BackupCron { get; init; } = "17 3 * * *";
    public int BackupRetentionCount { get; init; } = 14;
    public string BackupPgDumpPath { get; init; } = "pg_dump";
    public string? ConsoleOidcClientId { get; init; }
    public string ConsoleOidcScope { get; init; } = "openid";

    public TimeSpan StripeReconciliationLag { get; init; } = TimeSpan.FromSeconds(900);
    public int StripeReconciliationMaxPages { get; init; } = 20;
    public TimeSpan StripeReconciliationGrace { get; init; } = TimeSpan.FromSeconds(86400);
}
