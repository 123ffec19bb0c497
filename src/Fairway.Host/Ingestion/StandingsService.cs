using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record StandingsRow(string ContestId, long IngestionEventId, int ConfigVersion, string EntrySetHash, string OutputHash, DateTimeOffset ComputedAt, string Result)
{
    public StandingsRow() : this("", 0, 0, "", "", default, "{}") { }
}

/// <summary>
/// Live standings: the engine's projection of the ACTIVE entries over an accepted leaderboard. The
/// standings row is a derived, replaceable projection; every recompute also appends a scoring audit
/// (config version, leaderboard hash, entry-set hash, output hash) so replays can be compared.
/// </summary>
public sealed class StandingsService(NpgsqlDataSource db, ContestRepository contests, TimeProvider clock, ILogger<StandingsService> log)
{
    public static async Task<IReadOnlyList<SettlementEntry>> ActiveEntriesAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null) =>
        (await c.QueryAsync<(string Id, string UserId, string Golfers)>(
            "SELECT id, user_id, golfers::text FROM entries WHERE contest_id = @contestId AND status = 'ACTIVE' ORDER BY id", new { contestId }, tx))
        .Select(r => new SettlementEntry(r.Id, r.UserId, JsonSerializer.Deserialize<List<string>>(r.Golfers)!)).ToList();

    /// <summary>Recomputes one contest for one accepted event; a no-op when nothing it depends on changed.</summary>
    public async Task RecomputeAsync(string contestId, long eventId, string payloadHash, Leaderboard leaderboard, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var active = await contests.ActiveConfigAsync(c, contestId, tx);
        var entries = await ActiveEntriesAsync(c, contestId, tx);
        var entrySetHash = EntrySetHash.Of(entries);
        var current = await c.QuerySingleOrDefaultAsync<StandingsRow>(
            "SELECT contest_id AS ContestId, ingestion_event_id AS IngestionEventId, config_version AS ConfigVersion, entry_set_hash AS EntrySetHash FROM contest_standings WHERE contest_id = @contestId FOR UPDATE",
            new { contestId }, tx);
        if (current is not null && current.IngestionEventId == eventId && current.ConfigVersion == active.Version && current.EntrySetHash == entrySetHash)
            return;

        var projected = SettlementCalculator.Project(SettlementRules.FromConfig(active.Config), leaderboard, entries);
        if (!projected.IsSuccess)
        {
            log.LogError("Standings of contest {ContestId} at event {EventId} could not be computed: {Errors}", contestId, eventId,
                string.Join("; ", projected.Errors.Select(e => $"{e.Path}: {e.Code}: {e.Message}")));
            return;
        }
        var document = SettlementResultDocument.Build(projected.Value);
        var now = clock.GetUtcNow();
        await c.ExecuteAsync("""
            INSERT INTO contest_standings (contest_id, ingestion_event_id, config_version, entry_set_hash, output_hash, computed_at, result)
            VALUES (@contestId, @eventId, @version, @entrySetHash, @hash, @now, @result::jsonb)
            ON CONFLICT (contest_id) DO UPDATE SET ingestion_event_id = excluded.ingestion_event_id, config_version = excluded.config_version,
                entry_set_hash = excluded.entry_set_hash, output_hash = excluded.output_hash, computed_at = excluded.computed_at, result = excluded.result
            """, new { contestId, eventId, version = active.Version, entrySetHash, hash = document.OutputHash, now, result = document.Json }, tx);
        await c.ExecuteAsync("""
            INSERT INTO scoring_audits (contest_id, config_version, purpose, leaderboard_event_id, leaderboard_hash, entry_set_hash, output_hash, computed_at)
            VALUES (@contestId, @version, 'standings', @eventId, @payloadHash, @entrySetHash, @hash, @now)
            """, new { contestId, version = active.Version, eventId, payloadHash, entrySetHash, hash = document.OutputHash, now }, tx);
        await tx.CommitAsync(ct);
        IngestionMetrics.StandingsDuration.Observe(sw.Elapsed.TotalSeconds);
    }
}
