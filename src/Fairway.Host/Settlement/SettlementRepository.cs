using Dapper;
using Npgsql;

namespace Fairway.Host.Settlement;

/// <summary>Reads of the settlement tables (explicit SQL). Writes live in <see cref="SettlementService"/>.</summary>
public sealed class SettlementRepository
{
    const string Columns = """
        id AS Id, contest_id AS ContestId, config_version AS ConfigVersion, config_hash AS ConfigHash, leaderboard_event_id AS LeaderboardEventId,
        leaderboard_hash AS LeaderboardHash, complete_event_id AS CompleteEventId, entry_set_hash AS EntrySetHash, entry_count AS EntryCount,
        output_hash AS OutputHash, gross AS Gross, rake AS Rake, net AS Net, currency AS Currency, winners AS Winners, started_at AS StartedAt,
        committed_at AS CommittedAt, load_ms AS LoadMs, compute_ms AS ComputeMs, persist_ms AS PersistMs, settled_by AS SettledBy, correlation_id AS CorrelationId
        """;

    public Task<SettlementView?> ByContestAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<SettlementView>($"SELECT {Columns} FROM settlements WHERE contest_id = @contestId", new { contestId }, tx);

    public Task<SettlementView?> ByIdAsync(NpgsqlConnection c, long id, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<SettlementView>($"SELECT {Columns} FROM settlements WHERE id = @id", new { id }, tx);

    /// <summary>Results ordered by (rank, entry id), as the engine orders them; bounded by <paramref name="limit"/> when given.</summary>
    public async Task<IReadOnlyList<SettlementResultRow>> ResultsAsync(NpgsqlConnection c, long settlementId, int? limit = null, NpgsqlTransaction? tx = null) =>
        (await c.QueryAsync<SettlementResultRow>(new CommandDefinition($"""
            SELECT entry_id AS EntryId, user_id AS UserId, golfers::text AS Golfers, rank AS Rank, score AS Score, prize AS Prize
              FROM settlement_results WHERE settlement_id = @settlementId
             ORDER BY rank, entry_id COLLATE "C"
             {(limit is null ? "" : "LIMIT @limit")}
            """, new { settlementId, limit }, tx, commandTimeout: 600))).ToList();

    /// <summary>Winnings per user (prize &gt; 0 aggregated), user id order.</summary>
    public async Task<IReadOnlyList<(string UserId, long Amount)>> WinningsAsync(NpgsqlConnection c, long settlementId, NpgsqlTransaction? tx = null) =>
        (await c.QueryAsync<(string, long)>("""
            SELECT user_id, sum(prize)::bigint FROM settlement_results WHERE settlement_id = @settlementId AND prize > 0
             GROUP BY user_id ORDER BY user_id COLLATE "C"
            """, new { settlementId }, tx)).ToList();

    /// <summary>
    /// What <c>settlement_failed_contests</c> (and alert SettlementFailed) counts, over <c>contests k</c>: a COMPLETE contest
    /// without a settlement whose latest settlement attempt failed.
    /// </summary>
    public const string FailingContestSql = """
        k.state = 'COMPLETE' AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.contest_id = k.id)
           AND (SELECT r.outcome FROM settlement_runs r WHERE r.contest_id = k.id ORDER BY r.id DESC LIMIT 1) = 'failed'
        """;

    /// <summary>
    /// The contests <see cref="FailingContestSql"/> counts (how many, and the first <paramref name="limit"/>), the oldest
    /// latest failure first (its time, then contest id): the on-call's list, since the alert names no contest.
    /// </summary>
    public async Task<(long Count, IReadOnlyList<FailingContestRow> Contests)> FailingContestsAsync(NpgsqlConnection c, int limit, CancellationToken ct)
    {
        var count = await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM contests k WHERE {FailingContestSql}", cancellationToken: ct));
        var rows = (await c.QueryAsync<FailingContestRow>(new CommandDefinition($"""
            SELECT k.id AS ContestId, k.tournament_id AS TournamentId, r.id AS LastRunId, r.error_code AS ErrorCode, r.finished_at AS FailedAt,
                   (SELECT count(*) FROM settlement_runs x WHERE x.contest_id = k.id AND x.outcome = 'failed') AS FailedRuns
              FROM contests k
              CROSS JOIN LATERAL (SELECT id, error_code, finished_at FROM settlement_runs WHERE contest_id = k.id ORDER BY id DESC LIMIT 1) r
             WHERE {FailingContestSql}
             ORDER BY r.finished_at, k.id COLLATE "C"
             LIMIT @limit
            """, new { limit }, cancellationToken: ct))).ToList();
        return (count, rows);
    }

    public async Task<IReadOnlyList<SettlementRunView>> RunsAsync(NpgsqlConnection c, string contestId, int limit = 50) =>
        (await c.QueryAsync<SettlementRunView>("""
            SELECT id AS Id, started_at AS StartedAt, finished_at AS FinishedAt, outcome AS Outcome, settlement_id AS SettlementId, error_code AS ErrorCode,
                   error_json::text AS ErrorJson, triggered_by AS TriggeredBy, correlation_id AS CorrelationId
              FROM settlement_runs WHERE contest_id = @contestId ORDER BY id DESC LIMIT @limit
            """, new { contestId, limit })).ToList();

    public async Task<IReadOnlyList<CorrectionCheckView>> CorrectionChecksAsync(NpgsqlConnection c, long settlementId) =>
        (await c.QueryAsync<CorrectionCheckView>("""
            SELECT id AS Id, ingestion_event_id AS IngestionEventId, leaderboard_hash AS LeaderboardHash, settled_output_hash AS SettledOutputHash,
                   corrected_output_hash AS CorrectedOutputHash, outcome AS Outcome, action AS Action, checked_at AS CheckedAt
              FROM settlement_correction_checks WHERE settlement_id = @settlementId ORDER BY id
            """, new { settlementId })).ToList();

    /// <summary>
    /// The COMPLETE transition of a contest: when the contest FIRST became COMPLETE (the settlement hold counts from there,
    /// also after an admin resolved an ERROR back to COMPLETE) and the ingestion event the LATEST one names.
    /// </summary>
    public async Task<(DateTimeOffset At, long EventId)?> CompleteTransitionAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null)
    {
        var row = await c.QuerySingleOrDefaultAsync<(DateTime? At, long? EventId)?>("""
            SELECT (SELECT occurred_at FROM audit_events
                     WHERE entity_type = 'contest' AND entity_id = @contestId AND action = 'contest.transition' AND after_state->>'state' = 'COMPLETE'
                     ORDER BY id LIMIT 1),
                   (SELECT (evidence->>'ingestion_event_id')::bigint FROM audit_events
                     WHERE entity_type = 'contest' AND entity_id = @contestId AND action = 'contest.transition' AND after_state->>'state' = 'COMPLETE'
                     ORDER BY id DESC LIMIT 1)
            """, new { contestId }, tx);
        if (row is not { At: { } at, EventId: { } eventId }) return null;
        return (new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)), eventId);
    }

    /// <summary>The newest settlement run of a contest (0 when none).</summary>
    public Task<long> LastRunIdAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null) =>
        c.ExecuteScalarAsync<long>("SELECT coalesce(max(id), 0) FROM settlement_runs WHERE contest_id = @contestId", new { contestId }, tx);
}
