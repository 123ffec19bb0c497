using Dapper;
using Fairway.Host.Platform.Configuration;
using Hangfire;
using Npgsql;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record SweepResult(int PaymentsConverged, int IntentsEnsured, int RefundsResumed, int CancelledContests, int Errors);

/// <summary>
/// The payment sweeper: whatever a lost webhook, a lost job or a crash left pending longer than
/// PAYMENT_SWEEPER_PENDING_AGE_SECONDS is asked of Stripe and applied through the same code paths
/// ("payment intent orphaned"): pending/failed payments → convergence; PENDING_PAYMENT entries without a
/// payment intent → created with the entry's key (a crash between insert and Stripe call); refunds left
/// REQUESTED → executed again (same Stripe key), SUBMITTED → converged; CANCELLED contests with paid,
/// unrefunded entries → cancellation refunds. Every step is bounded and idempotent. Does nothing while the
/// kill-switch is engaged.
/// </summary>
public sealed class PaymentSweeper(
    NpgsqlDataSource db, FairwaySettings settings, PaymentConvergence convergence, EntryService entries, RefundService refunds,
    KillSwitchService killSwitch, TimeProvider clock, ILogger<PaymentSweeper> log)
{
    public const int Batch = 200;

    public async Task<SweepResult> SweepAsync(CancellationToken ct)
    {
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Payment sweeper skipped: the kill-switch is engaged");
            return new SweepResult(0, 0, 0, 0, 0);
        }
        var cutoff = clock.GetUtcNow() - settings.PaymentSweeperPendingAge;
        var failedSince = clock.GetUtcNow() - TimeSpan.FromDays(7);
        List<string> pending, orphanEntries, requested, submitted, cancelled;
        await using (var c = await db.OpenConnectionAsync(ct))
        {
            pending = (await c.QueryAsync<string>("""
                SELECT payment_intent_id FROM payments
                 WHERE (status = 'PENDING' OR (status = 'FAILED' AND created_at >= @failedSince)) AND updated_at <= @cutoff
                 ORDER BY updated_at LIMIT @Batch
                """, new { cutoff, failedSince, Batch })).ToList();
            orphanEntries = (await c.QueryAsync<string>("""
                SELECT e.id FROM entries e
                 WHERE e.status = 'PENDING_PAYMENT' AND e.entry_fee IS NOT NULL AND e.created_at <= @cutoff
                   AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.entry_id = e.id)
                 ORDER BY e.created_at LIMIT @Batch
                """, new { cutoff, Batch })).ToList();
            requested = (await c.QueryAsync<string>(
                "SELECT id FROM refunds WHERE status = 'REQUESTED' AND updated_at <= @cutoff ORDER BY updated_at LIMIT @Batch", new { cutoff, Batch })).ToList();
            submitted = (await c.QueryAsync<string>(
                "SELECT payment_intent_id FROM refunds WHERE status = 'SUBMITTED' AND updated_at <= @cutoff ORDER BY updated_at LIMIT @Batch", new { cutoff, Batch })).ToList();
            cancelled = (await c.QueryAsync<string>("""
                SELECT DISTINCT e.contest_id FROM payments p JOIN entries e ON e.id = p.entry_id JOIN contests k ON k.id = e.contest_id
                 WHERE k.state = 'CANCELLED' AND p.status = 'SUCCEEDED' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.entry_id = p.entry_id)
                 ORDER BY e.contest_id LIMIT @Batch
                """, new { Batch })).ToList();
        }

        var errors = 0;
        async Task Each(IEnumerable<string> ids, string what, Func<string, Task> step)
        {
            foreach (var id in ids)
            {
                try { await step(id); }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    errors++;
                    log.LogError(e, "Payment sweeper: {What} {Id} failed; retried by the next run", what, id);
                }
            }
        }
        await Each(pending.Concat(submitted).Distinct(), "payment intent", id => convergence.ConvergeAsync(id, "system:payment-sweeper", ct: ct));
        await Each(orphanEntries, "entry without payment intent", async id =>
        {
            EntryRow? entry;
            await using (var c = await db.OpenConnectionAsync(ct)) entry = await PaymentStore.EntryAsync(c, id);
            if (entry is not null) await entries.EnsurePaymentIntentAsync(entry, ct);
        });
        await Each(requested, "refund", id => refunds.ExecuteAsync(id, ct));
        await Each(cancelled, "cancelled contest", id => refunds.RequestCancellationRefundsAsync(id, ct));

        var result = new SweepResult(pending.Count + submitted.Count, orphanEntries.Count, requested.Count, cancelled.Count, errors);
        if (pending.Count + submitted.Count + orphanEntries.Count + requested.Count + cancelled.Count > 0)
            log.LogInformation("Payment sweeper: {Payments} payment intents converged, {Intents} orphaned entries given their intent, {Refunds} refunds resumed, {Contests} cancelled contests refunded, {Errors} errors",
                result.PaymentsConverged, result.IntentsEnsured, result.RefundsResumed, result.CancelledContests, errors);
        return result;
    }
}

/// <summary>Recurring (every 5 minutes): the payment sweeper.</summary>
public sealed class PaymentSweeperJob(PaymentSweeper sweeper)
{
    public const string RecurringId = "payment-sweeper";
    public const string Cron = "*/5 * * * *";

    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    [AutomaticRetry(Attempts = 0)] // the next run is the retry
    public Task RunAsync(CancellationToken ct) => sweeper.SweepAsync(ct);
}
