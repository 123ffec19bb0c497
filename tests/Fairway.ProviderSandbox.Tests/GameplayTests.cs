using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox.Tests;

public class GameplayTests
{
    private static readonly DateTimeOffset Start = Sandbox.Start;

    [Fact]
    public async Task Status_progresses_scheduled_inprogress_complete_closed_with_round_statuses_and_cache_headers()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 11 });
        var id = (string)t["id"]!;
        var schedule = t["schedule"]!;
        var completeAt = Lb.Time(schedule["complete_at"]);
        var closedAt = Lb.Time(schedule["closed_at"]);
        Assert.Equal(Start.AddDays(3).AddMinutes(300), completeAt);
        Assert.Equal(completeAt.AddMinutes(60), closedAt);

        async Task<(string Status, string[] Rounds, JsonObject Lb, string CacheControl)> At(DateTimeOffset now)
        {
            await sb.SetClock(now);
            var (_, body, headers) = await sb.GetRaw(id);
            var lb = JsonNode.Parse(body)!.AsObject();
            return ((string)lb["status"]!, Lb.RoundStatuses(lb), lb, headers.CacheControl!.ToString());
        }

        var pre = await At(Start.AddHours(-1));
        Assert.Equal("scheduled", pre.Status);
        Assert.Equal(["scheduled", "scheduled", "scheduled", "scheduled"], pre.Rounds);
        Assert.Equal(156, Lb.Players(pre.Lb).Count());
        Assert.All(Lb.Players(pre.Lb), p => Assert.Empty(Lb.Rounds(p)));
        Assert.Equal("max-age=300", pre.CacheControl);

        var r1 = await At(Start.AddHours(2));
        Assert.Equal("inprogress", r1.Status);
        Assert.Equal(["inprogress", "scheduled", "scheduled", "scheduled"], r1.Rounds);
        Assert.Equal("max-age=10", r1.CacheControl);

        var between = await At(Start.AddHours(10));
        Assert.Equal("inprogress", between.Status);
        Assert.Equal(["closed", "scheduled", "scheduled", "scheduled"], between.Rounds);
        Assert.All(Lb.Players(between.Lb).Where(p => Lb.Status(p) is null), p => Assert.Equal(18, (int)Lb.Rounds(p).Single()["thru"]!));

        var r4 = await At(Start.AddDays(3).AddHours(1));
        Assert.Equal(["closed", "closed", "closed", "inprogress"], r4.Rounds);

        var complete = await At(completeAt);
        Assert.Equal("complete", complete.Status);
        Assert.Equal(["closed", "closed", "closed", "complete"], complete.Rounds);
        Assert.Equal("max-age=300", complete.CacheControl);

        var stillComplete = await At(closedAt.AddSeconds(-1));
        Assert.Equal("complete", stillComplete.Status);

        var closed = await At(closedAt);
        Assert.Equal("closed", closed.Status);
        Assert.Equal(["closed", "closed", "closed", "closed"], closed.Rounds);
        Assert.Equal(1, (int)Lb.Players(closed.Lb).First()["position"]!);
        Assert.False((bool)Lb.Players(closed.Lb).First()["tied"]!);
    }

    [Fact]
    public async Task Thru_advances_with_time_and_partial_rounds_count_strokes_so_far()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 12 });
        var id = (string)t["id"]!;
        var pars = t["course"]!["hole_pars"]!.AsArray().Select(x => (int)x!).ToArray();

        await sb.SetClock(Start.AddMinutes(100));
        var early = await sb.Leaderboard(id);
        await sb.SetClock(Start.AddMinutes(200));
        var later = await sb.Leaderboard(id);

        var earlyThru = Lb.Players(early).ToDictionary(Lb.Id, p => (int)Lb.Rounds(p).Single()["thru"]!);
        var laterThru = Lb.Players(later).ToDictionary(Lb.Id, p => (int)Lb.Rounds(p).Single()["thru"]!);
        Assert.Contains(earlyThru.Values, x => x is > 0 and < 18);   // some mid-round
        Assert.Contains(earlyThru.Values, x => x == 0);              // late tee times not started
        Assert.All(earlyThru, kv => Assert.True(laterThru[kv.Key] >= kv.Value));
        Assert.True(laterThru.Values.Sum() > earlyThru.Values.Sum() + 156);

        foreach (var p in Lb.Players(later))
        {
            var r = Lb.Rounds(p).Single();
            var thru = (int)r["thru"]!;
            var strokes = (int)r["strokes"]!;
            Assert.Equal(strokes - pars.Take(thru).Sum(), (int)r["score"]!);
            Assert.Equal(thru, (int)r["eagles"]! + (int)r["birdies"]! + (int)r["pars"]! + (int)r["bogeys"]! + (int)r["double_bogeys"]! + (int)r["other_scores"]!);
            Assert.Equal(strokes, (int)p["strokes"]!);
            if (thru == 0) Assert.Equal(0, strokes);
            else Assert.InRange(strokes, thru, thru * 8);
        }
        // positions follow score, ties share a position
        var active = Lb.Players(later).Where(p => Lb.Status(p) is null).ToList();
        for (var i = 1; i < active.Count; i++)
        {
            Assert.True((int)active[i]["score"]! >= (int)active[i - 1]["score"]!);
            if ((int)active[i]["score"]! == (int)active[i - 1]["score"]!)
            {
                Assert.Equal((int)active[i - 1]["position"]!, (int)active[i]["position"]!);
                Assert.True((bool)active[i]["tied"]!);
            }
            else Assert.Equal(i + 1, (int)active[i]["position"]!);
        }
    }

    [Fact]
    public async Task Cut_keeps_top_M_and_ties_and_cut_players_play_no_more()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 13, ["cut_keep"] = 65 });
        var id = (string)t["id"]!;
        var round2End = Lb.Time(t["schedule"]!["rounds"]![1]!["end"]);

        await sb.SetClock(round2End.AddSeconds(-1));
        var before = await sb.Leaderboard(id);
        Assert.DoesNotContain(Lb.Players(before), p => Lb.Status(p) == "CUT");

        await sb.SetClock(round2End);
        var after = await sb.Leaderboard(id);
        var cut = Lb.Players(after).Where(p => Lb.Status(p) == "CUT").ToList();
        var made = Lb.Players(after).Where(p => Lb.Status(p) is null).ToList();
        Assert.NotEmpty(cut);
        Assert.True(made.Count >= 65);
        var line = made.Select(p => (int)p["strokes"]!).OrderBy(s => s).ElementAt(64);
        Assert.All(made, p => Assert.True((int)p["strokes"]! <= line));
        Assert.All(cut, p => Assert.True((int)p["strokes"]! > line));
        Assert.Equal(line, (int)t["cut"]!["line_strokes"]!);
        Assert.Equal(cut.Count, (int)t["cut"]!["cut_count"]!);
        // CUT players come after everyone still playing, positions continue after the made-cut group
        Assert.True(cut.Min(p => (int)p["position"]!) > made.Count);

        await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
        var final = await sb.Leaderboard(id);
        foreach (var p in Lb.Players(final))
        {
            if (Lb.Status(p) == "CUT") Assert.Equal([1, 2], Lb.Rounds(p).Select(r => (int)r["sequence"]!).ToArray());
            if (Lb.Status(p) is null) Assert.Equal([1, 2, 3, 4], Lb.Rounds(p).Select(r => (int)r["sequence"]!).ToArray());
        }
        Assert.Equal(cut.Count, Lb.Players(final).Count(p => Lb.Status(p) == "CUT"));
    }

    [Fact]
    public async Task Withdrawals_include_a_mid_round_one_and_disqualifications_sit_at_the_bottom()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 14, ["withdrawals"] = 3, ["disqualifications"] = 2 });
        var id = (string)t["id"]!;
        await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
        var lb = await sb.Leaderboard(id);
        var players = Lb.Players(lb).ToList();
        var wd = players.Where(p => Lb.Status(p) == "WD").ToList();
        var dq = players.Where(p => Lb.Status(p) == "DQ").ToList();
        Assert.Equal(3, wd.Count);
        Assert.Equal(2, dq.Count);
        // at least one withdrew mid-round: last round has thru < 18 and there are no later rounds
        var mid = wd.Where(p => (int)Lb.Rounds(p).Last()["thru"]! < 18).ToList();
        Assert.NotEmpty(mid);
        foreach (var p in mid)
        {
            var rounds = Lb.Rounds(p).ToList();
            Assert.InRange((int)rounds[^1]["thru"]!, 1, 17);
            Assert.All(rounds.SkipLast(1), r => Assert.Equal(18, (int)r["thru"]!));
            Assert.True(rounds.Count <= 2); // withdrawals happen before the cut
        }
        Assert.All(dq, p => Assert.Equal(18, (int)Lb.Rounds(p).Last()["thru"]!));
        // WD then DQ occupy the last places
        Assert.Equal(["WD", "WD", "WD", "DQ", "DQ"], players.TakeLast(5).Select(p => Lb.Status(p)!).ToArray());
        Assert.Equal(Enumerable.Range(players.Count - 4, 5).ToArray(), players.TakeLast(5).Select(p => (int)p["position"]!).ToArray());

        // The mid-round withdrawal is visible as it happens: status appears only once the player stops.
        var truth = t["players"]!.AsArray().Select(p => p!.AsObject()).First(p => (string)p["id"]! == Lb.Id(mid[0]));
        var at = Lb.Time(truth["status_at"]);
        await sb.SetClock(at.AddSeconds(-1));
        var justBefore = Lb.Players(await sb.Leaderboard(id)).First(p => Lb.Id(p) == Lb.Id(mid[0]));
        Assert.Null(Lb.Status(justBefore));
        await sb.SetClock(at);
        var atWd = Lb.Players(await sb.Leaderboard(id)).First(p => Lb.Id(p) == Lb.Id(mid[0]));
        Assert.Equal("WD", Lb.Status(atWd));
        Assert.Equal((int)truth["withdrawal"]!["thru"]!, (int)Lb.Rounds(atWd).Last()["thru"]!);
    }

    [Fact]
    public async Task Scores_are_realistic_integer_strokes_around_par()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 15 });
        await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
        var lb = await sb.Leaderboard((string)t["id"]!);
        var rounds = Lb.Players(lb).SelectMany(Lb.Rounds).Where(r => (int)r["thru"]! == 18).Select(r => (int)r["strokes"]!).ToList();
        Assert.True(rounds.Count > 400);
        var mean = rounds.Average();
        var sd = Math.Sqrt(rounds.Average(x => (x - mean) * (x - mean)));
        Assert.InRange(mean, 69.0, 75.0);
        Assert.InRange(sd, 1.8, 5.0);
        Assert.InRange(rounds.Min(), 58, 68);
        Assert.InRange(rounds.Max(), 76, 90);
        // players carry names, a country and distinct GUID-shaped ids
        var ids = Lb.Players(lb).Select(Lb.Id).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(Lb.Players(lb), p => Assert.False(string.IsNullOrEmpty((string)p["last_name"]!) || string.IsNullOrEmpty((string)p["country"]!)));
        var ranks = t["players"]!.AsArray().Select(p => (int)p!["world_rank"]!).ToList();
        Assert.Equal(ranks.Count, ranks.Distinct().Count());
        // no floats anywhere
        Assert.True(Lb.AllNumbersAreIntegers(lb));
    }

    [Fact]
    public async Task Made_cut_did_not_finish_applies_a_second_cut()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 16, ["mdf_after_round"] = 3, ["mdf_keep"] = 40 });
        await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
        var lb = await sb.Leaderboard((string)t["id"]!);
        var players = Lb.Players(lb).ToList();
        var mdf = players.Where(p => Lb.Status(p) == "MDF").ToList();
        var finishers = players.Where(p => Lb.Status(p) is null).ToList();
        Assert.NotEmpty(mdf);
        Assert.True(finishers.Count >= 40);
        Assert.All(mdf, p => Assert.Equal([1, 2, 3], Lb.Rounds(p).Select(r => (int)r["sequence"]!).ToArray()));
        var line = (int)t["mdf"]!["line_strokes"]!;
        Assert.All(mdf, p => Assert.True((int)p["strokes"]! > line));
        Assert.All(finishers, p => Assert.True(Lb.Rounds(p).Take(3).Sum(r => (int)r["strokes"]!) <= line));
        // group order: finishers, MDF, CUT
        var statuses = players.Select(Lb.Status).ToList();
        Assert.True(statuses.LastIndexOf(null) < statuses.IndexOf("MDF"));
        Assert.True(statuses.LastIndexOf("MDF") < statuses.IndexOf("CUT"));
    }

    [Fact]
    public async Task Playoff_is_played_after_a_tie_and_does_not_change_strokes()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 17, ["playoff"] = true });
        var id = (string)t["id"]!;
        var s = t["schedule"]!;
        var playoffStart = Lb.Time(s["playoff_start"]);
        var playoffEnd = Lb.Time(s["playoff_end"]);
        Assert.True(playoffEnd > playoffStart);
        var winner = (string)t["playoff"]!["winner"]!;
        var participants = t["playoff"]!["participants"]!.AsArray().Select(x => (string)x!).ToList();
        Assert.InRange(participants.Count, 2, 3);

        await sb.SetClock(playoffStart.AddSeconds(-1));
        var beforeLb = await sb.Leaderboard(id);
        Assert.Equal("inprogress", (string)beforeLb["status"]!);
        Assert.Null(beforeLb["playoff"]);

        await sb.SetClock(playoffStart.AddSeconds(1));
        var during = await sb.Leaderboard(id);
        Assert.Equal("playoff", (string)during["status"]!);
        var leaders = Lb.Players(during).Where(p => (int)p["position"]! == 1).ToList();
        Assert.Equal(participants.OrderBy(x => x), leaders.Select(Lb.Id).OrderBy(x => x));
        Assert.Single(leaders.Select(p => (int)p["strokes"]!).Distinct());
        Assert.Equal(participants.Count, during["playoff"]!.AsArray().Count);

        await sb.SetClock(playoffEnd);
        var after = await sb.Leaderboard(id);
        Assert.Equal("complete", (string)after["status"]!);
        var top = Lb.Players(after).Take(participants.Count).ToList();
        Assert.Equal(winner, Lb.Id(top[0]));
        Assert.Equal(1, (int)top[0]["position"]!);
        Assert.False((bool)top[0]["tied"]!);
        Assert.All(top.Skip(1), p => Assert.Equal(2, (int)p["position"]!));
        Assert.Single(top.Select(p => (int)p["strokes"]!).Distinct()); // playoff strokes are not round strokes
        var po = after["playoff"]!.AsArray().Select(x => x!.AsObject()).ToList();
        Assert.Equal(winner, (string)po[0]["id"]!);
        Assert.True((int)po[0]["strokes"]! < po.Skip(1).Min(p => (int)p["strokes"]!));
        Assert.Equal((int)t["playoff"]!["holes"]!, po[0]["holes"]!.AsArray().Count);
    }

    [Fact]
    public async Task Without_a_playoff_the_winner_is_alone()
    {
        await using var sb = await Sandbox.StartAsync();
        for (var seed = 100; seed < 106; seed++)
        {
            var t = await sb.CreateTournament(new JsonObject { ["seed"] = seed, ["field_size"] = 60, ["cut_keep"] = 30 });
            Assert.Null(t["playoff"]);
            await sb.SetClock(Lb.Time(t["schedule"]!["closed_at"]));
            var lb = await sb.Leaderboard((string)t["id"]!);
            Assert.Single(Lb.Players(lb), p => (int)p["position"]! == 1);
            Assert.Null(lb["playoff"]);
        }
    }

    [Fact]
    public async Task A_four_day_tournament_plays_out_by_advancing_the_clock_in_well_under_ten_seconds()
    {
        await using var sb = await Sandbox.StartAsync();
        var t = await sb.CreateTournament(new JsonObject { ["seed"] = 18, ["playoff"] = true });
        var id = (string)t["id"]!;
        await sb.SetClock(Start.AddHours(-1));
        var sw = Stopwatch.StartNew();
        var seen = new List<string>();
        var polls = 0;
        string status;
        do
        {
            var lb = await sb.Leaderboard(id);
            polls++;
            status = (string)lb["status"]!;
            if (seen.Count == 0 || seen[^1] != status) seen.Add(status);
            await sb.Advance(10 * 60);
        } while (status != "closed" && sw.Elapsed < TimeSpan.FromSeconds(30));
        sw.Stop();
        Assert.Equal(["scheduled", "inprogress", "playoff", "complete", "closed"], seen);
        Assert.True(polls > 450, $"{polls} polls");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
        var stats = await sb.Stats();
        Assert.Equal(polls, (long)stats["leaderboard_requests"]!["by_tournament"]![id]!);
    }
}
