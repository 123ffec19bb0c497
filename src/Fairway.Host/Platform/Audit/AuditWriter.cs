using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Telemetry;
using Npgsql;

namespace Fairway.Host.Platform.Audit;

/// <summary>One row of the append-only audit trail.</summary>
public sealed record AuditEntry(
    string Actor,
    string Action,
    string EntityType,
    string EntityId,
    string Reason,
    object? Before = null,
    object? After = null,
    object? Evidence = null);

/// <summary>
/// Writes audit rows. It takes the caller's transaction on purpose: a state change and its audit
/// row commit together or not at all.
/// </summary>
public sealed class AuditWriter(TimeProvider clock)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<long> WriteAsync(NpgsqlTransaction transaction, AuditEntry entry, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return await transaction.Connection!.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO audit_events (occurred_at, actor, action, entity_type, entity_id, reason, before_state, after_state, evidence, correlation_id)
            VALUES (@At, @Actor, @Action, @EntityType, @EntityId, @Reason, @Before::jsonb, @After::jsonb, @Evidence::jsonb, @CorrelationId)
            RETURNING id
            """,
            new
            {
                At = clock.GetUtcNow(),
                entry.Actor,
                entry.Action,
                entry.EntityType,
                entry.EntityId,
                entry.Reason,
                Before = ToJson(entry.Before),
                After = ToJson(entry.After),
                Evidence = ToJson(entry.Evidence),
                CorrelationId = Correlation.Current,
            }, transaction, cancellationToken: ct));
    }

    static string? ToJson(object? value) => value is null ? null : JsonSerializer.Serialize(value, Json);
}
