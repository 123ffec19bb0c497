using Fairway.Host.Platform.Http;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Fairway.Host.Ledger;

public sealed record LedgerAccountsQuery(
    [FromQuery(Name = "kind")] string? Kind,
    [FromQuery(Name = "contest_id")] string? ContestId,
    [FromQuery(Name = "user_id")] string? UserId,
    [FromQuery(Name = "after")] string? After,
    [FromQuery(Name = "limit")] int? Limit);

public sealed record LedgerAccountQuery(
    [FromQuery(Name = "before")] long? Before,
    [FromQuery(Name = "limit")] int? Limit);

public sealed record LedgerEntriesQuery(
    [FromQuery(Name = "cause_type")] string? CauseType,
    [FromQuery(Name = "cause_id")] string? CauseId,
    [FromQuery(Name = "after")] long? After,
    [FromQuery(Name = "limit")] int? Limit);

public sealed class LedgerAccountsQueryValidator : AbstractValidator<LedgerAccountsQuery>
{
    public LedgerAccountsQueryValidator()
    {
        RuleFor(q => q.Kind).Must(k => LedgerAccountKinds.All.Contains(k!)).When(q => q.Kind is not null).WithErrorCode(FieldCodes.UnknownKind)
            .WithMessage($"kind must be one of {string.Join(", ", LedgerAccountKinds.All)}");
        RuleFor(q => q.Limit).InclusiveBetween(1, LedgerRepository.MaxPageSize).WithErrorCode(FieldCodes.OutOfRange);
    }
}

public sealed class LedgerAccountQueryValidator : AbstractValidator<LedgerAccountQuery>
{
    public LedgerAccountQueryValidator() => RuleFor(q => q.Limit).InclusiveBetween(1, LedgerRepository.MaxPageSize).WithErrorCode(FieldCodes.OutOfRange);
}

public sealed class LedgerEntriesQueryValidator : AbstractValidator<LedgerEntriesQuery>
{
    public LedgerEntriesQueryValidator()
    {
        RuleFor(q => q.CauseType).NotEmpty().WithErrorCode(FieldCodes.Required);
        RuleFor(q => q.Limit).InclusiveBetween(1, LedgerRepository.MaxPageSize).WithErrorCode(FieldCodes.OutOfRange);
    }
}

/// <summary>Read-only admin routes of the ledger. Paged: an explicit <c>limit</c> (default 50, at most 200) and a keyset cursor.</summary>
public static class LedgerEndpoints
{
    const int DefaultLimit = 50;

    public static void MapLedgerAdmin(this RouteGroupBuilder admin)
    {
        var ledger = admin.MapGroup("/ledger");

        // Balances summed per account kind and currency: escrow held, winnings payable, refunds owed, revenue.
        ledger.MapGet("/summary", async (LedgerRepository repo, CancellationToken ct) => Results.Ok(new { totals = await repo.TotalsByKindAsync(ct) }));

        ledger.MapGet("/accounts", async ([AsParameters] LedgerAccountsQuery q, LedgerRepository repo, CancellationToken ct) =>
        {
            var limit = q.Limit ?? DefaultLimit;
            var accounts = await repo.AccountsAsync(new LedgerAccountFilter(q.Kind, q.ContestId, q.UserId, q.After, limit), ct);
            return Results.Ok(new { accounts, next_after = accounts.Count == limit ? accounts[^1].Id : null });
        }).Validate<LedgerAccountsQuery>();

        ledger.MapGet("/accounts/{id}", async (string id, [AsParameters] LedgerAccountQuery q, LedgerRepository repo, CancellationToken ct) =>
        {
            var account = await repo.AccountAsync(id, ct);
            if (account is null) return Problems.Result(ProblemCodes.LedgerAccountNotFound, "No such ledger account.", $"no account '{id}' (accounts exist once something was posted to them)");
            var limit = q.Limit ?? DefaultLimit;
            var sum = await repo.PostingsSumAsync(id, ct);
            var postings = await repo.PostingsAsync(id, limit, q.Before, ct);
            return Results.Ok(new
            {
                account,
                balance = account.Balance,
                postings_sum = sum,
                balance_matches_postings = account.Balance == sum,
                postings,
                next_before = postings.Count == limit ? postings[^1].PostingId : (long?)null,
            });
        }).Validate<LedgerAccountQuery>();

        ledger.MapGet("/entries", async ([AsParameters] LedgerEntriesQuery q, LedgerRepository repo, CancellationToken ct) =>
        {
            var limit = q.Limit ?? DefaultLimit;
            var entries = await repo.EntriesByCauseAsync(q.CauseType!, q.CauseId, limit, q.After, ct);
            return Results.Ok(new { entries, next_after = entries.Count == limit ? entries[^1].Id : (long?)null });
        }).Validate<LedgerEntriesQuery>();
    }
}
