using Fairway.Host.Platform.Jobs;
using Dapper;
using Fairway.Host.Platform.Audit;
using Hangfire;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record CloserResult(int IntentsCanceled, int EntriesVoided, int ContestsRefunded, int Errors);

/// <summary>
/// Closes the payments of contests that no longer take entries, reading the contests' state (the lifecycle itself knows
/// nothing of payments): once a contest has left SCHEDULED, its open payment intents are canceled at Stripe (idempotency
/// key <c>cancel:&lt;pi&gt;</c>) and converged — a success that still arrives is a late payment, voided and refunded —
/// and its entries that never got a payment intent are voided; once it is CANCELLED, every paid entry is refunded.
/// Bounded batches; idempotent; nothing while the kill-switch is engaged.
/// </summary>
public sealed class ContestPaymentsCloser(
    NpgsqlDataSource db, StripeGateway stripe, PaymentConvergence convergence, RefundService refunds, KillSwitchService killSwitch, AuditWriter audit,
    TimeProvider clock, ILogger<ContestPaymentsCloser> log)
{
    public const int Batch = 200;
    public const string Actor = "system:contest-closer";

    public async Task<CloserResult> RunAsync(CancellationToken ct)
    {
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Contest payments closer skipped: the kill-switch is engaged");
            return new CloserResult(0, 0, 0, 0);
        }
        List<string> open, orphans, cancelled;
        await using (var c = await db.OpenConnectionAsync(ct))
        {
            open = (await c.QueryAsync<string>("""
                SELECT p.payment_intent_id FROM payments p JOIN entries e ON e.id = p.entry_id JOIN contests k ON k.id = e.contest_id
                 WHERE p.status IN ('PENDING', 'FAILED') AND k.state <> 'SCHEDULED'
                 ORDER BY p.entry_id LIMIT @Batch
                """, new { Batch })).ToList();
            orphans = (await c.QueryAsync<string>("""
                SELECT e.id FROM entries e JOIN contests k ON k.id = e.contest_id
                 WHERE e.status = 'PENDING_PAYMENT' AND k.state <> 'SCHEDULED' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.entry_id = e.id)
                 ORDER BY e.id LIMIT @Batch
                """, new { Batch })).ToList();
            cancelled = (await c.QueryAsync<string>("""
                SELECT DISTINCT e.contest_id FROM payments p JOIN entries e ON e.id = p.entry_id JOIN contests k ON k.id = e.contest_id
                 WHERE k.state = 'CANCELLED' AND p.status = 'SUCCEEDED' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.entry_id = p.entry_id)
                 ORDER BY e.contest_id LIMIT @Batch
                """, new { Batch })).ToList();
        }
        var errors = 0;
        foreach (var pi in open)
        {
            try
            {
                try { await stripe.CancelPaymentIntentAsync(pi, ct); }
                catch (StripeException e) when (e.StripeError?.Code == "payment_intent_unexpected_state")
                {
                    // Succeeded (or canceled) meanwhile: convergence applies whatever it is (a success becomes a late payment, refunded).
                }
                await convergence.ConvergeAsync(pi, Actor, ct: ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors++;
                log.LogError(e, "Contest payments closer: payment intent {PaymentIntentId} not canceled; retried by the next run", pi);
            }
        }
        var voided = 0;
        foreach (var entryId in orphans)
        {
            await using var c = await db.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            var peek = await PaymentStore.EntryAsync(c, entryId, tx);
            if (peek is null) continue;
            var state = await PaymentStore.ContestStateForShareAsync(tx, peek.ContestId);
            var entry = await PaymentStore.EntryAsync(c, entryId, tx, forUpdate: true);
            // Re-checked under the locks: an intent recorded meanwhile is the canceling step's business.
            if (entry is null || entry.Status != EntryStatuses.PendingPayment || state == "SCHEDULED" || await PaymentStore.PaymentOfEntryAsync(c, entryId, tx) is not null) continue;
            await PaymentStore.SetEntryStatusAsync(tx, entryId, EntryStatuses.Void, clock.GetUtcNow());
            await audit.WriteAsync(tx, new AuditEntry(Actor, "entry.status_changed", "entry", entryId, $"contest {entry.ContestId} is {state}: the entry was never paid",
                Before: new { status = entry.Status }, After: new { status = EntryStatuses.Void }), ct);
            await tx.CommitAsync(ct);
            voided++;
        }
        foreach (var contestId in cancelled)
        {
            try { await refunds.RequestCancellationRefundsAsync(contestId, ct); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                errors++;
                log.LogError(e, "Contest payments closer: refunds of cancelled contest {ContestId} failed; retried by the next run", contestId);
            }
        }
        if (open.Count + voided + cancelled.Count > 0)
            log.LogInformation("Contest payments closer: {Intents} open payment intents canceled, {Voided} unpaid entries voided, {Contests} cancelled contests refunded, {Errors} errors",
                open.Count, voided, cancelled.Count, errors);
        return new CloserResult(open.Count, voided, cancelled.Count, errors);
    }
}

/// <summary>Recurring (every minute): closes the payments of contests that locked or were cancelled.</summary>
public sealed class ContestPaymentsCloserJob(ContestPaymentsCloser closer)
{
    public const string RecurringId = "payments-contest-closer";
    public const string Cron = "* * * * *";

    [SingleInstance(timeoutInSeconds: 300)]
    [AutomaticRetry(Attempts = 0)] // the next minute's run is the retry
    public Task RunAsync(CancellationToken ct) => closer.RunAsync(ct);
}
