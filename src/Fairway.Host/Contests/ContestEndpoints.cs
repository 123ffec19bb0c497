using System.Text.Json;
using Dapper;
using Fairway.Host.Golf;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using FluentValidation;
using Npgsql;

namespace Fairway.Host.Contests;

public sealed record CreateContestRequest(string? Id, string? TournamentId, string? Name, JsonElement? Config);
public sealed record PublishConfigRequest(JsonElement? Config);
public sealed record ValidateConfigRequest(string? TournamentId, JsonElement? Config);
public sealed record FieldParticipant(string? Id, string? Name, int? WorldRank);
public sealed record SetFieldRequest(IReadOnlyList<FieldParticipant>? Participants);
public sealed record ReasonRequest(string? Reason);
public sealed record ConfigValidationResult(bool Valid, string? Hash, IReadOnlyList<ProblemError> Errors);
public sealed record TransitionView(long AuditId, DateTimeOffset At, string Actor, string Action, string Reason, JsonElement? Before, JsonElement? After, JsonElement? Evidence);

public sealed class CreateContestValidator : AbstractValidator<CreateContestRequest>
{
    public CreateContestValidator()
    {
        RuleFor(r => r.Id).NotEmpty().WithErrorCode(FieldCodes.Required).Matches(Slugs.Pattern).WithErrorCode(FieldCodes.InvalidId);
        RuleFor(r => r.TournamentId).NotEmpty().WithErrorCode(FieldCodes.Required).Matches(Slugs.Pattern).WithErrorCode(FieldCodes.InvalidId);
        RuleFor(r => r.Name).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(200).WithErrorCode(FieldCodes.TooLong);
        RuleFor(r => r.Config).Must(c => c is { ValueKind: JsonValueKind.Object }).WithErrorCode(FieldCodes.Required).WithMessage("config must be a JSON object");
    }
}

public sealed class PublishConfigValidator : AbstractValidator<PublishConfigRequest>
{
    public PublishConfigValidator() =>
        RuleFor(r => r.Config).Must(c => c is { ValueKind: JsonValueKind.Object }).WithErrorCode(FieldCodes.Required).WithMessage("config must be a JSON object");
}

public sealed class ValidateConfigValidator : AbstractValidator<ValidateConfigRequest>
{
    public ValidateConfigValidator()
    {
        RuleFor(r => r.TournamentId).NotEmpty().WithErrorCode(FieldCodes.Required).Matches(Slugs.Pattern).WithErrorCode(FieldCodes.InvalidId);
        RuleFor(r => r.Config).Must(c => c is { ValueKind: JsonValueKind.Object }).WithErrorCode(FieldCodes.Required).WithMessage("config must be a JSON object");
    }
}

public sealed class SetFieldValidator : AbstractValidator<SetFieldRequest>
{
    public SetFieldValidator()
    {
        RuleFor(r => r.Participants).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Participants!.Count).LessThanOrEqualTo(1000).WithErrorCode(FieldCodes.TooMany).When(r => r.Participants is not null).OverridePropertyName("participants");
        // A null element is not a participant (ChildRules alone skips it, and the handler would meet it).
        RuleForEach(r => r.Participants).NotNull().WithErrorCode(FieldCodes.Required).ChildRules(p =>
        {
            p.RuleFor(x => x.Id).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(100).WithErrorCode(FieldCodes.TooLong);
            p.RuleFor(x => x.Name).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(200).WithErrorCode(FieldCodes.TooLong);
            p.RuleFor(x => x.WorldRank).GreaterThan(0).WithErrorCode(FieldCodes.OutOfRange);
        });
    }
}

public sealed class ReasonValidator : AbstractValidator<ReasonRequest>
{
    public ReasonValidator() => RuleFor(r => r.Reason).NotEmpty().WithErrorCode(FieldCodes.Required).Length(3, 500).WithErrorCode(FieldCodes.OutOfRange);
}

public static class ContestEndpoints
{
    /// <summary>Public: anyone may list contests and read a contest's rules and field.</summary>
    public static void MapPublicContests(this RouteGroupBuilder api)
    {
        api.MapGet("/contests", async (string? state, int? limit, string? after, NpgsqlDataSource db, ContestRepository contests, CancellationToken ct) =>
        {
            if (state is not null && !ContestStates.TryParse(state, out _))
                return Problems.Result(ProblemCodes.ValidationFailed, "Unknown state.", errors: [new ProblemError("state", FieldCodes.InvalidState, "one of SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED, ERROR")]);
            if (Problems.PageLimitError(limit, 100) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await contests.ListAsync(c, state, null, n + 1, after);
            var summaries = new List<ContestSummary>();
            foreach (var r in rows)
            {
                var active = await contests.ActiveConfigAsync(c, r.Id);
                summaries.Add(new ContestSummary(r.Id, r.Name, r.TournamentId, r.State, r.LockTime, active.Config.Rules.EntryFee, active.Config.Rules.Currency));
            }
            return Results.Ok(Page.Of(summaries, n, s => s.Id));
        }).AllowAnonymous().WithName("ListContests").WithTags("Contests").Produces<Page<ContestSummary>>().Errors(ProblemCodes.ValidationFailed)
          .ResponseExample(200, new Page<ContestSummary>([new("masters-2027-main", "Masters main event", "masters-2027", ContestStates.Name(ContestState.Scheduled),
              new DateTimeOffset(2027, 4, 8, 11, 0, 0, TimeSpan.Zero), 1000, "usd")], true, "masters-2027-main"));

        api.MapGet("/contests/{id}", async (string id, NpgsqlDataSource db, ContestRepository contests, TournamentRepository tournaments, ContestFieldService fields, CancellationToken ct) =>
            await DetailAsync(id, db, contests, tournaments, fields, ct))
            .AllowAnonymous().WithName("GetContest").WithTags("Contests").Produces<ContestDetail>().Errors(ProblemCodes.ContestNotFound);
    }

    public static void MapAdminContests(this RouteGroupBuilder admin)
    {
        admin.MapPost("/contests", async (CreateContestRequest body, HttpContext http, ContestConfigService configs, CancellationToken ct) =>
            ToResult(await configs.CreateContestAsync(body.Id!, body.TournamentId!, body.Name!, body.Config!.Value, Actors.Of(http.User), ct)))
            .Validate<CreateContestRequest>();

        admin.MapGet("/contests", async (string? state, string? tournament_id, int? limit, string? after, NpgsqlDataSource db, ContestRepository contests, CancellationToken ct) =>
        {
            if (state is not null && !ContestStates.TryParse(state, out _))
                return Problems.Result(ProblemCodes.ValidationFailed, "Unknown state.", errors: [new ProblemError("state", FieldCodes.InvalidState, "one of SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED, ERROR")]);
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            await using var c = await db.OpenConnectionAsync(ct);
            return Results.Ok(Page.Of(await contests.ListAsync(c, state, tournament_id, n + 1, after), n, r => r.Id));
        });

        admin.MapGet("/contests/{id}", async (string id, NpgsqlDataSource db, ContestRepository contests, TournamentRepository tournaments, ContestFieldService fields, CancellationToken ct) =>
            await DetailAsync(id, db, contests, tournaments, fields, ct));

        admin.MapPost("/contests/config/validate", async (ValidateConfigRequest body, ContestConfigService configs, CancellationToken ct) =>
        {
            var contestId = body.Config!.Value.TryGetProperty("contest_id", out var cid) && cid.ValueKind == JsonValueKind.String ? cid.GetString()! : "";
            var (config, errors) = await configs.ValidateAsync(contestId, body.TournamentId!, body.Config!.Value, ct);
            return Results.Ok(new ConfigValidationResult(config is not null, config?.Hash(), errors));
        }).Validate<ValidateConfigRequest>();

        admin.MapPost("/contests/{id}/config", async (string id, PublishConfigRequest body, HttpContext http, ContestConfigService configs, CancellationToken ct) =>
            ToResult(await configs.PublishAsync(id, body.Config!.Value, Actors.Of(http.User), ct)))
            .Validate<PublishConfigRequest>();

        admin.MapGet("/contests/{id}/config", async (string id, NpgsqlDataSource db, ContestRepository contests, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            if (await contests.GetAsync(c, id) is null) return NotFound(id);
            var active = await contests.ActiveConfigAsync(c, id);
            return Results.Ok(new { version = active.Version, hash = active.Hash, is_active = true, config = JsonDocument.Parse(active.Config.ToCanonicalJson()).RootElement });
        });

        admin.MapGet("/contests/{id}/config/versions", async (string id, NpgsqlDataSource db, ContestRepository contests, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var row = await contests.GetAsync(c, id);
            if (row is null) return NotFound(id);
            var versions = await contests.VersionsAsync(c, id);
            return Results.Ok(versions.Select(v => new
            {
                version = v.Version, hash = v.Hash, created_at = v.CreatedAt, published_at = v.PublishedAt, published_by = v.PublishedBy,
                is_active = v.Version == row.ActiveConfigVersion, config = JsonDocument.Parse(v.ConfigText).RootElement,
            }));
        });

        admin.MapPut("/contests/{id}/field", async (string id, SetFieldRequest body, HttpContext http, ContestFieldService fields, CancellationToken ct) =>
        {
            var participants = body.Participants!.Select(p => new FieldGolfer(p.Id!, p.Name!, p.WorldRank)).ToList();
            var r = await fields.SelectAsync(id, participants, "static_import", Actors.Of(http.User), ct);
            return r.Field is not null ? Results.Json(r.Field, statusCode: r.Status) : Problems.Result(r.Code!, r.Message!, errors: r.Errors.Count > 0 ? r.Errors : null);
        }).Validate<SetFieldRequest>();

        admin.MapPost("/contests/{id}/lock", async (string id, ReasonRequest body, HttpContext http, ContestLifecycleService lifecycle, CancellationToken ct) =>
            await TransitionAsync(() => lifecycle.LockAsync(id, Actors.Of(http.User), body.Reason!, force: true, ct)))
            .Validate<ReasonRequest>();

        admin.MapPost("/contests/{id}/cancel", async (string id, ReasonRequest body, HttpContext http, ContestLifecycleService lifecycle, CancellationToken ct) =>
            await TransitionAsync(() => lifecycle.CancelAsync(id, Actors.Of(http.User), body.Reason!, new { requested_by = Actors.Of(http.User) }, ct)))
            .Validate<ReasonRequest>();

        admin.MapGet("/contests/{id}/transitions", async (string id, NpgsqlDataSource db, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await c.QueryAsync<(long Id, DateTime At, string Actor, string Action, string Reason, string? Before, string? After, string? Evidence)>("""
                SELECT id, occurred_at, actor, action, reason, before_state::text, after_state::text, evidence::text FROM audit_events
                WHERE entity_type = 'contest' AND entity_id = @id ORDER BY id LIMIT 1000
                """, new { id });
            return Results.Ok(rows.Select(r => new TransitionView(r.Id, new DateTimeOffset(DateTime.SpecifyKind(r.At, DateTimeKind.Utc)), r.Actor, r.Action, r.Reason,
                Parse(r.Before), Parse(r.After), Parse(r.Evidence))));
        });
    }

    static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement;

    static async Task<IResult> DetailAsync(string id, NpgsqlDataSource db, ContestRepository contests, TournamentRepository tournaments, ContestFieldService fields, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var row = await contests.GetAsync(c, id);
        if (row is null) return NotFound(id);
        var t = (await tournaments.GetAsync(c, row.TournamentId))!;
        return Results.Ok(ContestViews.Detail(row, t, await contests.ActiveConfigAsync(c, id), await fields.CurrentAsync(c, id)));
    }

    static async Task<IResult> TransitionAsync(Func<Task<TransitionResult>> action)
    {
        try
        {
            var r = await action();
            return Results.Ok(new { contest_id = r.ContestId, from = ContestStates.Name(r.From), to = ContestStates.Name(r.To), outcome = r.Outcome == TransitionOutcome.Moved ? "moved" : "already_there", audit_id = r.AuditId });
        }
        catch (ContestTransitionException e)
        {
            return Problems.Result(e.Code, "The transition was refused.", e.Message);
        }
    }

    static IResult ToResult(ConfigOutcome o) => o.Code is not null
        ? Problems.Result(o.Code, o.Message!, errors: o.Errors.Count > 0 ? o.Errors : null)
        : Results.Json(new { contest_id = o.Contest!.Id, state = o.Contest.State, config_version = o.Version!.Version, config_hash = o.Version.Hash }, statusCode: o.Status);

    static IResult NotFound(string id) => Problems.Result(ProblemCodes.ContestNotFound, $"No contest '{id}'.");
}
