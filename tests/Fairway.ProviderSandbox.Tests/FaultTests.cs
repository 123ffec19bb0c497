using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox.Tests;

public class FaultTests
{
    private static readonly DateTimeOffset MidRound2 = Sandbox.Start.AddDays(1).AddHours(3);

    private static async Task<(Sandbox Sb, string Id)> Live(int seed = 21)
    {
        var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = seed });
        await sb.SetClock(MidRound2);
        return (sb, (string)t["id"]!);
    }

    [Theory]
    [InlineData("http_500", HttpStatusCode.InternalServerError)]
    [InlineData("http_503", HttpStatusCode.ServiceUnavailable)]
    public async Task Http_errors_apply_exactly_count_times(string kind, HttpStatusCode expected)
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { tournament_id = id, kind, count = 2 });
        Assert.Equal(expected, (await sb.GetRaw(id)).Status);
        Assert.Equal(expected, (await sb.GetRaw(id)).Status);
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(id)).Status);
        var stats = await sb.Stats();
        Assert.Equal(2, (long)stats["faults_applied"]!["by_kind"]![kind]!);
        Assert.Equal(2, (long)stats["faults_applied"]!["by_tournament"]![id]![kind]!);
        Assert.Equal(3, (long)stats["leaderboard_requests"]!["by_tournament"]![id]!);
        Assert.Equal(1, (long)stats["responses_by_status"]!["200"]!);
        Assert.Empty((await sb.Send(HttpMethod.Get, "/_control/faults")).Body["items"]!.AsArray()); // exhausted
    }

    [Fact]
    public async Task Until_is_measured_on_the_sandbox_clock()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { kind = "http_503", until = MidRound2.AddMinutes(5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        var (status, _, headers) = await sb.GetRaw(id);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(TimeSpan.FromSeconds(5), headers.RetryAfter!.Delta);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await sb.GetRaw(id)).Status);
        await sb.Advance(4 * 60);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await sb.GetRaw(id)).Status);
        await sb.Advance(60);
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(id)).Status);
    }

    [Fact]
    public async Task Faults_are_scoped_to_their_tournament_and_global_ones_hit_every_tournament_and_clearing_works()
    {
        await using var sb = await Sandbox.StartAsync();
        var a = (string)(await sb.CreateTournament(new JsonObject { ["id"] = "a", ["seed"] = 1 }))["id"]!;
        var b = (string)(await sb.CreateTournament(new JsonObject { ["id"] = "b", ["seed"] = 2 }))["id"]!;
        await sb.AddFault(new { tournament_id = a, kind = "http_500" });
        Assert.Equal(HttpStatusCode.InternalServerError, (await sb.GetRaw(a)).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await sb.GetRaw(a)).Status); // no count: until cleared
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(b)).Status);

        await sb.AddFault(new { kind = "http_503" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await sb.GetRaw(b)).Status);
        Assert.Equal(HttpStatusCode.InternalServerError, (await sb.GetRaw(a)).Status); // older fault first
        var listed = (await sb.Send(HttpMethod.Get, "/_control/faults")).Body["items"]!.AsArray();
        Assert.Equal(2, listed.Count);
        Assert.Equal(3, (int)listed[0]!["applied"]!);
        Assert.Null(listed[1]!["tournament_id"]);

        var (status, cleared) = await sb.Send(HttpMethod.Delete, "/_control/faults");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, (int)cleared["removed"]!);
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(a)).Status);
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(b)).Status);
        Assert.Empty((await sb.Send(HttpMethod.Get, "/_control/faults")).Body["items"]!.AsArray());
    }

    [Fact]
    public async Task Timeout_holds_the_response_so_a_short_client_timeout_fires()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { tournament_id = id, kind = "timeout", count = 1 });
        using var impatient = new HttpClient { BaseAddress = sb.BaseAddress, Timeout = TimeSpan.FromMilliseconds(500) };
        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<TaskCanceledException>(() => impatient.GetAsync(Sandbox.LeaderboardPath(id)));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(id, impatient)).Status); // count consumed
    }

    [Fact]
    public async Task Timeout_with_a_short_delay_is_a_slow_success()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { tournament_id = id, kind = "timeout", count = 1, delay_ms = 300 });
        var started = DateTime.UtcNow;
        var (status, body, headers) = await sb.GetRaw(id);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250));
        Assert.Equal("timeout", headers.GetValues("X-Sandbox-Fault").Single());
        JsonDocument.Parse(body).Dispose();
    }

    [Fact]
    public async Task Connection_refused_aborts_the_connection_without_a_response()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { tournament_id = id, kind = "connection_refused", count = 1 });
        await Assert.ThrowsAsync<HttpRequestException>(() => sb.Http.GetAsync(Sandbox.LeaderboardPath(id)));
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(id)).Status);
        var stats = await sb.Stats();
        Assert.Equal(1, (long)stats["faults_applied"]!["by_kind"]!["connection_refused"]!);
        Assert.Equal(1, (long)stats["responses_by_status"]!["aborted"]!);
    }

    private static readonly HashSet<string> KnownTournamentStatuses =
        ["scheduled", "created", "inprogress", "playoff", "delayed", "postponed", "complete", "closed", "cancelled"];

    private static IEnumerable<JsonElement> Players(JsonElement doc) => doc.GetProperty("leaderboard").EnumerateArray();

    private static IEnumerable<JsonElement> Rounds(JsonElement doc) =>
        Players(doc).SelectMany(p => p.TryGetProperty("rounds", out var r) ? r.EnumerateArray() : Enumerable.Empty<JsonElement>());

    [Theory]
    [InlineData("float_strokes")]
    [InlineData("negative_strokes")]
    [InlineData("missing_player_id")]
    [InlineData("duplicate_player")]
    [InlineData("round_beyond_count")]
    [InlineData("thru_out_of_range")]
    [InlineData("unknown_player_status")]
    [InlineData("unknown_tournament_status")]
    public async Task Malformed_payloads_are_200s_broken_exactly_as_described(string kind)
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        var good = await sb.GetRaw(id);
        using var goodDoc = JsonDocument.Parse(good.Body);
        Assert.True(IsValid(goodDoc.RootElement));

        await sb.AddFault(new { tournament_id = id, kind, count = 1 });
        var (status, body, headers) = await sb.GetRaw(id);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(kind, headers.GetValues("X-Sandbox-Fault").Single());
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.False(IsValid(root));
        switch (kind)
        {
            case "float_strokes":
                var f = Rounds(root).Select(r => r.GetProperty("strokes")).Single(s => !s.TryGetInt32(out _));
                Assert.Equal(0.5m, f.GetDecimal() % 1);
                break;
            case "negative_strokes":
                Assert.Single(Rounds(root), r => r.GetProperty("strokes").GetInt32() < 0);
                break;
            case "missing_player_id":
                Assert.Single(Players(root), p => !p.TryGetProperty("id", out _));
                break;
            case "duplicate_player":
                var ids = Players(root).Select(p => p.GetProperty("id").GetString()).ToList();
                Assert.Equal(ids.Count - 1, ids.Distinct().Count());
                break;
            case "round_beyond_count":
                Assert.Single(Rounds(root), r => r.GetProperty("sequence").GetInt32() == 5);
                break;
            case "thru_out_of_range":
                Assert.Single(Rounds(root), r => r.GetProperty("thru").GetInt32() is 19 or -1);
                break;
            case "unknown_player_status":
                Assert.Single(Players(root), p => p.TryGetProperty("status", out var s) && s.GetString() == "XYZ");
                break;
            case "unknown_tournament_status":
                Assert.DoesNotContain(root.GetProperty("status").GetString()!, KnownTournamentStatuses);
                break;
        }
        // one-shot: the next response is valid again and identical to the good one
        var next = await sb.GetRaw(id);
        Assert.Equal(good.Body, next.Body);
    }

    [Fact]
    public async Task Malformed_faults_still_break_a_scheduled_leaderboard_without_rounds()
    {
        await using var sb = await Sandbox.StartAsync();
        var id = (string)(await sb.CreateTournament())["id"]!;
        await sb.SetClock(Sandbox.Start.AddDays(-1));
        foreach (var kind in new[] { "float_strokes", "negative_strokes", "thru_out_of_range", "round_beyond_count" })
        {
            await sb.AddFault(new { tournament_id = id, kind, count = 1 });
            using var doc = JsonDocument.Parse((await sb.GetRaw(id)).Body);
            Assert.False(IsValid(doc.RootElement), kind);
        }
    }

    [Fact]
    public async Task Truncated_json_is_not_parseable_and_half_the_length()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        var good = (await sb.GetRaw(id)).Body;
        await sb.AddFault(new { tournament_id = id, kind = "truncated_json", count = 1 });
        var (status, body, _) = await sb.GetRaw(id);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(good.Length / 2, body.Length);
        Assert.Equal(good.Take(body.Length), body);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
    }

    [Fact]
    public async Task Thru_out_of_range_alternates_19_and_minus_1()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        await sb.AddFault(new { tournament_id = id, kind = "thru_out_of_range", count = 2 });
        using var first = JsonDocument.Parse((await sb.GetRaw(id)).Body);
        using var second = JsonDocument.Parse((await sb.GetRaw(id)).Body);
        Assert.Contains(Rounds(first.RootElement), r => r.GetProperty("thru").GetInt32() == 19);
        Assert.Contains(Rounds(second.RootElement), r => r.GetProperty("thru").GetInt32() == -1);
    }

    [Fact]
    public async Task Stale_repeat_serves_the_exact_bytes_of_an_earlier_response()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        var atT0 = (await sb.GetRaw(id)).Body;
        await sb.Advance(15 * 60);
        var atT1 = (await sb.GetRaw(id)).Body;
        Assert.NotEqual(atT0, atT1);
        await sb.Advance(15 * 60);

        // previous distinct response: the clock moved, so the last one served (T1) is now stale
        await sb.AddFault(new { tournament_id = id, kind = "stale_repeat", count = 1 });
        Assert.Equal(atT1, (await sb.GetRaw(id)).Body);

        var atT2 = (await sb.GetRaw(id)).Body;
        Assert.NotEqual(atT1, atT2);
        // same clock again: the previous distinct one is T1
        await sb.AddFault(new { tournament_id = id, kind = "stale_repeat", count = 1 });
        Assert.Equal(atT1, (await sb.GetRaw(id)).Body);

        // explicit as_of
        await sb.AddFault(new { tournament_id = id, kind = "stale_repeat", count = 1, as_of = MidRound2.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        Assert.Equal(atT0, (await sb.GetRaw(id)).Body);
        Assert.Equal(atT2, (await sb.GetRaw(id)).Body);
        Assert.Equal(3, (long)(await sb.Stats())["faults_applied"]!["by_kind"]!["stale_repeat"]!);
    }

    [Fact]
    public async Task Fault_validation_and_single_fault_deletion()
    {
        var (sb, id) = await Live();
        await using var __ = sb;
        var (bad, body) = await sb.Send(HttpMethod.Post, "/_control/faults", new { kind = "gremlins", count = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal(2, body["errors"]!.AsArray().Count);

        var f = await sb.AddFault(new { tournament_id = id, kind = "http_500" });
        Assert.Equal(HttpStatusCode.InternalServerError, (await sb.GetRaw(id)).Status);
        var (deleted, _) = await sb.Send(HttpMethod.Delete, $"/_control/faults/{(string)f["id"]!}");
        Assert.Equal(HttpStatusCode.OK, deleted);
        Assert.Equal(HttpStatusCode.OK, (await sb.GetRaw(id)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await sb.Send(HttpMethod.Delete, $"/_control/faults/{(string)f["id"]!}")).Status);
    }

    /// <summary>A small independent check of the leaderboard contract (what Fairway's ingestion must also enforce).</summary>
    private static bool IsValid(JsonElement root)
    {
        if (!root.TryGetProperty("status", out var st) || !KnownTournamentStatuses.Contains(st.GetString()!)) return false;
        var roundCount = root.GetProperty("rounds").GetArrayLength();
        var seen = new HashSet<string>();
        foreach (var p in Players(root))
        {
            if (!p.TryGetProperty("id", out var id) || !seen.Add(id.GetString()!)) return false;
            if (!p.GetProperty("strokes").TryGetInt32(out var total) || total < 0) return false;
            if (p.TryGetProperty("status", out var ps) && ps.GetString() is not ("CUT" or "WD" or "DQ" or "MDF")) return false;
            foreach (var r in p.GetProperty("rounds").EnumerateArray())
            {
                if (!r.GetProperty("strokes").TryGetInt32(out var s) || s < 0) return false;
                if (!r.GetProperty("thru").TryGetInt32(out var thru) || thru is < 0 or > 18) return false;
                if (r.GetProperty("sequence").GetInt32() is var seq && (seq < 1 || seq > roundCount)) return false;
            }
        }
        return true;
    }
}
