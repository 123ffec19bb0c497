using System.Diagnostics;
using System.Text;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record StandingsRow(string ContestId, long IngestionEventId, int ConfigVersion, string EntrySetHash, string OutputHash, DateTimeOffset ComputedAt)
{
    public StandingsRow() : this("", 0, 0, "", "", default) { }
}

/// <summary>
/// Live standings: the engine's projection of the ACTIVE entries over an accepted leaderboard. The standings row names
/// what the projection was computed from (event, config version, entry-set hash) and its output hash; every recompute
/// also appends a scoring audit so replays can be compared. The per-entry ranking is not stored: it is a pure function
/// of that row, the stored leaderboard and the entry set, recomputed by the same engine call when read and kept per
/// process (<see cref="PageAsync"/>). The entry sets come from <see cref="EntrySetCache"/> (rosters are immutable after
/// lock), so an event costs a few small queries and one in-memory pass per contest.
/// </summary>
public sealed class StandingsService(NpgsqlDataSource db, ContestRepository contests, EntrySetCache entrySets, IngestionEventStore events, TimeProvider clock,
    ILogger<StandingsService> log)
{
    readonly ContestCache<ProjectionKey, Projection> projections = new(EntrySetCache.MaxCachedEntries, p => p.Ranked.Count);

    /// <summary>Parsed configs by (contest, version, hash): a stored version never changes, and parsing one costs more than reading it.</summary>
    readonly System.Collections.Concurrent.ConcurrentDictionary<(string Contest, int Version, string Hash), ActiveConfig> configs = new();
    const int MaxCachedConfigs = 4096;

    /// <summary>Recomputes one contest for one accepted event; a no-op when nothing it depends on changed.</summary>
    public async Task RecomputeAsync(string contestId, long eventId, string payloadHash, Leaderboard leaderboard, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        // One round trip: recomputes of one contest are serialised, then (in a snapshot taken after the lock) everything the
        // projection depends on: the active config, the entry-set version and what the standings row was computed from.
        await using var read = new NpgsqlBatch(c, tx)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(hashtext('standings:' || $1))") { Parameters = { new NpgsqlParameter<string> { TypedValue = contestId } } },
                new NpgsqlBatchCommand("""
                    SELECT v.version, v.hash, v.config_text, coalesce(es.version, 0), s.ingestion_event_id, s.config_version, s.entry_set_hash
                      FROM contests k JOIN contest_config_versions v ON v.contest_id = k.id AND v.version = k.active_config_version
                      LEFT JOIN contest_entry_sets es ON es.contest_id = k.id
                      LEFT JOIN contest_standings s ON s.contest_id = k.id
                     WHERE k.id = $1
                    """) { Parameters = { new NpgsqlParameter<string> { TypedValue = contestId } } },
            },
        };
        int configVersion;
        string configHash, configText;
        long entrySetVersion;
        (long EventId, int ConfigVersion, string EntrySetHash)? current;
        await using (var reader = await read.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct);
            if (!await reader.ReadAsync(ct)) throw new InvalidOperationException($"contest {contestId} has no active config");
            (configVersion, configHash, configText, entrySetVersion) = (reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3));
            current = reader.IsDBNull(4) ? null : (reader.GetInt64(4), reader.GetInt32(5), reader.GetString(6));
        }
        var active = ConfigOf(contestId, configVersion, configHash, configText);
        var (version, entries, _) = await entrySets.ActiveAsync(c, contestId, entrySetVersion, tx, ct);
        if (current is { } row && row.EventId == eventId && row.ConfigVersion == active.Version && row.EntrySetHash == entries.Hash)
            return;

        var projected = SettlementCalculator.Project(SettlementRules.FromConfig(active.Config), leaderboard, entries);
        if (!projected.IsSuccess)
        {
            log.LogError("Standings of contest {ContestId} at event {EventId} could not be computed: {Errors}", contestId, eventId,
                string.Join("; ", projected.Errors.Select(e => $"{e.Path}: {e.Code}: {e.Message}")));
            return;
        }
        var outputHash = SettlementResultDocument.OutputHash(projected.Value);
        var now = clock.GetUtcNow();
        await c.ExecuteAsync("""
            INSERT INTO contest_standings (contest_id, ingestion_event_id, config_version, entry_set_hash, output_hash, computed_at)
            VALUES (@contestId, @eventId, @version, @entrySetHash, @outputHash, @now)
            ON CONFLICT (contest_id) DO UPDATE SET ingestion_event_id = excluded.ingestion_event_id, config_version = excluded.config_version,
                entry_set_hash = excluded.entry_set_hash, output_hash = excluded.output_hash, computed_at = excluded.computed_at;
            INSERT INTO scoring_audits (contest_id, config_version, purpose, leaderboard_event_id, leaderboard_hash, entry_set_hash, output_hash, computed_at)
            VALUES (@contestId, @version, 'standings', @eventId, @payloadHash, @entrySetHash, @outputHash, @now)
            """, new { contestId, eventId, version = active.Version, entrySetHash = entries.Hash, outputHash, now, payloadHash }, tx);
        await tx.CommitAsync(ct);
        projections.Keep(contestId, new ProjectionKey(eventId, active.Version, version), new Projection(projected.Value, outputHash));
        IngestionMetrics.StandingsDuration.Observe(sw.Elapsed.TotalSeconds);
    }

    ActiveConfig ConfigOf(string contestId, int version, string hash, string text)
    {
        if (configs.TryGetValue((contestId, version, hash), out var known)) return known;
        var parsed = Fairway.Engine.Config.ContestConfigValidator.Validate(text);
        if (!parsed.IsSuccess)
            throw new InvalidOperationException($"stored config {contestId} v{version} no longer validates: {string.Join("; ", parsed.Errors.Select(e => e.Path + ": " + e.Code))}");
        if (configs.Count >= MaxCachedConfigs) configs.Clear();
        return configs[(contestId, version, hash)] = new ActiveConfig(version, hash, parsed.Value);
    }

    /// <summary>
    /// A page of a contest's standings, as of its standings row: the projection the row records, recomputed (or taken from
    /// this process's cache). If the contest's ACTIVE entries changed since the row was computed (only possible before
    /// lock), the page ranks the current entries on the row's leaderboard and carries that projection's own output hash;
    /// the next poll records it. Null when the contest has no standings yet.
    /// </summary>
    public async Task<StandingsView?> PageAsync(string contestId, int offset, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<(long EventId, DateTime FetchedAt, string? Status, int Version, string EntrySetHash, string Hash, string PayloadHash)?>("""
            SELECT s.ingestion_event_id, e.fetched_at, e.provider_status, s.config_version, s.entry_set_hash, s.output_hash, e.payload_hash
              FROM contest_standings s JOIN ingestion_events e ON e.id = s.ingestion_event_id WHERE s.contest_id = @contestId
            """, new { contestId });
        if (row is not { } r) return null;
        var version = await EntrySetCache.VersionAsync(c, contestId, null, ct);
        var key = new ProjectionKey(r.EventId, r.Version, version);
        if (projections.Get(contestId, key) is not { } projection)
        {
            var (loadedVersion, entries, _) = await entrySets.ActiveAsync(c, contestId, null, ct);
            var config = await contests.ConfigVersionAsync(c, contestId, r.Version)
                ?? throw new InvalidOperationException($"config v{r.Version} of contest {contestId} is missing");
            var leaderboard = LeaderboardParser.Parse(Encoding.UTF8.GetString((await events.BodyAsync(c, r.PayloadHash))!)).Value;
            var projected = SettlementCalculator.Project(SettlementRules.FromConfig(config.Config), leaderboard, entries);
            if (!projected.IsSuccess)
                throw new InvalidOperationException($"standings of contest {contestId} at event {r.EventId} no longer compute: {string.Join("; ", projected.Errors.Select(e => e.Code))}");
            var hash = entries.Hash == r.EntrySetHash ? r.Hash : SettlementResultDocument.OutputHash(projected.Value);
            projection = new Projection(projected.Value, hash);
            key = key with { EntrySetVersion = loadedVersion };
            projections.Keep(contestId, key, projection);
        }
        var ranked = projection.Ranked;
        var page = new List<StandingsEntryView>(Math.Max(0, Math.Min(limit, ranked.Count - offset)));
        for (var p = offset; p < ranked.Count && p < offset + limit; p++)
            page.Add(new StandingsEntryView(ranked.IdAt(p), ranked.UserIdAt(p), ranked.RankAt(p), ranked.ScoreAt(p), ranked.PrizeAt(p)));
        return new StandingsView(contestId, r.EventId, new DateTimeOffset(DateTime.SpecifyKind(r.FetchedAt, DateTimeKind.Utc)), r.Status, r.Version, projection.OutputHash,
            ranked.Gross, ranked.Rake, ranked.Net, ranked.Count, offset, page);
    }

    public readonly record struct ProjectionKey(long EventId, int ConfigVersion, long EntrySetVersion);

    public sealed record Projection(RankedSettlement Ranked, string OutputHash);
}
