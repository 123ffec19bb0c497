using System.Text.Json;
using Dapper;
using Fairway.Engine;
using Fairway.Engine.Golf;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Platform.Configuration;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record PollResult(string TournamentId, long? EventId, string Outcome, int? HttpStatus, IReadOnlyList<IngestionError> Errors, IReadOnlyList<LeaderboardAnomaly> Anomalies, string? ProviderStatus);

/// <summary>
/// One poll of one tournament: fetch → store (append-only, with hash and validation outcome) →
/// only then, for an accepted payload, lifecycle signals and standings. Everything after the store is
/// idempotent and also runs for a duplicate of the accepted payload, so a step that failed after the
/// event was committed is completed by the next poll.
/// </summary>
public sealed class IngestionService(
    NpgsqlDataSource db, ProviderClient provider, IngestionEventStore events, TournamentRepository tournaments, ContestRepository contests,
    ContestLifecycleService lifecycle, StandingsService standings, ContestFieldService fields, FairwaySettings settings, TimeProvider clock,
    ILogger<IngestionService> log, Settlement.SettlementCorrectionService corrections)
{
    static readonly ProviderPayloadValidator Validator = new();
    public const string StalePayload = "STALE_PAYLOAD";

    public sealed record TrackedContest(string Id, ContestState State, ActiveConfig Config);

    /// <summary>
    /// Contests of a tournament that ingestion still serves: not finished, or COMPLETE and still watched for
    /// provider corrections (unsettled, or settled within SETTLEMENT_CORRECTION_WINDOW_SECONDS; see Settlement/).
    /// </summary>
    public async Task<IReadOnlyList<TrackedContest>> TrackedContestsAsync(NpgsqlConnection c, string tournamentId)
    {
        var rows = await contests.ListAsync(c, null, tournamentId, 1000, null);
        var result = new List<TrackedContest>();
        foreach (var r in rows)
            if (r.State is "SCHEDULED" or "LOCKED" or "LIVE" or "ERROR" || (r.State == "COMPLETE" && await corrections.WatchesAsync(c, r.Id)))
                result.Add(new TrackedContest(r.Id, ContestStates.Parse(r.State), await contests.ActiveConfigAsync(c, r.Id)));
        return result;
    }

    public async Task<PollResult> PollAsync(string tournamentId, CancellationToken ct = default)
    {
        Tournament tournament;
        IReadOnlyList<TrackedContest> tracked;
        await using (var c = await db.OpenConnectionAsync(ct))
        {
            tournament = await tournaments.GetAsync(c, tournamentId) ?? throw new InvalidOperationException($"no tournament '{tournamentId}'");
            tracked = await TrackedContestsAsync(c, tournamentId);
        }
        if (tracked.Count == 0) return new PollResult(tournamentId, null, "skipped", null, [], [], null);
        var roundCount = tracked.Max(t => t.Config.Config.RoundCount);

        var fetch = await provider.FetchLeaderboardAsync(tournament.ProviderEventId, ct);
        IngestionMetrics.FetchDuration.Observe(fetch.Duration.TotalSeconds);
        var fetchedAt = clock.GetUtcNow();
        var hash = fetch.Body is null ? null : CanonicalJson.Sha256Hex(fetch.Body);

        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await events.LockTournamentAsync(tx, tournamentId);
        var lastUsable = await events.LastUsableAsync(conn, tournamentId, tx);
        var errors = new List<IngestionError>();
        var anomalies = new List<LeaderboardAnomaly>();
        Leaderboard? leaderboard = null;
        string outcome;
        if (fetch.TransportError is not null || fetch.HttpStatus != 200)
        {
            outcome = "fetch_failed";
            errors.Add(new IngestionError("$", fetch.TransportError is null ? "HTTP_STATUS" : "TRANSPORT", fetch.TransportError ?? $"provider answered HTTP {fetch.HttpStatus}"));
        }
        else if (lastUsable?.PayloadHash == hash)
        {
            outcome = "duplicate";
        }
        else
        {
            var payload = new ProviderPayload(fetch.Body!, tournament.ProviderEventId, roundCount);
            var validation = await Validator.ValidateAsync(payload, ct);
            errors.AddRange(validation.Errors.Select(e => new IngestionError(e.PropertyName, e.ErrorCode, e.ErrorMessage)));
            if (errors.Count == 0)
            {
                leaderboard = payload.Parsed!;
                if (await conn.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM ingestion_events WHERE tournament_id = @tournamentId AND payload_hash = @hash AND outcome = 'accepted')", new { tournamentId, hash }, tx))
                    anomalies.Add(new LeaderboardAnomaly(StalePayload, null, null, "identical to an earlier accepted payload that has since been superseded"));
                var lastAccepted = await events.LastAcceptedAsync(conn, tournamentId, tx);
                if (lastAccepted?.PayloadHash is { } previousHash)
                {
                    var previous = LeaderboardParser.Parse(System.Text.Encoding.UTF8.GetString((await events.BodyAsync(conn, previousHash, tx))!)).Value;
                    anomalies.AddRange(LeaderboardConsistency.Compare(previous, leaderboard, fieldLocked: tracked.Any(t => t.State != ContestState.Scheduled)));
                }
            }
            outcome = errors.Count == 0 && anomalies.Count == 0 ? "accepted" : "rejected";
        }
        var providerStatus = leaderboard?.Status.ToString().ToLowerInvariant() ?? (outcome == "duplicate" ? lastUsable!.ProviderStatus : null);
        var eventId = await events.AppendAsync(tx, tournamentId, fetchedAt, fetch, hash, outcome, errors, anomalies.Cast<object>().ToList(), providerStatus);
        await tx.CommitAsync(ct);

        IngestionMetrics.Events.WithLabels(outcome).Inc();
        foreach (var a in anomalies) IngestionMetrics.Anomalies.WithLabels(a.Code).Inc();
        if (outcome == "rejected")
        {
            IngestionMetrics.Rejected.WithLabels(tournamentId).Inc();
            log.LogError("Ingestion event {EventId} for tournament {TournamentId} rejected: {Errors} {Anomalies}", eventId, tournamentId,
                string.Join("; ", errors.Select(e => $"{e.Path}: {e.Code}: {e.Message}")), string.Join("; ", anomalies.Select(a => $"{a.Code} {a.PlayerId} r{a.Round}: {a.Detail}")));
        }
        else if (outcome == "fetch_failed")
            log.LogWarning("Ingestion fetch for tournament {TournamentId} failed: {Error}", tournamentId, errors[0].Message);

        if (outcome is "accepted" or "duplicate")
        {
            // For a duplicate, the evidence is the accepted event that first stored this payload.
            var basis = outcome == "accepted" ? (Id: eventId, Lb: leaderboard!) : await AcceptedBasisAsync(tournamentId, hash!, ct);
            await ApplyAsync(tournament, tracked, basis.Id, hash!, basis.Lb, ct);
        }
        else await ReportFailingAsync(tournamentId, ct);
        return new PollResult(tournamentId, eventId, outcome, fetch.HttpStatus, errors, anomalies, providerStatus);
    }

    async Task<(long Id, Leaderboard Lb)> AcceptedBasisAsync(string tournamentId, string hash, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var id = await c.ExecuteScalarAsync<long>("SELECT max(id) FROM ingestion_events WHERE tournament_id = @tournamentId AND payload_hash = @hash AND outcome = 'accepted'", new { tournamentId, hash });
        var body = await events.BodyAsync(c, hash);
        return (id, LeaderboardParser.Parse(System.Text.Encoding.UTF8.GetString(body!)).Value);
    }

    /// <summary>Lifecycle signals, provider field sync and standings for every tracked contest. Each step is idempotent.</summary>
    async Task ApplyAsync(Tournament tournament, IReadOnlyList<TrackedContest> tracked, long eventId, string hash, Leaderboard lb, CancellationToken ct)
    {
        foreach (var contest in tracked)
        {
            try
            {
                var signal = LifecycleSignals.Read(lb, contest.Config.Config.RoundCount);
                var state = contest.State;
                if (state == ContestState.Scheduled && contest.Config.Config.FieldSource == Engine.Config.FieldSource.ProviderSync && signal == LifecycleSignal.None)
                    await SyncFieldAsync(contest.Id, hash, ct);
                if (signal == LifecycleSignal.Cancelled)
                {
                    await lifecycle.CancelAsync(contest.Id, ContestLifecycleService.IngestionActor, "provider cancelled the tournament",
                        new { ingestion_event_id = eventId, payload_hash = hash, provider_status = "cancelled" }, ct);
                    continue;
                }
                if (signal is LifecycleSignal.PlayStarted or LifecycleSignal.Final)
                {
                    if (state == ContestState.Scheduled)
                        // Play must never start with entries still open; the lock decision runs now.
                        state = (await lifecycle.LockAsync(contest.Id, ContestLifecycleService.IngestionActor,
                            $"provider reports play started (event {eventId}) before the lock job ran", force: true, ct)).To;
                    if (state == ContestState.Locked)
                        state = (await lifecycle.MarkLiveAsync(contest.Id, eventId, lb.Status.ToString().ToLowerInvariant(), ct)).To;
                }
                if (state is ContestState.Cancelled) continue;
                await standings.RecomputeAsync(contest.Id, eventId, hash, lb, ct);
                if (signal == LifecycleSignal.Final && state == ContestState.Live)
                {
                    var evidence = TerminalEvidence.FromLeaderboard(eventId, hash, lb, contest.Config.Config.RoundCount)!;
                    await lifecycle.CompleteAsync(contest.Id, evidence, ct: ct);
                }
                // A leaderboard accepted after settlement is compared with it (never applied to it); see Settlement/.
                if (contest.State == ContestState.Complete)
                    await corrections.CheckAsync(contest.Id, eventId, hash, lb, ct);
            }
            catch (Exception e) when (e is ContestTransitionException or NpgsqlException)
            {
                // The event is stored; the next poll (a duplicate of it) retries this step.
                log.LogError(e, "Applying ingestion event {EventId} to contest {ContestId} failed; the next poll retries", eventId, contest.Id);
            }
        }
    }

    async Task SyncFieldAsync(string contestId, string hash, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var body = await events.BodyAsync(c, hash);
        using var doc = JsonDocument.Parse(body);
        var golfers = doc.RootElement.GetProperty("leaderboard").EnumerateArray().Select(p => new FieldGolfer(
            p.GetProperty("id").GetString()!,
            $"{(p.TryGetProperty("first_name", out var f) ? f.GetString() : "")} {(p.TryGetProperty("last_name", out var l) ? l.GetString() : "")}".Trim(),
            null)).ToList();
        var r = await fields.SelectAsync(contestId, golfers, "provider_sync", ContestLifecycleService.IngestionActor, ct);
        if (r.Field is null) log.LogError("Provider field sync for contest {ContestId} refused: {Code} {Message}", contestId, r.Code, r.Message);
    }

    async Task ReportFailingAsync(string tournamentId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var last = await events.LastUsableAsync(c, tournamentId);
        var since = last?.FetchedAt;
        if (since is null) return;
        var lag = clock.GetUtcNow() - since.Value;
        if (lag > settings.IngestionFailureThreshold)
            log.LogError("Ingestion for tournament {TournamentId} has been failing for {LagSeconds} s (threshold {ThresholdSeconds} s); contests are not moved", tournamentId,
                (long)lag.TotalSeconds, (long)settings.IngestionFailureThreshold.TotalSeconds);
    }
}
