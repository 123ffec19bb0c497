using System.Text.Json;
using Dapper;
using Fairway.Engine;
using Fairway.Engine.Fields;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Golf;

public sealed record FieldGolfer(string Id, string Name, int? WorldRank);

public sealed record ContestField(string Source, IReadOnlyList<FieldGolfer> Primary, IReadOnlyList<FieldGolfer> Alternates, string Hash, DateTimeOffset SelectedAt, string SelectedBy);

/// <summary>
/// The validated field of a contest: the engine selects primary golfers and alternates, the result
/// is stored as a new append-only row. The field can change only while the contest is SCHEDULED.
/// </summary>
public sealed class ContestFieldService(NpgsqlDataSource db, ContestRepository contests, AuditWriter audit, TimeProvider clock)
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<(ContestField? Field, int Status, ProblemCode? Code, string? Message, IReadOnlyList<ProblemError> Errors)> SelectAsync(
        string contestId, IReadOnlyList<FieldGolfer> participants, string source, string actor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId);
        if (row is null) return (null, 404, ProblemCodes.ContestNotFound, $"no contest '{contestId}'", []);
        if (row.State != ContestStates.Name(ContestState.Scheduled))
            return (null, 409, ProblemCodes.FieldLocked, $"contest {contestId} is {row.State}; the field can change only while SCHEDULED", []);
        var config = await contests.ActiveConfigAsync(c, contestId, tx);
        var selection = FieldSelector.Select(config.Config, participants.Select(p => new FieldCandidate(p.Id, p.WorldRank, p.Name)).ToList());
        if (!selection.IsSuccess)
            return (null, 422, ProblemCodes.FieldInvalid, "The field is invalid.", selection.Errors.Select(e => new ProblemError("participants" + (e.Path.Length > 0 ? "." + e.Path : ""), e.Code, e.Message)).ToList());

        var primary = selection.Value.Primary.Select(g => new FieldGolfer(g.ProviderPlayerId, g.Name, g.WorldRanking)).ToList();
        var alternates = selection.Value.Alternates.Select(g => new FieldGolfer(g.ProviderPlayerId, g.Name, g.WorldRanking)).ToList();
        var canonical = CanonicalJson.Canonicalize(JsonSerializer.Serialize(new { primary, alternates }, Json));
        var hash = CanonicalJson.Sha256Hex(canonical.Value);
        var current = await CurrentAsync(c, contestId, tx);
        if (current is not null && current.Hash == hash && current.Source == source) return (current, 200, null, null, []);

        var now = clock.GetUtcNow();
        await c.ExecuteAsync("""
            INSERT INTO contest_fields (contest_id, source, primary_field, alternates, hash, selected_at, selected_by)
            VALUES (@contestId, @source, @primary::jsonb, @alternates::jsonb, @hash, @now, @actor)
            """, new { contestId, source, primary = JsonSerializer.Serialize(primary, Json), alternates = JsonSerializer.Serialize(alternates, Json), hash, now, actor }, tx);
        await audit.WriteAsync(tx, new AuditEntry(actor, "contest.field_selected", "contest", contestId, $"field selected from {source}",
            Before: current is null ? null : new { hash = current.Hash }, After: new { hash, primary = primary.Count, alternates = alternates.Count }), ct);
        await tx.CommitAsync(ct);
        return (new ContestField(source, primary, alternates, hash, now, actor), 201, null, null, []);
    }

    public async Task<ContestField?> CurrentAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null)
    {
        var r = await c.QuerySingleOrDefaultAsync<(string Source, string Primary, string Alternates, string Hash, DateTime SelectedAt, string SelectedBy)?>("""
            SELECT source, primary_field::text, alternates::text, hash, selected_at, selected_by FROM contest_fields
            WHERE contest_id = @contestId ORDER BY id DESC LIMIT 1
            """, new { contestId }, tx);
        return r is { } v
            ? new ContestField(v.Source, JsonSerializer.Deserialize<List<FieldGolfer>>(v.Primary, Json)!, JsonSerializer.Deserialize<List<FieldGolfer>>(v.Alternates, Json)!,
                v.Hash, new DateTimeOffset(DateTime.SpecifyKind(v.SelectedAt, DateTimeKind.Utc)), v.SelectedBy)
            : null;
    }
}
