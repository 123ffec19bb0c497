using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Fairway.ProviderSandbox;

/// <summary>
/// Entry point of the provider sandbox: a local stand-in for the Sportradar Golf v3 API.
/// <c>ProviderSandboxApp.Build(args)</c> gives a ready-to-start <see cref="WebApplication"/>; tests start it
/// in-process with <c>--urls http://127.0.0.1:0</c> and read the bound address with <see cref="BoundAddress"/>.
/// </summary>
public static class ProviderSandboxApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(ProviderSandboxApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var config = builder.Configuration;

        var apiKey = FirstNonEmpty(config["api-key"], config["api_key"], config["PROVIDER_SANDBOX_API_KEY"]);
        var startText = FirstNonEmpty(config["start-time"], config["PROVIDER_SANDBOX_START_TIME"]);
        var start = SandboxClock.DefaultStart;
        if (startText is not null && !Json.TryParseTime(startText, out start))
            throw new ArgumentException($"--start-time '{startText}' is not an ISO-8601 time with offset (e.g. 2026-04-09T00:00:00Z)");
        var logRequests = !string.Equals(config["log-requests"], "false", StringComparison.OrdinalIgnoreCase);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var clock = new SandboxClock(start);
        var state = new SandboxState(clock);
        builder.Services.AddSingleton(clock);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton(state);

        var app = builder.Build();
        var stopping = app.Lifetime.ApplicationStopping;

        // One line per request on stdout.
        if (logRequests)
        {
            app.Use(async (ctx, next) =>
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    await next(ctx);
                }
                finally
                {
                    var fault = ctx.Items.TryGetValue("sandbox.fault", out var f) ? $" fault={f}" : "";
                    var status = ctx.Items.ContainsKey("sandbox.aborted") ? "aborted" : ctx.Response.StatusCode.ToString();
                    Console.Out.WriteLine(
                        $"provider-sandbox {ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString} {status} {sw.ElapsedMilliseconds}ms clock={Json.Time(clock.GetUtcNow())}{fault}");
                }
            });
        }

        // ------------------------------------------------------------ the provider API
        app.MapGet("/golf/{access}/v3/{lang}/tournaments/{tournamentId}/leaderboard.json",
            async (HttpContext ctx, string access, string lang, string tournamentId) =>
            {
                if (access is not ("trial" or "production") || lang.Length != 2)
                {
                    await WriteJson(ctx, 404, SandboxState.Error("Not Found"));
                    return;
                }
                state.CountRequest(tournamentId);
                if (apiKey is not null)
                {
                    var given = ctx.Request.Query["api_key"].FirstOrDefault() ?? ctx.Request.Headers["x-api-key"].FirstOrDefault();
                    if (!string.Equals(given, apiKey, StringComparison.Ordinal))
                    {
                        state.CountResponse("401");
                        await WriteJson(ctx, 401, SandboxState.Error("Invalid Authentication"));
                        return;
                    }
                }
                var plan = state.Plan(tournamentId);
                if (plan is null)
                {
                    state.CountResponse("404");
                    await WriteJson(ctx, 404, SandboxState.Error($"tournament '{tournamentId}' not found"));
                    return;
                }
                if (plan.Fault is not null) ctx.Items["sandbox.fault"] = plan.Fault;

                if (plan.Abort)
                {
                    state.CountResponse("aborted");
                    ctx.Items["sandbox.aborted"] = true;
                    ctx.Abort();
                    return;
                }
                if (plan.DelayMs > 0)
                {
                    using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
                    try
                    {
                        await Task.Delay(plan.DelayMs, cts.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        state.CountResponse("abandoned");
                        ctx.Items["sandbox.aborted"] = true;
                        ctx.Abort();
                        return;
                    }
                    plan = state.PlanNormal(tournamentId)! with { Fault = plan.Fault };
                }

                state.CountResponse(plan.StatusCode.ToString());
                ctx.Response.StatusCode = plan.StatusCode;
                ctx.Response.Headers.CacheControl = plan.StatusCode == 200 ? $"max-age={plan.MaxAge}" : "no-store";
                if (plan.RetryAfterSeconds > 0) ctx.Response.Headers.RetryAfter = plan.RetryAfterSeconds.ToString();
                ctx.Response.Headers["X-Sandbox-Clock"] = Json.Time(clock.GetUtcNow());
                if (plan.Fault is not null) ctx.Response.Headers["X-Sandbox-Fault"] = plan.Fault;
                ctx.Response.ContentType = "application/json; charset=utf-8";
                ctx.Response.ContentLength = plan.Body!.Length;
                await ctx.Response.Body.WriteAsync(plan.Body, ctx.RequestAborted);
            });

        // ------------------------------------------------------------ control API
        app.MapGet("/_control/health", (HttpContext ctx) => WriteJson(ctx, 200, new JsonObject { ["status"] = "ok", ["now"] = Json.Time(clock.GetUtcNow()) }));

        app.MapGet("/_control/clock", (HttpContext ctx) => WriteJson(ctx, 200, ClockJson(clock)));
        app.MapPut("/_control/clock", async (HttpContext ctx) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            var r = new BodyReader(body.Value, errors);
            var now = r.Time("now", required: true);
            if (errors.Count > 0) { await BadRequest(ctx, errors); return; }
            clock.SetUtcNow(now!.Value);
            await WriteJson(ctx, 200, ClockJson(clock));
        });
        app.MapPost("/_control/clock/advance", async (HttpContext ctx) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            var r = new BodyReader(body.Value, errors);
            var seconds = r.Decimal("seconds", required: true);
            if (seconds is < 0) errors.Add("'seconds' must be >= 0 (use PUT /_control/clock to go back)");
            if (errors.Count > 0) { await BadRequest(ctx, errors); return; }
            clock.Advance(TimeSpan.FromTicks((long)(seconds!.Value * TimeSpan.TicksPerSecond)));
            await WriteJson(ctx, 200, ClockJson(clock));
        });

        app.MapPost("/_control/tournaments", async (HttpContext ctx) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            var p = TournamentParameters.Parse(body.Value, clock.GetUtcNow(), errors);
            if (p is null) { await BadRequest(ctx, errors); return; }
            var (status, json) = state.CreateTournament(p);
            if (status == 201) ctx.Response.Headers.Location = $"/_control/tournaments/{p.Id}";
            await WriteJson(ctx, status, json);
        });
        app.MapGet("/_control/tournaments", (HttpContext ctx) => WriteJson(ctx, 200, state.ListTournaments()));
        app.MapGet("/_control/tournaments/{id}", (HttpContext ctx, string id) =>
            state.GetTruth(id) is { } truth ? WriteJson(ctx, 200, truth) : WriteJson(ctx, 404, SandboxState.Error($"tournament '{id}' not found")));
        app.MapPost("/_control/tournaments/{id}/corrections", async (HttpContext ctx, string id) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            foreach (var prop in body.Value.EnumerateObject())
                if (prop.Name is not ("player_id" or "round" or "strokes")) errors.Add($"unknown property '{prop.Name}'");
            var r = new BodyReader(body.Value, errors);
            var playerId = r.String("player_id", required: true);
            var round = r.Int("round", null, required: true);
            var strokes = r.Int("strokes", null, required: true);
            if (errors.Count > 0) { await BadRequest(ctx, errors); return; }
            var (status, json) = state.AddCorrection(id, playerId!, round!.Value, strokes!.Value);
            await WriteJson(ctx, status, json);
        });
        app.MapPost("/_control/tournaments/{id}/cancel", async (HttpContext ctx, string id) =>
        {
            var (status, json) = state.Cancel(id);
            await WriteJson(ctx, status, json);
        });

        app.MapPost("/_control/tournaments/{id}/suspend", async (HttpContext ctx, string id) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            foreach (var prop in body.Value.EnumerateObject())
                if (prop.Name != "until") errors.Add($"unknown property '{prop.Name}'");
            var until = new BodyReader(body.Value, errors).Time("until", required: true);
            if (errors.Count > 0) { await BadRequest(ctx, errors); return; }
            var (status, json) = state.Suspend(id, until!.Value);
            await WriteJson(ctx, status, json);
        });
        app.MapPost("/_control/faults", async (HttpContext ctx) =>
        {
            var (body, errors) = await ReadBody(ctx);
            if (body is null) { await BadRequest(ctx, errors); return; }
            foreach (var prop in body.Value.EnumerateObject())
                if (prop.Name is not ("tournament_id" or "kind" or "count" or "until" or "delay_ms" or "as_of"))
                    errors.Add($"unknown property '{prop.Name}'");
            var r = new BodyReader(body.Value, errors);
            var tournamentId = r.String("tournament_id");
            var kind = r.String("kind", required: true);
            var count = r.Int("count", null);
            var until = r.Time("until");
            var delayMs = r.Int("delay_ms", null);
            var asOf = r.Time("as_of");
            if (kind is not null && !FaultKinds.All.Contains(kind)) errors.Add($"unknown kind '{kind}'; kinds: {string.Join(", ", FaultKinds.All)}");
            if (count is < 1) errors.Add("'count' must be >= 1");
            if (delayMs is < 0 or > 600_000) errors.Add("'delay_ms' must be 0..600000");
            if (delayMs is not null && kind != FaultKinds.Timeout) errors.Add("'delay_ms' applies to kind 'timeout' only");
            if (asOf is not null && kind != FaultKinds.StaleRepeat) errors.Add("'as_of' applies to kind 'stale_repeat' only");
            if (errors.Count > 0) { await BadRequest(ctx, errors); return; }
            var (status, json) = state.AddFault(tournamentId, kind!, count, until, delayMs, asOf);
            await WriteJson(ctx, status, json);
        });
        app.MapGet("/_control/faults", (HttpContext ctx) => WriteJson(ctx, 200, state.ListFaults()));
        app.MapDelete("/_control/faults", (HttpContext ctx) =>
        {
            var removed = state.ClearFaults(tournamentId: ctx.Request.Query["tournament_id"].FirstOrDefault());
            return WriteJson(ctx, 200, new JsonObject { ["removed"] = removed });
        });
        app.MapDelete("/_control/faults/{faultId}", (HttpContext ctx, string faultId) =>
        {
            var removed = state.ClearFaults(faultId: faultId);
            return removed == 0
                ? WriteJson(ctx, 404, SandboxState.Error($"fault '{faultId}' not found"))
                : WriteJson(ctx, 200, new JsonObject { ["removed"] = removed });
        });

        app.MapGet("/_control/stats", (HttpContext ctx) => WriteJson(ctx, 200, state.Stats()));
        app.MapDelete("/_control/stats", (HttpContext ctx) =>
        {
            state.ResetStats();
            return WriteJson(ctx, 200, state.Stats());
        });
        app.MapPost("/_control/reset", (HttpContext ctx) =>
        {
            state.ResetAll();
            return WriteJson(ctx, 200, new JsonObject { ["reset"] = true, ["now"] = Json.Time(clock.GetUtcNow()) });
        });

        return app;
    }

    /// <summary>The first address the started app listens on, e.g. http://127.0.0.1:54321 (after StartAsync).</summary>
    public static Uri BoundAddress(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault() ?? throw new InvalidOperationException("the sandbox is not listening (call StartAsync first)");
        return new Uri(first.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1"));
    }

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    private static JsonObject ClockJson(SandboxClock clock) => new() { ["now"] = Json.Time(clock.GetUtcNow()) };

    private static async Task<(JsonElement? Body, List<string> Errors)> ReadBody(HttpContext ctx)
    {
        var errors = new List<string>();
        try
        {
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("body must be a JSON object");
                return (null, errors);
            }
            return (doc.RootElement.Clone(), errors);
        }
        catch (JsonException ex)
        {
            errors.Add($"body is not valid JSON: {ex.Message}");
            return (null, errors);
        }
    }

    private static Task BadRequest(HttpContext ctx, List<string> errors) =>
        WriteJson(ctx, 400, new JsonObject
        {
            ["message"] = "invalid request",
            ["errors"] = new JsonArray(errors.Select(e => (JsonNode)JsonValue.Create(e)).ToArray()),
        });

    private static async Task WriteJson(HttpContext ctx, int status, JsonNode body)
    {
        var bytes = Json.Bytes(body, pretty: ctx.Request.Query.ContainsKey("pretty"));
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }
}
