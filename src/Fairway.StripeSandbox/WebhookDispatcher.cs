using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>Retry policy for webhook deliveries (bounded exponential backoff).</summary>
public sealed record WebhookRetryPolicy(int MaxAttempts = 8, int InitialBackoffMs = 200, int MaxBackoffMs = 10_000, int TimeoutMs = 10_000)
{
    public TimeSpan BackoffAfter(int attempt)
    {
        // attempt is 1-based (the attempt that just failed)
        var ms = InitialBackoffMs * Math.Pow(2, Math.Max(0, attempt - 1));
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxBackoffMs));
    }
}

/// <summary>
/// Background delivery loop: earliest due first, creation order among equals; one delivery at a time unless the sandbox
/// was started with a higher <c>--webhook-concurrency</c> (then that many are in flight at once, started in that order).
/// Failed attempts are rescheduled with backoff and do not block later events.
/// </summary>
public sealed class WebhookDispatcher : IAsyncDisposable
{
    public const int MaxPending = 10_000;
    public const int MaxLog = 5_000;
    public const string DefaultSecret = "whsec_sandbox_default_secret";

    sealed class Delivery
    {
        public long Seq;
        public required string EventId;
        public required string EventType;
        public required string Payload;
        public int Attempt;          // attempts made so far
        public long DueMs;           // on the stopwatch
        public bool Held;            // waits for /release
        public string Origin = "event"; // event | duplicate | redeliver
    }

    readonly object _lock = new();
    readonly SandboxClock _clock;
    readonly List<Delivery> _pending = new();
    readonly List<Delivery> _reorderGroup = new();
    readonly LinkedList<JsonObject> _log = new();
    readonly Stopwatch _sw = Stopwatch.StartNew();
    readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    readonly CancellationTokenSource _stop = new();
    readonly HttpClient _http;
    readonly Task _loop;
    readonly string? _initialUrl;
    readonly string? _initialSecret;
    readonly IReadOnlySet<string>? _initialEvents;

    long _seq, _logSeq, _generation;
    bool _paused;
    int _inFlight;
    int _duplicateNext, _dropNext, _delayNext, _delayMs, _reorderNext;
    WebhookRetryPolicy _policy = new();

    // counters
    long _attempts, _succeeded, _failedAttempts, _dropped, _gaveUp, _duplicates, _redeliveries, _overflow, _skippedNoEndpoint, _notSubscribed;

    /// <summary>The most deliveries in flight at once (Stripe itself sends an endpoint's events concurrently, in no guaranteed order).</summary>
    public const int MaxConcurrency = 16;

    /// <summary>How many deliveries may be in flight at once: 1 (the default) delivers strictly one after another, in due order.</summary>
    public int MaxInFlight { get; }

    /// <param name="enabledEvents">The event types the endpoint subscribes to, as a Stripe webhook endpoint's
    /// <c>enabled_events</c>; null or <c>*</c>: every type.</param>
    public WebhookDispatcher(SandboxClock clock, string? url, string? secret, int concurrency = 1, IEnumerable<string>? enabledEvents = null)
    {
        if (concurrency is < 1 or > MaxConcurrency) throw new ArgumentOutOfRangeException(nameof(concurrency), concurrency, $"webhook concurrency is 1..{MaxConcurrency}");
        MaxInFlight = concurrency;
        _clock = clock;
        Url = _initialUrl = string.IsNullOrWhiteSpace(url) ? null : url;
        EnabledEvents = _initialEvents = EventSet(enabledEvents);
        Secret = _initialSecret = string.IsNullOrWhiteSpace(secret) ? DefaultSecret : secret;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _loop = Task.Run(LoopAsync);
    }

    public string? Url { get; private set; }
    public string Secret { get; private set; }

    /// <summary>Called (outside the dispatcher lock) after a 2xx delivery.</summary>
    public Action<string>? Delivered { get; set; }

    /// <summary>The event types delivered (null: every type). Stripe records every event (<c>GET /v1/events</c>) but sends an
    /// endpoint only the types in its <c>enabled_events</c>.</summary>
    public IReadOnlySet<string>? EnabledEvents { get; private set; }

    /// <summary>Whether an event of <paramref name="eventType"/> is sent to the endpoint (there is one, and it subscribes to the type).</summary>
    public bool Delivers(string eventType)
    {
        lock (_lock) return Url is not null && (EnabledEvents is null || EnabledEvents.Contains(eventType));
    }

    /// <summary>Sets the endpoint; <paramref name="enabledEvents"/> null keeps the subscription, <c>["*"]</c> subscribes to every type.</summary>
    public void Configure(string? url, string? secret, IEnumerable<string>? enabledEvents = null)
    {
        lock (_lock)
        {
            Url = string.IsNullOrWhiteSpace(url) ? null : url;
            if (!string.IsNullOrWhiteSpace(secret)) Secret = secret;
            if (enabledEvents is not null) EnabledEvents = EventSet(enabledEvents);
        }
        _signal.Release();
    }

    /// <summary>An <c>enabled_events</c> list as a set; null for every type (no list, or <c>*</c>). An empty list is refused, as Stripe does.</summary>
    public static IReadOnlySet<string>? EventSet(IEnumerable<string>? types)
    {
        if (types is null) return null;
        var set = types.Select(t => t.Trim()).Where(t => t.Length > 0).ToHashSet(StringComparer.Ordinal);
        if (set.Count == 0) throw new ArgumentException("enabled_events must name at least one event type (or \"*\")", nameof(types));
        return set.Contains("*") ? null : set;
    }

    public void SetRetryPolicy(int? maxAttempts, int? initialBackoffMs, int? maxBackoffMs, int? timeoutMs)
    {
        lock (_lock)
        {
            _policy = new WebhookRetryPolicy(
                Math.Clamp(maxAttempts ?? _policy.MaxAttempts, 1, 100),
                Math.Clamp(initialBackoffMs ?? _policy.InitialBackoffMs, 0, 600_000),
                Math.Clamp(maxBackoffMs ?? _policy.MaxBackoffMs, 0, 3_600_000),
                Math.Clamp(timeoutMs ?? _policy.TimeoutMs, 50, 600_000));
        }
    }

    public void Duplicate(int count) { lock (_lock) _duplicateNext = Math.Max(0, count); }
    public void Drop(int count) { lock (_lock) _dropNext = Math.Max(0, count); }
    public void Delay(int count, int? delayMs) { lock (_lock) { _delayNext = Math.Max(0, count); _delayMs = delayMs ?? -1; } }
    public void Reorder(int count)
    {
        lock (_lock)
        {
            _reorderNext = Math.Max(0, count);
            if (_reorderNext == 0) FlushReorderGroupLocked();
        }
        _signal.Release();
    }

    public void Pause() { lock (_lock) _paused = true; }
    public void Resume() { lock (_lock) _paused = false; _signal.Release(); }

    /// <summary>Releases held (delayed/reordered) deliveries now and cancels remaining delay/reorder counts.</summary>
    public int Release()
    {
        int n;
        lock (_lock)
        {
            n = _reorderGroup.Count;
            _reorderNext = 0;
            FlushReorderGroupLocked();
            var now = _sw.ElapsedMilliseconds;
            foreach (var d in _pending.Where(d => d.Held || d.DueMs > now))
            {
                if (d.Attempt > 0) continue; // a retry waiting for backoff is not "held"
                d.Held = false; d.DueMs = now; n++;
            }
            _delayNext = 0;
        }
        _signal.Release();
        return n;
    }

    /// <summary>Queues a new event, applying the drop/duplicate/reorder/delay controls. Returns false if dropped or no endpoint.</summary>
    public bool Enqueue(string eventId, string eventType, string payload)
    {
        lock (_lock)
        {
            if (Url is null) { _skippedNoEndpoint++; return false; }
            if (EnabledEvents is not null && !EnabledEvents.Contains(eventType)) { _notSubscribed++; return false; }
            if (_dropNext > 0)
            {
                _dropNext--; _dropped++;
                AddLogLocked(eventId, eventType, 0, null, "dropped", "dropped by control", 0, "event");
                return false;
            }
            var copies = 1;
            if (_duplicateNext > 0) { _duplicateNext--; copies = 2; _duplicates++; }
            var now = _sw.ElapsedMilliseconds;
            for (var i = 0; i < copies; i++)
            {
                var d = new Delivery { EventId = eventId, EventType = eventType, Payload = payload, DueMs = now, Origin = i == 0 ? "event" : "duplicate" };
                if (_reorderNext > 0)
                {
                    _reorderGroup.Add(d);
                    continue;
                }
                if (_delayNext > 0)
                {
                    if (_delayMs < 0) d.Held = true; else d.DueMs = now + _delayMs;
                }
                AddPendingLocked(d);
            }
            if (_reorderNext > 0)
            {
                _reorderNext--;
                if (_reorderNext == 0) FlushReorderGroupLocked();
            }
            else if (_delayNext > 0) _delayNext--;
        }
        _signal.Release();
        return true;
    }

    /// <summary>Queues another delivery of an already-created event, bypassing the controls.</summary>
    public bool Redeliver(string eventId, string eventType, string payload)
    {
        lock (_lock)
        {
            if (Url is null) return false;
            _redeliveries++;
            AddPendingLocked(new Delivery { EventId = eventId, EventType = eventType, Payload = payload, DueMs = _sw.ElapsedMilliseconds, Origin = "redeliver" });
        }
        _signal.Release();
        return true;
    }

    void AddPendingLocked(Delivery d)
    {
        if (_pending.Count >= MaxPending)
        {
            _overflow++;
            AddLogLocked(d.EventId, d.EventType, 0, null, "dropped", "delivery queue full", 0, d.Origin);
            return;
        }
        d.Seq = ++_seq;
        _pending.Add(d);
    }

    void FlushReorderGroupLocked()
    {
        var now = _sw.ElapsedMilliseconds;
        for (var i = _reorderGroup.Count - 1; i >= 0; i--)
        {
            var d = _reorderGroup[i];
            d.DueMs = now;
            AddPendingLocked(d);
        }
        _reorderGroup.Clear();
    }

    /// <summary>Waits until nothing is queued (held deliveries excluded) and nothing is in flight.</summary>
    public async Task<bool> WaitIdleAsync(TimeSpan timeout, CancellationToken ct)
    {
        var until = _sw.Elapsed + timeout;
        while (true)
        {
            lock (_lock)
            {
                var busy = _inFlight > 0 || (!_paused && _pending.Any(d => !d.Held));
                if (!busy) return true;
            }
            if (_sw.Elapsed >= until) return false;
            await Task.Delay(20, ct);
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _generation++;
            _pending.Clear(); _reorderGroup.Clear(); _log.Clear();
            _paused = false;
            _duplicateNext = _dropNext = _delayNext = _reorderNext = 0; _delayMs = 0;
            _policy = new WebhookRetryPolicy();
            _attempts = _succeeded = _failedAttempts = _dropped = _gaveUp = _duplicates = _redeliveries = _overflow = _skippedNoEndpoint = _notSubscribed = 0;
            Url = _initialUrl; Secret = _initialSecret ?? DefaultSecret; EnabledEvents = _initialEvents;
        }
        _signal.Release();
    }

    public JsonObject Describe()
    {
        lock (_lock)
        {
            return new JsonObject
            {
                ["url"] = Url,
                ["secret"] = Secret,
                ["enabled_events"] = EnabledEvents is null ? new JsonArray("*") : new JsonArray(EnabledEvents.Order(StringComparer.Ordinal).Select(t => (JsonNode)t).ToArray()),
                ["paused"] = _paused,
                ["concurrency"] = MaxInFlight,
                ["retry"] = new JsonObject
                {
                    ["max_attempts"] = _policy.MaxAttempts,
                    ["initial_backoff_ms"] = _policy.InitialBackoffMs,
                    ["max_backoff_ms"] = _policy.MaxBackoffMs,
                    ["timeout_ms"] = _policy.TimeoutMs,
                },
                ["controls"] = new JsonObject
                {
                    ["duplicate_next"] = _duplicateNext,
                    ["drop_next"] = _dropNext,
                    ["delay_next"] = _delayNext,
                    ["delay_ms"] = _delayMs < 0 ? null : _delayMs,
                    ["reorder_next"] = _reorderNext,
                    ["reorder_collected"] = _reorderGroup.Count,
                },
            };
        }
    }

    public JsonObject Stats()
    {
        lock (_lock)
        {
            return new JsonObject
            {
                ["attempts"] = _attempts,
                ["succeeded"] = _succeeded,
                ["failed_attempts"] = _failedAttempts,
                ["gave_up"] = _gaveUp,
                ["dropped"] = _dropped,
                ["duplicates"] = _duplicates,
                ["redeliveries"] = _redeliveries,
                ["overflow_dropped"] = _overflow,
                ["skipped_no_endpoint"] = _skippedNoEndpoint,
                ["skipped_not_subscribed"] = _notSubscribed,
                ["pending"] = _pending.Count(d => !d.Held) + _inFlight,
                ["held"] = _pending.Count(d => d.Held) + _reorderGroup.Count,
                ["paused"] = _paused,
            };
        }
    }

    public JsonArray Deliveries(string? eventId, int limit)
    {
        lock (_lock)
        {
            var arr = new JsonArray();
            foreach (var r in _log.Where(r => eventId is null || (string?)r["event_id"] == eventId).TakeLast(Math.Clamp(limit, 1, MaxLog)))
                arr.Add(r.DeepClone());
            return arr;
        }
    }

    void AddLogLocked(string eventId, string type, int attempt, int? status, string outcome, string? error, long durationMs, string origin)
    {
        _log.AddLast(new JsonObject
        {
            ["id"] = $"whd_{++_logSeq:D6}",
            ["event_id"] = eventId,
            ["event_type"] = type,
            ["attempt"] = attempt,
            ["status_code"] = status,
            ["outcome"] = outcome,
            ["error"] = error,
            ["origin"] = origin,
            ["at"] = _clock.UnixNow,
            ["duration_ms"] = durationMs,
        });
        while (_log.Count > MaxLog) _log.RemoveFirst();
    }

    public static string SignatureHeader(string payload, string secret, long timestamp)
    {
        var t = timestamp.ToString(CultureInfo.InvariantCulture);
        using var h = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var sig = Convert.ToHexStringLower(h.ComputeHash(Encoding.UTF8.GetBytes(t + "." + payload)));
        return $"t={t},v1={sig}";
    }

    async Task LoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Delivery? next = null;
            var waitMs = Timeout.Infinite;
            string? url = null, secret = null;
            WebhookRetryPolicy policy;
            long generation;
            lock (_lock)
            {
                policy = _policy;
                generation = _generation;
                if (!_paused && Url is not null && _inFlight < MaxInFlight)
                {
                    Delivery? best = null;
                    foreach (var d in _pending)
                    {
                        if (d.Held) continue;
                        if (best is null || d.DueMs < best.DueMs || (d.DueMs == best.DueMs && d.Seq < best.Seq)) best = d;
                    }
                    if (best is not null)
                    {
                        var now = _sw.ElapsedMilliseconds;
                        if (best.DueMs <= now)
                        {
                            _pending.Remove(best);
                            next = best; _inFlight++; url = Url; secret = Secret;
                        }
                        else waitMs = (int)Math.Min(int.MaxValue, best.DueMs - now);
                    }
                }
            }
            if (next is null)
            {
                // Woken by a new event, a control change, or a delivery finishing (a slot free again).
                try { await _signal.WaitAsync(waitMs, ct); } catch (OperationCanceledException) { return; }
                continue;
            }
            // Not awaited: up to MaxInFlight deliveries run at once, each started in due order.
            _ = DeliverAsync(next, url!, secret!, policy, generation, ct);
        }
    }

    async Task DeliverAsync(Delivery next, string url, string secret, WebhookRetryPolicy policy, long generation, CancellationToken ct)
    {
        int? status = null; string? error = null;
        var started = _sw.ElapsedMilliseconds;
        try
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(policy.TimeoutMs);
            using var req = new HttpRequestMessage(HttpMethod.Post, url);
            req.Content = new StringContent(next.Payload, Encoding.UTF8, "application/json");
            req.Headers.TryAddWithoutValidation("Stripe-Signature", SignatureHeader(next.Payload, secret, _clock.UnixNow));
            req.Headers.UserAgent.ParseAdd("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
            using var resp = await _http.SendAsync(req, cts.Token);
            status = (int)resp.StatusCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { lock (_lock) _inFlight--; return; }
        catch (OperationCanceledException) { error = "timeout"; }
        catch (Exception e) { error = e.GetType().Name + ": " + e.Message; }

        var ok = status is >= 200 and < 300;
        var duration = _sw.ElapsedMilliseconds - started;
        var current = true;
        lock (_lock)
        {
            _inFlight--;
            if (generation != _generation) current = false; // reset while in flight
            else
            {
                next.Attempt++;
                _attempts++;
                if (ok)
                {
                    _succeeded++;
                    AddLogLocked(next.EventId, next.EventType, next.Attempt, status, "succeeded", null, duration, next.Origin);
                }
                else
                {
                    _failedAttempts++;
                    var retry = next.Attempt < policy.MaxAttempts;
                    AddLogLocked(next.EventId, next.EventType, next.Attempt, status, retry ? "failed_will_retry" : "failed_gave_up", error, duration, next.Origin);
                    if (retry)
                    {
                        next.DueMs = _sw.ElapsedMilliseconds + (long)policy.BackoffAfter(next.Attempt).TotalMilliseconds;
                        _pending.Add(next); // keeps its original Seq
                    }
                    else _gaveUp++;
                }
            }
        }
        if (ok && current)
        {
            try { Delivered?.Invoke(next.EventId); } catch { /* inspection only */ }
        }
        _signal.Release();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _signal.Release();
        try { await _loop; } catch { }
        // Deliveries in flight were cancelled with the loop; they finish within moments (bounded wait).
        for (var i = 0; i < 100 && Volatile.Read(ref _inFlight) > 0; i++) await Task.Delay(20);
        _http.Dispose();
        _stop.Dispose();
    }
}
