using Fairway.Host.Platform.Jobs;
using Dapper;
using Fairway.Host.Platform.Configuration;
using Hangfire;
using Npgsql;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record SweepResult(int PaymentsConverged, int IntentsEnsured, int RefundsResumed, int RefundsConverged, int Errors);

/// <summary>
/// The payment sweeper: whatever a lost webhook, a lost job or a crash left pending is asked of Stripe and applied
/// through the same code paths ("payment intent orphaned"): pending/failed payments → convergence; PENDING_PAYMENT
/// entries without a payment intent (a crash between insert and Stripe call) → created with the entry's key; refunds
/// due (REQUESTED, or FAILED within their budget) → sent again (send-once: looked up first); SUBMITTED refunds →
/// converged. Every step is bounded (at most <see cref="Batch"/> items, <see cref="Concurrency"/> at a time) and idempotent, and nothing can starve: payments and refunds carry their own
/// schedule (when the sweeper may look again, with backoff), and every step takes the most overdue first, so 200
/// abandoned checkouts cannot hide the 201st. Does nothing while the kill-switch is engaged.
/// </summary>
public sealed class PaymentSweeper(
    NpgsqlDataSource db, FairwaySettings settings, PaymentConvergence convergence, EntryService entries, RefundService refunds, RefundRequests refundRequests,
    KillSwitchService killSwitch, TimeProvider clock, ILogger<PaymentSweeper> log)
{
    public const int Batch = 200;
    /// <summary>
    /// Most items of one step looked at the same time: each is its own Stripe read and its own transactions, so they wait
    /// on Stripe side by side. Which of two racing payments takes a contest's last seat was never fixed by this order
    /// (webhook batches converge at the same time); the seat lock keeps the count right.
    /// </summary>
    public const int Concurrency = 4;
    /// <summary>The longest a pending payment waits between two looks of the sweeper.</summary>
    public static readonly TimeSpan MaxSweepInterval = TimeSpan.FromDays(1);

    public async Task<SweepResult> SweepAsync(CancellationToken ct)
    {
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Payment sweeper skipped: the kill-switch is engaged");
            return new SweepResult(0, 0, 0, 0, 0);
        }
        var now = clock.GetUtcNow();
        var cutoff = now - settings.PaymentSweeperPendingAge;
        var failedSince = now - TimeSpan.FromDays(7);
        List<string> pending, orphanEntries, due, submitted;
        await using (var c = await db.OpenConnectionAsync(ct))
        {
            pending = (await c.QueryAsync<string>("""
                SELECT payment_intent_id FROM payments
                 WHERE (status = 'PENDING' OR (status = 'FAILED' AND created_at >= @failedSince)) AND updated_at <= @cutoff
                   AND (next_sweep_at IS NULL OR next_sweep_at <= @now)
                 ORDER BY next_sweep_at NULLS FIRST, entry_id LIMIT @Batch
                """, new { cutoff, failedSince, now, Batch })).ToList();
            orphanEntries = (await c.QueryAsync<string>("""
                SELECT e.id FROM entries e JOIN contests k ON k.id = e.contest_id
                 WHERE e.status = 'PENDING_PAYMENT' AND e.entry_fee IS NOT NULL AND e.created_at <= @cutoff AND k.state = 'SCHEDULED'
                   AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.entry_id = e.id)
                 ORDER BY e.created_at, e.id LIMIT @Batch
                """, new { cutoff, Batch })).ToList();
            due = (await c.QueryAsync<string>("""
                SELECT id FROM refunds
                 WHERE (status = 'REQUESTED' OR (status = 'FAILED' AND attempt_count < max_attempts)) AND next_attempt_at <= @now
                 ORDER BY next_attempt_at, id LIMIT @Batch
                """, new { now, Batch })).ToList();
            submitted = (await c.QueryAsync<string>("""
                SELECT payment_intent_id FROM refunds WHERE status = 'SUBMITTED' AND next_attempt_at <= @now ORDER BY next_attempt_at, id LIMIT @Batch
                """, new { now, Batch })).ToList();
        }

        var errors = 0;
        Task Each(IEnumerable<string> ids, string what, Func<string, Task> step) =>
            Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = ct }, async (id, _) =>
            {
                try { await step(id); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    log.LogError(e, "Payment sweeper: {What} {Id} failed; retried by a later run", what, id);
                }
            });
        await Each(pending, "payment intent", async id =>
        {
            // Looked at now, whatever the answer: it goes to the back of the queue, later each time (backoff).
            await MarkSweptAsync(id, now, ct);
            var view = await convergence.ReadAsync(id, ct);
            await RecordStripeStatusAsync(id, view.PaymentIntent.Status, now, ct);
            await convergence.ConvergeAsync(view, "system:payment-sweeper", ct: ct);
        });
        await Each(orphanEntries, "entry without payment intent", async id =>
        {
            EntryRow? entry;
            await using (var c = await db.OpenConnectionAsync(ct)) entry = await PaymentStore.EntryAsync(c, id);
            if (entry is not null) await entries.EnsurePaymentIntentAsync(entry, ct);
        });
        await Each(due, "refund", id => refunds.ExecuteAsync(id, ct));
        await Each(submitted.Distinct(), "submitted refund", async id =>
        {
            await using (var c = await db.OpenConnectionAsync(ct))
                await c.ExecuteAsync("""
                    UPDATE refunds SET next_attempt_at = @now + make_interval(secs => @backoff) WHERE payment_intent_id = @id AND status = 'SUBMITTED'
                    """, new { id, now, backoff = refundRequests.Backoff(1).TotalSeconds });
            await convergence.ConvergeAsync(id, "system:payment-sweeper", ct: ct);
        });

        var result = new SweepResult(pending.Count, orphanEntries.Count, due.Count, submitted.Count, errors);
        if (pending.Count + orphanEntries.Count + due.Count + submitted.Count > 0)
            log.LogInformation("Payment sweeper: {Payments} payment intents converged, {Intents} orphaned entries given their intent, {Refunds} refunds sent, {Submitted} submitted refunds converged, {Errors} errors",
                result.PaymentsConverged, result.IntentsEnsured, result.RefundsResumed, result.RefundsConverged, errors);
        return result;
    }

    /// <summary>
    /// PaymentIntent statuses in which Stripe waits for the player (checkout not finished). A pending payment in one of them
    /// is not orphaned and does not count as overdue while the sweeper keeps looking on schedule.
    /// </summary>
    public static readonly string[] AwaitingPlayerStatuses = ["requires_payment_method", "requires_confirmation", "requires_action"];

    /// <summary>What Stripe said, for the overdue signal (sweeper bookkeeping, not a state change of the payment).</summary>
    async Task RecordStripeStatusAsync(string paymentIntentId, string status, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("UPDATE payments SET stripe_status = @status, stripe_status_at = @now WHERE payment_intent_id = @paymentIntentId",
            new { paymentIntentId, status, now }, cancellationToken: ct));
    }

    /// <summary>The sweeper's own bookkeeping (not a state change of the payment): one more look, the next one later.</summary>
    async Task MarkSweptAsync(string paymentIntentId, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("""
            UPDATE payments SET sweep_count = sweep_count + 1,
                   next_sweep_at = @now + LEAST(make_interval(secs => @age * power(2, LEAST(sweep_count, 20))), make_interval(secs => @max))
             WHERE payment_intent_id = @paymentIntentId
            """, new { paymentIntentId, now, age = Math.Max(settings.PaymentSweeperPendingAge.TotalSeconds, 60), max = MaxSweepInterval.TotalSeconds }, cancellationToken: ct));
    }
}

/// <summary>Recurring (every 5 minutes): the payment sweeper.</summary>
public sealed class PaymentSweeperJob(PaymentSweeper sweeper)
{
    public const string RecurringId = "payment-sweeper";
    public const string Cron = "*/5 * * * *";

    [SingleInstance(timeoutInSeconds: 600)]
    [AutomaticRetry(Attempts = 0)] // the next run is the retry
    public Task RunAsync(CancellationToken ct) => sweeper.SweepAsync(ct);
}
