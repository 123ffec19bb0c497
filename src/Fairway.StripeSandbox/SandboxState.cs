using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>Who is asking: the Stripe request id and idempotency key, copied into events' <c>request</c>.</summary>
public sealed record RequestInfo(string? RequestId, string? IdempotencyKey, string BaseUrl);

/// <summary>
/// All in-memory Stripe state. Every mutation happens under <see cref="Gate"/> (one lock; the sandbox
/// is a test tool, throughput is not a goal). Objects are stored as JSON and returned as deep copies.
/// </summary>
public sealed partial class SandboxState
{
    public const int MaxEvents = 20_000;
    public const int MaxObjects = 1_000_000;

    public object Gate { get; } = new();
    public SandboxClock Clock { get; }
    public WebhookDispatcher Webhooks { get; }
    public string ApiVersion { get; }
    readonly string _ns;

    readonly Dictionary<string, long> _counters = new();
    readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<string>> _lists = new(); // object type → ids in creation order
    readonly Dictionary<string, string> _accountState = new(); // acct id → onboarding|active|restricted|invalid
    readonly LinkedList<JsonObject> _events = new();
    readonly Dictionary<string, (JsonObject Event, string Payload)> _eventsById = new(StringComparer.Ordinal);
    int _pendingRefundsNext;
    readonly Dictionary<string, string> _refundFailureByPaymentIntent = new(StringComparer.Ordinal); // pi id → failure_reason of its refunds

    // statistics
    readonly Dictionary<string, long> _created = new();
    readonly Dictionary<string, long> _transfersByKey = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _transfersByDestination = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _transferAmountByDestination = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _eventsByType = new(StringComparer.Ordinal);
    long _eventsCreated;

    /// <summary>Set by the API dispatcher (under <see cref="Gate"/>) while a /v1 request executes.</summary>
    public RequestInfo? Current { get; set; }

    public SandboxState(SandboxClock clock, WebhookDispatcher webhooks, string apiVersion, string idNamespace)
    {
        Clock = clock; Webhooks = webhooks; ApiVersion = apiVersion; _ns = idNamespace;
        Webhooks.Delivered = OnDelivered;
    }

    long Now => Clock.UnixNow;

    string NewId(string prefix)
    {
        _counters.TryGetValue(prefix, out var n);
        _counters[prefix] = ++n;
        return $"{prefix}_{_ns}_{n:D6}";
    }

    public void Reset(bool resetIds)
    {
        lock (Gate)
        {
            _objects.Clear(); _lists.Clear(); _accountState.Clear(); _events.Clear(); _eventsById.Clear();
            _created.Clear(); _transfersByKey.Clear(); _transfersByDestination.Clear(); _transferAmountByDestination.Clear();
            _eventsByType.Clear(); _eventsCreated = 0; _pendingRefundsNext = 0; _refundFailureByPaymentIntent.Clear();
            ResetFees();
            if (resetIds) _counters.Clear();
        }
    }

    void Store(string type, JsonObject obj)
    {
        if (_objects.Count >= MaxObjects)
            throw new StripeApiException(500, "api_error", "sandbox_full", $"Sandbox holds {MaxObjects} objects; POST /_sandbox/reset.");
        var id = (string)obj["id"]!;
        _objects[id] = obj;
        if (!_lists.TryGetValue(type, out var l)) _lists[type] = l = new List<string>();
        l.Add(id);
        _created[type] = _created.GetValueOrDefault(type) + 1;
    }

    JsonObject Get(string kind, string id, string param = "id", int status = 404)
    {
        if (_objects.TryGetValue(id, out var o) && (string?)o["object"] == kind) return o;
        throw StripeApiException.NoSuch(kind, id, param, status);
    }

    public JsonObject? Peek(string id)
    {
        lock (Gate)
        {
            if (_objects.TryGetValue(id, out var o)) return (JsonObject)o.DeepClone();
            if (_eventsById.TryGetValue(id, out var e)) return (JsonObject)e.Event.DeepClone();
            return null;
        }
    }

    static JsonObject Clone(JsonObject o) => (JsonObject)o.DeepClone();

    static JsonObject Metadata(Dictionary<string, string>? m)
    {
        var o = new JsonObject();
        if (m is null) return o;
        foreach (var kv in m.OrderBy(k => k.Key, StringComparer.Ordinal))
            if (kv.Value.Length > 0) o[kv.Key] = kv.Value;
        return o;
    }

    static void MergeMetadata(JsonObject obj, Dictionary<string, string>? m)
    {
        if (m is null) return;
        var md = obj["metadata"] as JsonObject ?? new JsonObject();
        if (m.Count == 0) md.Clear();
        foreach (var kv in m)
        {
            if (kv.Value.Length == 0) md.Remove(kv.Key);
            else md[kv.Key] = kv.Value;
        }
        obj["metadata"] = md;
    }

    static long L(JsonNode? n) => n!.GetValue<long>();

    static string Currency(FormParams p)
    {
        var c = p.RequiredStr("currency").ToLowerInvariant();
        if (c.Length != 3 || !c.All(char.IsAsciiLetterLower)) throw StripeApiException.Invalid("currency", $"Invalid currency: {c}.");
        return c;
    }

    static long PositiveAmount(FormParams p, string param = "amount", bool required = true)
    {
        var a = required ? p.RequiredLong(param) : p.Long(param) ?? 0;
        if (a < 1) throw StripeApiException.Invalid(param, "This value must be greater than or equal to 1.", "parameter_invalid_integer");
        if (a > 99_999_999) throw StripeApiException.Invalid(param, "This value must be less than or equal to 99999999.", "parameter_invalid_integer");
        return a;
    }

    // ------------------------------------------------------------------ events

    JsonObject Emit(string type, JsonObject obj, JsonObject? previousAttributes = null)
    {
        var id = NewId("evt");
        var data = new JsonObject { ["object"] = obj.DeepClone() };
        if (previousAttributes is not null) data["previous_attributes"] = previousAttributes.DeepClone();
        var evt = new JsonObject
        {
            ["id"] = id,
            ["object"] = "event",
            ["api_version"] = ApiVersion,
            ["created"] = Now,
            ["data"] = data,
            ["livemode"] = false,
            ["pending_webhooks"] = Webhooks.Delivers(type) && !_withholdWebhooks ? 1 : 0,
            ["request"] = new JsonObject
            {
                ["id"] = Current?.RequestId,
                ["idempotency_key"] = Current?.IdempotencyKey,
            },
            ["type"] = type,
        };
        var payload = evt.ToJsonString(Json.Options);
        _events.AddLast(evt);
        _eventsById[id] = (evt, payload);
        while (_events.Count > MaxEvents)
        {
            _eventsById.Remove((string)_events.First!.Value["id"]!);
            _events.RemoveFirst();
        }
        _eventsCreated++;
        _eventsByType[type] = _eventsByType.GetValueOrDefault(type) + 1;
        // Made "behind Fairway's back" with webhooks withheld: the event exists (GET /v1/events) but is never delivered.
        if (!_withholdWebhooks) Webhooks.Enqueue(id, type, payload);
        return evt;
    }

    void OnDelivered(string eventId)
    {
        lock (Gate)
        {
            if (_eventsById.TryGetValue(eventId, out var e)) e.Event["pending_webhooks"] = 0;
        }
    }

    public bool Redeliver(string eventId)
    {
        string type, payload;
        lock (Gate)
        {
            if (!_eventsById.TryGetValue(eventId, out var e)) return false;
            type = (string)e.Event["type"]!; payload = e.Payload;
        }
        return Webhooks.Redeliver(eventId, type, payload);
    }

    JsonObject RetrieveEvent(string id)
    {
        if (_eventsById.TryGetValue(id, out var e)) return Clone(e.Event);
        throw StripeApiException.NoSuch("event", id);
    }

    JsonObject ListEvents(FormParams p, string url)
    {
        var type = p.Str("type");
        var types = p.List("types");
        bool Match(JsonObject e)
        {
            var t = (string)e["type"]!;
            bool M(string pat) => pat.EndsWith('*') ? t.StartsWith(pat[..^1], StringComparison.Ordinal) : t == pat;
            if (type is not null && !M(type)) return false;
            if (types.Count > 0 && !types.Any(M)) return false;
            return true;
        }
        var created = CreatedRange.Parse(p);
        var newestFirst = _events.Reverse().Where(e => Match(e) && created.Contains(L(e["created"])));
        return Page(newestFirst, p, url);
    }

    static JsonObject Page(IEnumerable<JsonObject> newestFirst, FormParams p, string url)
    {
        var limit = (int)Math.Clamp(p.Long("limit") ?? 10, 1, 100);
        var after = p.Str("starting_after");
        var before = p.Str("ending_before");
        var seq = newestFirst;
        List<JsonObject> items;
        if (after is not null)
        {
            seq = seq.SkipWhile(o => (string?)o["id"] != after).Skip(1);
            items = seq.Take(limit + 1).ToList();
        }
        else if (before is not null)
        {
            var newer = seq.TakeWhile(o => (string?)o["id"] != before).ToList();
            items = newer.Skip(Math.Max(0, newer.Count - (limit + 1))).ToList();
            // has_more means there are newer ones beyond the page
            var more = newer.Count > limit;
            if (more) items = items.Skip(1).ToList();
            return ListObject(items, more, url);
        }
        else items = seq.Take(limit + 1).ToList();
        var hasMore = items.Count > limit;
        return ListObject(items.Take(limit), hasMore, url);
    }

    static JsonObject ListObject(IEnumerable<JsonObject> items, bool hasMore, string url)
    {
        var data = new JsonArray();
        foreach (var i in items) data.Add(i.DeepClone());
        return new JsonObject { ["object"] = "list", ["data"] = data, ["has_more"] = hasMore, ["url"] = url };
    }

    IEnumerable<JsonObject> AllOf(string type) =>
        _lists.TryGetValue(type, out var l) ? l.Select(id => _objects[id]) : Enumerable.Empty<JsonObject>();

    // ------------------------------------------------------------------ expansion

    public void Expand(JsonNode? node, string path)
    {
        if (node is not JsonObject obj) return;
        var dot = path.IndexOf('.');
        var head = dot < 0 ? path : path[..dot];
        var rest = dot < 0 ? null : path[(dot + 1)..];
        if ((string?)obj["object"] == "list" && head == "data" && obj["data"] is JsonArray arr)
        {
            if (rest is not null) foreach (var item in arr) Expand(item, rest);
            return;
        }
        var v = obj[head];
        if (v is JsonValue jv && jv.TryGetValue<string>(out var id) && _objects.TryGetValue(id, out var target))
            obj[head] = v = target.DeepClone();
        if (rest is not null) Expand(v, rest);
    }

    // ------------------------------------------------------------------ stats

    public JsonObject Stats(JsonObject requestsByEndpoint, long replays, long conflicts, long faultsInjected, long keysPruned, long connections)
    {
        lock (Gate)
        {
            static JsonObject D(Dictionary<string, long> d)
            {
                var o = new JsonObject();
                foreach (var kv in d.OrderBy(k => k.Key, StringComparer.Ordinal)) o[kv.Key] = kv.Value;
                return o;
            }
            return new JsonObject
            {
                ["requests_by_endpoint"] = requestsByEndpoint,
                ["api_connections"] = connections,
                ["payment_intents_created"] = _created.GetValueOrDefault("payment_intent"),
                ["charges_created"] = _created.GetValueOrDefault("charge"),
                ["refunds_created"] = _created.GetValueOrDefault("refund"),
                ["accounts_created"] = _created.GetValueOrDefault("account"),
                ["account_links_created"] = _created.GetValueOrDefault("account_link"),
                ["transfers_created"] = _created.GetValueOrDefault("transfer"),
                ["transfer_reversals_created"] = _created.GetValueOrDefault("transfer_reversal"),
                ["disputes_created"] = _created.GetValueOrDefault("dispute"),
                ["balance_transactions_created"] = _created.GetValueOrDefault("balance_transaction"),
                ["transfers_by_idempotency_key"] = D(_transfersByKey),
                ["transfers_by_destination"] = D(_transfersByDestination),
                ["transfer_amount_by_destination"] = D(_transferAmountByDestination),
                ["idempotent_replays"] = replays,
                ["idempotency_conflicts"] = conflicts,
                ["idempotency_keys_pruned"] = keysPruned,
                ["faults_injected"] = faultsInjected,
                ["events_created"] = _eventsCreated,
                ["events_by_type"] = D(_eventsByType),
                ["webhook_deliveries"] = Webhooks.Stats(),
            };
        }
    }

    static string Hex(string s, int chars) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..chars];

    static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
}
