using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using FluentValidation;

namespace Fairway.Host.Ledger.Corrections;

public sealed record CorrectionRequest(string? Kind, string? Subject, long? Amount, string? Reason);

public sealed class CorrectionRequestValidator : AbstractValidator<CorrectionRequest>
{
    public CorrectionRequestValidator(LedgerCorrectionService corrections)
    {
        // One condition per rule: a When() guards every check before it in its chain.
        RuleFor(r => r.Kind).NotEmpty().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Kind).Must(k => corrections.Kinds.ContainsKey(k!)).When(r => !string.IsNullOrEmpty(r.Kind)).WithErrorCode(FieldCodes.UnknownKind)
            .WithMessage($"kind must be one of {string.Join(", ", corrections.Kinds.Keys.Order(StringComparer.Ordinal))}");
        RuleFor(r => r.Subject).NotEmpty().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Subject).Matches("^[a-z]{2,3}_[A-Za-z0-9_]{1,200}$").When(r => !string.IsNullOrEmpty(r.Subject)).WithErrorCode(FieldCodes.InvalidSubject)
            .WithMessage("subject must be an id such as dp_…, re_…, tr_…, pi_… or txn_…");
        RuleFor(r => r.Subject).Must((r, s) => s!.StartsWith(corrections.Kinds[r.Kind!].SubjectPrefix, StringComparison.Ordinal))
            .When(r => !string.IsNullOrEmpty(r.Subject) && r.Kind is not null && corrections.Kinds.ContainsKey(r.Kind)).WithErrorCode(FieldCodes.SubjectDoesNotFitKind)
            .WithMessage(r => $"a {r.Kind} correction explains {corrections.Kinds[r.Kind!].Subject}");
        RuleFor(r => r.Amount).GreaterThan(0).When(r => r.Amount is not null).WithErrorCode(FieldCodes.OutOfRange).WithMessage("amount is in minor units and must be positive");
        RuleFor(r => r.Reason).NotEmpty().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Reason).Must(r => r!.Trim().Length is >= 3 and <= 500).When(r => !string.IsNullOrEmpty(r.Reason))
            .WithErrorCode(FieldCodes.OutOfRange).WithMessage("reason must be 3..500 characters: who asked, incident or ticket");
    }
}

/// <summary>Admin routes of ledger corrections under /api/admin/ledger/corrections.</summary>
public static class CorrectionEndpoints
{
    public static void MapLedgerCorrections(this RouteGroupBuilder admin)
    {
        var corrections = admin.MapGroup("/ledger/corrections");

        corrections.MapGet("/kinds", (LedgerCorrectionService service) => Results.Ok(new
        {
            kinds = service.Kinds.Values.OrderBy(k => k.Name, StringComparer.Ordinal).Select(k => new
            {
                kind = k.Name, subject = k.Subject, subject_prefix = k.SubjectPrefix, movement = k.Movement, amount = k.AmountRule, preconditions = k.Preconditions,
            }),
        }));

        corrections.MapGet("", async (string? kind, long? before, int? limit, LedgerCorrectionService service, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, LedgerRepository.MaxPageSize) is { } badLimit) return badLimit;
            if (kind is not null && !service.Kinds.ContainsKey(kind))
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("kind", FieldCodes.UnknownKind, $"kind must be one of {string.Join(", ", service.Kinds.Keys)}")]);
            var n = limit ?? 50;
            var rows = await service.ListAsync(kind, before, n, ct);
            return Results.Ok(new { corrections = rows, next_before = rows.Count == n ? rows[^1].Id : (long?)null });
        });

        corrections.MapPost("", async (CorrectionRequest body, HttpContext http, LedgerCorrectionService service, CancellationToken ct) =>
        {
            var r = await service.RequestAsync(body.Kind!, body.Subject!, body.Amount, body.Reason!.Trim(), Actors.Of(http.User), ct);
            return r.Correction is not null
                ? Results.Json(r.Correction, statusCode: r.Status)
                : Problems.Result(r.Code!, r.Status == 404 ? "No such subject." : "The correction was refused.", r.Detail);
        }).Validate<CorrectionRequest>();
    }
}
