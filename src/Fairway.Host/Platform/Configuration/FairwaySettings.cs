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
    public required string JwtIssuer { get; init; }
    public required string JwtAudience { get; init; }
    public required byte[]? JwtSigningKey { get; init; }
    public required Uri? OidcAuthority { get; init; }
    public required string StripeApiKey { get; init; }
    public required Uri StripeApiBase { get; init; }
    public required string StripeWebhookSecret { get; init; }
    public required Uri IngestionEndpoint { get; init; }
    public required string IngestionApiKey { get; init; }
    public TimeSpan IngestionLivePoll { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan IngestionIdlePoll { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan IngestionFailureThreshold { get; init; } = TimeSpan.FromSeconds(3600);
    public TimeSpan IngestionHttpTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
