using System.Text.Json;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Payouts;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Npgsql;

namespace Fairway.Host.Settlement;

/// <summary>
/// Provider corrections after settlement (docs/decisions.md "Corrections after settlement"). Ingestion keeps
/// polling a tournament while one of its contests is COMPLETE and unsettled, or settled less than
/// SETTLEMENT_CORRECTION_WINDOW_SECONDS ago. Every accepted leaderboard newer than the one a settlement used is
/// recomputed with the settled entries and config; when the output hash differs, the mismatch is counted
/// (<c>score_audit_mismatches</c>), audited (<c>settlement.correction_detected</c>, both hashes, the event) and
/// logged at error level. The settlement stands; payouts not yet attempted are held for an admin's review,
/// otherwise it is recorded and alerted only. Never applied silently, never re-settled automatically.
/// </summary>
public sealed class SettlementCorrectionService(
    NpgsqlDataSource db, ContestRepository contests, SettlementRepository settlements, PayoutOrchestrationService payouts, AuditWriter audit,
    FairwaySettings settings, TimeProvider clock, ILogger<SettlementCorrectionService> log)
{
    public const string Actor = "system:settlement-audit";

    /// <summary>Whether ingestion still polls for this COMPLETE contest: unsettled, or settled within the correction window.</summary>
    public async Task<bool> WatchesAsync(NpgsqlConnection c, string contestId)
    {
        var committedAt = await c.QuerySingleOrDefaultAsync<DateTime?>("SELECT committed_at FROM settlements WHERE contest_id = @contestId", new { contestId });
        return committedAt is null || new DateTimeOffset(DateTime.SpecifyKind(committedAt.Value, DateTimeKind.Utc)) + settings.SettlementCorrectionWindow > clock.GetUtcNow();
    }

    /// <summary>
    /// Compares an accepted leaderboard with a COMPLETE contest's settlement (a no-op when the contest is not settled,
    /// the event is not newer than the settled one, or this event was already checked). Never throws: a failed
    /// check is logged and, having recorded nothing, is retried by the next poll.
    /// </summary>
    public async Task CheckAsync(string contestId, long eventId, string payloadHash, Leaderboard leaderboard, CancellationToken ct = default)
    {
        try
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var settlement = await settlements.ByContestAsync(c, contestId);
            if (settlement is null || eventId <= settlement.LeaderboardEventId) return;
            if (await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM settlement_correction_checks WHERE settlement_id = @id AND ingestion_event_id = @eventId)",
                    new { id = settlement.Id, eventId })) return;

            var config = await contests.ConfigVersionAsync(c, contestId, settlement.ConfigVersion)
                ?? throw new InvalidOperationException($"config v{settlement.ConfigVersion} of contest {contestId} is missing");
            var entries = await EntrySetReader.SettledAsync(c, settlement.Id, ct);
            var recomputed = SettlementCalculator.Settle(settlement.RulesOf(config.Config), leaderboard, entries);
            var correctedHash = recomputed.IsSuccess ? SettlementResultDocument.OutputHash(recomputed.Value)
                : "engine_rejected:" + string.Join(";", recomputed.Errors.Select(e => e.Code));
            var mismatch = correctedHash != settlement.OutputHash;

            await using var tx = await c.BeginTransactionAsync(ct);
            await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('settlement-correction:' || @id::text))", new { id = settlement.Id }, tx);
            if (await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM settlement_correction_checks WHERE settlement_id = @id AND ingestion_event_id = @eventId)",
                    new { id = settlement.Id, eventId }, tx)) return;
            string? action = null;
            if (mismatch)
            {
                action = await payouts.HoldForCorrectionAsync(tx, settlement.Id, contestId, eventId, Actor, ct);
                await audit.WriteAsync(tx, new AuditEntry(Actor, "settlement.correction_detected", "settlement", contestId,
                    action == "payouts_held"
                        ? "provider correction after settlement changes the result; the settlement stands; payouts held for admin review (no transfer attempted yet)"
                        : "provider correction after settlement changes the result; the settlement stands; payouts already ran: recorded and alerted only",
                    Before: new { output_hash = settlement.OutputHash, leaderboard_event_id = settlement.LeaderboardEventId, leaderboard_hash = settlement.LeaderboardHash },
                    After: new { output_hash = correctedHash, leaderboard_event_id = eventId, leaderboard_hash = payloadHash },
                    Evidence: new { settlement_id = settlement.Id, ingestion_event_id = eventId, settled_output_hash = settlement.OutputHash, corrected_output_hash = correctedHash, action }), ct);
            }
            await c.ExecuteAsync("""
                INSERT INTO settlement_correction_checks (settlement_id, contest_id, ingestion_event_id, leaderboard_hash, settled_output_hash, corrected_output_hash, outcome, action, checked_at)
                VALUES (@id, @contestId, @eventId, @payloadHash, @settled, @corrected, @outcome, @action, @now)
                """, new { id = settlement.Id, contestId, eventId, payloadHash, settled = settlement.OutputHash, corrected = correctedHash, outcome = mismatch ? "mismatch" : "match", action, now = clock.GetUtcNow() }, tx);
            await tx.CommitAsync(ct);
            if (mismatch)
            {
                IngestionMetrics.ScoreAuditMismatches.Inc();
                log.LogError("Provider correction AFTER settlement of contest {ContestId}: ingestion event {EventId} gives output {CorrectedHash}, settled output is {SettledHash} (settlement {SettlementId}); the settlement stands; action: {Action}",
                    contestId, eventId, correctedHash, settlement.OutputHash, settlement.Id, action);
            }
            else
                log.LogInformation("Leaderboard event {EventId} after the settlement of contest {ContestId} does not change its result ({OutputHash})", eventId, contestId, settlement.OutputHash);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "Correction check of contest {ContestId} against ingestion event {EventId} failed; the next poll retries it", contestId, eventId);
        }
    }
}
