namespace Fairway.Host.Platform.Configuration;

public enum VariableType { String, Url, PostgresUrl, Boolean, Integer, Base64Key, LogLevel }

/// <summary>
/// One entry of the configuration contract. The list in <see cref="EnvironmentSchema"/> is the single
/// source of truth: start-up validation, docs/infra/ENV_SCHEMA.md and infra/env/.env.example are all
/// derived from it, and a test fails when the committed documents drift.
/// </summary>
public sealed record EnvironmentVariable(
    string Name,
    VariableType Type,
    bool Required,
    bool Secret,
    HostRole ReadBy,
    string Example,
    string Description,
    string? Default = null,
    long Min = long.MinValue,
    long Max = long.MaxValue);
