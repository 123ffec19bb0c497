using Fairway.Host.Platform.Http;
using Fairway.Host.Contests;
using FluentValidation;
using Hangfire;
using Npgsql;

namespace Fairway.Host.Settlement;

public sealed record ResolveContestRequest(string? Action, string? Reason);

public sealed class ResolveContestRequestValidator : AbstractValidator<ResolveContestRequest>
{
    public ResolveContestRequestValidator()
    {
        RuleFor(r => r.Action).NotEmpty().WithErrorCode(FieldCodes.Required)
            .Must(a => a is ContestErrorResolution.RetrySettlement or ContestErrorResolution.CancelAndRefund).WithErrorCode(FieldCodes.Invalid)
            .WithMessage($"action must be {ContestErrorResolution.RetrySettlement} or {ContestErrorResolution.CancelAndRefund}");
        RuleFor(r => r.Reason).NotEmpty().WithErrorCode(FieldCodes.Required).Length(3, 500).WithErrorCode(FieldCodes.OutOfRange);
    }
}

public sealed record ResolveContestResult(string ContestId, string Action, string From, string To, long? AuditId, string? SettlementJobId);

/// <summary>
/// The exits of a contest in ERROR (entered after repeated settlement failures Fairway cannot resolve by itself), each an
/// audited admin action with a required reason, named by the ERROR runbooks:
/// <list type="bullet">
/// <item><c>retry_settlement</c> — the cause was fixed (e.g. a missing payment arrived, a provider correction was accepted):
/// ERROR → COMPLETE with the same terminal evidence, the failure count starts again, and the settlement runs now
/// (<c>fairway contests resolve &lt;id&gt; --retry-settlement --reason …</c>);</item>
/// <item><c>cancel_and_refund</c> — the contest cannot be settled: ERROR → CANCELLED; every paid entry is refunded by the
/// payments capability (<c>fairway contests resolve &lt;id&gt; --cancel-and-refund --reason …</c>).</item>
/// </list>
/// </summary>
public sealed class ContestErrorResolution(NpgsqlDataSource db, ContestLifecycleService lifecycle, SettlementRepository settlements, IBackgroundJobClient jobs,
    ILogger<ContestErrorResolution> log)
{
    public const string RetrySettlement = "retry_settlement";
    public const string CancelAndRefund = "cancel_and_refund";

    public async Task<ResolveContestResult> ResolveAsync(string contestId, string action, string actor, string reason, CancellationToken ct)
    {
        long lastRun;
        (DateTimeOffset At, long EventId)? complete;
        await using (var c = await db.OpenConnectionAsync(ct))
        {
            lastRun = await settlements.LastRunIdAsync(c, contestId);
            complete = await settlements.CompleteTransitionAsync(c, contestId);
        }
        TransitionResult moved;
        string? jobId = null;
        if (action == RetrySettlement)
        {
            if (complete is null)
                throw new ContestTransitionException(ProblemCodes.ContestNotSettleable, $"contest {contestId} never became COMPLETE with terminal evidence; only cancel_and_refund can resolve it");
            moved = await lifecycle.ResolveErrorAsync(contestId, ContestState.Complete, actor, reason,
                new { action, ingestion_event_id = complete.Value.EventId, last_settlement_run_id = lastRun, first_completed_at = complete.Value.At }, ct);
            jobId = jobs.Enqueue<SettlementJob>(j => j.RunAsync(contestId, actor));
        }
        else moved = await lifecycle.ResolveErrorAsync(contestId, ContestState.Cancelled, actor, reason, new { action, last_settlement_run_id = lastRun }, ct);
        log.LogWarning("Contest {ContestId} resolved from ERROR by {Actor} ({Action}): {Reason}", contestId, actor, action, reason);
        return new ResolveContestResult(contestId, action, ContestStates.Name(moved.From), ContestStates.Name(moved.To), moved.AuditId, jobId);
    }
}
