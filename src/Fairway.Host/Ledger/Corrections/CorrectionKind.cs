using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Ledger.Corrections;

/// <summary>What a correction posts: one movement of <see cref="Amount"/> (minor units) from <see cref="From"/> to <see cref="To"/>.</summary>
public sealed record CorrectionPlan(string Currency, long Amount, LedgerAccountRef From, LedgerAccountRef To, string Description, object Evidence);

/// <summary>A correction refused for a stated reason (nothing written): 404 CORRECTION_SUBJECT_NOT_FOUND or 409 CORRECTION_NOT_APPLICABLE.</summary>
public sealed class CorrectionRefusedException(ProblemCode code, string message) : Exception(message)
{
    public int Status => Code.Status!.Value;
    public ProblemCode Code { get; } = code;
}

/// <summary>
/// One kind of the closed list of ledger corrections. A kind fixes the accounts it moves money between, the
/// subject it explains (a local dispute or a Stripe object), how the amount is determined (always from the
/// facts, never typed in: an operator's <c>--amount</c> only confirms it) and its preconditions. It never
/// touches a contest escrow, winnings payable or refunds account: those are explained by their own flows.
/// </summary>
public abstract class CorrectionKind
{
    /// <summary>The kind's name (one of <see cref="Migrations.Versions.M202611300050_CorrectionsAndStripeReconciliation.CorrectionKinds"/>).</summary>
    public abstract string Name { get; }
    public abstract string SubjectPrefix { get; }
    /// <summary>For the operator: what the subject names.</summary>
    public abstract string Subject { get; }
    /// <summary>For the operator: from → to.</summary>
    public abstract string Movement { get; }
    public abstract string AmountRule { get; }
    public abstract string Preconditions { get; }

    /// <summary>Outside any transaction: the facts from Stripe the plan is checked against (null: none needed or none found).</summary>
    public virtual Task<object?> FetchAsync(string subject, CancellationToken ct) => Task.FromResult<object?>(null);

    /// <summary>
    /// Inside the correction's transaction: takes the locks the subject's own flows take (in their order), checks
    /// the preconditions and returns the movement, or throws <see cref="CorrectionRefusedException"/>.
    /// </summary>
    public abstract Task<CorrectionPlan> PlanAsync(NpgsqlTransaction tx, string subject, object? fetched, CancellationToken ct);

    protected CorrectionRefusedException NotFound(string detail) => new(ProblemCodes.CorrectionSubjectNotFound, detail);
    protected CorrectionRefusedException NotApplicable(string detail) => new(ProblemCodes.CorrectionNotApplicable, $"{Name}: {detail}");
}
