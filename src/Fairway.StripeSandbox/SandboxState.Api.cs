using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

public sealed partial class SandboxState
{
    /// <summary>Routes one Stripe API call (path segments after <c>/v1/</c>). Throws <see cref="StripeApiException"/>.</summary>
    public JsonObject Handle(string method, string[] s, FormParams p, RequestInfo request)
    {
        lock (Gate)
        {
            Current = request;
            try
            {
                var result = Route(method, s, p);
                foreach (var e in p.List("expand")) Expand(result, e);
                return result;
            }
            finally { Current = null; }
        }
    }

    JsonObject Route(string method, string[] s, FormParams p)
    {
        var post = method == "POST";
        var get = method == "GET";
        var path = "/v1/" + string.Join('/', s);
        switch (s)
        {
            case ["payment_intents"] when post: return Clone(CreatePaymentIntent(p));
            case ["payment_intents"] when get: return ListOf("payment_intent", p, path, o => Filter(o, p, "customer"));
            case ["payment_intents", var id] when get: return Clone(Get("payment_intent", id));
            case ["payment_intents", var id] when post: return Clone(UpdatePaymentIntent(id, p));
            case ["payment_intents", var id, "confirm"] when post: return Clone(ConfirmPaymentIntent(Get("payment_intent", id), p));
            case ["payment_intents", var id, "cancel"] when post: return Clone(CancelPaymentIntent(id, p));
            case ["charges", var id] when get: return Clone(Get("charge", id));
            case ["charges"] when get: return ListOf("charge", p, path, o => Filter(o, p, "payment_intent"));
            case ["refunds"] when post: return Clone(CreateRefund(p));
            case ["refunds"] when get: return ListOf("refund", p, path, o => Filter(o, p, "payment_intent") && Filter(o, p, "charge"));
            case ["refunds", var id] when get: return Clone(Get("refund", id));
            case ["refunds", var id] when post: { var r = Get("refund", id); MergeMetadata(r, p.Map("metadata")); return Clone(r); }
            case ["accounts"] when post: return Clone(CreateAccount(p));
            case ["accounts"] when get: return ListOf("account", p, path, _ => true);
            case ["accounts", var id] when get: return Clone(Get("account", id));
            case ["accounts", var id] when post: return Clone(UpdateAccount(id, p));
            case ["account_links"] when post: return CreateAccountLink(p);
            case ["transfers"] when post: return Clone(CreateTransfer(p));
            case ["transfers"] when get: return ListOf("transfer", p, path, o => Filter(o, p, "destination") && Filter(o, p, "transfer_group"));
            case ["transfers", var id] when get: return Clone(Get("transfer", id));
            case ["transfers", var id] when post: { var t = Get("transfer", id); MergeMetadata(t, p.Map("metadata")); if (p.Str("description") is { } d) t["description"] = d; return Clone(t); }
            case ["transfers", var id, "reversals"] when post: return Clone(CreateReversal(id, p));
            case ["transfers", var id, "reversals"] when get: { var t = Get("transfer", id); return Page(AllOf("transfer_reversal").Where(r => (string?)r["transfer"] == (string?)t["id"]).Reverse(), p, path); }
            case ["transfers", var id, "reversals", var rid] when get: { Get("transfer", id); return Clone(Get("transfer_reversal", rid)); }
            case ["disputes", var id] when get: return Clone(Get("dispute", id));
            case ["disputes"] when get: return ListOf("dispute", p, path, o => Filter(o, p, "charge") && Filter(o, p, "payment_intent"));
            case ["events"] when get: return ListEvents(p, path);
            case ["events", var id] when get: return RetrieveEvent(id);
            case ["balance_transactions"] when get: return ListOf("balance_transaction", p, path,
                o => Filter(o, p, "type") && Filter(o, p, "source") && Filter(o, p, "currency"));
            case ["balance_transactions", var id] when get: return Clone(Get("balance_transaction", id));
            case ["balance"] when get: return Balance();
        }
        throw new StripeApiException(404, "invalid_request_error", null,
            $"Unrecognized request URL ({method}: {path}). The Fairway Stripe sandbox implements only a subset of the Stripe API; see src/Fairway.StripeSandbox/README.md.")
        { Cacheable = false };
    }

    static bool Filter(JsonObject o, FormParams p, string field) =>
        p.Str(field) is not { } v || (string?)o[field] == v;

    JsonObject ListOf(string type, FormParams p, string url, Func<JsonObject, bool> filter)
    {
        var created = CreatedRange.Parse(p);
        return Page(AllOf(type).Where(o => filter(o) && created.Contains(L(o["created"]))).Reverse(), p, url);
    }

    // ------------------------------------------------------------------ payment intents

    JsonObject CreatePaymentIntent(FormParams p)
    {
        var amount = PositiveAmount(p);
        var currency = Currency(p);
        var capture = p.Str("capture_method");
        if (capture is not null && capture != "automatic" && capture != "automatic_async")
            throw StripeApiException.Invalid("capture_method", "The Stripe sandbox supports capture_method=automatic only.");
        var confirm = p.Bool("confirm") ?? false;
        var apm = p.Bool("automatic_payment_methods.enabled");
        var allowed = p.List("allowed_payment_method_types");
        var types = p.List("payment_method_types");
        if (types.Count == 0) types.AddRange(allowed);
        if (types.Count == 0) types.Add("card");
        var id = NewId("pi");
        var pmt = new JsonArray();
        foreach (var t in types) pmt.Add(t);
        JsonArray? allowedArr = null;
        if (allowed.Count > 0) { allowedArr = new JsonArray(); foreach (var t in allowed) allowedArr.Add(t); }
        var pi = new JsonObject
        {
            ["id"] = id,
            ["object"] = "payment_intent",
            ["allowed_payment_method_types"] = allowedArr,
            ["amount"] = amount,
            ["amount_capturable"] = 0L,
            ["amount_received"] = 0L,
            ["automatic_payment_methods"] = apm == true ? new JsonObject { ["allow_redirects"] = p.Str("automatic_payment_methods.allow_redirects") ?? "always", ["enabled"] = true } : null,
            ["canceled_at"] = null,
            ["cancellation_reason"] = null,
            ["capture_method"] = capture ?? "automatic",
            ["client_secret"] = $"{id}_secret_{Hex(id, 24)}",
            ["confirmation_method"] = p.Str("confirmation_method") ?? "automatic",
            ["created"] = Now,
            ["currency"] = currency,
            ["customer"] = p.Str("customer"),
            ["description"] = p.Str("description"),
            ["last_payment_error"] = null,
            ["latest_charge"] = null,
            ["livemode"] = false,
            ["metadata"] = Metadata(p.Map("metadata")),
            ["next_action"] = null,
            ["payment_method"] = p.Str("payment_method"),
            ["payment_method_types"] = pmt,
            ["receipt_email"] = p.Str("receipt_email"),
            ["statement_descriptor"] = p.Str("statement_descriptor"),
            ["status"] = "requires_payment_method",
            ["transfer_group"] = p.Str("transfer_group"),
        };
        Store("payment_intent", pi);
        Emit("payment_intent.created", pi);
        if (confirm) ConfirmPaymentIntent(pi, p, creating: true);
        return pi;
    }

    JsonObject UpdatePaymentIntent(string id, FormParams p)
    {
        var pi = Get("payment_intent", id);
        var status = (string)pi["status"]!;
        if (p.Has("amount") || p.Has("currency"))
        {
            if (status is "succeeded" or "canceled" or "processing")
                throw StripeApiException.State("payment_intent_unexpected_state", $"You cannot update the amount of a PaymentIntent with status {status}.", "amount");
            if (p.Has("amount")) pi["amount"] = PositiveAmount(p);
            if (p.Has("currency")) pi["currency"] = Currency(p);
        }
        MergeMetadata(pi, p.Map("metadata"));
        if (p.Str("description") is { } d) pi["description"] = d;
        if (p.Str("receipt_email") is { } r) pi["receipt_email"] = r;
        if (p.Str("payment_method") is { } pm) pi["payment_method"] = pm;
        if (p.Str("transfer_group") is { } tg) pi["transfer_group"] = tg;
        return pi;
    }

    static readonly string[] Confirmable = ["requires_payment_method", "requires_confirmation", "requires_action"];
    static readonly string[] Cancelable = ["requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing"];

    JsonObject ConfirmPaymentIntent(JsonObject pi, FormParams p, bool creating = false)
    {
        var status = (string)pi["status"]!;
        if (!Confirmable.Contains(status))
            throw StripeApiException.State("payment_intent_unexpected_state",
                $"You cannot confirm this PaymentIntent because it has a status of {status}.", null);
        var pm = (creating ? null : p.Str("payment_method")) ?? (string?)pi["payment_method"];
        if (pm is null)
            throw new StripeApiException(400, "invalid_request_error", "payment_intent_unexpected_state",
                "You cannot confirm this PaymentIntent because it's missing a payment method. Pass payment_method (e.g. pm_card_visa), or act as the customer via POST /_sandbox/payment_intents/{id}/succeed.", "payment_method");
        pi["payment_method"] = pm;
        var lower = pm.ToLowerInvariant();
        if (lower.Contains("insufficientfunds")) FailPaymentIntent(pi, "insufficient_funds", null);
        else if (lower.Contains("declined") || lower.Contains("decline")) FailPaymentIntent(pi, "generic_decline", null);
        else if (lower.Contains("authenticationrequired") || lower.Contains("threedsecure")) RequireAction(pi);
        else SucceedPaymentIntent(pi);
        return pi;
    }

    JsonObject NewCharge(JsonObject pi, bool succeeded, string? failureCode, string? failureMessage)
    {
        var amount = L(pi["amount"]);
        var ch = new JsonObject
        {
            ["id"] = NewId("ch"),
            ["object"] = "charge",
            ["amount"] = amount,
            ["amount_captured"] = succeeded ? amount : 0L,
            ["amount_refunded"] = 0L,
            ["balance_transaction"] = null,
            ["captured"] = succeeded,
            ["created"] = Now,
            ["currency"] = (string?)pi["currency"],
            ["customer"] = (string?)pi["customer"],
            ["description"] = (string?)pi["description"],
            ["disputed"] = false,
            ["failure_code"] = failureCode,
            ["failure_message"] = failureMessage,
            ["livemode"] = false,
            ["metadata"] = pi["metadata"]!.DeepClone(),
            ["outcome"] = new JsonObject
            {
                ["network_status"] = succeeded ? "approved_by_network" : "declined_by_network",
                ["reason"] = succeeded ? null : failureCode,
                ["risk_level"] = "normal",
                ["seller_message"] = succeeded ? "Payment complete." : "The bank did not return any further details with this decline.",
                ["type"] = succeeded ? "authorized" : "issuer_declined",
            },
            ["paid"] = succeeded,
            ["payment_intent"] = (string?)pi["id"],
            ["payment_method"] = (string?)pi["payment_method"],
            ["refunded"] = false,
            ["status"] = succeeded ? "succeeded" : "failed",
            ["transfer_group"] = (string?)pi["transfer_group"],
        };
        Store("charge", ch);
        return ch;
    }

    void EnsureActionable(JsonObject pi)
    {
        var status = (string)pi["status"]!;
        if (!Confirmable.Contains(status) && status != "processing")
            throw new StripeApiException(409, "invalid_request_error", "payment_intent_unexpected_state",
                $"PaymentIntent {(string?)pi["id"]} has status {status}; the customer can no longer act on it.");
    }

    public JsonObject SucceedPaymentIntent(JsonObject pi)
    {
        EnsureActionable(pi);
        pi["payment_method"] ??= "pm_card_visa";
        var ch = NewCharge(pi, true, null, null);
        var amount = L(ch["amount"]);
        ch["balance_transaction"] = (string)NewBalanceTransaction("charge", "charge", amount, ChargeFee(amount), "Stripe processing fees",
            (string)ch["currency"]!, (string)ch["id"]!, (string?)ch["description"])["id"]!;
        pi["status"] = "succeeded";
        pi["amount_received"] = L(pi["amount"]);
        pi["latest_charge"] = (string)ch["id"]!;
        pi["last_payment_error"] = null;
        pi["next_action"] = null;
        Emit("charge.succeeded", ch);
        Emit("payment_intent.succeeded", pi);
        return pi;
    }

    public JsonObject FailPaymentIntent(JsonObject pi, string? declineCode, string? message)
    {
        EnsureActionable(pi);
        declineCode = declineCode is null or "card_declined" ? "generic_decline" : declineCode;
        // decline codes that Stripe reports as the error code itself; everything else is code card_declined
        string[] ownCodes = ["expired_card", "incorrect_cvc", "processing_error", "incorrect_number"];
        var code = ownCodes.Contains(declineCode) ? declineCode : "card_declined";
        message ??= declineCode switch
        {
            "insufficient_funds" => "Your card has insufficient funds.",
            "expired_card" => "Your card has expired.",
            "incorrect_cvc" => "Your card's security code is incorrect.",
            "processing_error" => "An error occurred while processing your card. Try again in a little bit.",
            _ => "Your card was declined.",
        };
        pi["payment_method"] ??= "pm_card_visa_chargeDeclined";
        var ch = NewCharge(pi, false, code, message);
        pi["latest_charge"] = (string)ch["id"]!;
        pi["last_payment_error"] = new JsonObject
        {
            ["charge"] = (string)ch["id"]!,
            ["code"] = code,
            ["decline_code"] = code == "card_declined" ? declineCode : null,
            ["message"] = message,
            ["payment_method"] = new JsonObject { ["id"] = (string?)pi["payment_method"], ["object"] = "payment_method", ["type"] = "card" },
            ["type"] = "card_error",
        };
        pi["payment_method"] = null;
        pi["status"] = "requires_payment_method";
        pi["next_action"] = null;
        Emit("charge.failed", ch);
        Emit("payment_intent.payment_failed", pi);
        return pi;
    }

    public JsonObject RequireAction(JsonObject pi)
    {
        EnsureActionable(pi);
        pi["status"] = "requires_action";
        pi["next_action"] = new JsonObject
        {
            ["type"] = "use_stripe_sdk",
            ["use_stripe_sdk"] = new JsonObject { ["type"] = "three_d_secure_redirect", ["stripe_js"] = "https://sandbox.invalid/3ds" },
        };
        Emit("payment_intent.requires_action", pi);
        return pi;
    }

    JsonObject CancelPaymentIntent(string id, FormParams p)
    {
        var pi = Get("payment_intent", id);
        var status = (string)pi["status"]!;
        if (!Cancelable.Contains(status))
            throw StripeApiException.State("payment_intent_unexpected_state",
                $"You cannot cancel this PaymentIntent because it has a status of {status}. Only a PaymentIntent with one of the following statuses may be canceled: {string.Join(", ", Cancelable)}.");
        var reason = p.Str("cancellation_reason");
        if (reason is not null && reason is not ("duplicate" or "fraudulent" or "requested_by_customer" or "abandoned"))
            throw StripeApiException.Invalid("cancellation_reason", $"Invalid cancellation_reason: {reason}.");
        pi["status"] = "canceled";
        pi["canceled_at"] = Now;
        pi["cancellation_reason"] = reason;
        pi["next_action"] = null;
        Emit("payment_intent.canceled", pi);
        return pi;
    }

    // ------------------------------------------------------------------ refunds

    public void SetPendingRefunds(int count) { lock (Gate) _pendingRefundsNext = Math.Max(0, count); }

    /// <summary>
    /// The card behind a payment can no longer receive money (expired, closed) until <see cref="AcceptRefunds"/>: every
    /// refund of it is answered <c>pending</c> and then fails with <paramref name="failureReason"/>, as Stripe does when the
    /// card network returns the money (refund.updated, refund.failed, a refund_failure balance transaction).
    /// </summary>
    public void RefuseRefunds(string paymentIntentId, string failureReason)
    {
        lock (Gate) { Get("payment_intent", paymentIntentId); _refundFailureByPaymentIntent[paymentIntentId] = failureReason; }
    }

    /// <summary>The player's bank fixed the card: refunds of the payment succeed again.</summary>
    public void AcceptRefunds(string paymentIntentId)
    {
        lock (Gate) { Get("payment_intent", paymentIntentId); _refundFailureByPaymentIntent.Remove(paymentIntentId); }
    }

    JsonObject CreateRefund(FormParams p)
    {
        var piId = p.Str("payment_intent");
        var chId = p.Str("charge");
        if (piId is null && chId is null)
            throw new StripeApiException(400, "invalid_request_error", "parameter_missing", "One of the following params should be provided for this request: payment_intent or charge.") { Cacheable = false };
        JsonObject ch;
        if (piId is not null)
        {
            var pi = Get("payment_intent", piId, "payment_intent", 400);
            if ((string?)pi["status"] != "succeeded" || pi["latest_charge"] is null)
                throw StripeApiException.State("payment_intent_unexpected_state", $"This PaymentIntent ({piId}) does not have a successful charge to refund.", "payment_intent");
            ch = Get("charge", (string)pi["latest_charge"]!);
            if (chId is not null && chId != (string?)ch["id"])
                throw StripeApiException.Invalid("charge", $"Charge {chId} does not belong to PaymentIntent {piId}.");
        }
        else
        {
            ch = Get("charge", chId!, "charge", 400);
            if ((string?)ch["status"] != "succeeded")
                throw StripeApiException.State("charge_not_refundable", $"Charge {chId} has status {(string?)ch["status"]} and cannot be refunded.", "charge");
        }
        var chargeAmount = L(ch["amount"]);
        var refunded = L(ch["amount_refunded"]);
        var remaining = chargeAmount - refunded;
        if (remaining <= 0)
            throw StripeApiException.State("charge_already_refunded", $"Charge {(string?)ch["id"]} has already been refunded.", "charge");
        var amount = p.Has("amount") ? PositiveAmount(p) : remaining;
        if (amount > remaining)
            throw StripeApiException.State("amount_too_large",
                $"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining}).", "amount");
        var reason = p.Str("reason");
        if (reason is not null && reason is not ("duplicate" or "fraudulent" or "requested_by_customer"))
            throw StripeApiException.Invalid("reason", $"Invalid reason: {reason}.");
        var status = "succeeded";
        if (_pendingRefundsNext > 0) { _pendingRefundsNext--; status = "pending"; }
        var refusedBy = (string?)ch["payment_intent"] is { } ofIntent ? _refundFailureByPaymentIntent.GetValueOrDefault(ofIntent) : null;
        if (refusedBy is not null) status = "pending";
        var re = new JsonObject
        {
            ["id"] = NewId("re"),
            ["object"] = "refund",
            ["amount"] = amount,
            ["balance_transaction"] = null,
            ["charge"] = (string?)ch["id"],
            ["created"] = Now,
            ["currency"] = (string?)ch["currency"],
            ["metadata"] = Metadata(p.Map("metadata")),
            ["payment_intent"] = (string?)ch["payment_intent"],
            ["reason"] = reason,
            ["receipt_number"] = null,
            ["source_transfer_reversal"] = null,
            ["status"] = status,
            ["transfer_reversal"] = null,
        };
        Store("refund", re);
        re["balance_transaction"] = (string)NewBalanceTransaction("refund", "refund", -amount, 0, null, (string)ch["currency"]!, (string)re["id"]!, "REFUND FOR CHARGE")["id"]!;
        ch["amount_refunded"] = refunded + amount;
        ch["refunded"] = refunded + amount == chargeAmount;
        Emit("refund.created", re);
        Emit("charge.refunded", ch);
        if (refusedBy is null) return re;
        // Answered pending; the card network's refusal follows (its events after the creation's).
        var answered = Clone(re);
        SettleRefund((string)re["id"]!, false, refusedBy);
        return answered;
    }

    public JsonObject SettleRefund(string id, bool succeed, string? failureReason)
    {
        lock (Gate)
        {
            var re = Get("refund", id);
            if ((string?)re["status"] != "pending")
                throw new StripeApiException(409, "invalid_request_error", "refund_unexpected_state", $"Refund {id} has status {(string?)re["status"]}; only pending refunds can be settled.");
            var prev = new JsonObject { ["status"] = "pending" };
            if (succeed)
            {
                re["status"] = "succeeded";
                Emit("refund.updated", re, prev);
            }
            else
            {
                re["status"] = "failed";
                re["failure_reason"] = failureReason ?? "unknown";
                // Stripe gives a failed refund's money back to the balance with a refund_failure transaction.
                re["failure_balance_transaction"] = (string)NewBalanceTransaction("refund_failure", "refund_failure", L(re["amount"]), 0, null,
                    (string)re["currency"]!, (string)re["id"]!, "REFUND FAILURE")["id"]!;
                var ch = Get("charge", (string)re["charge"]!);
                ch["amount_refunded"] = L(ch["amount_refunded"]) - L(re["amount"]);
                ch["refunded"] = false;
                Emit("refund.updated", re, prev);
                Emit("refund.failed", re, prev);
            }
            return Clone(re);
        }
    }

    // ------------------------------------------------------------------ accounts

    static JsonObject Requirements(string? disabledReason, params string[] due)
    {
        JsonArray A() { var a = new JsonArray(); foreach (var d in due) a.Add(d); return a; }
        return new JsonObject
        {
            ["alternatives"] = new JsonArray(),
            ["current_deadline"] = null,
            ["currently_due"] = A(),
            ["disabled_reason"] = disabledReason,
            ["errors"] = new JsonArray(),
            ["eventually_due"] = A(),
            ["past_due"] = A(),
            ["pending_verification"] = new JsonArray(),
        };
    }

    static readonly string[] OnboardingDue = ["business_type", "external_account", "tos_acceptance.date", "tos_acceptance.ip"];

    JsonObject CreateAccount(FormParams p)
    {
        var type = p.Str("type") ?? "express";
        if (type is not ("express" or "custom" or "standard"))
            throw StripeApiException.Invalid("type", $"Invalid type: {type}.");
        var caps = new JsonObject();
        if (p.Node("capabilities") is Dictionary<string, object> cd)
            foreach (var (name, v) in cd.OrderBy(k => k.Key, StringComparer.Ordinal))
                if (v is Dictionary<string, object> c && c.TryGetValue("requested", out var r) && (r as string) == "true")
                    caps[name] = "inactive";
        var country = (p.Str("country") ?? "US").ToUpperInvariant();
        var acct = new JsonObject
        {
            ["id"] = NewId("acct"),
            ["object"] = "account",
            ["business_profile"] = new JsonObject { ["name"] = p.Str("business_profile.name"), ["url"] = p.Str("business_profile.url") },
            ["business_type"] = p.Str("business_type"),
            ["capabilities"] = caps,
            ["charges_enabled"] = false,
            ["country"] = country,
            ["created"] = Now,
            ["default_currency"] = country switch { "GB" => "gbp", "CA" => "cad", "AU" => "aud", "US" => "usd", _ => "eur" },
            ["details_submitted"] = false,
            ["email"] = p.Str("email"),
            ["metadata"] = Metadata(p.Map("metadata")),
            ["payouts_enabled"] = false,
            ["requirements"] = Requirements("requirements.past_due", OnboardingDue),
            ["type"] = type,
        };
        Store("account", acct);
        _accountState[(string)acct["id"]!] = "onboarding";
        return acct;
    }

    JsonObject UpdateAccount(string id, FormParams p)
    {
        var acct = Get("account", id);
        MergeMetadata(acct, p.Map("metadata"));
        if (p.Str("email") is { } e) acct["email"] = e;
        Emit("account.updated", acct);
        return acct;
    }

    JsonObject CreateAccountLink(FormParams p)
    {
        var acctId = p.RequiredStr("account");
        Get("account", acctId, "account", 400);
        var type = p.RequiredStr("type");
        if (type is not ("account_onboarding" or "account_update"))
            throw StripeApiException.Invalid("type", $"Invalid type: {type}.");
        var ret = p.Str("return_url");
        var refresh = p.Str("refresh_url");
        var url = $"{Current?.BaseUrl}/_sandbox/onboarding/{acctId}";
        if (ret is not null) url += "?return_url=" + Uri.EscapeDataString(ret);
        _created["account_link"] = _created.GetValueOrDefault("account_link") + 1;
        return new JsonObject
        {
            ["object"] = "account_link",
            ["created"] = Now,
            ["expires_at"] = Now + 300,
            ["url"] = url,
        };
    }

    public JsonObject SetAccountState(string id, string state)
    {
        lock (Gate)
        {
            var acct = Get("account", id);
            var prev = new JsonObject
            {
                ["charges_enabled"] = acct["charges_enabled"]!.DeepClone(),
                ["payouts_enabled"] = acct["payouts_enabled"]!.DeepClone(),
                ["details_submitted"] = acct["details_submitted"]!.DeepClone(),
                ["capabilities"] = acct["capabilities"]!.DeepClone(),
                ["requirements"] = acct["requirements"]!.DeepClone(),
            };
            var caps = (JsonObject)acct["capabilities"]!;
            foreach (var name in caps.Select(kv => kv.Key).ToList())
                caps[name] = state == "active" ? "active" : "inactive";
            switch (state)
            {
                case "active":
                    acct["details_submitted"] = true;
                    acct["charges_enabled"] = true;
                    acct["payouts_enabled"] = true;
                    acct["requirements"] = Requirements(null);
                    break;
                case "restricted":
                    acct["charges_enabled"] = false;
                    acct["payouts_enabled"] = false;
                    acct["requirements"] = Requirements("requirements.past_due", "individual.verification.document");
                    break;
                case "invalid":
                    acct["charges_enabled"] = false;
                    acct["payouts_enabled"] = false;
                    acct["requirements"] = Requirements("rejected.other");
                    break;
            }
            _accountState[id] = state;
            Emit("account.updated", acct, prev);
            return Clone(acct);
        }
    }

    // ------------------------------------------------------------------ transfers

    JsonObject CreateTransfer(FormParams p)
    {
        var amount = PositiveAmount(p);
        var currency = Currency(p);
        var dest = p.RequiredStr("destination");
        if (!_objects.TryGetValue(dest, out var acct) || (string?)acct["object"] != "account")
            throw new StripeApiException(400, "invalid_request_error", "resource_missing", $"No such destination: '{dest}'", "destination");
        switch (_accountState.GetValueOrDefault(dest))
        {
            case "invalid":
                throw new StripeApiException(400, "invalid_request_error", "account_invalid",
                    $"The account referenced in the 'destination' parameter ({dest}) is invalid and cannot receive transfers.", "destination");
            case "restricted":
            case "onboarding":
                throw new StripeApiException(400, "invalid_request_error", "insufficient_capabilities_for_transfer",
                    $"Your destination account ({dest}) needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments.", "destination");
        }
        var id = NewId("tr");
        var tr = new JsonObject
        {
            ["id"] = id,
            ["object"] = "transfer",
            ["amount"] = amount,
            ["amount_reversed"] = 0L,
            ["balance_transaction"] = null,
            ["created"] = Now,
            ["currency"] = currency,
            ["description"] = p.Str("description"),
            ["destination"] = dest,
            ["destination_payment"] = NewId("py"),
            ["livemode"] = false,
            ["metadata"] = Metadata(p.Map("metadata")),
            ["reversals"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(),
                ["has_more"] = false,
                ["total_count"] = 0L,
                ["url"] = $"/v1/transfers/{id}/reversals",
            },
            ["reversed"] = false,
            ["source_transaction"] = p.Str("source_transaction"),
            ["source_type"] = p.Str("source_type") ?? "card",
            ["transfer_group"] = p.Str("transfer_group"),
        };
        Store("transfer", tr);
        tr["balance_transaction"] = (string)NewBalanceTransaction("transfer", "transfer", -amount, 0, null, currency, id, p.Str("description"))["id"]!;
        if (Current?.IdempotencyKey is { } key) _transfersByKey[key] = _transfersByKey.GetValueOrDefault(key) + 1;
        _transfersByDestination[dest] = _transfersByDestination.GetValueOrDefault(dest) + 1;
        _transferAmountByDestination[dest] = _transferAmountByDestination.GetValueOrDefault(dest) + amount;
        Emit("transfer.created", tr);
        return tr;
    }

    JsonObject CreateReversal(string transferId, FormParams p)
    {
        var tr = Get("transfer", transferId);
        var total = L(tr["amount"]);
        var reversed = L(tr["amount_reversed"]);
        var remaining = total - reversed;
        if (remaining <= 0)
            throw StripeApiException.State("transfer_already_reversed", $"Transfer {transferId} has already been fully reversed.", "amount");
        var amount = p.Has("amount") ? PositiveAmount(p) : remaining;
        if (amount > remaining)
            throw StripeApiException.State("amount_too_large", $"Reversal amount ({amount}) is greater than the unreversed amount on the transfer ({remaining}).", "amount");
        var trr = new JsonObject
        {
            ["id"] = NewId("trr"),
            ["object"] = "transfer_reversal",
            ["amount"] = amount,
            ["balance_transaction"] = null,
            ["created"] = Now,
            ["currency"] = (string?)tr["currency"],
            ["destination_payment_refund"] = null,
            ["metadata"] = Metadata(p.Map("metadata")),
            ["source_refund"] = null,
            ["transfer"] = transferId,
        };
        Store("transfer_reversal", trr);
        trr["balance_transaction"] = (string)NewBalanceTransaction("transfer_refund", "transfer_reversal", amount, 0, null, (string)tr["currency"]!, (string)trr["id"]!, null)["id"]!;
        tr["amount_reversed"] = reversed + amount;
        tr["reversed"] = reversed + amount == total;
        var list = (JsonObject)tr["reversals"]!;
        ((JsonArray)list["data"]!).Insert(0, trr.DeepClone());
        list["total_count"] = L(list["total_count"]) + 1;
        Emit("transfer.reversed", tr);
        return trr;
    }

    // ------------------------------------------------------------------ disputes

    public JsonObject CreateDispute(string chargeId, long? amount, string? reason)
    {
        lock (Gate)
        {
            var ch = Get("charge", chargeId);
            if ((string?)ch["status"] != "succeeded")
                throw new StripeApiException(409, "invalid_request_error", "charge_not_disputable", $"Charge {chargeId} did not succeed.");
            if ((bool)ch["disputed"]!)
                throw new StripeApiException(409, "invalid_request_error", "charge_disputed", $"Charge {chargeId} is already disputed.");
            var amt = amount ?? L(ch["amount"]);
            if (amt < 1 || amt > L(ch["amount"]))
                throw new StripeApiException(400, "invalid_request_error", "parameter_invalid_integer", "amount must be between 1 and the charge amount.", "amount");
            var now = Now;
            var dp = new JsonObject
            {
                ["id"] = NewId("dp"),
                ["object"] = "dispute",
                ["amount"] = amt,
                ["balance_transactions"] = new JsonArray(),
                ["charge"] = chargeId,
                ["created"] = now,
                ["currency"] = (string?)ch["currency"],
                ["evidence"] = new JsonObject(),
                ["evidence_details"] = new JsonObject
                {
                    ["due_by"] = now + 7 * 86400,
                    ["has_evidence"] = false,
                    ["past_due"] = false,
                    ["submission_count"] = 0L,
                },
                ["is_charge_refundable"] = false,
                ["livemode"] = false,
                ["metadata"] = new JsonObject(),
                ["payment_intent"] = (string?)ch["payment_intent"],
                ["reason"] = reason ?? "general",
                ["status"] = "needs_response",
            };
            Store("dispute", dp);
            // Stripe takes the disputed amount and its dispute fee from the balance when the dispute opens.
            ((JsonArray)dp["balance_transactions"]!).Add(NewBalanceTransaction("adjustment", "dispute", -amt, _disputeFee, "Dispute fee",
                (string)ch["currency"]!, (string)dp["id"]!, $"Chargeback withdrawal for {chargeId}").DeepClone());
            ch["disputed"] = true;
            Emit("charge.dispute.created", dp);
            return Clone(dp);
        }
    }

    public JsonObject CloseDispute(string id, string status)
    {
        lock (Gate)
        {
            if (status is not ("won" or "lost"))
                throw new StripeApiException(400, "invalid_request_error", "parameter_invalid", "status must be won or lost.", "status");
            var dp = Get("dispute", id);
            var prev = (string)dp["status"]!;
            if (prev is "won" or "lost")
                throw new StripeApiException(409, "invalid_request_error", "dispute_already_closed", $"Dispute {id} is already closed ({prev}).");
            dp["status"] = status;
            if (status == "won")
                // The disputed amount comes back; the dispute fee is not returned (US pricing).
                ((JsonArray)dp["balance_transactions"]!).Add(NewBalanceTransaction("adjustment", "dispute_reversal", L(dp["amount"]), 0, null,
                    (string)dp["currency"]!, id, $"Chargeback reversal for {(string?)dp["charge"]}").DeepClone());
            Emit("charge.dispute.closed", dp, new JsonObject { ["status"] = prev });
            return Clone(dp);
        }
    }

    // ------------------------------------------------------------------ customer actions (control API)

    public JsonObject CustomerAct(string piId, string action, string? declineCode, string? message)
    {
        lock (Gate)
        {
            var pi = Get("payment_intent", piId);
            switch (action)
            {
                case "succeed": SucceedPaymentIntent(pi); break;
                case "fail": FailPaymentIntent(pi, declineCode ?? "card_declined", message); break;
                case "require_action": RequireAction(pi); break;
                default: throw new StripeApiException(404, "invalid_request_error", null, $"Unknown action {action}.");
            }
            return Clone(pi);
        }
    }
}
