using Dapper;
using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Operations.Backups;

public sealed record BackupAttemptView(long Id, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Outcome, string Actor, string? Archive, long? SizeBytes,
    string? Sha256, long SchemaVersion, string? Error);

/// <summary>
/// <c>GET /api/admin/backups</c>: the last database backup attempts (database_backups, newest first) and the age of the
/// last successful one, in real time like <c>database_backup_age_seconds</c> (an archive is a real-world file). The
/// console's "Last backup" card reads it; <c>fairway db backups</c> shows the same from DATABASE_URL.
/// </summary>
public static class BackupEndpoints
{
    public const int MaxLimit = 100;

    public static void MapBackups(this RouteGroupBuilder admin)
    {
        admin.MapGet("/backups", async (int? limit, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, MaxLimit) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = (await c.QueryAsync<(long Id, DateTime StartedAt, DateTime FinishedAt, string Outcome, string Actor, string? Archive, long? SizeBytes, string? Sha256,
                long SchemaVersion, string? Error)>(new CommandDefinition("""
                SELECT id, started_at, finished_at, outcome, actor, archive, size_bytes, sha256, schema_version, error
                  FROM database_backups ORDER BY id DESC LIMIT @limit
                """, new { limit = limit ?? 10 }, cancellationToken: ct))).ToList();
            var last = await c.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
                "SELECT max(finished_at) FROM database_backups WHERE outcome = 'succeeded'", cancellationToken: ct));
            var lastAt = last is { } l ? Utc(l) : (DateTimeOffset?)null;
            return Results.Ok(new
            {
                last_succeeded_at = lastAt,
                age_seconds = lastAt is { } at ? Math.Max(0, (TimeProvider.System.GetUtcNow() - at).TotalSeconds) : (double?)null,
                backups = rows.Select(r => new BackupAttemptView(r.Id, Utc(r.StartedAt), Utc(r.FinishedAt), r.Outcome, r.Actor, r.Archive, r.SizeBytes, r.Sha256,
                    r.SchemaVersion, r.Error)),
            });
        });
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));
}
