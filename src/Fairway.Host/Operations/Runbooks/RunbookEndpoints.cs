using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using FluentValidation;

namespace Fairway.Host.Operations.Runbooks;

public sealed record StartRunbookRequest(string? Runbook, string? Reason, string? Incident);
public sealed record RecordRunbookStepRequest(string? Step, string? Outcome, string? Notes);
public sealed record FinishRunbookRequest(string? Outcome, string? Notes);

public sealed record RunbookSummaryView(string Id, string Title, string Kind, string Version, IReadOnlyList<string> Alerts, IReadOnlyList<string> Covers, IReadOnlyList<string> Steps);
public sealed record RunbookStepView(string Id, string Section, string Kind, IReadOnlyList<string> Commands, int ExpectedExitCode, IReadOnlyList<string> ExpectedOutput);
public sealed record RunbookView(string Id, string Title, string Kind, string Version, IReadOnlyList<string> Alerts, IReadOnlyList<string> Covers,
    IReadOnlyList<string> Inputs, IReadOnlyList<string> Sections, IReadOnlyList<RunbookStepView> Steps);

public sealed class StartRunbookRequestValidator : AbstractValidator<StartRunbookRequest>
{
    public StartRunbookRequestValidator()
    {
        RuleFor(r => r.Runbook).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Runbook).Must(r => RunbookDocument.IdPattern.IsMatch(r!)).When(r => r.Runbook is not null).WithErrorCode(FieldCodes.Malformed)
            .WithMessage("runbook must be a runbook id (lowercase letters, digits, dashes)");
        RuleFor(r => r.Reason).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Reason).Must(r => r!.Trim().Length is >= 3 and <= 500).When(r => r.Reason is not null)
            .WithErrorCode(FieldCodes.OutOfRange).WithMessage("reason must be 3 to 500 characters (the alert, who asked, why)");
        RuleFor(r => r.Incident).Matches("^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$").When(r => r.Incident is not null)
            .WithErrorCode(FieldCodes.Malformed).WithMessage("incident must be an incident or ticket id: letters, digits, . _ : -, at most 100 characters");
    }
}

public sealed class RecordRunbookStepRequestValidator : AbstractValidator<RecordRunbookStepRequest>
{
    public RecordRunbookStepRequestValidator()
    {
        RuleFor(r => r.Step).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Step).Must(s => RunbookDocument.IdPattern.IsMatch(s!)).When(r => r.Step is not null).WithErrorCode(FieldCodes.Malformed)
            .WithMessage("step must be a step id of the runbook");
        RuleFor(r => r.Outcome).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Outcome).Must(o => RunbookOutcomes.Step.Contains(o!)).When(r => r.Outcome is not null)
            .WithErrorCode(FieldCodes.NotAllowed).WithMessage($"outcome must be one of {string.Join(", ", RunbookOutcomes.Step)}");
        RuleFor(r => r.Notes).Must(n => n!.Length <= 4000).When(r => r.Notes is not null).WithErrorCode(FieldCodes.OutOfRange).WithMessage("notes are at most 4000 characters");
        RuleFor(r => r.Notes).Must(n => n is not null && n.Trim().Length >= 3).When(r => r.Outcome is not null && RunbookOutcomes.NeedsNotes(r.Outcome))
            .WithErrorCode(FieldCodes.Required).WithMessage("a failed step needs notes (what happened, the output)");
    }
}

public sealed class FinishRunbookRequestValidator : AbstractValidator<FinishRunbookRequest>
{
    public FinishRunbookRequestValidator()
    {
        RuleFor(r => r.Outcome).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Outcome).Must(o => RunbookOutcomes.Finish.Contains(o!)).When(r => r.Outcome is not null)
            .WithErrorCode(FieldCodes.NotAllowed).WithMessage($"outcome must be one of {string.Join(", ", RunbookOutcomes.Finish)}");
        RuleFor(r => r.Notes).Must(n => n!.Length <= 4000).When(r => r.Notes is not null).WithErrorCode(FieldCodes.OutOfRange).WithMessage("notes are at most 4000 characters");
        RuleFor(r => r.Notes).Must(n => n is not null && n.Trim().Length >= 3).When(r => r.Outcome is not null && RunbookOutcomes.NeedsNotes(r.Outcome))
            .WithErrorCode(FieldCodes.Required).WithMessage("failed, escalated and rolled_back executions need notes (what happened, who was told)");
    }
}

/// <summary>Admin routes: the runbooks of this build, and runbook executions (start, steps, finish, list, show). The operator is the token's subject.</summary>
public static class RunbookEndpoints
{
    public static void MapRunbooks(this RouteGroupBuilder admin)
    {
        admin.MapGet("/runbooks", (RunbookCatalog catalog) => Results.Ok(new
        {
            runbooks = catalog.Runbooks.Values.Select(r => new RunbookSummaryView(r.Id, r.Title, r.Kind, r.Version, r.Alerts, r.Covers, r.Steps.Select(s => s.Id).ToList())).ToList(),
        }));
        admin.MapGet("/runbooks/{id}", (string id, RunbookCatalog catalog) => catalog.Find(id) is { } r
            ? Results.Ok(new RunbookView(r.Id, r.Title, r.Kind, r.Version, r.Alerts, r.Covers, r.Inputs, r.Sections,
                r.Steps.Select(s => new RunbookStepView(s.Id, s.Section, s.Kind.ToString().ToLowerInvariant(), s.Commands, s.ExpectedExitCode, s.ExpectedOutput)).ToList()))
            : Problems.Result(ProblemCodes.RunbookNotFound, "No such runbook.", $"no runbook '{id}' in this build"));

        var executions = admin.MapGroup("/runbooks/executions");
        executions.MapPost("", async (StartRunbookRequest body, HttpContext http, RunbookExecutionService service, CancellationToken ct) =>
            await Guarded(async () => Results.Created($"/api/admin/runbooks/executions", await service.StartAsync(body.Runbook!, body.Reason!.Trim(), body.Incident, Actors.Of(http.User), ct))))
            .Validate<StartRunbookRequest>();
        executions.MapGet("", async (string? runbook, string? state, int? limit, long? before, RunbookExecutionService service, CancellationToken ct) =>
        {
            var errors = new List<ProblemError>();
            if (limit is < 1 or > RunbookExecutionService.MaxListLimit) errors.Add(Problems.PageLimitField(RunbookExecutionService.MaxListLimit));
            if (state is not (null or "in_progress" or "finished")) errors.Add(new ProblemError("state", FieldCodes.NotAllowed, "state must be in_progress or finished"));
            if (runbook is not null && !RunbookDocument.IdPattern.IsMatch(runbook)) errors.Add(new ProblemError("runbook", FieldCodes.Malformed, "runbook must be a runbook id"));
            if (before is < 1) errors.Add(new ProblemError("before", FieldCodes.OutOfRange, "before must be an execution id"));
            if (errors.Count > 0) return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: errors);
            return Results.Ok(new { executions = await service.ListAsync(runbook, state, limit ?? 50, before, ct) });
        });
        executions.MapGet("/{executionId:long}", async (long executionId, RunbookExecutionService service, CancellationToken ct) =>
            await service.ShowAsync(executionId, ct) is { } view
                ? Results.Ok(view)
                : Problems.Result(ProblemCodes.RunbookExecutionNotFound, "No such runbook execution.", $"no runbook execution {executionId}"));
        executions.MapPost("/{executionId:long}/steps", async (long executionId, RecordRunbookStepRequest body, HttpContext http, RunbookExecutionService service, CancellationToken ct) =>
            await Guarded(async () => Results.Created($"/api/admin/runbooks/executions/{executionId}",
                await service.RecordStepAsync(executionId, body.Step!, body.Outcome!, body.Notes?.Trim() ?? "", Actors.Of(http.User), ct))))
            .Validate<RecordRunbookStepRequest>();
        executions.MapPost("/{executionId:long}/finish", async (long executionId, FinishRunbookRequest body, HttpContext http, RunbookExecutionService service, CancellationToken ct) =>
            await Guarded(async () => Results.Ok(await service.FinishAsync(executionId, body.Outcome!, body.Notes?.Trim() ?? "", Actors.Of(http.User), ct))))
            .Validate<FinishRunbookRequest>();
    }

    static async Task<IResult> Guarded(Func<Task<IResult>> action)
    {
        try { return await action(); }
        catch (RunbookExecutionException e) { return Problems.Result(e.Code, "The runbook execution request was refused.", e.Message); }
    }
}
