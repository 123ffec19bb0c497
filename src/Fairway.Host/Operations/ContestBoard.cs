using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Operations;

/// <summary>One contest as ops see it at a glance: lifecycle, paid entries, escrow, settlement and payout progress.</summary>
public sealed record ContestBoardRow
{
    public string Id { get; init; } = "";
    public string Name { get; init; } = "";
    public string TournamentId { get; init; } = "";
    public string State { get; init; } = "";
    public DateTimeOffset StateChangedAt { get; init; }
    public DateTimeOffset LockTime { get; init; }
    public long ActiveEntries { get; init; }
    public long PendingEntries { get; init; }
    public long RefundedEntries { get; init; }
    public long EscrowBalance { get; init; }
    public string? Currency { get; init; }
    public string? SettlementOutputHash { get; init; }
    public DateTimeOffset? SettledAt { get; init; }
    public string? PayoutJobStatus { get; init; }
    public long TransfersCompleted { get; init; }
    public long TransfersFailed { get; init; }
    public long TransfersOpen { get; init; }
    /// <summary>For a contest in ERROR: the failure that put it there (from the audited ERROR transition), and the runbook it names.</summary>
    public string? ErrorCode { get; init; }
    public int? ErrorFailedRuns { get; init; }
    public string? ErrorRunbook { get; init; }
}

/// <summary>
/// <c>GET /api/admin/board/contests</c> (<c>fairway contests board</c>): a read-only diagnostic view across
/// capabilities (Operations may read them all). Ordered by the latest state change first, then id; at most 200.
/// <c>counts_by_state</c> counts every contest (not only the page), every state included.
/// </summary>
public static class ContestBoard
{
    public const int MaxLimit = 200;

    public static void MapContestBoard(this RouteGroupBuilder admin)
    {
        admin.MapGet("/board/contests", async (string? state, string? contest_id, int? limit, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (state is not null && !ContestStates.TryParse(state, out _))
                return Problems.Result(ProblemCodes.ValidationFailed, "Unknown state.", errors: [new ProblemError("state", FieldCodes.InvalidState, "one of SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED, ERROR")]);
            if (Problems.PageLimitError(limit, MaxLimit) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await c.QueryAsync<ContestBoardRow>(new CommandDefinition("""
                SELECT k.id AS Id, k.name AS Name, k.tournament_id AS TournamentId, k.state AS State, k.state_changed_at AS StateChangedAt, k.lock_time AS LockTime,
                       e.active AS ActiveEntries, e.pending AS PendingEntries, e.refunded AS RefundedEntries,
                       coalesce(a.balance, 0) AS EscrowBalance, coalesce(trim(a.currency), e.currency) AS Currency,
                       s.output_hash AS SettlementOutputHash, s.committed_at AS SettledAt,
                       j.status AS PayoutJobStatus, coalesce(t.completed, 0) AS TransfersCompleted, coalesce(t.failed, 0) AS TransfersFailed, coalesce(t.open, 0) AS TransfersOpen,
                       x.evidence->>'last_error_code' AS ErrorCode, (x.evidence->>'failed_runs')::int AS ErrorFailedRuns, x.evidence->>'runbook' AS ErrorRunbook
                  FROM contests k
                  LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'ACTIVE') AS active, count(*) FILTER (WHERE status = 'PENDING_PAYMENT') AS pending,
                                            count(*) FILTER (WHERE status = 'REFUNDED') AS refunded, max(trim(currency)) AS currency
                                       FROM entries WHERE contest_id = k.id) e ON true
                  LEFT JOIN ledger_accounts a ON a.id = 'escrow:' || k.id
                  LEFT JOIN settlements s ON s.contest_id = k.id
                  LEFT JOIN payout_jobs j ON j.contest_id = k.id
                  LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'completed') AS completed, count(*) FILTER (WHERE status = 'failed_terminal') AS failed,
                                            count(*) FILTER (WHERE status NOT IN ('completed', 'failed_terminal')) AS open
                                       FROM payout_transfers WHERE payout_job_id = j.id) t ON true
                  LEFT JOIN LATERAL (SELECT a.evidence FROM audit_events a
                                      WHERE a.entity_type = 'contest' AND a.entity_id = k.id AND a.action = 'contest.transition' AND a.after_state->>'state' = 'ERROR'
                                      ORDER BY a.id DESC LIMIT 1) x ON k.state = 'ERROR'
                 WHERE (@state::text IS NULL OR k.state = @state) AND (@contestId::text IS NULL OR k.id = @contestId)
                 ORDER BY k.state_changed_at DESC, k.id
                 LIMIT @limit
                """, new { state, contestId = contest_id, limit = limit ?? 50 }, cancellationToken: ct));
            var counts = (await c.QueryAsync<(string State, long Count)>(new CommandDefinition("SELECT state, count(*) FROM contests GROUP BY state", cancellationToken: ct)))
                .ToDictionary(r => r.State, r => r.Count);
            return Results.Ok(new
            {
                contests = rows,
                counts_by_state = Enum.GetValues<ContestState>().Select(ContestStates.Name).ToDictionary(name => name, name => counts.GetValueOrDefault(name)),
            });
        });
    }
}
