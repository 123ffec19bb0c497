using Fairway.Host.Platform.Http;

namespace Fairway.Host.Settlement;

/// <summary>A stored settlement (one per contest).</summary>
public sealed record SettlementView
{
    public long Id { get; init; }
    public string ContestId { get; init; } = "";
    public int ConfigVersion { get; init; }
    public string ConfigHash { get; init; } = "";
    public long LeaderboardEventId { get; init; }
    public string LeaderboardHash { get; init; } = "";
    public long CompleteEventId { get; init; }
    public string EntrySetHash { get; init; } = "";
    public int EntryCount { get; init; }
    public string OutputHash { get; init; } = "";
    public long Gross { get; init; }
    public long Rake { get; init; }
    public long Net { get; init; }
    public string Currency { get; init; } = "";
    public int Winners { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset CommittedAt { get; init; }
    public int LoadMs { get; init; }
    public int ComputeMs { get; init; }
    public int PersistMs { get; init; }
    public string SettledBy { get; init; } = "";
    public string? CorrelationId { get; init; }
}

public static class SettlementViews
{
    /// <summary>
    /// The rules a stored settlement was computed with: its config version's, with the fee and currency its entries paid
    /// (gross = fee × entries, exactly). Replays and correction checks use these, never the config's fee alone.
    /// </summary>
    public static Fairway.Engine.Settlement.SettlementRules RulesOf(this SettlementView s, Fairway.Engine.Config.ContestConfig config)
    {
        var rules = Fairway.Engine.Settlement.SettlementRules.FromConfig(config);
        return s.EntryCount > 0 ? rules with { EntryFee = s.Gross / s.EntryCount, Currency = s.Currency } : rules;
    }
}

/// <summary>One settled entry, with the roster it was settled on.</summary>
public sealed record SettlementResultRow
{
    public string EntryId { get; init; } = "";
    public string UserId { get; init; } = "";
    public string Golfers { get; init; } = "[]";
    public int Rank { get; init; }
    public long Score { get; init; }
    public long Prize { get; init; }
}

/// <summary>One settlement attempt that did something: the one that settled, or a failure with its error.</summary>
public sealed record SettlementRunView
{
    public long Id { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; init; }
    public string Outcome { get; init; } = "";
    public long? SettlementId { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorJson { get; init; }
    public string TriggeredBy { get; init; } = "";
    public string? CorrelationId { get; init; }
}

/// <summary>A provider leaderboard accepted after settlement, recomputed and compared.</summary>
public sealed record CorrectionCheckView
{
    public long Id { get; init; }
    public long IngestionEventId { get; init; }
    public string LeaderboardHash { get; init; } = "";
    public string SettledOutputHash { get; init; } = "";
    public string CorrectedOutputHash { get; init; } = "";
    public string Outcome { get; init; } = "";
    public string? Action { get; init; }
    public DateTimeOffset CheckedAt { get; init; }
}

public enum SettleOutcome { Settled, AlreadySettled }

public sealed record SettleResult(SettleOutcome Outcome, SettlementView Settlement);

/// <summary>
/// The contest cannot be settled now and nothing was attempted (not COMPLETE, hold not over, unknown
/// contest). Not a failure: nothing is recorded and the job is not retried.
/// </summary>
public sealed class SettlementRefusedException(ProblemCode code, string message) : Exception(message)
{
    public ProblemCode Code { get; } = code;
}

/// <summary>A settlement attempt failed: nothing of it was written; the failure is recorded (run row, audit, log, metrics).</summary>
public sealed class SettlementFailedException(string contestId, string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string ContestId { get; } = contestId;
    public string Code { get; } = code;
}

/// <summary>Stable codes of settlement failures and refusals.</summary>
public static class SettlementCodes
{
    /// <summary>Also the problem code of a settlement refused before it starts (<see cref="ProblemCodes.CompleteEvidenceMissing"/>).</summary>
    public static readonly string CompleteEvidenceMissing = ProblemCodes.CompleteEvidenceMissing;
    public const string LeaderboardNotFinal = "LEADERBOARD_NOT_FINAL";
    public const string EngineRejected = "ENGINE_REJECTED";
    public const string EscrowMismatch = "ESCROW_MISMATCH";
    public const string EntryFeeMismatch = "ENTRY_FEE_MISMATCH";
    public static readonly string KillSwitchActive = ProblemCodes.KillSwitchActive;
    /// <summary>The database or another dependency was briefly unavailable: retried, never a reason for ERROR.</summary>
    public const string Transient = "TRANSIENT_ERROR";
    public const string Unexpected = "UNEXPECTED_ERROR";

    /// <summary>
    /// Failures Fairway cannot resolve by itself: after SETTLEMENT_MAX_FAILED_ATTEMPTS of them the contest moves to ERROR,
    /// left only through an audited admin action (<c>fairway contests resolve</c>). The kill-switch and transient errors
    /// resolve themselves and never count.
    /// </summary>
    public static readonly IReadOnlyList<string> Unresolvable = [EscrowMismatch, EngineRejected, LeaderboardNotFinal, CompleteEvidenceMissing, EntryFeeMismatch, Unexpected];
}

/// <summary>A contest counted by <c>settlement_failed_contests</c>: its latest (failed) settlement run and how many runs failed.</summary>
public sealed record FailingContestRow
{
    public required string ContestId { get; init; }
    public required string TournamentId { get; init; }
    public long LastRunId { get; init; }
    public required string ErrorCode { get; init; }
    public DateTimeOffset FailedAt { get; init; }
    public long FailedRuns { get; init; }
}
