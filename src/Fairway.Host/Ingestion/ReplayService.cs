using System.Text;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record ReplayedScore(string ContestId, int ConfigVersion, string RecordedOutputHash, string? ReplayedOutputHash, string Status);
public sealed record ReplayedEvent(long EventId, DateTimeOffset FetchedAt, string PayloadHash, IReadOnlyList<ReplayedScore> Scores);
public sealed record ReplayReport(string TournamentId, int EventsReplayed, int Matches, int Mismatches, int NotComparable, long? NextAfterEventId, IReadOnlyList<ReplayedEvent> Events);

/// <summary>
/// Recomputes scoring from the stored events and compares each result with the scoring audit
/// recorded at the time. A recomputation is comparable when the entry set is still the one recorded
/// (entries cannot change after lock, so live standings always are). A mismatch increments
/// score_audit_mismatches and writes an audit row; it never changes anything else.
/// </summary>
public sealed class ReplayService(NpgsqlDataSource db, ContestRepository contests, IngestionEventStore events, EntrySetCache entrySets, AuditWriter audit, ILogger<ReplayService> log)
{
    public const int MaxEventsPerCall = 2000;

    public async Task<ReplayReport> ReplayAsync(string tournamentId, long? afterEventId, int limit, string actor, CancellationToken ct)
    {
        limit = Math.Clamp(limit, 1, MaxEventsPerCall);
        await using var c = await db.OpenConnectionAsync(ct);
        var accepted = await events.ListAsync(c, tournamentId, "accepted", afterEventId, limit + 1);
        var page = accepted.Take(limit).ToList();
        var report = new List<ReplayedEvent>();
        int matches = 0, mismatches = 0, notComparable = 0;
        var entriesByContest = new Dictionary<string, EntrySet>();
        foreach (var ev in page)
        {
            var lb = LeaderboardParser.Parse(Encoding.UTF8.GetString((await events.BodyAsync(c, ev.PayloadHash!))!)).Value;
            var audits = await c.QueryAsync<(string ContestId, int ConfigVersion, string EntrySetHash, string OutputHash)>(
                "SELECT contest_id, config_version, entry_set_hash, output_hash FROM scoring_audits WHERE leaderboard_event_id = @id AND purpose = 'standings' ORDER BY contest_id, id",
                new { id = ev.Id });
            var scores = new List<ReplayedScore>();
            foreach (var a in audits)
            {
                if (!entriesByContest.TryGetValue(a.ContestId, out var set))
                    entriesByContest[a.ContestId] = set = (await entrySets.ActiveAsync(c, a.ContestId, null, ct)).Entries;
                if (set.Hash != a.EntrySetHash)
                {
                    notComparable++;
                    scores.Add(new ReplayedScore(a.ContestId, a.ConfigVersion, a.OutputHash, null, "entry_set_changed"));
                    continue;
                }
                var config = (await contests.ConfigVersionAsync(c, a.ContestId, a.ConfigVersion))!;
                var projected = SettlementCalculator.Project(SettlementRules.FromConfig(config.Config), lb, set);
                var hash = projected.IsSuccess ? SettlementResultDocument.OutputHash(projected.Value) : null;
                if (hash == a.OutputHash) { matches++; scores.Add(new ReplayedScore(a.ContestId, a.ConfigVersion, a.OutputHash, hash, "match")); continue; }
                mismatches++;
                scores.Add(new ReplayedScore(a.ContestId, a.ConfigVersion, a.OutputHash, hash, "mismatch"));
                IngestionMetrics.ScoreAuditMismatches.Inc();
                log.LogError("Score audit mismatch: contest {ContestId} event {EventId} recorded {Recorded}, replayed {Replayed}", a.ContestId, ev.Id, a.OutputHash, hash);
                await using var tx = await c.BeginTransactionAsync(ct);
                await audit.WriteAsync(tx, new AuditEntry(actor, "score_audit.mismatch", "contest", a.ContestId, $"replay of ingestion event {ev.Id} does not reproduce the recorded output",
                    Evidence: new { ingestion_event_id = ev.Id, config_version = a.ConfigVersion, recorded_output_hash = a.OutputHash, replayed_output_hash = hash }), ct);
                await tx.CommitAsync(ct);
            }
            report.Add(new ReplayedEvent(ev.Id, ev.FetchedAt, ev.PayloadHash!, scores));
        }
        return new ReplayReport(tournamentId, page.Count, matches, mismatches, notComparable, accepted.Count > limit ? page[^1].Id : null, report);
    }
}
