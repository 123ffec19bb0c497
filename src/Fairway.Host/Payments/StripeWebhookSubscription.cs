using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fairway.Host.Payments;

/// <summary>
/// The event types Fairway's Stripe webhook endpoint subscribes to (the endpoint's <c>enabled_events</c> at Stripe),
/// written to <see cref="Path"/> by <c>./scripts/docs</c> for whoever creates or updates the endpoint, and read from
/// there by the main job's Stripe sandbox. Stripe records every event (<c>GET /v1/events</c>) but sends an endpoint
/// only the types it subscribes to, and Stripe's guidance is to subscribe to those the integration acts on: every other
/// delivery is a request, a stored row and a processing row for nothing (seed 1 of the main job: 18,440 deliveries, of
/// which 11,089 were types Fairway records as ignored or that converge a payment another event of the pair converges).
/// <para>
/// In the list: the payment intent's terminal changes (the convergence's only transitions), refunds (<c>refund.*</c>:
/// Fairway's and Dashboard refunds alike), disputes (every <c>charge.dispute.*</c> type <see cref="DisputeService"/>
/// converges), and connected accounts. Left out: <c>payment_intent.created</c>, <c>requires_action</c> and
/// <c>processing</c> (the entry is already waiting for its payment; a payment row lost to a crash is recorded by the
/// success, or the entry is voided at lock), <c>charge.succeeded</c>/<c>charge.failed</c>/<c>charge.refunded</c> (each
/// comes with its payment intent's or refund's event, which converges the same payment) and <c>transfer.*</c> (payouts
/// read their transfers from Stripe). An event of another type that arrives anyway (an endpoint subscribed
/// to <c>*</c>) is still stored and recorded as ignored.
/// </para>
/// </summary>
public static class StripeWebhookSubscription
{
    public const string Path = "infra/stripe/webhook-endpoint.json";

    /// <summary>Sorted (ordinal), so the generated file is stable.</summary>
    public static readonly IReadOnlyList<string> EventTypes = new[]
    {
        "account.updated",
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "payment_intent.canceled",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "refund.created",
        "refund.failed",
        "refund.updated",
    }.Order(StringComparer.Ordinal).ToArray();

    /// <summary>The endpoint's definition as Stripe's <c>POST /v1/webhook_endpoints</c> takes it (the url's host is the deployment's).</summary>
    public static string EndpointJson() => new JsonObject
    {
        ["description"] = "The Stripe webhook endpoint of Fairway. Generated from src/Fairway.Host/Payments/StripeWebhookSubscription.cs by ./scripts/docs; do not edit by hand.",
        ["url_path"] = "/webhooks/stripe",
        ["enabled_events"] = new JsonArray(EventTypes.Select(t => (JsonNode)t).ToArray()),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).ReplaceLineEndings("\n") + "\n";
}
