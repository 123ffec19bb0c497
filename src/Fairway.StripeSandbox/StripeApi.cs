using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>
/// Serves <c>/v1/*</c>: API-key check, fault injection, Idempotency-Key semantics, then
/// <see cref="SandboxState.Handle"/>.
/// </summary>
public sealed class StripeApi
{
    public const int MaxIdempotencyEntries = 50_000;
    /// <summary>Stripe documents that keys may be pruned once they are at least 24 hours old (sandbox clock).</summary>
    public static readonly TimeSpan IdempotencyKeyLifetime = TimeSpan.FromHours(24);

    sealed record ApiResponse(int Status, byte[] Body, bool Cacheable);
    sealed record IdemEntry(string Method, string Path, string Fingerprint, int Status, byte[] Body, long CreatedUnix);

    readonly SandboxState _state;
    readonly FaultRegistry _faults;
    readonly SandboxOptions _options;
    readonly ConcurrentDictionary<string, SemaphoreSlim> _keyLocks = new(StringComparer.Ordinal);
    readonly object _lock = new();
    readonly Dictionary<string, IdemEntry> _idem = new(StringComparer.Ordinal);
    readonly Queue<string> _idemOrder = new();
    readonly Dictionary<string, long> _requests = new(StringComparer.Ordinal);
    /// <summary>The TCP connections /v1 requests came in on (how a client pools its connections shows here).</summary>
    readonly HashSet<string> _connections = new(StringComparer.Ordinal);
    long _replays, _conflicts, _requestSeq, _pruned;

    public StripeApi(SandboxState state, FaultRegistry faults, SandboxOptions options)
    {
        _state = state; _faults = faults; _options = options;
    }

    public long Replays { get { lock (_lock) return _replays; } }
    public long Conflicts { get { lock (_lock) return _conflicts; } }
    public long Pruned { get { lock (_lock) return _pruned; } }

    /// <summary>
    /// Forgets every idempotency key created at least <paramref name="olderThan"/> ago (sandbox clock), as Stripe may
    /// once a key is 24 hours old; a request reusing a forgotten key is executed again. Returns how many were forgotten.
    /// </summary>
    public int Prune(TimeSpan olderThan)
    {
        var cutoff = _state.Clock.UnixNow - (long)olderThan.TotalSeconds;
        lock (_lock)
        {
            var old = _idem.Where(kv => kv.Value.CreatedUnix <= cutoff).Select(kv => kv.Key).ToList();
            foreach (var k in old) _idem.Remove(k);
            _pruned += old.Count;
            return old.Count;
        }
    }
    public long Connections { get { lock (_lock) return _connections.Count; } }

    public JsonObject RequestsByEndpoint()
    {
        lock (_lock)
        {
            var o = new JsonObject();
            foreach (var kv in _requests.OrderBy(k => k.Key, StringComparer.Ordinal)) o[kv.Key] = kv.Value;
            return o;
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _idem.Clear(); _idemOrder.Clear(); _requests.Clear(); _connections.Clear(); _replays = 0; _conflicts = 0; _pruned = 0;
        }
        _keyLocks.Clear();
    }

    static string EndpointKey(string method, string[] segs)
    {
        var parts = segs.Select((s, i) => i is 1 or 3 ? "{id}" : s);
        return $"{method} /v1/{string.Join('/', parts)}";
    }

    static string? PresentedKey(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization)) return null;
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        if (authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
                var colon = decoded.IndexOf(':');
                return colon < 0 ? decoded : decoded[..colon];
            }
            catch (FormatException) { return null; }
        }
        return null;
    }

    static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(Json.Options));

    public async Task HandleAsync(HttpContext ctx)
    {
        var method = ctx.Request.Method.ToUpperInvariant();
        var path = ctx.Request.Path.Value ?? "/v1";
        var segs = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        lock (_lock)
        {
            var k = EndpointKey(method, segs);
            _requests[k] = _requests.GetValueOrDefault(k) + 1;
            _connections.Add(ctx.Connection.Id);
        }
        var requestId = $"req_{_options.IdNamespace}_{Interlocked.Increment(ref _requestSeq):D6}";
        ctx.Response.Headers["Request-Id"] = requestId;
        // Stripe's Date header is Stripe's clock: clients that window listings by `created` bound them by it.
        ctx.Response.Headers.Date = _state.Clock.Now.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        ctx.Response.Headers["Stripe-Version"] = _state.ApiVersion;

        // 1. authentication
        var presented = PresentedKey(ctx.Request.Headers.Authorization);
        if (_options.ApiKey is not null && presented != _options.ApiKey)
        {
            var msg = presented is null
                ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                : $"Invalid API Key provided: {Mask(presented)}";
            await Write(ctx, new ApiResponse(401, Bytes(new StripeApiException(401, "invalid_request_error", null, msg).ToJson()), false), null, false);
            return;
        }

        // 2. parameters
        string raw;
        if (method is "POST")
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            raw = await reader.ReadToEndAsync(ctx.RequestAborted);
        }
        else raw = ctx.Request.QueryString.Value ?? "";
        var p = FormParams.Parse(raw);

        // 3. faults (before commit)
        var fault = _faults.Take(method, path, p.Pairs);
        if (fault is { Kind: "latency" })
        {
            await DelayQuietly(fault.DelayMs, ctx.RequestAborted);
            fault = null;
        }
        if (fault is { AfterCommit: false })
        {
            await ApplyFault(ctx, fault);
            return;
        }

        // 4. idempotency + execution
        var key = method == "POST" ? ctx.Request.Headers["Idempotency-Key"].ToString() : "";
        if (string.IsNullOrEmpty(key)) key = null;
        var baseUrl = $"{ctx.Request.Scheme}://{ctx.Request.Host}";
        ApiResponse resp;
        var replayed = false;
        if (key is not null)
        {
            if (key.Length > 255)
            {
                await Write(ctx, new ApiResponse(400, Bytes(StripeApiException.Invalid("Idempotency-Key", "Idempotency keys can be at most 255 characters long.").ToJson()), false), null, false);
                return;
            }
            var scope = (presented ?? "") + "\n" + key;
            var sem = _keyLocks.GetOrAdd(scope, _ => new SemaphoreSlim(1, 1));
            await sem.WaitAsync(ctx.RequestAborted);
            try
            {
                IdemEntry? entry;
                lock (_lock)
                {
                    _idem.TryGetValue(scope, out entry);
                    // Past its lifetime the key is forgotten on use, as Stripe may: the request runs again.
                    if (entry is not null && entry.CreatedUnix <= _state.Clock.UnixNow - (long)IdempotencyKeyLifetime.TotalSeconds)
                    {
                        _idem.Remove(scope);
                        _pruned++;
                        entry = null;
                    }
                }
                var fingerprint = p.Fingerprint();
                if (entry is not null)
                {
                    if (entry.Method == method && entry.Path == path && entry.Fingerprint == fingerprint)
                    {
                        lock (_lock) _replays++;
                        resp = new ApiResponse(entry.Status, entry.Body, true);
                        replayed = true;
                    }
                    else
                    {
                        lock (_lock) _conflicts++;
                        var err = new StripeApiException(400, "idempotency_error", null,
                            $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.");
                        resp = new ApiResponse(400, Bytes(err.ToJson()), false);
                    }
                }
                else
                {
                    resp = Execute(method, segs, p, new RequestInfo(requestId, key, baseUrl));
                    if (resp.Cacheable)
                    {
                        lock (_lock)
                        {
                            _idem[scope] = new IdemEntry(method, path, fingerprint, resp.Status, resp.Body, _state.Clock.UnixNow);
                            _idemOrder.Enqueue(scope);
                            while (_idemOrder.Count > MaxIdempotencyEntries)
                            {
                                var old = _idemOrder.Dequeue();
                                _idem.Remove(old);
                                _keyLocks.TryRemove(old, out _);
                            }
                        }
                    }
                }
            }
            finally { sem.Release(); }
        }
        else resp = Execute(method, segs, p, new RequestInfo(requestId, null, baseUrl));

        // 5. after_commit fault: the work is done (and stored under the key) but the caller never hears back
        if (fault is not null)
        {
            await ApplyFault(ctx, fault);
            return;
        }
        await Write(ctx, resp, key, replayed);
    }

    ApiResponse Execute(string method, string[] segs, FormParams p, RequestInfo info)
    {
        try
        {
            var obj = _state.Handle(method, segs, p, info);
            return new ApiResponse(200, Bytes(obj), true);
        }
        catch (StripeApiException e)
        {
            return new ApiResponse(e.Status, Bytes(e.ToJson()), e.Cacheable);
        }
        catch (Exception e)
        {
            var err = new StripeApiException(500, "api_error", null, "Sandbox internal error: " + e.Message);
            return new ApiResponse(500, Bytes(err.ToJson()), false);
        }
    }

    static async Task Write(HttpContext ctx, ApiResponse resp, string? key, bool replayed)
    {
        ctx.Response.StatusCode = resp.Status;
        ctx.Response.ContentType = "application/json";
        if (key is not null) ctx.Response.Headers["Idempotency-Key"] = key;
        if (replayed) ctx.Response.Headers["Idempotent-Replayed"] = "true";
        ctx.Response.ContentLength = resp.Body.Length;
        await ctx.Response.Body.WriteAsync(resp.Body);
    }

    static async Task DelayQuietly(int ms, CancellationToken ct)
    {
        if (ms <= 0) return;
        try { await Task.Delay(ms, ct); } catch (OperationCanceledException) { }
    }

    static async Task ApplyFault(HttpContext ctx, Fault fault)
    {
        if (fault.Kind is "timeout")
        {
            await DelayQuietly(fault.DelayMs, ctx.RequestAborted);
            ctx.Abort();
            return;
        }
        await DelayQuietly(fault.DelayMs, ctx.RequestAborted);
        if (fault.Kind is "connection_reset")
        {
            ctx.Abort();
            return;
        }
        var (status, err) = fault.Kind switch
        {
            "http_500" => (500, new StripeApiException(500, "api_error", null, "An unknown error occurred (sandbox injected fault http_500).")),
            "http_503" => (503, new StripeApiException(503, "api_error", null, "Service unavailable (sandbox injected fault http_503).")),
            "rate_limit_429" => (429, new StripeApiException(429, "invalid_request_error", "rate_limit", "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests (sandbox injected fault).")),
            "lock_timeout" => (429, new StripeApiException(429, "invalid_request_error", "lock_timeout", "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request (sandbox injected fault).")),
            _ => (500, new StripeApiException(500, "api_error", null, "Unknown sandbox fault.")),
        };
        await Write(ctx, new ApiResponse(status, Bytes(err.ToJson()), false), null, false);
    }

    static string Mask(string key) => key.Length <= 8 ? "****" : key[..8] + "****" + key[^4..];
}
