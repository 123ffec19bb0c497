using Dapper;
using Fairway.Host.Platform.Telemetry;
using Npgsql;

namespace Fairway.Host.Payments;

/// <summary>Computes the payments gauges at scrape time: refunds owed (count and amount per currency) and parked webhook events.</summary>
public sealed class PaymentsStateCollector(NpgsqlDataSource db, WebhookDeadLetters deadLetters, ILogger<PaymentsStateCollector> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        ScrapeTimeMetrics.Register(log, "refunds_owed, stripe_webhook_dead_letters", async ct =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var owed = await PaymentStore.RefundsOwedAsync(c, ct);
            PaymentMetrics.RefundsOwed.Set(owed.Sum(o => o.Count));
            foreach (var o in owed) PaymentMetrics.RefundsOwedAmount.WithLabels(o.Currency).Set(o.Amount);
            foreach (var stale in PaymentMetrics.RefundsOwedAmount.GetAllLabelValues().Select(l => l[0]).Except(owed.Select(o => o.Currency)).ToList())
                PaymentMetrics.RefundsOwedAmount.WithLabels(stale).Set(0);
            PaymentMetrics.WebhookDeadLetters.Set(await deadLetters.CountAsync(ct));
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
