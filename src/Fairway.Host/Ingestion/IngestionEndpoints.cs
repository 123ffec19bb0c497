using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Host.Golf;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using Fairway.Host.Platform.Jobs;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record StandingsEntryView(string EntryId, string UserId, int Rank, long Score, long ProjectedPrize);
public sealed record StandingsView(string ContestId, long AsOfEventId, DateTimeOffset AsOfFetchedAt, string? ProviderStatus, int ConfigVersion, string OutputHash,
    long Gross, long Rake, long Net, int TotalEntries, int Offset, IReadOnlyList<StandingsEntryView> Entries);
public sealed record LeaderboardRoundView(int Sequence, long Strokes, int Thru);
public sealed record LeaderboardPlayerView(string Id, string? Status, IReadOnlyList<LeaderboardRoundView> Rounds);
public sealed record TournamentLeaderboardView(string TournamentId, long AsOfEventId, DateTimeOffset AsOfFetchedAt, string ProviderStatus, IReadOnlyList<LeaderboardPlayerView> Players);
public sealed record IngestionStatusView(string TournamentId, string ProviderEventId, DateTimeOffset? LastFetchAt, string? LastFetchOutcome,
    long? LastAcceptedEventId, DateTimeOffset? LastAcceptedAt, string? ProviderStatus, long? LagSeconds, long RejectedCount, long FetchFailedCount, long AnomalyCount,
    DateTimeOffset? LastProblemAt, bool LiveContest);

public static class IngestionEndpoints
{
    public static void MapPublicIngestion(this RouteGroupBuilder api)
    {
        api.MapGet("/contests/{id}/standings", async (string id, int? limit, int? offset, StandingsService standings, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 500) is { } badLimit) return badLimit;
            if (offset is < 0)
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("offset", FieldCodes.OutOfRange, "offset must be 0 or more")]);
            var n = limit ?? 100;
            var skip = offset ?? 0;
            var view = await standings.PageAsync(id, skip, n, ct);
            return view is null
                ? Problems.Result(ProblemCodes.StandingsNotAvailable, $"No standings for contest '{id}' yet (no accepted leaderboard).")
                : Results.Ok(view);
        }).AllowAnonymous().WithName("GetContestStandings").WithTags("Contests").Produces<StandingsView>().Errors(ProblemCodes.StandingsNotAvailable, ProblemCodes.ValidationFailed);

        api.MapGet("/tournaments/{id}/leaderboard", async (string id, NpgsqlDataSource db, IngestionEventStore events, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var last = await events.LastAcceptedAsync(c, id);
            if (last is null) return Problems.Result(ProblemCodes.LeaderboardNotAvailable, $"No accepted leaderboard for tournament '{id}' yet.");
            var lb = LeaderboardParser.Parse(Encoding.UTF8.GetString((await events.BodyAsync(c, last.PayloadHash!))!)).Value;
            var players = lb.Players.OrderBy(p => p.Id, StringComparer.Ordinal).Select(p => new LeaderboardPlayerView(p.Id, p.Status?.ToString(),
                p.Rounds.OrderBy(x => x.Sequence).Select(x => new LeaderboardRoundView(x.Sequence, x.Strokes, x.Thru)).ToList())).ToList();
            return Results.Ok(new TournamentLeaderboardView(id, last.Id, last.FetchedAt, lb.Status.ToString().ToLowerInvariant(), players));
        }).AllowAnonymous().WithName("GetTournamentLeaderboard").WithTags("Tournaments").Produces<TournamentLeaderboardView>().Errors(ProblemCodes.LeaderboardNotAvailable);
    }

    public static void MapAdminIngestion(this RouteGroupBuilder admin)
    {
        // Most urgent trouble first: tournaments with a LIVE contest whose last fetch failed or was rejected (standings of a
        // running contest have stopped moving), then every tournament by its most recent trouble (a failed or rejected
        // fetch, newest first, the later recorded first when two share an instant), then the others by id. The first
        // tournament is the one an alert that names none (IngestionFetchFailures, IngestionPayloadsRejected) is about: a
        // tournament the provider does not know, polled while its contest waits for its lock, must not hide a LIVE one.
        admin.MapGet("/ingestion/status", async (NpgsqlDataSource db, TimeProvider clock, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await c.QueryAsync<(string Id, string Pe, DateTime? LastFetch, string? LastOutcome, long? AcceptedId, DateTime? AcceptedAt, string? Status, DateTime? LastOk, long Rejected, long Failed, long Anomalies, DateTime? LastProblem, bool Live)>("""
                SELECT t.id, t.provider_event_id,
                       last.fetched_at, last.outcome,
                       acc.id, acc.fetched_at, ok.provider_status, ok.fetched_at,
                       (SELECT count(*) FROM ingestion_events e WHERE e.tournament_id = t.id AND e.outcome = 'rejected'),
                       (SELECT count(*) FROM ingestion_events e WHERE e.tournament_id = t.id AND e.outcome = 'fetch_failed'),
                       (SELECT coalesce(sum(jsonb_array_length(e.anomalies)), 0) FROM ingestion_events e WHERE e.tournament_id = t.id),
                       problem.fetched_at,
                       lv.live
                FROM tournaments t
                CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM contests k WHERE k.tournament_id = t.id AND k.state = 'LIVE') AS live) lv
                LEFT JOIN LATERAL (SELECT fetched_at, outcome FROM ingestion_events e WHERE e.tournament_id = t.id ORDER BY id DESC LIMIT 1) last ON true
                LEFT JOIN LATERAL (SELECT id, fetched_at FROM ingestion_events e WHERE e.tournament_id = t.id AND outcome = 'accepted' ORDER BY id DESC LIMIT 1) acc ON true
                LEFT JOIN LATERAL (SELECT provider_status, fetched_at FROM ingestion_events e WHERE e.tournament_id = t.id AND outcome IN ('accepted', 'duplicate') ORDER BY id DESC LIMIT 1) ok ON true
                LEFT JOIN LATERAL (SELECT id, fetched_at FROM ingestion_events e WHERE e.tournament_id = t.id AND outcome IN ('fetch_failed', 'rejected') ORDER BY id DESC LIMIT 1) problem ON true
                ORDER BY coalesce(lv.live AND last.outcome IN ('fetch_failed', 'rejected'), false) DESC,
                         problem.fetched_at DESC NULLS LAST, problem.id DESC NULLS LAST, t.id LIMIT 500
                """);
            var now = clock.GetUtcNow();
            static DateTimeOffset? Utc(DateTime? d) => d is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
            return Results.Ok(rows.Select(r => new IngestionStatusView(r.Id, r.Pe, Utc(r.LastFetch), r.LastOutcome, r.AcceptedId, Utc(r.AcceptedAt), r.Status,
                Utc(r.LastOk) is { } ok ? (long)Math.Max(0, (now - ok).TotalSeconds) : null, r.Rejected, r.Failed, r.Anomalies, Utc(r.LastProblem), r.Live)));
        });

        admin.MapGet("/ingestion/tournaments/{id}/events", async (string id, string? outcome, long? after, int? limit, NpgsqlDataSource db, IngestionEventStore events, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 500) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await events.ListAsync(c, id, outcome, after, n + 1);
            return Results.Ok(Page.Of(rows.Select(e => new
            {
                id = e.Id, fetched_at = e.FetchedAt, http_status = e.HttpStatus, transport_error = e.TransportError, payload_hash = e.PayloadHash,
                outcome = e.Outcome, provider_status = e.ProviderStatus, duration_ms = e.DurationMs,
                errors = JsonDocument.Parse(e.Errors).RootElement, anomalies = JsonDocument.Parse(e.Anomalies).RootElement,
            }).ToList(), n, e => e.id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        });

        admin.MapPost("/ingestion/tournaments/{id}/poll", async (string id, int? wait_seconds, IBackgroundJobClient jobs, JobStorage storage, NpgsqlDataSource db, IngestionEventStore events, TournamentRepository tournaments, CancellationToken ct) =>
        {
            if (JobWaiter.WaitSecondsError(wait_seconds) is { } badWait) return badWait;
            // A typo must not cost the operator the whole wait and a job that can only fail.
            await using (var known = await db.OpenConnectionAsync(ct))
                if (await tournaments.GetAsync(known, id) is null) return Problems.Result(ProblemCodes.TournamentNotFound, $"No tournament '{id}'.");
            var jobId = jobs.Enqueue<IngestionPollJob>(j => j.RunAsync(id));
            var (state, final) = await JobWaiter.WaitAsync(storage, jobId, TimeSpan.FromSeconds(wait_seconds ?? 60));
            await using var c = await db.OpenConnectionAsync(ct);
            var latest = (await c.QueryAsync<long>("SELECT id FROM ingestion_events WHERE tournament_id = @id ORDER BY id DESC LIMIT 1", new { id })).FirstOrDefault();
            var ev = latest == 0 ? null : await events.GetAsync(c, latest);
            var body = new { job_id = jobId, job_state = state, latest_event = ev is null ? null : new { id = ev.Id, outcome = ev.Outcome, provider_status = ev.ProviderStatus, errors = JsonDocument.Parse(ev.Errors).RootElement, anomalies = JsonDocument.Parse(ev.Anomalies).RootElement } };
            return final ? Results.Ok(body) : Results.Accepted((string?)null, body);
        });

        admin.MapPost("/ingestion/tournaments/{id}/replay", async (string id, long? after, int? limit, HttpContext http, ReplayService replay, CancellationToken ct) =>
            Problems.PageLimitError(limit, ReplayService.MaxEventsPerCall)
            ?? Results.Ok(await replay.ReplayAsync(id, after, limit ?? ReplayService.MaxEventsPerCall, Actors.Of(http.User), ct)));
    }
}
