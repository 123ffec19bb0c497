using System.Globalization;
using Fairway.Migrations;
using Serilog.Events;

namespace Fairway.Host.Platform.Configuration;

/// <summary>
/// Validates every variable of <see cref="EnvironmentSchema"/> for the given role and reports every
/// problem at once (one line per offending variable), so a broken deployment is fixed in one pass.
/// </summary>
public static class SettingsLoader
{
    public sealed record Result(FairwaySettings? Settings, IReadOnlyList<string> Errors);

    public static Result Load(IReadOnlyDictionary<string, string?> env, HostRole role)
    {
        var errors = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var v in EnvironmentSchema.All)
        {
            var applies = (v.ReadBy & role) != 0;
            env.TryGetValue(v.Name, out var raw);
            if (!applies) continue;
            if (string.IsNullOrEmpty(raw))
            {
                if (v.Required) { errors.Add($"{v.Name}: required variable is missing (see docs/infra/ENV_SCHEMA.md)"); continue; }
                if (v.Default is null) continue;
                raw = v.Default;
            }
            var problem = Check(v, raw);
            if (problem is not null) errors.Add($"{v.Name}: {problem}");
            else values[v.Name] = raw;
        }

        bool Bool(string name) => values.TryGetValue(name, out var s) && bool.Parse(s);
        var production = Bool(EnvironmentSchema.Production);
        if ((role & HostRole.Api) != 0 && !values.ContainsKey(EnvironmentSchema.JwtSigningKey) && !values.ContainsKey(EnvironmentSchema.OidcAuthority)
            && !errors.Any(e => e.StartsWith(EnvironmentSchema.JwtSigningKey + ":", StringComparison.Ordinal) || e.StartsWith(EnvironmentSchema.OidcAuthority + ":", StringComparison.Ordinal)))
            errors.Add($"{EnvironmentSchema.JwtSigningKey}: one of {EnvironmentSchema.JwtSigningKey} or {EnvironmentSchema.OidcAuthority} is required to validate tokens");
        if (production && Bool(EnvironmentSchema.TestClockEnabled))
            errors.Add($"{EnvironmentSchema.TestClockEnabled}: must not be true when {EnvironmentSchema.Production}=true");
        if (production && values.TryGetValue(EnvironmentSchema.CrashPoints, out var crashPoints) && crashPoints.Length > 0)
            errors.Add($"{EnvironmentSchema.CrashPoints}: must be empty when {EnvironmentSchema.Production}=true");
        if (production && values.TryGetValue(EnvironmentSchema.OidcAuthority, out var authority) && !authority.StartsWith("https://", StringComparison.Ordinal))
            errors.Add($"{EnvironmentSchema.OidcAuthority}: must be https:// when {EnvironmentSchema.Production}=true");

        if (values.ContainsKey(EnvironmentSchema.ConsoleOidcClientId) && !values.ContainsKey(EnvironmentSchema.OidcAuthority))
            errors.Add($"{EnvironmentSchema.ConsoleOidcClientId}: requires {EnvironmentSchema.OidcAuthority} (the console signs in there)");

        foreach (var cronVariable in new[] { EnvironmentSchema.PayoutSchedulerCron, EnvironmentSchema.BackupCron })
            if (values.TryGetValue(cronVariable, out var cron)
                && !System.Text.RegularExpressions.Regex.IsMatch(cron, @"^[0-9A-Za-z*/,?#LW-]+( [0-9A-Za-z*/,?#LW-]+){4,5}$"))
                errors.Add($"{cronVariable}: malformed: must be a cron expression of 5 (or 6, with seconds) space-separated fields");
        if (production && !values.ContainsKey(EnvironmentSchema.MetricsListenUrl))
            errors.Add($"{EnvironmentSchema.MetricsListenUrl}: required when {EnvironmentSchema.Production}=true (the public API port must not serve /metrics)");
        if (values.TryGetValue(EnvironmentSchema.MetricsListenUrl, out var metricsUrl) && values.TryGetValue(EnvironmentSchema.ListenUrl, out var listenUrl)
            && new Uri(metricsUrl).Port == new Uri(listenUrl).Port)
            errors.Add($"{EnvironmentSchema.MetricsListenUrl}: must use a different port than {EnvironmentSchema.ListenUrl}");

        if (errors.Count > 0) return new Result(null, errors);

        string? Get(string name) => values.GetValueOrDefault(name);
        // Variables of other roles are not loaded; their documented defaults stand in (never used by this role).
        TimeSpan Seconds(string name, int fallback) => TimeSpan.FromSeconds(Get(name) is { } s ? long.Parse(s, CultureInfo.InvariantCulture) : fallback);
        DatabaseUrl.TryParse(Get(EnvironmentSchema.DatabaseUrl), out var cs, out _);
        var settings = new FairwaySettings
        {
            Role = role,
            DatabaseConnectionString = cs,
            ListenUrl = Get(EnvironmentSchema.ListenUrl)!,
            Production = production,
            TestClockEnabled = Bool(EnvironmentSchema.TestClockEnabled),
            ShutdownTimeout = TimeSpan.FromSeconds(long.Parse(Get(EnvironmentSchema.ShutdownTimeoutSeconds)!, CultureInfo.InvariantCulture)),
            LogLevel = Enum.Parse<LogEventLevel>(Get(EnvironmentSchema.LogLevel)!),
            WorkerCount = int.Parse(Get(EnvironmentSchema.WorkerCount) ?? "1", CultureInfo.InvariantCulture),
            JobInvisibilityTimeout = Seconds(EnvironmentSchema.JobInvisibilityTimeoutSeconds, 300),
            JobPollInterval = TimeSpan.FromMilliseconds(Get(EnvironmentSchema.JobPollIntervalMilliseconds) is { } poll ? long.Parse(poll, CultureInfo.InvariantCulture) : 1000),
            JwtIssuer = Get(EnvironmentSchema.JwtIssuer) ?? "",
            JwtAudience = Get(EnvironmentSchema.JwtAudience) ?? "",
            JwtSigningKey = Get(EnvironmentSchema.JwtSigningKey) is { } k ? Convert.FromBase64String(k) : null,
            OidcAuthority = Get(EnvironmentSchema.OidcAuthority) is { } a ? new Uri(a) : null,
            StripeApiKey = Get(EnvironmentSchema.StripeApiKey)!,
            StripeApiBase = new Uri(Get(EnvironmentSchema.StripeApiBase)!),
            StripeWebhookSecret = Get(EnvironmentSchema.StripeWebhookSecret) ?? "",
            StripeWebhookTolerance = Seconds(EnvironmentSchema.StripeWebhookToleranceSeconds, 300),
            StripeHttpTimeout = Seconds(EnvironmentSchema.StripeHttpTimeoutSeconds, 20),
            StripeMaxNetworkRetries = Get(EnvironmentSchema.StripeMaxNetworkRetries) is { } retries ? int.Parse(retries, CultureInfo.InvariantCulture) : 1,
            StripeConnectionLifetime = Seconds(EnvironmentSchema.StripeHttpConnectionLifetimeSeconds, 300),
            StripeConnectReturnUrl = new Uri(Get(EnvironmentSchema.StripeConnectReturnUrl) ?? "https://app.fairway.example/payouts/return"),
            StripeConnectRefreshUrl = new Uri(Get(EnvironmentSchema.StripeConnectRefreshUrl) ?? "https://app.fairway.example/payouts/refresh"),
            PaymentSweeperPendingAge = Seconds(EnvironmentSchema.PaymentSweeperPendingAgeSeconds, 900),
            IngestionEndpoint = new Uri(Get(EnvironmentSchema.IngestionEndpointUrl)!),
            IngestionApiKey = Get(EnvironmentSchema.IngestionApiKey) ?? "",
            IngestionLivePoll = Seconds(EnvironmentSchema.IngestionLivePollSeconds, 15),
            IngestionIdlePoll = Seconds(EnvironmentSchema.IngestionIdlePollSeconds, 300),
            IngestionFailureThreshold = Seconds(EnvironmentSchema.IngestionFailureThresholdSeconds, 3600),
            IngestionHttpTimeout = Seconds(EnvironmentSchema.IngestionHttpTimeoutSeconds, 10),
            SettlementCorrectionWindow = Seconds(EnvironmentSchema.SettlementCorrectionWindowSeconds, 259200),
            PayoutSchedulerCron = Get(EnvironmentSchema.PayoutSchedulerCron) ?? "*/5 * * * *",
            PayoutMaxAttempts = int.Parse(Get(EnvironmentSchema.PayoutMaxAttempts) ?? "5", CultureInfo.InvariantCulture),
            PayoutRetryBase = Seconds(EnvironmentSchema.PayoutRetryBaseSeconds, 60),
            PayoutRetryMax = Seconds(EnvironmentSchema.PayoutRetryMaxSeconds, 3600),
            PayoutBatchSize = int.Parse(Get(EnvironmentSchema.PayoutBatchSize) ?? "2000", CultureInfo.InvariantCulture),
            PayoutStripeTimeout = Seconds(EnvironmentSchema.PayoutStripeTimeoutSeconds, 10),
            PayoutStuckThreshold = Seconds(EnvironmentSchema.PayoutStuckThresholdSeconds, 3600),
            RefundMaxAttempts = int.Parse(Get(EnvironmentSchema.RefundMaxAttempts) ?? "8", CultureInfo.InvariantCulture),
            RefundRetryBase = Seconds(EnvironmentSchema.RefundRetryBaseSeconds, 300),
            RefundRetryMax = Seconds(EnvironmentSchema.RefundRetryMaxSeconds, 21600),
            SettlementMaxFailedAttempts = int.Parse(Get(EnvironmentSchema.SettlementMaxFailedAttempts) ?? "5", CultureInfo.InvariantCulture),
            StripeWebhookMaxAttempts = int.Parse(Get(EnvironmentSchema.StripeWebhookMaxAttempts) ?? "10", CultureInfo.InvariantCulture),
            MetricsListenUrl = Get(EnvironmentSchema.MetricsListenUrl),
            EscrowReleaseGrace = Seconds(EnvironmentSchema.EscrowReleaseGraceSeconds, 86400),
            BackupDir = Get(EnvironmentSchema.BackupDir),
            BackupCron = Get(EnvironmentSchema.BackupCron) ?? "17 3 * * *",
            BackupRetentionCount = int.Parse(Get(EnvironmentSchema.BackupRetentionCount) ?? "14", CultureInfo.InvariantCulture),
            BackupPgDumpPath = Get(EnvironmentSchema.BackupPgDumpPath) ?? "pg_dump",
            ConsoleOidcClientId = Get(EnvironmentSchema.ConsoleOidcClientId),
            ConsoleOidcScope = Get(EnvironmentSchema.ConsoleOidcScope) ?? "openid",

            StripeReconciliationLag = Seconds(EnvironmentSchema.StripeReconciliationLagSeconds, 900),
            StripeReconciliationMaxPages = int.Parse(Get(EnvironmentSchema.StripeReconciliationMaxPages) ?? "20", CultureInfo.InvariantCulture),
            StripeReconciliationGrace = Seconds(EnvironmentSchema.StripeReconciliationGraceSeconds, 86400),
        };
        return new Result(settings, errors);
    }

    /// <summary>Null when <paramref name="raw"/> is a valid value of <paramref name="v"/>, else why not (also used by `fairway env set`).</summary>
    public static string? Check(EnvironmentVariable v, string raw)
    {
        switch (v.Type)
        {
            case VariableType.PostgresUrl:
                return DatabaseUrl.TryParse(raw, out _, out var e) ? null : $"malformed: {e}";
            case VariableType.Url:
                return Uri.TryCreate(raw, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https")
                    ? null : "malformed: must be an absolute http:// or https:// URL";
            case VariableType.Boolean:
                return raw is "true" or "false" ? null : "malformed: must be exactly 'true' or 'false'";
            case VariableType.Integer:
                if (!long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return "malformed: must be a whole number";
                return n < v.Min || n > v.Max ? $"out of range: must be between {v.Min} and {v.Max}" : null;
            case VariableType.Base64Key:
                try { return Convert.FromBase64String(raw).Length >= 32 ? null : "too short: must decode to at least 32 bytes"; }
                catch (FormatException) { return "malformed: must be base64"; }
            case VariableType.LogLevel:
                return Enum.TryParse<LogEventLevel>(raw, ignoreCase: false, out _) && !int.TryParse(raw, out _)
                    ? null : "malformed: must be one of Verbose, Debug, Information, Warning, Error, Fatal";
            default:
                return raw.Trim().Length == raw.Length ? null : "malformed: has leading or trailing white space";
        }
    }
}
