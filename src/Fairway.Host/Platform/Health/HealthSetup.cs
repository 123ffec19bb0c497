using System.Text.Json;
using Fairway.Migrations;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Fairway.Host.Platform.Health;

/// <summary>
/// /healthz: the process answers (liveness). /readyz: the database is reachable, its schema is the
/// one this build expects, and the job storage is reachable (readiness); the body names each check.
/// </summary>
public static class HealthSetup
{
    public const string ReadyTag = "ready";
    static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    public static void AddFairwayHealth(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<SchemaCheck>("schema", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<JobStorageCheck>("job_storage", tags: [ReadyTag], timeout: CheckTimeout);
    }

    public static void MapFairwayHealth(this WebApplication app)
    {
        // Liveness answers without touching any dependency: a process that answers is alive.
        app.MapGet("/healthz", () => Results.Json(new { status = "alive" })).AllowAnonymous().ExcludeFromDescription();
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteReadyAsync }).AllowAnonymous();
    }

    static Task WriteAsync(HttpContext context, HealthReport report) => WriteAsync(context, report, details: null);

    /// <summary>/readyz also shows each registered <see cref="IReadinessDetail"/> (e.g. the kill-switch); details never change readiness.</summary>
    static async Task WriteReadyAsync(HttpContext context, HealthReport report)
    {
        var details = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var detail in context.RequestServices.GetServices<IReadinessDetail>())
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            cts.CancelAfter(CheckTimeout);
            try { details[detail.Name] = await detail.ReadAsync(cts.Token); }
            catch (Exception e) { details[detail.Name] = new { error = $"unavailable: {e.Message}" }; }
        }
        await WriteAsync(context, report, details);
    }

    static Task WriteAsync(HttpContext context, HealthReport report, Dictionary<string, object?>? details)
    {
        context.Response.ContentType = "application/json";
        var body = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["status"] = report.Status == HealthStatus.Healthy ? "ready" : "not_ready",
            ["checks"] = report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status == HealthStatus.Healthy ? "ok" : "failed", detail = e.Value.Description }),
        };
        foreach (var (name, value) in details ?? []) body[name] = value;
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    sealed class DatabaseCheck(NpgsqlDataSource db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
        {
            try
            {
                await using var c = await db.OpenConnectionAsync(ct);
                await using var cmd = new NpgsqlCommand("SELECT 1", c);
                await cmd.ExecuteScalarAsync(ct);
                return HealthCheckResult.Healthy("reachable");
            }
            catch (Exception e) { return HealthCheckResult.Unhealthy($"database unreachable: {e.Message}"); }
        }
    }

    sealed class SchemaCheck(NpgsqlDataSource db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
        {
            try
            {
                await using var c = await db.OpenConnectionAsync(ct);
                var current = SchemaMigrator.CurrentVersion(c);
                return current == SchemaMigrator.ExpectedVersion
                    ? HealthCheckResult.Healthy($"version {current}")
                    : HealthCheckResult.Unhealthy($"database at version {current}, build expects {SchemaMigrator.ExpectedVersion}");
            }
            catch (Exception e) { return HealthCheckResult.Unhealthy($"schema unknown (database unreachable): {e.Message}"); }
        }
    }

    sealed class JobStorageCheck(NpgsqlDataSource db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
        {
            try
            {
                await using var c = await db.OpenConnectionAsync(ct);
                return SchemaMigrator.JobStorageInstalled(c)
                    ? HealthCheckResult.Healthy("reachable")
                    : HealthCheckResult.Unhealthy("job storage schema missing");
            }
            catch (Exception e) { return HealthCheckResult.Unhealthy($"job storage unreachable: {e.Message}"); }
        }
    }
}

/// <summary>
/// Informational state shown in the /readyz body under <see cref="Name"/> (registered by capabilities,
/// so Platform never depends on them). It never affects readiness; a failed read shows as an error.
/// </summary>
public interface IReadinessDetail
{
    string Name { get; }
    Task<object?> ReadAsync(CancellationToken ct);
}
