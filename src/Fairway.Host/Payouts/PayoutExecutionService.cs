using Dapper;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Faults;
using Fairway.Host.Platform.Telemetry;
using Npgsql;

namespace Fairway.Host.Payouts;

/// <summary>The outcome of one executed attempt.</summary>
public sealed record PayoutAttemptResult(long TransferId, int Attempt, string Outcome, string? ErrorClass, string? StripeTransferId);

/// <summary>
/// Executes ONE payout transfer attempt in ONE database transaction (seed 003 §5): kill-switch check →
/// claim the next due transfer with <c>FOR UPDATE SKIP LOCKED</c> → attempt_count + 1 (once) → destination from
/// <c>user_stripe_accounts</c> → Stripe transfer with idempotency key <c>payout:&lt;transfer_id&gt;</c> (bounded HTTP
/// timeout) → classify → state, ledger entry (on success), attempt row and audit row → commit. A crash between
/// the Stripe call and the commit rolls everything back; the transfer is due again and its retry reuses the
/// idempotency key, so Stripe replays the first transfer instead of creating a second one.
/// </summary>
public sealed class PayoutExecutionService(
    NpgsqlDataSource db, PayoutStripeGateway stripe, LedgerRepository ledger, KillSwitch killSwitch, AuditWriter audit, FairwaySettings settings,
    TimeProvider clock, ILogger<PayoutExecutionService> log)
{
    public const string SystemActor = "system:payouts";
    public const string LedgerKind = "payout.transfer_paid";

    /// <summary>Crash point between Stripe's answer and the commit of the attempt (crash-recovery tests).</summary>
    public const string CrashAfterStripeBeforeCommit = "payout.after_stripe_before_commit";

    /// <summary>Crash point after the send mark is committed and before the Stripe call (the transfer may or may not exist at Stripe).</summary>
    public const string CrashAfterSendMarkBeforeStripe = "payout.after_send_mark_before_stripe";

    public static string LedgerKey(long transferId) => $"payout:{transferId}:completed";

    public static readonly string Worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Claims and executes the next due transfer; null when none is due (or all due ones are being executed by others).</summary>
    public async Task<PayoutAttemptResult?> ExecuteNextAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await killSwitch.EnsureDisengagedAsync(tx, ct);
        var startedAt = clock.GetUtcNow();
        var t = await c.QuerySingleOrDefaultAsync<PayoutTransferView>(new CommandDefinition($"""
            SELECT {PayoutSql.TransferColumnsOf("t")}
              FROM payout_transfers t JOIN payout_jobs j ON j.id = t.payout_job_id
             WHERE {PayoutSql.DueTransfers}
             ORDER BY {PayoutSql.DueOrder}
             LIMIT 1
             FOR UPDATE OF t SKIP LOCKED
            """, new { now = startedAt }, tx, cancellationToken: ct));
        if (t is null) return null;
        try
        {
            return await ExecuteClaimedAsync(tx, t, startedAt, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw new PayoutAttemptException(t.Id, e);
        }
    }

    async Task<PayoutAttemptResult> ExecuteClaimedAsync(NpgsqlTransaction tx, PayoutTransferView t, DateTimeOffset startedAt, CancellationToken ct)
    {
        var c = tx.Connection!;
        var attempt = t.AttemptCount + 1;
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE payout_transfers SET attempt_count = @attempt, status = 'processing', updated_at = @startedAt WHERE id = @id",
            new { attempt, startedAt, id = t.Id }, tx, cancellationToken: ct));

        var account = await c.QuerySingleOrDefaultAsync<(string AccountId, bool PayoutsEnabled)?>(new CommandDefinition(
            "SELECT stripe_account_id, payouts_enabled FROM user_stripe_accounts WHERE user_id = @userId", new { userId = t.UserId }, tx, cancellationToken: ct));
        StripeTransferOutcome outcome;
        string? destination = account?.AccountId;
        if (account is not { PayoutsEnabled: true })
        {
            outcome = StripeTransferOutcome.Permanent(PayoutErrorClasses.Account,
                account is null ? $"user {t.UserId} has no connected Stripe account" : $"Stripe account {account.Value.AccountId} of user {t.UserId} has payouts disabled", null);
        }
        else outcome = await SendOnceAsync(tx, t, account.Value.AccountId, ct);
        CrashPoints.Hit(CrashAfterStripeBeforeCommit);
        var result = await PersistAsync(tx, t, attempt, startedAt, outcome, destination, ct);
        await tx.CommitAsync(ct);
        PayoutMetrics.Transfers.WithLabels(result.Outcome).Inc();
        if (result.Outcome == PayoutTransferStatuses.Completed)
            log.LogInformation("Payout transfer {TransferId} (contest {ContestId}, user {UserId}, {Amount} {Currency}) completed on attempt {Attempt}: Stripe transfer {StripeTransferId}",
                t.Id, t.ContestId, t.UserId, t.Amount, t.Currency, attempt, outcome.TransferId);
        else
            log.LogWarning("Payout transfer {TransferId} (contest {ContestId}, user {UserId}) attempt {Attempt} failed ({ErrorClass}): {Error}; now {Status}",
                t.Id, t.ContestId, t.UserId, attempt, outcome.ErrorClass, outcome.Error, result.Outcome);
        return result;
    }

    /// <summary>
    /// Sends the transfer to Stripe at most once, whatever Stripe remembers: if any earlier send of this transfer was
    /// marked (it may have reached Stripe although nothing of it was committed, e.g. a crash after Stripe's answer),
    /// the transfer is looked up at Stripe first and never created while that look-up fails. Otherwise (or when the
    /// look-up finds nothing) a new send is marked and COMMITTED before the call, on its own connection (the claim holds
    /// this transfer's row FOR UPDATE for the whole attempt; the mark table has no foreign key to wait on it).
    /// </summary>
    async Task<StripeTransferOutcome> SendOnceAsync(NpgsqlTransaction tx, PayoutTransferView t, string destination, CancellationToken ct)
    {
        var sends = await tx.Connection!.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*) FROM payout_transfer_sends WHERE transfer_id = @id", new { id = t.Id }, tx, cancellationToken: ct));
        if (sends > 0)
        {
            var earlier = await stripe.FindExistingAsync(t.Id, t.ContestId, ct);
            if (earlier.Failed) return StripeTransferOutcome.Transient(PayoutErrorClasses.LookupFailed,
                $"transfer {t.Id} was sent to Stripe before ({sends} send(s)); looking it up failed, so it is not sent again now: {earlier.Error}", earlier.HttpStatus);
            if (earlier.Found is { } found) return found;
        }
        await using (var mark = await db.OpenConnectionAsync(ct))
            await mark.ExecuteAsync(new CommandDefinition("""
                INSERT INTO payout_transfer_sends (transfer_id, attempt, sent_at, idempotency_key, worker, correlation_id)
                SELECT @id, coalesce(max(attempt), 0) + 1, @now, @key, @worker, @correlation FROM payout_transfer_sends WHERE transfer_id = @id
                """, new { id = t.Id, now = clock.GetUtcNow(), key = PayoutStripeGateway.IdempotencyKey(t.Id), worker = Worker, correlation = Correlation.Current },
                cancellationToken: ct));
        CrashPoints.Hit(CrashAfterSendMarkBeforeStripe);
        return await stripe.CreateTransferAsync(t.Id, t.ContestId, t.UserId, t.Amount, t.Currency, destination, ct);
    }

    async Task<PayoutAttemptResult> PersistAsync(NpgsqlTransaction tx, PayoutTransferView t, int attempt, DateTimeOffset startedAt, StripeTransferOutcome outcome, string? destination, CancellationToken ct)
    {
        var c = tx.Connection!;
        var now = clock.GetUtcNow();
        string status;
        string? failureReason = null;
        long? ledgerEntryId = null;
        var next = now;
        if (outcome.Succeeded)
        {
            status = PayoutTransferStatuses.Completed;
            var posted = await ledger.PostAsync(tx, JournalEntry.Movement(LedgerKey(t.Id), LedgerKind, t.Currency, now, "payout_transfer",
                t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), LedgerAccountRef.Payable(t.UserId, t.Currency), LedgerAccountRef.Clearing(t.Currency), t.Amount,
                $"Stripe transfer {outcome.TransferId} to {destination} (contest {t.ContestId})"), ct);
            ledgerEntryId = posted.EntryId;
            await c.ExecuteAsync(new CommandDefinition("""
                UPDATE payout_transfers SET status = 'completed', stripe_transfer_id = @stripeId, destination = @destination, ledger_entry_id = @ledgerEntryId,
                       completed_at = @now, updated_at = @now
                 WHERE id = @id
                """, new { id = t.Id, stripeId = outcome.TransferId, destination, ledgerEntryId, now }, tx, cancellationToken: ct));
        }
        else
        {
            if (!outcome.Retryable)
            {
                status = PayoutTransferStatuses.FailedTerminal;
                failureReason = outcome.ErrorClass switch
                {
                    PayoutErrorClasses.Account when destination is null || outcome.HttpStatus is null => PayoutFailureReasons.AccountNotConnected,
                    PayoutErrorClasses.Account => PayoutFailureReasons.DestinationInvalid,
                    PayoutErrorClasses.IdempotencyConflict => PayoutFailureReasons.IdempotencyConflict,
                    _ => PayoutFailureReasons.StripeRejected,
                };
            }
            else if (attempt >= t.MaxAttempts)
            {
                status = PayoutTransferStatuses.FailedTerminal;
                failureReason = PayoutFailureReasons.AttemptsExhausted;
            }
            else
            {
                status = PayoutTransferStatuses.Retryable;
                next = now + Backoff(t.Id, attempt, settings.PayoutRetryBase, settings.PayoutRetryMax);
            }
            await c.ExecuteAsync(new CommandDefinition("""
                UPDATE payout_transfers SET status = @status, failure_reason = @failureReason, last_error = @error, last_error_class = @errorClass,
                       destination = coalesce(@destination, destination), next_attempt_at = @next, updated_at = @now
                 WHERE id = @id
                """, new { id = t.Id, status, failureReason, error = outcome.Error, errorClass = outcome.ErrorClass, destination, next, now }, tx, cancellationToken: ct));
        }
        var attemptOutcome = status;
        await c.ExecuteAsync(new CommandDefinition("""
            INSERT INTO payout_transfer_attempts (transfer_id, attempt, started_at, finished_at, outcome, error_class, error, stripe_transfer_id, idempotency_key,
                ledger_entry_id, http_status, worker, correlation_id)
            VALUES (@id, @attempt, @startedAt, @now, @attemptOutcome, @errorClass, @error, @stripeId, @key, @ledgerEntryId, @httpStatus, @worker, @correlation)
            """, new
        {
            id = t.Id, attempt, startedAt, now, attemptOutcome, errorClass = outcome.ErrorClass, error = outcome.Error, stripeId = outcome.TransferId,
            key = PayoutStripeGateway.IdempotencyKey(t.Id), ledgerEntryId, httpStatus = outcome.HttpStatus, worker = Worker, correlation = Correlation.Current,
        }, tx, cancellationToken: ct));
        await audit.WriteAsync(tx, new AuditEntry(SystemActor, "payout_transfer." + status, "payout_transfer", t.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            outcome.Succeeded ? $"attempt {attempt}: Stripe transfer {outcome.TransferId}{(outcome.Replayed ? " (replayed)" : "")}"
                : $"attempt {attempt} failed ({outcome.ErrorClass}): {Truncate(outcome.Error ?? "", 1500)}",
            Before: new { status = t.Status, attempt_count = t.AttemptCount },
            After: new { status, attempt_count = attempt, failure_reason = failureReason, stripe_transfer_id = outcome.TransferId, next_attempt_at = status == PayoutTransferStatuses.Retryable ? next : (DateTimeOffset?)null },
            Evidence: new { contest_id = t.ContestId, user_id = t.UserId, amount = t.Amount, idempotency_key = PayoutStripeGateway.IdempotencyKey(t.Id), ledger_entry_id = ledgerEntryId, http_status = outcome.HttpStatus }), ct);
        return new PayoutAttemptResult(t.Id, attempt, status, outcome.ErrorClass, outcome.TransferId);
    }

    /// <summary>
    /// An attempt whose transaction failed for a reason of ours (database error, bug) after the claim: recorded in
    /// its own transaction as a retryable attempt of class "internal" (with backoff), so one bad transfer cannot
    /// block the queue. Does nothing when the transfer is no longer due (e.g. another worker completed it).
    /// </summary>
    public async Task RecordInternalFailureAsync(long transferId, Exception error, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var t = await c.QuerySingleOrDefaultAsync<PayoutTransferView>(new CommandDefinition($"""
            SELECT {PayoutSql.TransferColumns} FROM payout_transfers
             WHERE id = @transferId AND status IN ('pending', 'retryable') AND stripe_transfer_id IS NULL AND attempt_count < max_attempts
             FOR UPDATE SKIP LOCKED
            """, new { transferId }, tx, cancellationToken: ct));
        if (t is null) return;
        var attempt = t.AttemptCount + 1;
        await c.ExecuteAsync(new CommandDefinition("UPDATE payout_transfers SET attempt_count = @attempt WHERE id = @id", new { attempt, id = t.Id }, tx, cancellationToken: ct));
        var started = clock.GetUtcNow();
        await PersistAsync(tx, t, attempt, started,
            StripeTransferOutcome.Transient(PayoutErrorClasses.Internal, $"{error.GetType().Name}: {Truncate(error.Message, 1000)}", null), null, ct);
        await tx.CommitAsync(ct);
        PayoutMetrics.Transfers.WithLabels("internal_error").Inc();
    }

    /// <summary>
    /// How long a transfer waits after its failed attempt <paramref name="attempt"/> (1-based): the base doubled per attempt,
    /// plus a jitter of up to one base, at most <paramref name="max"/>. The jitter spreads the transfers an outage failed
    /// together over a base interval, so they do not all come back in the same second. It is drawn from the transfer's id
    /// and the attempt, not from a random source, so the same season replayed computes the same retry times.
    /// </summary>
    public static TimeSpan Backoff(long transferId, int attempt, TimeSpan retryBase, TimeSpan max)
    {
        var baseSeconds = retryBase.TotalSeconds;
        var exp = baseSeconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        return TimeSpan.FromSeconds(Math.Min(exp + JitterFraction(transferId, attempt) * baseSeconds, max.TotalSeconds));
    }

    /// <summary>A fraction in [0, 1) mixed from the two numbers (SplitMix64's finalizer): evenly spread, the same for the same inputs.</summary>
    static double JitterFraction(long transferId, int attempt)
    {
        var h = unchecked((ulong)transferId * 0x9E3779B97F4A7C15UL + (ulong)attempt);
        h = unchecked((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL);
        h = unchecked((h ^ (h >> 27)) * 0x94D049BB133111EBUL);
        h ^= h >> 31;
        return (h >> 11) * (1.0 / (1UL << 53));
    }

    static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}

/// <summary>An attempt of a claimed transfer failed for a reason of ours; its transaction was rolled back.</summary>
public sealed class PayoutAttemptException(long transferId, Exception inner) : Exception($"payout transfer {transferId}: {inner.Message}", inner)
{
    public long TransferId { get; } = transferId;
}
