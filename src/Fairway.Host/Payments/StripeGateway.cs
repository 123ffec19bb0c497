using System.Net;
using Fairway.Host.Platform.Configuration;
using Stripe;

namespace Fairway.Host.Payments;

/// <summary>
/// Fairway's only door to Stripe: one <see cref="StripeClient"/> (explicit timeout, explicit small number of
/// Stripe.net retries, a pooled handler whose connections live at most STRIPE_HTTP_CONNECTION_LIFETIME_SECONDS)
/// and one method per call Fairway makes. Every POST carries an explicit deterministic
/// idempotency key, so a retried call (by Stripe.net, by Hangfire, by the sweeper, by a client retrying its
/// request) can never create a second object:
/// PaymentIntent <c>entry:&lt;entry_id&gt;:payment</c>, Refund <c>refund:&lt;refund_id&gt;:&lt;send&gt;</c>, cancellation <c>cancel:&lt;pi&gt;</c>, Express account
/// <c>account:&lt;user_id&gt;</c>, AccountLink <c>account_link:&lt;account&gt;:&lt;unix minute&gt;</c> (links expire, so a new one is
/// made at most once a minute; a retry within the minute gets the same link).
/// </summary>
public sealed partial class StripeGateway
{
    readonly StripeClient client;

    public StripeGateway(FairwaySettings settings)
    {
        client = new StripeClient(new StripeClientOptions
        {
            ApiKey = settings.StripeApiKey,
            ApiBase = settings.StripeApiBase.ToString().TrimEnd('/'),
            HttpClient = new SystemNetHttpClient(
                Platform.Http.OutboundHttp.Client(settings.StripeHttpTimeout, settings.StripeConnectionLifetime),
                maxNetworkRetries: settings.StripeMaxNetworkRetries),
        });
    }

    public static string PaymentIntentKey(string entryId) => $"entry:{entryId}:payment";
    /// <summary>One key per send of a refund (a send after a definite failure is a new request); a retry of the same send reuses it.</summary>
    public static string RefundKey(string refundId, int attempt) => $"refund:{refundId}:{attempt}";

    /// <summary>Most refunds read for one payment intent (Fairway makes one per entry, plus its failed earlier sends).</summary>
    public const int MaxRefundsPerPaymentIntent = 1000;
    public static string AccountKey(string userId) => $"account:{userId}";

    public Task<PaymentIntent> CreatePaymentIntentAsync(string entryId, string contestId, string userId, long amount, string currency, CancellationToken ct) =>
        new PaymentIntentService(client).CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = amount,
            Currency = currency,
            AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true },
            Description = $"Fairway entry {entryId} (contest {contestId})",
            Metadata = new Dictionary<string, string> { ["entry_id"] = entryId, ["contest_id"] = contestId, ["user_id"] = userId },
        }, new RequestOptions { IdempotencyKey = PaymentIntentKey(entryId) }, ct);

    /// <summary>A read-only call proving the key, the base address and Connect access (the release smoke test): lists at most one transfer, creates nothing.</summary>
    public async Task<int> ProbeAsync(CancellationToken ct) =>
        (await new TransferService(client).ListAsync(new TransferListOptions { Limit = 1 }, cancellationToken: ct)).Data.Count;

    public Task<PaymentIntent> GetPaymentIntentAsync(string paymentIntentId, CancellationToken ct) =>
        new PaymentIntentService(client).GetAsync(paymentIntentId, cancellationToken: ct);

    /// <summary>
    /// A payment intent with its latest charge and that charge's balance transaction expanded: what convergence needs, the
    /// fee Stripe kept included, in one call.
    /// </summary>
    public Task<PaymentIntent> GetPaymentIntentWithFeeAsync(string paymentIntentId, CancellationToken ct) =>
        new PaymentIntentService(client).GetAsync(paymentIntentId, new PaymentIntentGetOptions { Expand = ["latest_charge.balance_transaction"] }, cancellationToken: ct);

    /// <summary>Every refund Stripe has for a payment intent, every page (bounded by <see cref="MaxRefundsPerPaymentIntent"/>).</summary>
    public async Task<IReadOnlyList<Refund>> ListRefundsAsync(string paymentIntentId, CancellationToken ct)
    {
        var all = new List<Refund>();
        await foreach (var r in new Stripe.RefundService(client).ListAutoPagingAsync(new RefundListOptions { PaymentIntent = paymentIntentId, Limit = 100 }, cancellationToken: ct))
        {
            all.Add(r);
            if (all.Count >= MaxRefundsPerPaymentIntent) break;
        }
        return all;
    }

    public Task<PaymentIntent> CancelPaymentIntentAsync(string paymentIntentId, CancellationToken ct) =>
        new PaymentIntentService(client).CancelAsync(paymentIntentId, new PaymentIntentCancelOptions { CancellationReason = "abandoned" },
            new RequestOptions { IdempotencyKey = $"cancel:{paymentIntentId}" }, ct);

    public Task<Refund> CreateRefundAsync(string refundId, string entryId, string paymentIntentId, long amount, string idempotencyKey, CancellationToken ct) =>
        new Stripe.RefundService(client).CreateAsync(new RefundCreateOptions
        {
            PaymentIntent = paymentIntentId,
            Amount = amount,
            Reason = "requested_by_customer",
            Metadata = new Dictionary<string, string> { ["refund_id"] = refundId, ["entry_id"] = entryId },
        }, new RequestOptions { IdempotencyKey = idempotencyKey }, ct);

    public Task<Dispute> GetDisputeAsync(string disputeId, CancellationToken ct) =>
        new Stripe.DisputeService(client).GetAsync(disputeId, cancellationToken: ct);

    public Task<Account> CreateExpressAccountAsync(string userId, CancellationToken ct) =>
        new AccountService(client).CreateAsync(new AccountCreateOptions
        {
            Type = "express",
            Capabilities = new AccountCapabilitiesOptions { Transfers = new AccountCapabilitiesTransfersOptions { Requested = true } },
            Metadata = new Dictionary<string, string> { ["user_id"] = userId },
        }, new RequestOptions { IdempotencyKey = AccountKey(userId) }, ct);

    public Task<Account> GetAccountAsync(string accountId, CancellationToken ct) =>
        new AccountService(client).GetAsync(accountId, cancellationToken: ct);

    public Task<AccountLink> CreateOnboardingLinkAsync(string accountId, Uri returnUrl, Uri refreshUrl, DateTimeOffset now, CancellationToken ct) =>
        new AccountLinkService(client).CreateAsync(new AccountLinkCreateOptions
        {
            Account = accountId,
            Type = "account_onboarding",
            ReturnUrl = returnUrl.ToString(),
            RefreshUrl = refreshUrl.ToString(),
        }, new RequestOptions { IdempotencyKey = $"account_link:{accountId}:{now.ToUnixTimeSeconds() / 60}" }, ct);

    /// <summary>
    /// Transient: worth retrying later with the same idempotency key (Stripe 5xx, 429 incl. lock_timeout,
    /// 409 idempotent request in progress, timeouts, connection failures). Everything else from Stripe is a
    /// definite answer (permanent for that request).
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        StripeException s => s.HttpStatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.Conflict || (int)s.HttpStatusCode >= 500 || (int)s.HttpStatusCode == 0,
        HttpRequestException or TaskCanceledException or TimeoutException or IOException => true,
        _ => false,
    };

    /// <summary>
    /// Whether a Stripe call failed on Stripe's side (a refusal, or Stripe unreachable or too slow) rather than being
    /// cancelled by the caller, whose own cancellation must pass through as cancellation.
    /// </summary>
    public static bool IsStripeFailure(Exception e, CancellationToken callerToken) =>
        e is StripeException || IsTransient(e) && !callerToken.IsCancellationRequested;

    /// <summary>
    /// The problem a request answers with when Stripe failed it: 503 PAYMENT_PROVIDER_UNAVAILABLE when the same request
    /// may succeed later (<see cref="IsTransient"/>), 502 PAYMENT_PROVIDER_ERROR when Stripe's answer is definite.
    /// </summary>
    public static Platform.Http.ProblemCode FailureProblem(Exception e) =>
        IsTransient(e) ? Platform.Http.ProblemCodes.PaymentProviderUnavailable : Platform.Http.ProblemCodes.PaymentProviderError;
}
