using System.Net;
using Fairway.Host.Platform.Configuration;
using Stripe;

namespace Fairway.Host.Payouts;

/// <summary>How one Stripe call ended, as the payout executor needs it.</summary>
public sealed record StripeTransferOutcome(
    bool Succeeded, string? TransferId, bool Retryable, string? ErrorClass, string? Error, int? HttpStatus, bool Replayed = false)
{
    public static StripeTransferOutcome Success(string id, bool replayed = false) => new(true, id, false, null, null, 200, replayed);
    public static StripeTransferOutcome Transient(string errorClass, string error, int? status) => new(false, null, true, errorClass, error, status);
    public static StripeTransferOutcome Permanent(string errorClass, string error, int? status) => new(false, null, false, errorClass, error, status);
}

/// <summary>Error classes of payout attempts (payout_transfer_attempts.error_class).</summary>
public static class PayoutErrorClasses
{
    public const string Timeout = "timeout";
    public const string Network = "network";
    public const string RateLimited = "rate_limited";
    public const string ServerError = "server_error";
    public const string InvalidRequest = "invalid_request";
    public const string Account = "account";
    public const string IdempotencyConflict = "idempotency_conflict";
    public const string Internal = "internal";
    /// <summary>An earlier send may have reached Stripe and looking it up failed: nothing was sent this time.</summary>
    public const string LookupFailed = "lookup_failed";
}

/// <summary>The answer of a look-up at Stripe: found (as a success outcome), not found, or the look-up itself failed.</summary>
public sealed record StripeLookup(StripeTransferOutcome? Found, string? Error, int? HttpStatus)
{
    public bool Failed => Error is not null;
}

/// <summary>
/// The payouts' only door to Stripe: <c>POST /v1/transfers</c> with idempotency key <c>payout:&lt;transfer_id&gt;</c>,
/// and a look-up of an earlier transfer by transfer group and metadata. Its own <see cref="StripeClient"/>
/// (Stripe.net) with a bounded HTTP timeout (PAYOUT_STRIPE_TIMEOUT_SECONDS, because the transfer's database
/// transaction stays open across the call) and no Stripe.net network retries: every retry is a recorded
/// attempt of ours, with backoff, and reuses the same idempotency key.
/// </summary>
public sealed class PayoutStripeGateway
{
    readonly StripeClient client;

    public PayoutStripeGateway(FairwaySettings settings)
    {
        client = new StripeClient(new StripeClientOptions
        {
            ApiKey = settings.StripeApiKey,
            ApiBase = settings.StripeApiBase.ToString().TrimEnd('/'),
            HttpClient = new SystemNetHttpClient(Platform.Http.OutboundHttp.Client(settings.PayoutStripeTimeout, settings.StripeConnectionLifetime), maxNetworkRetries: 0),
        });
    }

    public static string IdempotencyKey(long transferId) => $"payout:{transferId}";

    public async Task<StripeTransferOutcome> CreateTransferAsync(long transferId, string contestId, string userId, long amount, string currency, string destination, CancellationToken ct)
    {
        var options = new TransferCreateOptions
        {
            Amount = amount,
            Currency = currency,
            Destination = destination,
            TransferGroup = contestId,
            Description = $"Fairway winnings, contest {contestId}",
            Metadata = new Dictionary<string, string> { ["transfer_id"] = transferId.ToString(System.Globalization.CultureInfo.InvariantCulture), ["contest_id"] = contestId, ["user_id"] = userId },
        };
        return await CallAsync(async () =>
        {
            var transfer = await new TransferService(client).CreateAsync(options, new RequestOptions { IdempotencyKey = IdempotencyKey(transferId) }, ct);
            return StripeTransferOutcome.Success(transfer.Id, replayed: transfer.StripeResponse?.Headers?.Contains("Idempotent-Replayed") == true);
        }, ct);
    }

    /// <summary>
    /// An earlier transfer of this payout transfer at Stripe (transfer group = contest, metadata transfer_id), reading
    /// every page of the group. Asked before sending again once a send was marked, so a retry stays safe after Stripe
    /// has forgotten the idempotency key (keys may be pruned after 24 h). A failed look-up is reported as such, never
    /// as "not found".
    /// </summary>
    public async Task<StripeLookup> FindExistingAsync(long transferId, string contestId, CancellationToken ct)
    {
        var id = transferId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        StripeTransferOutcome? found = null;
        var listed = await CallAsync(async () =>
        {
            await foreach (var t in new TransferService(client).ListAutoPagingAsync(new TransferListOptions { TransferGroup = contestId, Limit = 100 }, cancellationToken: ct))
            {
                if (t.Metadata is not null && t.Metadata.TryGetValue("transfer_id", out var v) && v == id)
                {
                    found = StripeTransferOutcome.Success(t.Id, replayed: true);
                    break;
                }
            }
            return StripeTransferOutcome.Success("");
        }, ct);
        return listed.Succeeded ? new StripeLookup(found, null, null) : new StripeLookup(null, listed.Error, listed.HttpStatus);
    }

    static async Task<StripeTransferOutcome> CallAsync(Func<Task<StripeTransferOutcome>> call, CancellationToken ct)
    {
        try { return await call(); }
        catch (StripeException e)
        {
            var status = (int)e.HttpStatusCode;
            var code = e.StripeError?.Code;
            var type = e.StripeError?.Type;
            var message = $"HTTP {status} {type}/{code}: {e.StripeError?.Message ?? e.Message}";
            if (e.HttpStatusCode == HttpStatusCode.TooManyRequests) return StripeTransferOutcome.Transient(PayoutErrorClasses.RateLimited, message, status);
            if (status >= 500) return StripeTransferOutcome.Transient(PayoutErrorClasses.ServerError, message, status);
            if (status == 0) return StripeTransferOutcome.Transient(PayoutErrorClasses.Network, message, null);
            // A concurrent request with the same key is still running at Stripe: try again later.
            if (status == 409 || code == "idempotency_key_in_use") return StripeTransferOutcome.Transient(PayoutErrorClasses.RateLimited, message, status);
            if (type == "idempotency_error") return StripeTransferOutcome.Permanent(PayoutErrorClasses.IdempotencyConflict, message, status);
            if (e.StripeError?.Param == "destination" || code is "account_invalid" or "insufficient_capabilities_for_transfer")
                return StripeTransferOutcome.Permanent(PayoutErrorClasses.Account, message, status);
            return StripeTransferOutcome.Permanent(PayoutErrorClasses.InvalidRequest, message, status);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            return StripeTransferOutcome.Transient(PayoutErrorClasses.Timeout, $"no answer from Stripe in time: {e.Message}", null);
        }
        catch (HttpRequestException e)
        {
            return StripeTransferOutcome.Transient(PayoutErrorClasses.Network, $"{e.GetType().Name}: {e.Message}", null);
        }
        catch (IOException e)
        {
            return StripeTransferOutcome.Transient(PayoutErrorClasses.Network, $"{e.GetType().Name}: {e.Message}", null);
        }
    }
}
