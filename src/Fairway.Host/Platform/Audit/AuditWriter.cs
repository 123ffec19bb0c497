using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Telemetry;
using Microsoft.Extensions.Logging;
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

/// <summary>An audit row to be written later in the same transaction.</summary>
public sealed record PendingAudit(AuditEntry Entry, DateTimeOffset At, string? CorrelationId);

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

    /// <summary>An audit row written later in the same transaction (<see cref="WriteManyAsync"/>), with its time and correlation as of now.</summary>
    public PendingAudit Pending(AuditEntry entry) => new(entry, clock.GetUtcNow(), Correlation.Current);

    /// <summary>Several audit rows in one statement, in order (ids ascending in that order); in the caller's transaction.</summary>
    public async Task WriteManyAsync(NpgsqlTransaction transaction, IReadOnlyList<PendingAudit> rows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (rows.Count == 0) return;
        await transaction.Connection!.ExecuteAsync(new CommandDefinition("""
            INSERT INTO audit_events (occurred_at, actor, action, entity_type, entity_id, reason, before_state, after_state, evidence, correlation_id)
            SELECT r.at, r.actor, r.action, r.entity_type, r.entity_id, r.reason, r.before_state::jsonb, r.after_state::jsonb, r.evidence::jsonb, r.correlation_id
              FROM unnest(@At::timestamptz[], @Actor::text[], @Action::text[], @EntityType::text[], @EntityId::text[], @Reason::text[],
                          @Before::text[], @After::text[], @Evidence::text[], @CorrelationId::text[])
                   WITH ORDINALITY AS r(at, actor, action, entity_type, entity_id, reason, before_state, after_state, evidence, correlation_id, ord)
             ORDER BY r.ord
            """,
            new
            {
                At = rows.Select(r => r.At).ToArray(),
                Actor = rows.Select(r => r.Entry.Actor).ToArray(),
                Action = rows.Select(r => r.Entry.Action).ToArray(),
                EntityType = rows.Select(r => r.Entry.EntityType).ToArray(),
                EntityId = rows.Select(r => r.Entry.EntityId).ToArray(),
                Reason = rows.Select(r => r.Entry.Reason).ToArray(),
                Before = rows.Select(r => ToJson(r.Entry.Before)).ToArray(),
                After = rows.Select(r => ToJson(r.Entry.After)).ToArray(),
                Evidence = rows.Select(r => ToJson(r.Entry.Evidence)).ToArray(),
                CorrelationId = rows.Select(r => r.CorrelationId).ToArray(),
            }, transaction, cancellationToken: ct));
    }

    static string? ToJson(object? value) => value is null ? null : JsonSerializer.Serialize(value, Json);
}

/// <summary>
/// audit_events_last_hour{entity_type, action}: committed audit rows of the last hour (by the host's clock), counted
/// from the database at scrape time through the occurred_at index — what ops and admins did and what changed state.
/// </summary>
public sealed class AuditActivityCollector(NpgsqlDataSource db, TimeProvider clock, ILogger<AuditActivityCollector> log) : Microsoft.Extensions.Hosting.IHostedService
{
    static readonly Prometheus.Gauge LastHour = Prometheus.Metrics.CreateGauge("audit_events_last_hour",
        "Audit rows (state changes and admin actions) committed in the last hour, by entity type and action (computed at scrape time).", "entity_type", "action");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ScrapeTimeMetrics.Register(log, "audit_events_last_hour", async ct =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = (await c.QueryAsync<(string EntityType, string Action, long Count)>(new CommandDefinition(
                "SELECT entity_type, action, count(*) FROM audit_events WHERE occurred_at > @since GROUP BY entity_type, action",
                new { since = clock.GetUtcNow().AddHours(-1) }, cancellationToken: ct))).ToList();
            // Series of actions with nothing in the last hour drop to 0 rather than disappear.
            foreach (var child in LastHour.GetAllLabelValues()) LastHour.WithLabels(child).Set(0);
            foreach (var r in rows) LastHour.WithLabels(r.EntityType, r.Action).Set(r.Count);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
