using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Operations;

public sealed record AuditEventView(long Id, DateTimeOffset OccurredAt, string Actor, string Action, string EntityType, string EntityId, string Reason,
    JsonElement? Before, JsonElement? After, JsonElement? Evidence, string? CorrelationId);

public sealed record AuditPage(IReadOnlyList<AuditEventView> Events, long? NextBefore);

/// <summary>
/// Read-only audit trail for ops (<c>GET /api/admin/audit</c>, <c>fairway audit</c>), newest first, paged by id.
/// With <c>contest_id</c> it is the contest's whole story: the contest, its settlement, its payout job and
/// transfers, its entries with their payments and refunds.
/// </summary>
public static class AuditTrail
{
    public const int MaxLimit = 500;

    const string Columns = "a.id, a.occurred_at, a.actor, a.action, a.entity_type, a.entity_id, a.reason, a.before_state::text, a.after_state::text, a.evidence::text, a.correlation_id";

    // Every entity whose audit rows belong to a contest. The payments capability ids refunds rf_<entry>.
    const string ContestKeys = """
        WITH keys (entity_type, entity_id) AS (
                  SELECT 'contest', @contestId
        UNION ALL SELECT 'settlement', @contestId
        UNION ALL SELECT 'payout_job', id::text FROM payout_jobs WHERE contest_id = @contestId
        UNION ALL SELECT 'payout_transfer', id::text FROM payout_transfers WHERE contest_id = @contestId
        UNION ALL SELECT 'entry', id FROM entries WHERE contest_id = @contestId
        UNION ALL SELECT 'refund', 'rf_' || id FROM entries WHERE contest_id = @contestId
        UNION ALL SELECT 'payment', p.payment_intent_id FROM payments p JOIN entries e ON e.id = p.entry_id WHERE e.contest_id = @contestId)
        """;

    public static void MapAuditTrail(this RouteGroupBuilder admin)
    {
        admin.MapGet("/audit", async (string? contest_id, string? entity_type, string? entity_id, string? action, int? limit, long? before, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var errors = new List<ProblemError>();
            if (limit is < 1 or > MaxLimit) errors.Add(Problems.PageLimitField(MaxLimit));
            if (entity_id is not null && entity_type is null) errors.Add(new ProblemError("entity_id", FieldCodes.RequiresEntityType, "entity_id needs entity_type"));
            if (contest_id is not null && entity_type is not null) errors.Add(new ProblemError("contest_id", FieldCodes.Conflict, "use contest_id or entity_type, not both"));
            if (errors.Count > 0) return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: errors);
            var n = limit ?? 100;
            var args = new { contestId = contest_id, entityType = entity_type, entityId = entity_id, action, before, limit = n + 1 };
            var sql = contest_id is not null
                ? $"{ContestKeys} SELECT {Columns} FROM audit_events a JOIN keys k ON k.entity_type = a.entity_type AND k.entity_id = a.entity_id"
                : $"SELECT {Columns} FROM audit_events a WHERE (@entityType::text IS NULL OR a.entity_type = @entityType) AND (@entityId::text IS NULL OR a.entity_id = @entityId)";
            sql += (contest_id is not null ? " WHERE " : " AND ") + "(@action::text IS NULL OR a.action = @action) AND (@before::bigint IS NULL OR a.id < @before) ORDER BY a.id DESC LIMIT @limit";
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = (await c.QueryAsync<(long Id, DateTime At, string Actor, string Action, string EntityType, string EntityId, string Reason, string? Before, string? After, string? Evidence, string? Correlation)>(
                new CommandDefinition(sql, args, cancellationToken: ct))).ToList();
            var events = rows.Take(n).Select(r => new AuditEventView(r.Id, new DateTimeOffset(DateTime.SpecifyKind(r.At, DateTimeKind.Utc)), r.Actor, r.Action, r.EntityType, r.EntityId,
                r.Reason, Json(r.Before), Json(r.After), Json(r.Evidence), r.Correlation)).ToList();
            return Results.Ok(new AuditPage(events, rows.Count > n ? events[^1].Id : null));
        });
    }

    static JsonElement? Json(string? text) => text is null ? null : JsonDocument.Parse(text).RootElement.Clone();
}
