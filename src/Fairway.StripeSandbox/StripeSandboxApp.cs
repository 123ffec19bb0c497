using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Fairway.StripeSandbox;

/// <summary>Start-up settings (command line: <c>--api-key</c>, <c>--webhook-url</c>, <c>--webhook-secret</c>, <c>--id-namespace</c>, <c>--api-version</c>, <c>--webhook-concurrency</c>, <c>--webhook-events</c>).</summary>
public sealed class SandboxOptions
{
    /// <summary>Stripe.net 53.1.0's <c>StripeConfiguration.ApiVersion</c>; events carry it as <c>api_version</c>.</summary>
    public const string StripeNetApiVersion = "2026-10-28.endive";

    /// <summary>When set, every /v1 request must carry <c>Authorization: Bearer &lt;ApiKey&gt;</c>.</summary>
    public string? ApiKey { get; set; }
    public string? WebhookUrl { get; set; }
    public string? WebhookSecret { get; set; }
    /// <summary>Middle part of generated ids: <c>pi_{IdNamespace}_000001</c>.</summary>
    public string IdNamespace { get; set; } = "sbx";
    public string ApiVersion { get; set; } = StripeNetApiVersion;
    /// <summary>Webhook deliveries in flight at once (1..16; 1: strictly one after another, in order).</summary>
    public int WebhookConcurrency { get; set; } = 1;
    /// <summary>The event types the endpoint subscribes to (Stripe's <c>enabled_events</c>), comma-separated; null or <c>*</c>: every type.</summary>
    public string? WebhookEvents { get; set; }

    public string[] ToArgs()
    {
        var a = new List<string>();
        if (ApiKey is not null) a.AddRange(["--api-key", ApiKey]);
        if (WebhookUrl is not null) a.AddRange(["--webhook-url", WebhookUrl]);
        if (WebhookSecret is not null) a.AddRange(["--webhook-secret", WebhookSecret]);
        if (WebhookEvents is not null) a.AddRange(["--webhook-events", WebhookEvents]);
        a.AddRange(["--id-namespace", IdNamespace, "--api-version", ApiVersion, "--webhook-concurrency", WebhookConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        return a.ToArray();
    }
}

/// <summary>A sandbox running in-process (see <see cref="StripeSandboxApp.StartAsync"/>).</summary>
public sealed class RunningSandbox : IAsyncDisposable
{
    internal RunningSandbox(WebApplication app, string baseUrl) { App = app; BaseUrl = baseUrl; }
    public WebApplication App { get; }
    /// <summary>e.g. <c>http://127.0.0.1:41234</c> (no trailing slash); use as Stripe.net's ApiBase.</summary>
    public string BaseUrl { get; }
    public SandboxState State => App.Services.GetRequiredService<SandboxState>();
    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

public static class StripeSandboxApp
{
    /// <summary>Starts a sandbox on a free loopback port in this process.</summary>
    public static async Task<RunningSandbox> StartAsync(SandboxOptions? options = null, CancellationToken ct = default)
    {
        var args = new List<string> { "--urls", "http://127.0.0.1:0" };
        args.AddRange((options ?? new SandboxOptions()).ToArgs());
        var app = Build(args.ToArray());
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningSandbox(app, address.TrimEnd('/'));
    }

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(StripeSandboxApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Server.Kestrel", LogLevel.Error);

        var cfg = builder.Configuration;
        var options = new SandboxOptions
        {
            ApiKey = NullIfEmpty(cfg["api-key"]),
            WebhookUrl = NullIfEmpty(cfg["webhook-url"]),
            WebhookSecret = NullIfEmpty(cfg["webhook-secret"]),
            IdNamespace = NullIfEmpty(cfg["id-namespace"]) ?? "sbx",
            ApiVersion = NullIfEmpty(cfg["api-version"]) ?? SandboxOptions.StripeNetApiVersion,
            WebhookConcurrency = NullIfEmpty(cfg["webhook-concurrency"]) is { } n ? int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : 1,
            WebhookEvents = NullIfEmpty(cfg["webhook-events"]),
        };
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<SandboxClock>();
        builder.Services.AddSingleton(sp => new WebhookDispatcher(sp.GetRequiredService<SandboxClock>(), options.WebhookUrl, options.WebhookSecret, options.WebhookConcurrency,
            options.WebhookEvents?.Split(',')));
        builder.Services.AddSingleton(sp => new SandboxState(sp.GetRequiredService<SandboxClock>(), sp.GetRequiredService<WebhookDispatcher>(), options.ApiVersion, options.IdNamespace));
        builder.Services.AddSingleton<FaultRegistry>();
        builder.Services.AddSingleton<StripeApi>();

        var app = builder.Build();
        var api = app.Services.GetRequiredService<StripeApi>();
        app.Map("/v1/{**rest}", (HttpContext ctx) => api.HandleAsync(ctx));
        app.Map("/v1", (HttpContext ctx) => api.HandleAsync(ctx));
        ControlApi.Map(app);
        return app;
    }

    static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
}

/// <summary>The <c>/_sandbox/*</c> control endpoints (JSON in, JSON out, no auth).</summary>
static class ControlApi
{
    static IResult J(JsonNode node, int status = 200) => Results.Text(node.ToJsonString(Json.Options), "application/json", statusCode: status);

    static IResult Err(int status, string message) => J(new JsonObject { ["error"] = new JsonObject { ["message"] = message } }, status);

    static IResult FromStripe(StripeApiException e) => J(e.ToJson(), e.Status);

    static async Task<JsonObject> Body(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body);
        var text = await reader.ReadToEndAsync(ctx.RequestAborted);
        if (string.IsNullOrWhiteSpace(text)) return new JsonObject();
        try { return JsonNode.Parse(text) as JsonObject ?? throw new BadRequestException("body must be a JSON object"); }
        catch (JsonException e) { throw new BadRequestException("invalid JSON: " + e.Message); }
    }

    sealed class BadRequestException(string message) : Exception(message);

    static int? Int(JsonObject b, string name)
    {
        var n = b[name];
        if (n is null) return null;
        try
        {
            if (n is JsonValue v && v.TryGetValue<string>(out var s)) return int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
            return n.GetValue<int>();
        }
        catch (Exception) { throw new BadRequestException($"{name} must be an integer"); }
    }

    static string? Str(JsonObject b, string name)
    {
        var n = b[name];
        return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    }

    static bool? Bool(JsonObject b, string name)
    {
        var n = b[name];
        return n is JsonValue v && v.TryGetValue<bool>(out var x) ? x : null;
    }

    /// <summary>Wraps a handler: JSON errors for bad input and Stripe-shaped errors for bad state.</summary>
    static Func<HttpContext, Task<IResult>> H(Func<HttpContext, JsonObject, Task<IResult>> f) => async ctx =>
    {
        try { return await f(ctx, await Body(ctx)); }
        catch (BadRequestException e) { return Err(400, e.Message); }
        catch (ArgumentException e) { return Err(400, e.Message); }
        catch (StripeApiException e) { return FromStripe(e); }
        catch (Exception e) when (e is not OperationCanceledException) { return Err(500, "sandbox internal error: " + e.Message); }
    };

    static Func<HttpContext, Task<IResult>> H(Func<HttpContext, JsonObject, IResult> f) => H((c, b) => Task.FromResult(f(c, b)));

    static string R(HttpContext ctx, string name) => (string)ctx.Request.RouteValues[name]!;

    public static void Map(WebApplication app)
    {
        var state = app.Services.GetRequiredService<SandboxState>();
        var hooks = app.Services.GetRequiredService<WebhookDispatcher>();
        var faults = app.Services.GetRequiredService<FaultRegistry>();
        var api = app.Services.GetRequiredService<StripeApi>();
        var clock = app.Services.GetRequiredService<SandboxClock>();
        var g = app.MapGroup("/_sandbox");

        g.MapGet("/health", () => J(new JsonObject { ["ok"] = true, ["api_version"] = state.ApiVersion, ["webhook"] = hooks.Describe() }));

        g.MapPost("/reset", H((ctx, b) =>
        {
            var resetIds = Bool(b, "reset_ids") ?? false;
            faults.Clear(resetCounters: true);
            hooks.Reset();
            api.Reset();
            state.Reset(resetIds);
            clock.UseRealTime();
            return J(new JsonObject { ["reset"] = true, ["reset_ids"] = resetIds });
        }));

        // ---- clock
        g.MapGet("/clock", () => J(clock.Describe()));
        g.MapPut("/clock", H((ctx, b) =>
        {
            if (Bool(b, "real") == true) clock.UseRealTime();
            else if (b.ContainsKey("now"))
            {
                var at = SandboxClock.ParseInstant(b["now"]) ?? throw new BadRequestException("now must be unix seconds or an ISO-8601 string");
                clock.Freeze(at);
            }
            else if (Int(b, "offset_seconds") is { } off) clock.SetOffset(TimeSpan.FromSeconds(off));
            if (Int(b, "advance_seconds") is { } adv) clock.Advance(TimeSpan.FromSeconds(adv));
            return J(clock.Describe());
        }));
        g.MapDelete("/clock", () => { clock.UseRealTime(); return J(clock.Describe()); });

        // ---- idempotency keys: forget the old ones now (Stripe may prune keys once they are 24 h old)
        g.MapPost("/idempotency/prune", H((ctx, b) =>
        {
            var olderThan = Int(b, "older_than_seconds") ?? (long)StripeApi.IdempotencyKeyLifetime.TotalSeconds;
            if (olderThan < 0) throw new BadRequestException("older_than_seconds must be >= 0");
            return J(new JsonObject { ["pruned"] = api.Prune(TimeSpan.FromSeconds(olderThan)), ["older_than_seconds"] = olderThan });
        }));

        // ---- webhooks
        g.MapGet("/webhook", () => J(hooks.Describe()));
        g.MapPut("/webhook", H((ctx, b) =>
        {
            IEnumerable<string>? events = null;
            if (b["enabled_events"] is { } list)
            {
                if (list is not JsonArray items || items.Any(i => i is not JsonValue v || !v.TryGetValue<string>(out _)))
                    throw new BadRequestException("enabled_events must be an array of event type strings");
                events = items.Select(i => i!.GetValue<string>()).ToList();
                if (!events.Any()) throw new BadRequestException("enabled_events must name at least one event type (or \"*\")");
            }
            hooks.Configure(Str(b, "url"), Str(b, "secret"), events);
            return J(hooks.Describe());
        }));
        g.MapPut("/webhooks/retry", H((ctx, b) =>
        {
            hooks.SetRetryPolicy(Int(b, "max_attempts"), Int(b, "initial_backoff_ms"), Int(b, "max_backoff_ms"), Int(b, "timeout_ms"));
            return J(hooks.Describe());
        }));
        g.MapPost("/webhooks/duplicate", H((ctx, b) => { hooks.Duplicate(Int(b, "count") ?? 1); return J(hooks.Describe()); }));
        g.MapPost("/webhooks/drop", H((ctx, b) => { hooks.Drop(Int(b, "count") ?? 1); return J(hooks.Describe()); }));
        g.MapPost("/webhooks/delay", H((ctx, b) => { hooks.Delay(Int(b, "count") ?? 1, Int(b, "delay_ms")); return J(hooks.Describe()); }));
        g.MapPost("/webhooks/reorder", H((ctx, b) => { hooks.Reorder(Int(b, "count") ?? 2); return J(hooks.Describe()); }));
        g.MapPost("/webhooks/pause", () => { hooks.Pause(); return J(hooks.Describe()); });
        g.MapPost("/webhooks/resume", () => { hooks.Resume(); return J(hooks.Describe()); });
        g.MapPost("/webhooks/release", () =>
        {
            var n = hooks.Release();
            var d = hooks.Describe(); d["released"] = n;
            return J(d);
        });
        g.MapPost("/webhooks/wait_idle", H(async (ctx, b) =>
        {
            var idle = await hooks.WaitIdleAsync(TimeSpan.FromMilliseconds(Int(b, "timeout_ms") ?? 10_000), ctx.RequestAborted);
            var s = hooks.Stats(); s["idle"] = idle;
            return J(s);
        }));
        g.MapGet("/webhooks/deliveries", (HttpContext ctx) =>
        {
            var eventId = ctx.Request.Query["event_id"].ToString();
            var limit = int.TryParse(ctx.Request.Query["limit"], out var l) ? l : 1000;
            return J(new JsonObject
            {
                ["object"] = "list",
                ["data"] = hooks.Deliveries(string.IsNullOrEmpty(eventId) ? null : eventId, limit),
                ["stats"] = hooks.Stats(),
            });
        });
        g.MapPost("/events/{id}/redeliver", H((ctx, b) =>
        {
            var id = R(ctx, "id");
            if (state.Peek(id) is null) return Err(404, $"No such event: '{id}'");
            if (!state.Redeliver(id)) return Err(409, "No webhook endpoint configured (PUT /_sandbox/webhook).");
            return J(new JsonObject { ["redelivering"] = id });
        }));

        // ---- customer actions on payment intents
        foreach (var action in new[] { "succeed", "fail", "require_action" })
        {
            g.MapPost($"/payment_intents/{{id}}/{action}", H((ctx, b) =>
                J(state.CustomerAct(R(ctx, "id"), action, Str(b, "decline_code"), Str(b, "message")))));
        }

        // ---- refunds
        g.MapPost("/refunds/pending_next", H((ctx, b) =>
        {
            var n = Int(b, "count") ?? 1;
            state.SetPendingRefunds(n);
            return J(new JsonObject { ["pending_next"] = n });
        }));
        g.MapPost("/payment_intents/{id}/refuse_refunds", H((ctx, b) =>
        {
            var reason = Str(b, "failure_reason") ?? "expired_or_canceled_card";
            state.RefuseRefunds(R(ctx, "id"), reason);
            return J(new JsonObject { ["payment_intent"] = R(ctx, "id"), ["refunds_fail_with"] = reason });
        }));
        g.MapPost("/payment_intents/{id}/accept_refunds", H((ctx, b) =>
        {
            state.AcceptRefunds(R(ctx, "id"));
            return J(new JsonObject { ["payment_intent"] = R(ctx, "id"), ["refunds_fail_with"] = null });
        }));
        g.MapPost("/refunds/{id}/succeed", H((ctx, b) => J(state.SettleRefund(R(ctx, "id"), true, null))));
        g.MapPost("/refunds/{id}/fail", H((ctx, b) => J(state.SettleRefund(R(ctx, "id"), false, Str(b, "failure_reason")))));

        // ---- accounts
        g.MapPost("/accounts/{id}/complete_onboarding", H((ctx, b) => J(state.SetAccountState(R(ctx, "id"), "active"))));
        g.MapPost("/accounts/{id}/restrict", H((ctx, b) => J(state.SetAccountState(R(ctx, "id"), "restricted"))));
        g.MapPost("/accounts/{id}/invalidate", H((ctx, b) => J(state.SetAccountState(R(ctx, "id"), "invalid"))));
        // target of AccountLink.url: "the connected account finishes onboarding", then back to return_url
        g.MapGet("/onboarding/{id}", (HttpContext ctx) =>
        {
            try
            {
                state.SetAccountState(R(ctx, "id"), "active");
            }
            catch (StripeApiException e) { return FromStripe(e); }
            var ret = ctx.Request.Query["return_url"].ToString();
            return string.IsNullOrEmpty(ret)
                ? Results.Text("Onboarding complete (Fairway Stripe sandbox).", "text/plain")
                : Results.Redirect(ret);
        });

        // ---- disputes
        g.MapPost("/charges/{id}/dispute", H((ctx, b) =>
        {
            long? amount = Int(b, "amount");
            return J(state.CreateDispute(R(ctx, "id"), amount, Str(b, "reason")));
        }));
        g.MapPost("/disputes/{id}/close", H((ctx, b) =>
            J(state.CloseDispute(R(ctx, "id"), Str(b, "status") ?? throw new BadRequestException("status (won|lost) is required")))));

        // ---- fees and actions behind Fairway's back (as in the Dashboard)
        g.MapGet("/fees", () => J(state.Fees()));
        g.MapPut("/fees", H((ctx, b) => J(state.SetFees(Int(b, "percent_bps"), Int(b, "fixed"), Int(b, "dispute_fee")))));
        foreach (var action in new[] { "refunds", "transfers", "balance_adjustments" })
        {
            g.MapPost($"/outside/{action}", H((ctx, b) =>
            {
                var deliver = Bool(b, "deliver_webhooks") ?? true;
                b.Remove("deliver_webhooks");
                return J(state.Outside(action, SandboxState.FormFromJson(b), deliver));
            }));
        }

        // ---- faults
        g.MapPost("/faults", H((ctx, b) =>
        {
            var kind = Str(b, "kind") ?? throw new BadRequestException("kind is required");
            var prefix = Str(b, "path_prefix") ?? "/v1/";
            var f = faults.Add(Str(b, "method"), prefix, kind, Int(b, "count") ?? 1, Int(b, "delay_ms"), Bool(b, "after_commit") ?? false,
                Str(b, "param_name"), Str(b, "param_value"));
            return J(f.ToJson());
        }));
        g.MapGet("/faults", () => J(new JsonObject { ["data"] = faults.List(), ["injected"] = faults.Injected }));
        g.MapDelete("/faults", () => { faults.Clear(); return J(new JsonObject { ["cleared"] = true }); });
        g.MapDelete("/faults/{id}", (string id) => faults.Remove(id) ? J(new JsonObject { ["deleted"] = id }) : Err(404, $"No such fault: '{id}'"));

        // ---- inspection
        g.MapGet("/stats", () => J(state.Stats(api.RequestsByEndpoint(), api.Replays, api.Conflicts, faults.Injected, api.Pruned, api.Connections)));
        g.MapGet("/objects/{id}", (string id) => state.Peek(id) is { } o ? J(o) : Err(404, $"No such object: '{id}'"));
    }
}
