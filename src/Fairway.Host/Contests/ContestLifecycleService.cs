using Fairway.Host.Platform.Http;
using Fairway.Engine.Golf;
using Fairway.Host.Platform.Audit;
using Npgsql;

namespace Fairway.Host.Contests;

/// <summary>Why a transition was refused. Stable codes, returned as problem+json by the API.</summary>
public sealed class ContestTransitionException(ProblemCode code, string message) : Exception(message)
{
    public ProblemCode Code { get; } = code;
}

public enum TransitionOutcome { Moved, AlreadyThere }

public sealed record TransitionResult(string ContestId, ContestState From, ContestState To, TransitionOutcome Outcome, long? AuditId);

/// <summary>
/// Evidence that a tournament is officially over: only constructible from a leaderboard that the
/// engine reads as final (status closed, or every round closed and every golfer in good standing
/// through 18 in every round). The ingestion event id ties it to the stored payload.
/// </summary>
public sealed record TerminalEvidence
{
    public long IngestionEventId { get; }
    public string PayloadHash { get; }
    public string ProviderStatus { get; }

    TerminalEvidence(long eventId, string hash, string status) { IngestionEventId = eventId; PayloadHash = hash; ProviderStatus = status; }

    public static TerminalEvidence? FromLeaderboard(long ingestionEventId, string payloadHash, Leaderboard leaderboard, int roundCount) =>
        LifecycleSignals.IsFinal(leaderboard, roundCount)
            ? new TerminalEvidence(ingestionEventId, payloadHash, leaderboard.Status.ToString().ToLowerInvariant())
            : null;
}

/// <summary>
/// The contest state machine. Every transition is one transaction: the contest row is locked, the
/// move is checked against the allowed transitions, the state is written together with its audit row
/// (actor, reason, evidence). A refused transition writes nothing; repeating a transition that
/// already happened is a no-op (seed 002 CT5). Payment state never drives it.
/// </summary>
public sealed class ContestLifecycleService(NpgsqlDataSource db, ContestRepository contests, AuditWriter audit, TimeProvider clock, ILogger<ContestLifecycleService> log)
{
    public const string SystemClockActor = "system:lifecycle-clock";
    public const string IngestionActor = "system:ingestion";

    /// <summary>
    /// Lock decision at lock time: enough paid (ACTIVE) entries → LOCKED, otherwise → CANCELLED
    /// (every paid entry is refunded by the payments capability). <paramref name="force"/> lets an admin
    /// lock before lock time (seed 001 "Contest Lock Failed" runbook).
    /// </summary>
    public async Task<TransitionResult> LockAsync(string contestId, string actor, string reason, bool force, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        var from = ContestStates.Parse(row.State);
        // Replays and concurrent double locks land here: the first one decided, the rest are no-ops.
        if (from is ContestState.Locked or ContestState.Live or ContestState.Complete or ContestState.Cancelled)
            return new TransitionResult(contestId, from, from, TransitionOutcome.AlreadyThere, null);
        var now = clock.GetUtcNow();
        if (from == ContestState.Scheduled && !force && now < row.LockTime)
            throw Refused(ContestState.Locked, ProblemCodes.LockTimeNotReached, $"contest {contestId} locks at {row.LockTime:O}; it is {now:O}");
        var config = await contests.ActiveConfigAsync(c, contestId, tx);
        var paid = await contests.CountEntriesAsync(c, contestId, "ACTIVE", tx);
        var evidence = new { lock_time = row.LockTime, clock = now, paid_entries = paid, min_entries = config.Config.Rules.MinEntries, config_version = config.Version, forced = force };
        if (paid < config.Config.Rules.MinEntries)
            return await MoveAsync(tx, row, ContestState.Cancelled, actor,
                $"under-filled at lock: {paid} paid entries < min_entries {config.Config.Rules.MinEntries}" + (reason.Length > 0 ? $" ({reason})" : ""), evidence, ct);
        return await MoveAsync(tx, row, ContestState.Locked, actor, reason.Length > 0 ? reason : "lock time reached", evidence, ct);
    }

    /// <summary>Play started (tournament or a round in progress). Applies to LOCKED contests; a SCHEDULED one is locked first.</summary>
    public async Task<TransitionResult> MarkLiveAsync(string contestId, long ingestionEventId, string providerStatus, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        var from = ContestStates.Parse(row.State);
        if (from is ContestState.Live or ContestState.Complete)
            return new TransitionResult(contestId, from, ContestState.Live, TransitionOutcome.AlreadyThere, null);
        return await MoveAsync(tx, row, ContestState.Live, IngestionActor, $"provider reports play started (status {providerStatus})",
            new { ingestion_event_id = ingestionEventId, provider_status = providerStatus }, ct);
    }

    /// <summary>COMPLETE demands terminal evidence; it is never inferred from silence.</summary>
    public async Task<TransitionResult> CompleteAsync(string contestId, TerminalEvidence evidence, string actor = IngestionActor, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        if (ContestStates.Parse(row.State) == ContestState.Complete)
            return new TransitionResult(contestId, ContestState.Complete, ContestState.Complete, TransitionOutcome.AlreadyThere, null);
        return await MoveAsync(tx, row, ContestState.Complete, actor, $"provider terminal signal (status {evidence.ProviderStatus})",
            new { ingestion_event_id = evidence.IngestionEventId, payload_hash = evidence.PayloadHash, provider_status = evidence.ProviderStatus }, ct);
    }

    /// <summary>
    /// The provider cancelled the tournament, or an admin cancelled the contest. The payments capability refunds every paid
    /// entry (its contest closer reads CANCELLED contests); the lifecycle knows nothing of payments.
    /// </summary>
    public async Task<TransitionResult> CancelAsync(string contestId, string actor, string reason, object evidence, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        if (ContestStates.Parse(row.State) == ContestState.Cancelled)
            return new TransitionResult(contestId, ContestState.Cancelled, ContestState.Cancelled, TransitionOutcome.AlreadyThere, null);
        return await MoveAsync(tx, row, ContestState.Cancelled, actor, reason, evidence, ct);
    }

    /// <summary>A condition the system cannot resolve by itself; <paramref name="cause"/> names the runbook to follow.</summary>
    public async Task<TransitionResult> MarkErrorAsync(string contestId, string cause, string actor, object evidence, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        if (ContestStates.Parse(row.State) == ContestState.Error)
            return new TransitionResult(contestId, ContestState.Error, ContestState.Error, TransitionOutcome.AlreadyThere, null);
        return await MoveAsync(tx, row, ContestState.Error, actor, $"error: {cause}", evidence, ct);
    }

    /// <summary>
    /// Leaves ERROR through an admin decision (a runbook's exit; reason required, audited): to COMPLETE to settle again, or to
    /// CANCELLED to refund every paid entry. Refused (409 CONTEST_NOT_IN_ERROR) when the contest is not in ERROR.
    /// </summary>
    public async Task<TransitionResult> ResolveErrorAsync(string contestId, ContestState to, string actor, string reason, object evidence, CancellationToken ct = default)
    {
        if (to is not (ContestState.Complete or ContestState.Cancelled)) throw new ArgumentOutOfRangeException(nameof(to), to, "ERROR is resolved to COMPLETE or CANCELLED");
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId) ?? throw NotFound(contestId);
        if (ContestStates.Parse(row.State) != ContestState.Error)
            throw Refused(to, ProblemCodes.ContestNotInError, $"contest {contestId} is {row.State}; only a contest in ERROR is resolved");
        return await MoveAsync(tx, row, to, actor, reason, evidence, ct);
    }

    /// <summary>Locks every contest whose lock time has come (bounded batch); called by the lifecycle clock job.</summary>
    public async Task<IReadOnlyList<TransitionResult>> LockDueContestsAsync(int limit = 100, CancellationToken ct = default)
    {
        IReadOnlyList<string> due;
        await using (var c = await db.OpenConnectionAsync(ct))
            due = await contests.DueForLockAsync(c, clock.GetUtcNow(), limit);
        var results = new List<TransitionResult>();
        foreach (var id in due)
        {
            try { results.Add(await LockAsync(id, SystemClockActor, "", force: false, ct)); }
            catch (ContestTransitionException e)
            {
                // Another contest must not be held up by one that cannot lock now; the metric and log make it visible.
                log.LogError(e, "Lock of contest {ContestId} refused: {Code}", id, e.Code);
            }
        }
        return results;
    }

    async Task<TransitionResult> MoveAsync(NpgsqlTransaction tx, ContestRow row, ContestState to, string actor, string reason, object evidence, CancellationToken ct)
    {
        var from = ContestStates.Parse(row.State);
        if (!ContestStates.CanMove(from, to))
            throw Refused(to, ProblemCodes.ContestTransitionInvalid, $"contest {row.Id} cannot move from {ContestStates.Name(from)} to {ContestStates.Name(to)}");
        var now = clock.GetUtcNow();
        await contests.SetStateAsync(tx, row.Id, to, now);
        var auditId = await audit.WriteAsync(tx, new AuditEntry(actor, "contest.transition", "contest", row.Id, reason,
            Before: new { state = ContestStates.Name(from) }, After: new { state = ContestStates.Name(to) }, Evidence: evidence), ct);
        await tx.CommitAsync(ct);
        ContestMetrics.Transitions.WithLabels(ContestStates.Name(from), ContestStates.Name(to)).Inc();
        log.LogInformation("Contest {ContestId} moved {From} -> {To} by {Actor}: {Reason}", row.Id, ContestStates.Name(from), ContestStates.Name(to), actor, reason);
        return new TransitionResult(row.Id, from, to, TransitionOutcome.Moved, auditId);
    }

    ContestTransitionException Refused(ContestState to, ProblemCode code, string message)
    {
        ContestMetrics.TransitionsFailed.WithLabels(ContestStates.Name(to), code).Inc();
        log.LogWarning("Contest transition refused ({Code}): {Message}", code, message);
        return new ContestTransitionException(code, message);
    }

    static ContestTransitionException NotFound(string id) => new(ProblemCodes.ContestNotFound, $"no contest '{id}'");
}
