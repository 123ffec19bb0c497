using System.Net;
using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox.Tests;

public class DeterminismTests
{
    private static readonly DateTimeOffset[] Instants =
    [
        new(2026, 4, 8, 0, 0, 0, TimeSpan.Zero),   // scheduled
        new(2026, 4, 9, 14, 17, 0, TimeSpan.Zero), // mid round 1
        new(2026, 4, 11, 15, 0, 0, TimeSpan.Zero), // mid round 3 (after the cut)
        new(2026, 4, 13, 0, 0, 0, TimeSpan.Zero),  // closed
    ];

    [Fact]
    public async Task Same_seed_gives_byte_identical_payloads_on_two_independent_sandboxes()
    {
        await using var a = await Sandbox.StartAsync();
        await using var b = await Sandbox.StartAsync();
        var ta = await a.CreateTournament(new JsonObject { ["seed"] = 7, ["playoff"] = true, ["mdf_after_round"] = 3, ["mdf_keep"] = 50 });
        var tb = await b.CreateTournament(new JsonObject { ["seed"] = 7, ["playoff"] = true, ["mdf_after_round"] = 3, ["mdf_keep"] = 50 });
        Assert.Equal(ta.ToJsonString(), tb.ToJsonString());
        var id = (string)ta["id"]!;
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id);

        foreach (var t in Instants)
        {
            await a.SetClock(t);
            await b.SetClock(t);
            var (_, ba, _) = await a.GetRaw(id);
            var (_, bb, _) = await b.GetRaw(id);
            Assert.True(ba.Length > 1000);
            Assert.Equal(ba, bb);
            // and the same sandbox answers the same bytes again
            var (_, again, _) = await a.GetRaw(id);
            Assert.Equal(ba, again);
        }
    }

    [Fact]
    public async Task Different_seed_gives_a_different_tournament()
    {
        await using var sb = await Sandbox.StartAsync();
        var t1 = await sb.CreateTournament(new JsonObject { ["id"] = "t-one", ["seed"] = 1 });
        var t2 = await sb.CreateTournament(new JsonObject { ["id"] = "t-two", ["seed"] = 2 });
        await sb.SetClock(Instants[2]);
        var l1 = await sb.Leaderboard("t-one");
        var l2 = await sb.Leaderboard("t-two");
        var ids1 = Lb.Players(l1).Select(Lb.Id).ToHashSet();
        var ids2 = Lb.Players(l2).Select(Lb.Id).ToHashSet();
        Assert.False(ids1.SetEquals(ids2));
        var strokes1 = Lb.Players(l1).OrderBy(p => (string)p["last_name"]!).Select(p => (int)p["strokes"]!).ToArray();
        var strokes2 = Lb.Players(l2).OrderBy(p => (string)p["last_name"]!).Select(p => (int)p["strokes"]!).ToArray();
        Assert.NotEqual(strokes1, strokes2);
        Assert.NotEqual(t1["players"]!.ToJsonString(), t2["players"]!.ToJsonString());
    }

    [Fact]
    public async Task Recreating_with_identical_parameters_is_idempotent_and_a_conflicting_id_is_refused()
    {
        await using var sb = await Sandbox.StartAsync();
        var first = await sb.CreateTournament(new JsonObject { ["seed"] = 5 });
        var (status, again) = await sb.Send(HttpMethod.Post, "/_control/tournaments", new JsonObject { ["seed"] = 5, ["start"] = "2026-04-09T12:00:00Z" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(first.ToJsonString(), again.ToJsonString());

        var (conflict, _) = await sb.Send(HttpMethod.Post, "/_control/tournaments",
            new JsonObject { ["id"] = (string)first["id"]!, ["seed"] = 6, ["start"] = "2026-04-09T12:00:00Z" });
        Assert.Equal(HttpStatusCode.Conflict, conflict);

        // a different parameter (same seed) gives a different default id
        var other = await sb.CreateTournament(new JsonObject { ["seed"] = 5, ["field_size"] = 120 });
        Assert.NotEqual((string)first["id"]!, (string)other["id"]!);
        Assert.Equal(120, other["players"]!.AsArray().Count);
    }

    [Fact]
    public async Task Invalid_create_bodies_are_rejected_with_every_error_listed()
    {
        await using var sb = await Sandbox.StartAsync();
        var (status, body) = await sb.Send(HttpMethod.Post, "/_control/tournaments",
            new JsonObject { ["field_size"] = "many", ["round_count"] = 4, ["cut_after_round"] = 4, ["colour"] = "red", ["start"] = "tomorrow" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body["errors"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Contains(errors, e => e.Contains("'seed' is required"));
        Assert.Contains(errors, e => e.Contains("'field_size' must be an integer"));
        Assert.Contains(errors, e => e.Contains("cut_after_round"));
        Assert.Contains(errors, e => e.Contains("unknown property 'colour'"));
        Assert.Contains(errors, e => e.Contains("'start'"));
    }
}
