using Fairway.Host.Platform.Http;

namespace Fairway.Host.Payouts;

public static class PayoutJobStatuses
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Held = "held";
    public const string Complete = "complete";
}

public static class PayoutTransferStatuses
{
    public const string Pending = "pending";
    public const string Processing = "processing";
    public const string Retryable = "retryable";
    public const string Completed = "completed";
    public const string FailedTerminal = "failed_terminal";

    public static bool Terminal(string s) => s is Completed or FailedTerminal;
}

/// <summary>failure_reason values of failed_terminal transfers.</summary>
public static class PayoutFailureReasons
{
    public const string AccountNotConnected = "stripe_account_not_connected";
    public const string AttemptsExhausted = "max_attempts_exhausted";
    public const string StripeRejected = "stripe_rejected";
    public const string DestinationInvalid = "destination_account_invalid";
    public const string IdempotencyConflict = "idempotency_conflict";

    /// <summary>Failures only the winner can fix (their Stripe account); re-queued automatically once Stripe reports it usable.</summary>
    public static readonly string[] WinnerAccount = [AccountNotConnected, DestinationInvalid];
}

public sealed record PayoutJobView
{
    public long Id { get; init; }
    public long SettlementId { get; init; }
    public string ContestId { get; init; } = "";
    public string Status { get; init; } = "";
    public string? HoldReason { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public int TransferCount { get; init; }
    public long TotalAmount { get; init; }
    public int? CompletedCount { get; init; }
    public int? FailedCount { get; init; }
}

public sealed record PayoutTransferView
{
    public long Id { get; init; }
    public long PayoutJobId { get; init; }
    public string ContestId { get; init; } = "";
    public string UserId { get; init; } = "";
    public long Amount { get; init; }
    public string Currency { get; init; } = "";
    public string Status { get; init; } = "";
    public int AttemptCount { get; init; }
    public int MaxAttempts { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public string? StripeTransferId { get; init; }
    public string? Destination { get; init; }
    public string? FailureReason { get; init; }
    public string? LastError { get; init; }
    public string? LastErrorClass { get; init; }
    public long? LedgerEntryId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
}

public sealed record PayoutAttemptView
{
    public long TransferId { get; init; }
    public int Attempt { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; init; }
    public string Outcome { get; init; } = "";
    public string? ErrorClass { get; init; }
    public string? Error { get; init; }
    public string? StripeTransferId { get; init; }
    public string IdempotencyKey { get; init; } = "";
    public long? LedgerEntryId { get; init; }
    public int? HttpStatus { get; init; }
    public string Worker { get; init; } = "";
}

public sealed record PayoutSchedulerRunView
{
    public long Id { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset FinishedAt { get; init; }
    public string Outcome { get; init; } = "";
    public string TriggeredBy { get; init; } = "";
    public string Worker { get; init; } = "";
    public int Attempted { get; init; }
    public int Completed { get; init; }
    public int Retryable { get; init; }
    public int FailedTerminal { get; init; }
    public int JobsCompleted { get; init; }
    public string? Error { get; init; }
}

/// <summary>A payout admin action refused (HTTP 404/409 with <see cref="Code"/>); nothing was written.</summary>
/// <summary>What one "retry now" did: the transfers made due (with the next attempt they had), and whether more are left.</summary>
public sealed record PayoutRetryNowResult(IReadOnlyList<PayoutRetriedNow> Transfers, int Count, bool More);

public sealed record PayoutRetriedNow(long Id, string ContestId, DateTimeOffset PreviousNextAttemptAt);

public sealed class PayoutActionException(ProblemCode code, string message) : Exception(message)
{
    public ProblemCode Code { get; } = code;
}

internal static class PayoutSql
{
    /// <summary>
    /// Which transfers a payout run claims (alias t for payout_transfers, j for its payout_jobs; parameter @now), in
    /// <see cref="DueOrder"/>. Shared by the run and its dry run, so the dry run lists exactly what the run would do.
    /// </summary>
    public const string DueTransfers = """
        t.status IN ('pending', 'retryable') AND t.stripe_transfer_id IS NULL AND t.attempt_count < t.max_attempts
        AND t.next_attempt_at <= @now AND j.status IN ('pending', 'processing')
        """;

    public const string DueOrder = "t.next_attempt_at, t.id";

    public const string JobColumns = """
        id AS Id, settlement_id AS SettlementId, contest_id AS ContestId, status AS Status, hold_reason AS HoldReason, created_at AS CreatedAt,
        updated_at AS UpdatedAt, completed_at AS CompletedAt, transfer_count AS TransferCount, total_amount AS TotalAmount,
        completed_count AS CompletedCount, failed_count AS FailedCount
        """;

    public const string TransferColumns = """
        id AS Id, payout_job_id AS PayoutJobId, contest_id AS ContestId, user_id AS UserId, amount AS Amount, currency AS Currency, status AS Status,
        attempt_count AS AttemptCount, max_attempts AS MaxAttempts, next_attempt_at AS NextAttemptAt, stripe_transfer_id AS StripeTransferId,
        destination AS Destination, failure_reason AS FailureReason, last_error AS LastError, last_error_class AS LastErrorClass,
        ledger_entry_id AS LedgerEntryId, created_at AS CreatedAt, updated_at AS UpdatedAt, completed_at AS CompletedAt
        """;

    /// <summary><see cref="TransferColumns"/> qualified by a table alias, for joins.</summary>
    public static string TransferColumnsOf(string alias) => string.Join(", ", TransferColumns.Split(',').Select(col => alias + "." + col.Trim()));

    public const string AttemptColumns = """
        transfer_id AS TransferId, attempt AS Attempt, started_at AS StartedAt, finished_at AS FinishedAt, outcome AS Outcome, error_class AS ErrorClass,
        error AS Error, stripe_transfer_id AS StripeTransferId, idempotency_key AS IdempotencyKey, ledger_entry_id AS LedgerEntryId,
        http_status AS HttpStatus, worker AS Worker
        """;

    public const string RunColumns = """
        id AS Id, started_at AS StartedAt, finished_at AS FinishedAt, outcome AS Outcome, triggered_by AS TriggeredBy, worker AS Worker,
        attempted AS Attempted, completed AS Completed, retryable AS Retryable, failed_terminal AS FailedTerminal, jobs_completed AS JobsCompleted, error AS Error
        """;
}
