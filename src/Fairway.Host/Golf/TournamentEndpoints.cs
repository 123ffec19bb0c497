using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using FluentValidation;
using Npgsql;

namespace Fairway.Host.Golf;

public sealed record CreateTournamentRequest(string? Id, string? ProviderEventId, string? Name);

public sealed class CreateTournamentValidator : AbstractValidator<CreateTournamentRequest>
{
    public CreateTournamentValidator()
    {
        RuleFor(r => r.Id).NotEmpty().WithErrorCode(FieldCodes.Required).Matches(Slugs.Pattern).WithErrorCode(FieldCodes.InvalidId);
        // Used verbatim as a URL path segment when polling the provider, so only path-safe characters.
        RuleFor(r => r.ProviderEventId).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(200).WithErrorCode(FieldCodes.TooLong)
            .Matches("^[A-Za-z0-9:._-]+$").WithErrorCode(FieldCodes.InvalidId).WithMessage("provider_event_id may contain only letters, digits and : . _ -");
        RuleFor(r => r.Name).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(200).WithErrorCode(FieldCodes.TooLong);
    }
}

public static class TournamentEndpoints
{
    public static void MapTournaments(this RouteGroupBuilder admin)
    {
        admin.MapPost("/tournaments", async (CreateTournamentRequest body, HttpContext http, NpgsqlDataSource db, TournamentRepository repo, AuditWriter audit, TimeProvider clock, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            var t = new Tournament(body.Id!, body.ProviderEventId!, body.Name!, clock.GetUtcNow());
            if (!await repo.TryInsertAsync(tx, t))
            {
                // Idempotent for retries: the same tournament again is fine; anything else conflicts.
                var existing = await repo.GetAsync(c, t.Id, tx) ?? await repo.GetByProviderEventAsync(c, t.ProviderEventId, tx);
                return existing is not null && existing.Id == t.Id && existing.ProviderEventId == t.ProviderEventId && existing.Name == t.Name
                    ? Results.Ok(existing)
                    : Problems.Result(ProblemCodes.TournamentExists, "A different tournament with this id or provider event id exists.", $"existing: {existing?.Id} / {existing?.ProviderEventId}");
            }
            await audit.WriteAsync(tx, new AuditEntry(Actors.Of(http.User), "tournament.created", "tournament", t.Id, "created through the admin API", After: t), ct);
            await tx.CommitAsync(ct);
            return Results.Created($"/api/admin/tournaments/{t.Id}", t);
        }).Validate<CreateTournamentRequest>();

        admin.MapGet("/tournaments", async (int? limit, string? after, NpgsqlDataSource db, TournamentRepository repo, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await repo.ListAsync(c, n + 1, after);
            return Results.Ok(Page.Of(rows, n, t => t.Id));
        });

        admin.MapGet("/tournaments/{id}", async (string id, NpgsqlDataSource db, TournamentRepository repo, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            return await repo.GetAsync(c, id) is { } t ? Results.Ok(t) : Problems.Result(ProblemCodes.TournamentNotFound, $"No tournament '{id}'.");
        });
    }
}
