using Prometheus;

namespace Fairway.Host.Payments;

/// <summary>Metrics of the payments capability (seed 001 naming: snake_case, _total for counters).</summary>
public static class PaymentMetrics
{
    public static readonly Counter WebhookEvents = Metrics.CreateCounter("stripe_webhook_events_total",
        "Stripe webhook events processed, by event type and outcome (applied, ignored, superseded, deferred_kill_switch).",
        new CounterConfiguration { LabelNames = ["type", "outcome"] });

    public static readonly Counter WebhookFailures = Metrics.CreateCounter("stripe_webhook_failures_total",
        "Failed processing attempts of stored Stripe webhook events (an exception while processing; the event is retried, then parked), by event type.",
        new CounterConfiguration { LabelNames = ["type"] });

    public static readonly Gauge WebhookDeadLetters = Metrics.CreateGauge("stripe_webhook_dead_letters",
        "Stripe webhook events parked after STRIPE_WEBHOOK_MAX_ATTEMPTS failed attempts and not replayed (computed from the database at scrape time).");

    public static readonly Gauge RefundsOwed = Metrics.CreateGauge("refunds_owed",
        "Refunds decided whose money is still owed to players because Stripe failed them (status FAILED; computed from the database at scrape time).");

    public static readonly Gauge RefundsOwedAmount = Metrics.CreateGauge("refunds_owed_amount",
        "Minor units owed to players by FAILED refunds, by currency (computed from the database at scrape time).", new GaugeConfiguration { LabelNames = ["currency"] });

    public static readonly Counter WebhookInvalid = Metrics.CreateCounter("stripe_webhook_invalid_total",
        "Stripe webhook deliveries refused because the signature or timestamp did not verify (nothing stored).");

    public static readonly Counter WebhookReceived = Metrics.CreateCounter("stripe_webhook_received_total",
        "Verified Stripe webhook deliveries received, by whether the event was new or a duplicate.",
        new CounterConfiguration { LabelNames = ["duplicate"] });

    public static readonly Counter PaymentIntentsCreated = Metrics.CreateCounter("payment_intents_created_total",
        "Stripe PaymentIntent create calls answered by Stripe (a replay of the same idempotency key counts again).");

    public static readonly Counter Refunds = Metrics.CreateCounter("refunds_total",
        "Refund state changes, by new status (requested, submitted, succeeded, failed).",
        new CounterConfiguration { LabelNames = ["status"] });

    public static readonly Counter Disputes = Metrics.CreateCounter("stripe_disputes_total",
        "Stripe dispute state changes recorded, by dispute status.",
        new CounterConfiguration { LabelNames = ["status"] });

    public static readonly Counter PaymentTransitions = Metrics.CreateCounter("payment_transitions_total",
        "Local payment status changes applied by convergence, by new status.",
        new CounterConfiguration { LabelNames = ["status"] });
}
