using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>
/// A <c>created</c> filter of a list request: <c>created=T</c> (exact) or any of <c>created[gt]</c>,
/// <c>created[gte]</c>, <c>created[lt]</c>, <c>created[lte]</c> (unix seconds), as Stripe accepts them.
/// </summary>
public readonly record struct CreatedRange(long? Gt, long? Gte, long? Lt, long? Lte)
{
    public bool Contains(long created) =>
        (Gt is not { } gt || created > gt) && (Gte is not { } gte || created >= gte)
        && (Lt is not { } lt || created < lt) && (Lte is not { } lte || created <= lte);

    public static CreatedRange Parse(FormParams p)
    {
        switch (p.Node("created"))
        {
            case null: return default;
            case string s:
                var exact = Seconds("created", s);
                return new CreatedRange(null, exact, null, exact);
            case Dictionary<string, object> d:
                foreach (var key in d.Keys)
                    if (key is not ("gt" or "gte" or "lt" or "lte"))
                        throw StripeApiException.Invalid($"created[{key}]", $"Received unknown parameter: created[{key}]. Use gt, gte, lt or lte.", "parameter_unknown");
                long? Bound(string k) => d.TryGetValue(k, out var v) ? Seconds($"created[{k}]", v as string) : null;
                return new CreatedRange(Bound("gt"), Bound("gte"), Bound("lt"), Bound("lte"));
            default:
                throw StripeApiException.Invalid("created", "created must be a unix timestamp or a hash of gt, gte, lt, lte.");
        }
    }

    static long Seconds(string param, string? raw) =>
        long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v : throw StripeApiException.Invalid(param, $"Invalid timestamp: {raw}. Must be a unix timestamp in seconds.", "parameter_invalid_integer");
}

/// <summary>
/// Balance transactions (every movement of the platform's Stripe balance, with Stripe's fees), the balance,
/// the fee model, and actions taken "behind Fairway's back" (as in the Dashboard), optionally with their
/// webhooks withheld (a lost webhook).
/// </summary>
public sealed partial class SandboxState
{
    /// <summary>Stripe's standard US card pricing: 2.9 % + 30¢ per successful charge, $15 per dispute.</summary>
    public const long DefaultFeePercentBps = 290, DefaultFeeFixed = 30, DefaultDisputeFee = 1500;

    long _feeBps = DefaultFeePercentBps, _feeFixed = DefaultFeeFixed, _disputeFee = DefaultDisputeFee;
    bool _withholdWebhooks;

    void ResetFees() { _feeBps = DefaultFeePercentBps; _feeFixed = DefaultFeeFixed; _disputeFee = DefaultDisputeFee; }

    public JsonObject Fees()
    {
        lock (Gate) return FeesLocked();
    }

    JsonObject FeesLocked() => new() { ["percent_bps"] = _feeBps, ["fixed"] = _feeFixed, ["dispute_fee"] = _disputeFee };

    public JsonObject SetFees(long? percentBps, long? fixedAmount, long? disputeFee)
    {
        if (percentBps is < 0 or > 10_000) throw new ArgumentException("percent_bps must be between 0 and 10000");
        if (fixedAmount is < 0 or > 100_000) throw new ArgumentException("fixed must be between 0 and 100000");
        if (disputeFee is < 0 or > 100_000) throw new ArgumentException("dispute_fee must be between 0 and 100000");
        lock (Gate)
        {
            _feeBps = percentBps ?? _feeBps;
            _feeFixed = fixedAmount ?? _feeFixed;
            _disputeFee = disputeFee ?? _disputeFee;
            return FeesLocked();
        }
    }

    /// <summary>The processing fee of a successful charge: percentage rounded half up, plus the fixed part, never more than the charge.</summary>
    long ChargeFee(long amount) => Math.Min(amount, (amount * _feeBps + 5_000) / 10_000 + _feeFixed);

    JsonObject NewBalanceTransaction(string type, string reportingCategory, long amount, long fee, string? feeDescription, string currency, string? source, string? description)
    {
        var feeDetails = new JsonArray();
        if (fee != 0)
            feeDetails.Add(new JsonObject
            {
                ["amount"] = fee,
                ["application"] = null,
                ["currency"] = currency,
                ["description"] = feeDescription ?? "Stripe processing fees",
                ["type"] = "stripe_fee",
            });
        var now = Now;
        var bt = new JsonObject
        {
            ["id"] = NewId("txn"),
            ["object"] = "balance_transaction",
            ["amount"] = amount,
            ["available_on"] = now,
            ["created"] = now,
            ["currency"] = currency,
            ["description"] = description,
            ["exchange_rate"] = null,
            ["fee"] = fee,
            ["fee_details"] = feeDetails,
            ["net"] = amount - fee,
            ["reporting_category"] = reportingCategory,
            ["source"] = source,
            ["status"] = "available",
            ["type"] = type,
        };
        Store("balance_transaction", bt);
        return bt;
    }

    /// <summary><c>GET /v1/balance</c>: the sum of every balance transaction's net per currency (all funds are available at once in the sandbox).</summary>
    JsonObject Balance()
    {
        var available = new JsonArray();
        var pending = new JsonArray();
        foreach (var g in AllOf("balance_transaction").GroupBy(b => (string)b["currency"]!).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var net = g.Sum(b => L(b["net"]));
            available.Add(new JsonObject { ["amount"] = net, ["currency"] = g.Key, ["source_types"] = new JsonObject { ["card"] = net } });
            pending.Add(new JsonObject { ["amount"] = 0L, ["currency"] = g.Key, ["source_types"] = new JsonObject { ["card"] = 0L } });
        }
        return new JsonObject
        {
            ["object"] = "balance",
            ["available"] = available,
            ["connect_reserved"] = new JsonArray(),
            ["livemode"] = false,
            ["pending"] = pending,
        };
    }

    // ------------------------------------------------------------------ behind Fairway's back (control API)

    /// <summary>
    /// Runs a Stripe API action as if made in the Dashboard: no API request, no idempotency key. With
    /// <paramref name="deliverWebhooks"/> false its events are recorded but never delivered (a lost webhook).
    /// </summary>
    public JsonObject Outside(string action, FormParams p, bool deliverWebhooks)
    {
        lock (Gate)
        {
            _withholdWebhooks = !deliverWebhooks;
            try
            {
                return Clone(action switch
                {
                    "refunds" => CreateRefund(p),
                    "transfers" => CreateTransfer(p),
                    "balance_adjustments" => CreateAdjustment(p),
                    _ => throw new StripeApiException(404, "invalid_request_error", null, $"Unknown outside action {action}."),
                });
            }
            finally { _withholdWebhooks = false; }
        }
    }

    /// <summary>A balance movement with no source object, as Stripe books fee corrections (<c>adjustment</c>) or billing (<c>stripe_fee</c>).</summary>
    JsonObject CreateAdjustment(FormParams p)
    {
        var type = p.Str("type") ?? "adjustment";
        if (type is not ("adjustment" or "stripe_fee"))
            throw StripeApiException.Invalid("type", $"Invalid type: {type}. Use adjustment or stripe_fee.");
        var amount = p.RequiredLong("amount");
        if (amount == 0 || Math.Abs(amount) > 99_999_999)
            throw StripeApiException.Invalid("amount", "amount must be non-zero and at most 99999999 in absolute value.", "parameter_invalid_integer");
        if (type == "stripe_fee" && amount > 0)
            throw StripeApiException.Invalid("amount", "A stripe_fee balance transaction takes money (negative amount).", "parameter_invalid_integer");
        return NewBalanceTransaction(type, type == "stripe_fee" ? "fee" : "other_adjustment", amount, 0, null, Currency(p), null,
            p.Str("description") ?? (type == "stripe_fee" ? "Stripe fee" : "Balance adjustment"));
    }

    /// <summary>A form body built from a JSON control body: strings and numbers as values, objects as <c>k[x]=v</c>.</summary>
    public static FormParams FormFromJson(JsonObject body)
    {
        var sb = new StringBuilder();
        void Add(string key, string value) => sb.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value)).Append('&');
        foreach (var (key, node) in body)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o) Add($"{key}[{k}]", v?.ToString() ?? "");
                    break;
                case JsonValue v when v.TryGetValue<bool>(out var b):
                    Add(key, b ? "true" : "false");
                    break;
                case JsonValue v:
                    Add(key, v.ToString());
                    break;
            }
        }
        return FormParams.Parse(sb.ToString());
    }
}
