using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox.Tests;

public class ControlTests
{
    [Fact]
    public async Task Clock_starts_at_the_default_epoch_and_moves_only_when_told()
    {
        await using var sb = await Sandbox.StartAsync();
        var (_, c0) = await sb.Send(HttpMethod.Get, "/_control/clock");
        Assert.Equal("2026-01-01T00:00:00Z", (string)c0["now"]!);
        await Task.Delay(1100);
        Assert.Equal("2026-01-01T00:00:00Z", (string)(await sb.Send(HttpMethod.Get, "/_control/clock")).Body["now"]!);
        await sb.Advance(90);
        Assert.Equal("2026-01-01T00:01:30Z", (string)(await sb.Send(HttpMethod.Get, "/_control/clock")).Body["now"]!);
        var (bad, _) = await sb.Send(HttpMethod.Post, "/_control/clock/advance", new { seconds = -5 });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        await sb.SetClock(new DateTimeOffset(2025, 12, 31, 0, 0, 0, TimeSpan.Zero)); // PUT may go back
    }

    [Fact]
    public async Task Start_time_argument_sets_the_initial_clock()
    {
        await using var sb = await Sandbox.StartAsync("--start-time", "2026-04-08T06:00:00Z");
        Assert.Equal("2026-04-08T06:00:00Z", (string)(await sb.Send(HttpMethod.Get, "/_control/clock")).Body["now"]!);
    }

    [Fact]
    public async Task Correction_is_visible_in_every_later_response()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 31 });
        var id = (string)t["id"]!;
        await sb.SetClock(Sandbox.Start.AddDays(2).AddHours(2)); // round 3 in progress
        var before = await sb.Leaderboard(id);
        var target = Lb.Players(before).First(p => Lb.Status(p) is null);
        var pid = Lb.Id(target);
        var r1 = (int)Lb.Rounds(target).First()["strokes"]!;
        var total = (int)target["strokes"]!;

        // a round not yet completed cannot be corrected
        var (notYet, _) = await sb.Send(HttpMethod.Post, $"/_control/tournaments/{id}/corrections", new { player_id = pid, round = 4, strokes = 70 });
        Assert.Equal(HttpStatusCode.Conflict, notYet);

        var (status, c) = await sb.Send(HttpMethod.Post, $"/_control/tournaments/{id}/corrections", new { player_id = pid, round = 1, strokes = r1 + 2 });
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(r1, (int)c["previous_strokes"]!);

        var after = Lb.Players(await sb.Leaderboard(id)).First(p => Lb.Id(p) == pid);
        var round1 = Lb.Rounds(after).First();
        Assert.Equal(r1 + 2, (int)round1["strokes"]!);
        Assert.Equal(total + 2, (int)after["strokes"]!);
        Assert.Equal((int)round1["strokes"]! - 72, (int)round1["score"]!);

        await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
        var final = Lb.Players(await sb.Leaderboard(id)).First(p => Lb.Id(p) == pid);
        Assert.Equal(r1 + 2, (int)Lb.Rounds(final).First()["strokes"]!);
        var truth = (await sb.Send(HttpMethod.Get, $"/_control/tournaments/{id}")).Body;
        Assert.Single(truth["corrections"]!.AsArray());
    }

    [Fact]
    public async Task Cancelled_tournament_reports_cancelled_and_stays_frozen()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 32 });
        var id = (string)t["id"]!;
        await sb.SetClock(Sandbox.Start.AddDays(1).AddHours(2)); // round 2 in progress
        var live = await sb.Leaderboard(id);
        var (status, body) = await sb.Send(HttpMethod.Post, $"/_control/tournaments/{id}/cancel");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("cancelled", (string)body["status"]!);

        var (_, cancelledBytes, headers) = await sb.GetRaw(id);
        var cancelled = JsonNode.Parse(cancelledBytes)!.AsObject();
        Assert.Equal("cancelled", (string)cancelled["status"]!);
        Assert.Equal(["closed", "cancelled", "cancelled", "cancelled"], Lb.RoundStatuses(cancelled));
        Assert.Equal(live["leaderboard"]!.ToJsonString(), cancelled["leaderboard"]!.ToJsonString());
        Assert.Equal("max-age=300", headers.CacheControl!.ToString());

        await sb.Advance(5 * 24 * 3600);
        Assert.Equal(cancelledBytes, (await sb.GetRaw(id)).Body);
        Assert.Equal(HttpStatusCode.Conflict, (await sb.Send(HttpMethod.Post, $"/_control/tournaments/{id}/cancel")).Status);
    }

    [Fact]
    public async Task Suspended_play_stands_still_then_resumes_later_by_the_suspension()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["id"] = "delayed", ["seed"] = 33 });
        await sb.CreateTournament(new JsonObject { ["id"] = "twin", ["seed"] = 33 });
        var round2 = Lb.Time(t["schedule"]!["rounds"]![1]!["start"]);
        var until = round2.AddHours(6);
        await sb.SetClock(round2.AddHours(1));
        var before = await sb.Leaderboard("delayed");
        var (status, body) = await sb.Send(HttpMethod.Post, "/_control/tournaments/delayed/suspend", new { until = until.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("delayed", (string)body["status"]!);
        Assert.Equal(HttpStatusCode.Conflict, (await sb.Send(HttpMethod.Post, "/_control/tournaments/delayed/suspend", new { until = until.AddHours(1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") })).Status);

        await sb.SetClock(round2.AddHours(4));
        var during = await sb.Leaderboard("delayed");
        Assert.Equal("delayed", (string)during["status"]!);
        Assert.Equal(before["leaderboard"]!.ToJsonString(), during["leaderboard"]!.ToJsonString());

        // Five hours after the suspension began play is where the twin was one hour after its start... plus one more hour of play.
        await sb.SetClock(until.AddHours(1));
        var resumed = await sb.Leaderboard("delayed");
        await sb.SetClock(round2.AddHours(2));
        var twin = await sb.Leaderboard("twin");
        Assert.Equal("inprogress", (string)resumed["status"]!);
        Assert.Equal(twin["leaderboard"]!.ToJsonString(), resumed["leaderboard"]!.ToJsonString());
        Assert.NotEqual(before["leaderboard"]!.ToJsonString(), resumed["leaderboard"]!.ToJsonString());
    }

    [Fact]
    public async Task Suspension_before_the_first_tee_is_a_postponement()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["id"] = "later", ["seed"] = 34 });
        var firstTee = Lb.Time(t["schedule"]!["rounds"]![0]!["start"]);
        await sb.SetClock(firstTee.AddHours(-2));
        var (status, body) = await sb.Send(HttpMethod.Post, "/_control/tournaments/later/suspend", new { until = firstTee.AddDays(1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("postponed", (string)body["status"]!);
        await sb.SetClock(firstTee.AddHours(3));
        Assert.Equal("postponed", (string)(await sb.Leaderboard("later"))["status"]!);
        await sb.SetClock(firstTee.AddDays(1).AddHours(3));
        Assert.Equal("inprogress", (string)(await sb.Leaderboard("later"))["status"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await sb.Send(HttpMethod.Post, "/_control/tournaments/later/suspend", new { })).Status);
    }

    [Fact]
    public async Task Stats_count_requests_per_tournament_and_responses()
    {
        await using var sb = await Sandbox.StartAsync();
        await sb.CreateTournament(new JsonObject { ["id"] = "x", ["seed"] = 1 });
        await sb.CreateTournament(new JsonObject { ["id"] = "y", ["seed"] = 2 });
        for (var i = 0; i < 3; i++) await sb.GetRaw("x");
        await sb.GetRaw("y");
        Assert.Equal(HttpStatusCode.NotFound, (await sb.GetRaw("nope")).Status);
        var production = await sb.Http.GetAsync(Sandbox.LeaderboardPath("x", "production"));
        Assert.Equal(HttpStatusCode.OK, production.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await sb.Http.GetAsync(Sandbox.LeaderboardPath("x", "sandbox"))).StatusCode);

        var stats = await sb.Stats();
        Assert.Equal(6, (long)stats["leaderboard_requests"]!["total"]!);
        Assert.Equal(4, (long)stats["leaderboard_requests"]!["by_tournament"]!["x"]!);
        Assert.Equal(1, (long)stats["leaderboard_requests"]!["by_tournament"]!["y"]!);
        Assert.Equal(5, (long)stats["responses_by_status"]!["200"]!);
        Assert.Equal(1, (long)stats["responses_by_status"]!["404"]!);
        Assert.Equal(0, (long)stats["faults_applied"]!["total"]!);

        await sb.Send(HttpMethod.Delete, "/_control/stats");
        Assert.Equal(0, (long)(await sb.Stats())["leaderboard_requests"]!["total"]!);
    }

    [Fact]
    public async Task Api_key_is_required_when_configured_by_query_or_header()
    {
        await using var sb = await Sandbox.StartAsync("--api-key", "s3cret");
        await sb.CreateTournament(new JsonObject { ["id"] = "k", ["seed"] = 1 });
        Assert.Equal(HttpStatusCode.Unauthorized, (await sb.GetRaw("k")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sb.Http.GetAsync(Sandbox.LeaderboardPath("k") + "?api_key=wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sb.Http.GetAsync(Sandbox.LeaderboardPath("k") + "?api_key=s3cret")).StatusCode);
        using var req = new HttpRequestMessage(HttpMethod.Get, Sandbox.LeaderboardPath("k"));
        req.Headers.Add("x-api-key", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await sb.Http.SendAsync(req)).StatusCode);
        Assert.Equal(2, (long)(await sb.Stats())["responses_by_status"]!["401"]!);
    }

    [Fact]
    public async Task Published_dll_starts_logs_one_line_per_request_and_stops_gracefully_on_sigterm()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        var dll = Path.Combine(AppContext.BaseDirectory, "Fairway.ProviderSandbox.dll");
        Assert.True(File.Exists(dll));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--api-key", "k1", "--start-time", "2026-04-09T13:00:00Z" })
            psi.ArgumentList.Add(a);
        using var proc = Process.Start(psi)!;
        var lines = new List<string>();
        proc.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        proc.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        proc.BeginOutputReadLine();
        proc.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    if ((await http.GetAsync("/_control/health")).IsSuccessStatusCode) break;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                }
                Assert.False(proc.HasExited, "sandbox exited: " + string.Join("\n", lines));
                await Task.Delay(100);
            }
            Assert.Equal("2026-04-09T13:00:00Z", (string)JsonNode.Parse(await http.GetStringAsync("/_control/clock"))!["now"]!);
            var create = await http.PostAsync("/_control/tournaments",
                new StringContent("""{"id":"p1","seed":3,"start":"2026-04-09T12:00:00Z"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(Sandbox.LeaderboardPath("p1"))).StatusCode);
            var ok = await http.GetAsync(Sandbox.LeaderboardPath("p1") + "?api_key=k1");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("inprogress", (string)JsonNode.Parse(await ok.Content.ReadAsStringAsync())!["status"]!);
        }
        finally
        {
            if (!proc.HasExited) Process.Start("kill", ["-TERM", proc.Id.ToString()])!.WaitForExit();
        }
        var exited = proc.WaitForExit(10_000);
        if (!exited) proc.Kill(entireProcessTree: true);
        Assert.True(exited, "did not stop on SIGTERM");
        proc.WaitForExit();
        Assert.Equal(0, proc.ExitCode);
        lock (lines)
        {
            Assert.Equal(2, lines.Count(l => l.StartsWith("provider-sandbox GET /golf/trial/v3/en/tournaments/p1/leaderboard.json")));
            Assert.Contains(lines, l => l.Contains("leaderboard.json 401"));
            Assert.Contains(lines, l => l.Contains("Application is shutting down"));
        }
    }
}
