using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace Fairway.ProviderSandbox.Tests;

/// <summary>A provider sandbox started in-process on a free loopback port, spoken to over real HTTP.</summary>
public sealed class Sandbox : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 4, 9, 12, 0, 0, TimeSpan.Zero);

    private readonly WebApplication _app;

    public HttpClient Http { get; }
    public Uri BaseAddress { get; }

    private Sandbox(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };
    }

    public static async Task<Sandbox> StartAsync(params string[] extraArgs)
    {
        var args = new[] { "--urls", "http://127.0.0.1:0", "--log-requests", "false" }.Concat(extraArgs).ToArray();
        var app = ProviderSandboxApp.Build(args);
        await app.StartAsync();
        return new Sandbox(app, ProviderSandboxApp.BoundAddress(app));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public static string LeaderboardPath(string id, string access = "trial") => $"/golf/{access}/v3/en/tournaments/{id}/leaderboard.json";

    // ------------------------------------------------------------ control helpers

    public async Task<(HttpStatusCode Status, JsonObject Body)> Send(HttpMethod method, string path, object? body = null)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null)
            req.Content = new StringContent(body is JsonNode n ? n.ToJsonString() : JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var resp = await Http.SendAsync(req);
        var text = await resp.Content.ReadAsStringAsync();
        var node = JsonNode.Parse(text);
        return (resp.StatusCode, node as JsonObject ?? new JsonObject { ["items"] = node });
    }

    /// <summary>Creates a tournament; defaults: seed 42, start 2026-04-09T12:00Z, everything else the sandbox's defaults.</summary>
    public async Task<JsonObject> CreateTournament(JsonObject? body = null)
    {
        body ??= new JsonObject();
        body["seed"] ??= 42;
        body["start"] ??= "2026-04-09T12:00:00Z";
        var (status, json) = await Send(HttpMethod.Post, "/_control/tournaments", body);
        Assert.True(status == HttpStatusCode.Created, $"create failed: {status} {json.ToJsonString()}");
        return json;
    }

    public async Task SetClock(DateTimeOffset now)
    {
        var (status, json) = await Send(HttpMethod.Put, "/_control/clock", new { now = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(now, DateTimeOffset.Parse((string)json["now"]!));
    }

    public async Task Advance(long seconds)
    {
        var (status, _) = await Send(HttpMethod.Post, "/_control/clock/advance", new { seconds });
        Assert.Equal(HttpStatusCode.OK, status);
    }

    public async Task<JsonObject> AddFault(object fault)
    {
        var (status, json) = await Send(HttpMethod.Post, "/_control/faults", fault);
        Assert.True(status == HttpStatusCode.Created, $"fault failed: {status} {json.ToJsonString()}");
        return json;
    }

    public async Task<JsonObject> Stats() => (await Send(HttpMethod.Get, "/_control/stats")).Body;

    public async Task<(HttpStatusCode Status, byte[] Body, HttpResponseHeaders Headers)> GetRaw(string id, HttpClient? client = null)
    {
        using var resp = await (client ?? Http).GetAsync(LeaderboardPath(id));
        return (resp.StatusCode, await resp.Content.ReadAsByteArrayAsync(), resp.Headers);
    }

    /// <summary>GET the leaderboard, asserting 200 and valid JSON.</summary>
    public async Task<JsonObject> Leaderboard(string id)
    {
        var (status, body, _) = await GetRaw(id);
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonNode.Parse(body)!.AsObject();
    }
}

internal static class Lb
{
    public static IEnumerable<JsonObject> Players(JsonObject lb) => lb["leaderboard"]!.AsArray().Select(p => p!.AsObject());
    public static IEnumerable<JsonObject> Rounds(JsonObject player) => player["rounds"]!.AsArray().Select(r => r!.AsObject());
    public static string? Status(JsonObject player) => (string?)player["status"];
    public static string Id(JsonObject player) => (string)player["id"]!;
    public static int Int(JsonNode? n) => (int)n!;
    public static string[] RoundStatuses(JsonObject lb) => lb["rounds"]!.AsArray().Select(r => (string)r!["status"]!).ToArray();
    public static DateTimeOffset Time(JsonNode? n) => DateTimeOffset.Parse((string)n!);

    public static bool AllNumbersAreIntegers(JsonNode? node) => node switch
    {
        JsonObject o => o.All(kv => AllNumbersAreIntegers(kv.Value)),
        JsonArray a => a.All(AllNumbersAreIntegers),
        JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => v.ToJsonString().All(c => char.IsAsciiDigit(c) || c == '-'),
        _ => true,
    };
}
