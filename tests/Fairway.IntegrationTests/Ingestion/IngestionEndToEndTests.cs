using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Ingestion;

public sealed class IngestionWorldFixture : IAsyncLifetime
{
    public IngestionWorld World { get; private set; } = null!;
    public async Task InitializeAsync() => World = await IngestionWorld.StartAsync();
    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>
/// Ingestion against the provider sandbox over real HTTP, with real API and worker processes and a
/// real database, under the test clock. The tests of this class share one calendar that only moves
/// forward, so each creates its own tournament starting after "now".
/// </summary>
public sealed class IngestionEndToEndTests(IngestionWorldFixture fixture) : IClassFixture<IngestionWorldFixture>
{
    IngestionWorld W => fixture.World;

    async Task<JsonElement> Standings(string contest) => JsonDocument.Parse(await W.Admin.GetStringAsync($"/api/contests/{contest}/standings?limit=500")).RootElement;

    async Task<List<JsonElement>> Transitions(string contest) =>
        JsonDocument.Parse(await W.Admin.GetStringAsync($"/api/admin/contests/{contest}/transitions")).RootElement.EnumerateArray()
            .Where(e => e.GetProperty("action").GetString() == "contest.transition").ToList();

    [Fact]
    public async Task A_full_four_round_tournament_with_a_cut_drives_the_contest_to_complete_with_audited_evidence()
    {
        var (t, c, truth) = await W.CreateContestAsync(seed: 11);
        Assert.Equal("accepted", (await W.PollAsync(t)).GetProperty("outcome").GetString());
        Assert.Equal("SCHEDULED", await W.StateAsync(c));

        var firstTee = IngestionWorld.At(truth, "rounds", "0", "start");
        await W.SetTimeAsync(firstTee.AddHours(-1).AddSeconds(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        Assert.Equal("SCHEDULED", await W.StateAsync(c));
        await W.SetTimeAsync(firstTee.AddHours(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        Assert.Equal("LOCKED", await W.StateAsync(c));

        await W.SetTimeAsync(firstTee.AddHours(2));
        var live = await W.PollAsync(t);
        Assert.Equal("inprogress", live.GetProperty("provider_status").GetString());
        Assert.Equal("LIVE", await W.StateAsync(c));
        Assert.Equal(live.GetProperty("id").GetInt64(), (await Standings(c)).GetProperty("as_of_event_id").GetInt64());

        for (var round = 0; round < 4; round++)
        {
            await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", round.ToString(), "end").AddMinutes(1));
            Assert.Equal("accepted", (await W.PollAsync(t)).GetProperty("outcome").GetString());
        }
        // Play is over but not official: `complete` alone never completes the contest.
        Assert.Equal("complete", (await Standings(c)).GetProperty("provider_status").GetString());
        Assert.Equal("LIVE", await W.StateAsync(c));
        Assert.Equal("duplicate", (await W.PollAsync(t)).GetProperty("outcome").GetString());

        await W.SetTimeAsync(IngestionWorld.At(truth, "closed_at").AddMinutes(1));
        var closed = await W.PollAsync(t);
        Assert.Equal("closed", closed.GetProperty("provider_status").GetString());
        Assert.Equal("COMPLETE", await W.StateAsync(c));

        var trail = await Transitions(c);
        Assert.Equal(["LOCKED", "LIVE", "COMPLETE"], trail.Select(e => e.GetProperty("after").GetProperty("state").GetString()));
        Assert.Equal(["system:lifecycle-clock", "system:ingestion", "system:ingestion"], trail.Select(e => e.GetProperty("actor").GetString()));
        Assert.Equal(live.GetProperty("id").GetInt64(), trail[1].GetProperty("evidence").GetProperty("ingestion_event_id").GetInt64());
        Assert.Equal(closed.GetProperty("id").GetInt64(), trail[2].GetProperty("evidence").GetProperty("ingestion_event_id").GetInt64());
        Assert.Equal("closed", trail[2].GetProperty("evidence").GetProperty("provider_status").GetString());

        // Final standings: the cut golfers score the configured strokes for rounds they did not play.
        var final = await Standings(c);
        Assert.Equal(3, final.GetProperty("total_entries").GetInt32());
        Assert.Equal(final.GetProperty("net").GetInt64(), final.GetProperty("entries").EnumerateArray().Sum(e => e.GetProperty("projected_prize").GetInt64()));

        var replay = JsonDocument.Parse(await (await W.Admin.PostAsync($"/api/admin/ingestion/tournaments/{t}/replay", null)).Content.ReadAsStringAsync()).RootElement;
        Assert.True(replay.GetProperty("matches").GetInt32() >= 6);
        Assert.Equal(0, replay.GetProperty("mismatches").GetInt32());
    }

    [Fact]
    public async Task Every_malformed_payload_is_stored_as_rejected_and_moves_nothing()
    {
        var (t, c, truth) = await W.CreateContestAsync(seed: 12);
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(3));
        Assert.Equal("accepted", (await W.PollAsync(t)).GetProperty("outcome").GetString());
        Assert.Equal("LIVE", await W.StateAsync(c));
        var before = await Standings(c);

        var kinds = new[] { "float_strokes", "negative_strokes", "missing_player_id", "duplicate_player", "round_beyond_count", "thru_out_of_range",
            "unknown_player_status", "unknown_tournament_status", "truncated_json" };
        foreach (var kind in kinds)
        {
            await W.Provider.FaultAsync(new { kind, count = 1 });
            var ev = await W.PollAsync(t);
            Assert.True(ev.GetProperty("outcome").GetString() == "rejected", $"{kind}: {ev}");
            Assert.True(ev.GetProperty("errors").GetArrayLength() > 0, kind);
        }
        Assert.Equal("LIVE", await W.StateAsync(c));
        var after = await Standings(c);
        Assert.Equal(before.GetProperty("as_of_event_id").GetInt64(), after.GetProperty("as_of_event_id").GetInt64());
        Assert.Equal(before.GetProperty("output_hash").GetString(), after.GetProperty("output_hash").GetString());

        await using var db = await TestDatabases.OpenAsync(W.DatabaseUrl);
        var rejected = await db.QueryAsync<(string Errors, string? Hash)>("SELECT errors::text, payload_hash FROM ingestion_events WHERE tournament_id = @t AND outcome = 'rejected' ORDER BY id", new { t });
        Assert.Equal(kinds.Length, rejected.Count());
        Assert.All(rejected, r => Assert.NotNull(r.Hash));
        Assert.Contains(rejected, r => r.Errors.Contains("NOT_AN_INTEGER") || r.Errors.Contains("INTEGER"));
        var metrics = await W.Worker.Client().GetStringAsync("/metrics");
        Assert.Contains($"ingestion_rejected_total{{tournament=\"{t}\"}} {kinds.Length}", metrics);

        // A stale repeat of an earlier payload is recognised and rejected too.
        await W.SetTimeAsync(W.Now.AddHours(1));
        Assert.Equal("accepted", (await W.PollAsync(t)).GetProperty("outcome").GetString());
        await W.Provider.FaultAsync(new { kind = "stale_repeat", count = 1, as_of = IngestionWorld.At(truth, "rounds", "0", "start").AddHours(3).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") });
        var stale = await W.PollAsync(t);
        Assert.Equal("rejected", stale.GetProperty("outcome").GetString());
        Assert.True(stale.GetProperty("anomalies").GetArrayLength() > 0);
    }

    [Fact]
    public async Task An_outage_moves_nothing_and_lag_grows_then_polling_recovers()
    {
        var (t, c, truth) = await W.CreateContestAsync(seed: 13);
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(1));
        Assert.Equal("accepted", (await W.PollAsync(t)).GetProperty("outcome").GetString());

        var providerId = truth.GetProperty("id").GetString()!;
        async Task<long> RequestsAsync() => JsonDocument.Parse(await W.Provider.Control.GetStringAsync("/_control/stats")).RootElement
            .GetProperty("leaderboard_requests").GetProperty("by_tournament").TryGetProperty(providerId, out var n) ? n.GetInt64() : 0;
        await using var events = await TestDatabases.OpenAsync(W.DatabaseUrl);
        var lastEvent = await events.ExecuteScalarAsync<long>("SELECT coalesce(max(id), 0) FROM ingestion_events WHERE tournament_id = @t", new { t });
        var requestsBefore = await RequestsAsync();

        await W.Provider.FaultAsync(new { kind = "http_503", count = 1000 });
        await W.SetTimeAsync(W.Now.AddHours(2));
        var failed = await W.PollAsync(t);
        Assert.Equal("fetch_failed", failed.GetProperty("outcome").GetString());
        Assert.Equal("LIVE", await W.StateAsync(c));
        // The sandbox's 503 asks for a 5 s pause (Retry-After), longer than a poll waits: every failed poll (the test's and
        // any the schedule ran meanwhile) made exactly one request and ended, leaving the next try to the next poll.
        async Task<long> FailedPollsAsync() => await events.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM ingestion_events WHERE tournament_id = @t AND id > @lastEvent AND outcome = 'fetch_failed' AND http_status = 503", new { t, lastEvent });
        await Wait.UntilAsync(async () => await RequestsAsync() - requestsBefore == await FailedPollsAsync(),
            "one leaderboard request per failed poll: the provider's Retry-After was not slept out inside a poll", 20);
        Assert.True(await FailedPollsAsync() >= 1);
        // A tournament the provider does not know, whose contest waits for its lock a month away, fails later than the LIVE
        // one: the status list still puts the LIVE tournament in trouble first (an alert naming no tournament is about it).
        var (unknown, unknownContest, unknownEvent) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:tournament:" + Guid.NewGuid().ToString("N")[..8]);
        (await W.Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = unknown, provider_event_id = unknownEvent, name = "Unknown Open" })).EnsureSuccessStatusCode();
        var unknownConfig = ContestSetup.Config(unknown, unknownContest, unknownEvent, W.Now.AddDays(30), 2, rosterSize: 3, fieldSize: 30, ingestionBase: W.Provider.IngestionBase);
        var unknownCreated = await W.Admin.PostAsJsonAsync("/api/admin/contests", new { id = unknownContest, tournament_id = unknown, name = "Unknown main", config = unknownConfig });
        Assert.True(unknownCreated.IsSuccessStatusCode, await unknownCreated.Content.ReadAsStringAsync());
        var unknownFailed = await W.PollAsync(unknown);
        Assert.Equal("fetch_failed", unknownFailed.GetProperty("outcome").GetString());
        Assert.True(unknownFailed.GetProperty("id").GetInt64() > failed.GetProperty("id").GetInt64());
        var listed = JsonDocument.Parse(await W.Admin.GetStringAsync("/api/admin/ingestion/status")).RootElement.EnumerateArray().ToList();
        int Position(string tournament) => listed.FindIndex(s => s.GetProperty("tournament_id").GetString() == tournament);
        Assert.True(Position(t) < Position(unknown), $"LIVE {t} at {Position(t)}, unknown {unknown} at {Position(unknown)}");
        Assert.False(listed[Position(unknown)].GetProperty("live_contest").GetBoolean());
        var status = listed[Position(t)];
        Assert.True(status.GetProperty("live_contest").GetBoolean());
        Assert.True(status.GetProperty("lag_seconds").GetInt64() >= 7200);
        Assert.Equal("fetch_failed", status.GetProperty("last_fetch_outcome").GetString());
        var metrics = await W.Api.Client().GetStringAsync("/metrics");
        Assert.Contains($"ingestion_failing{{tournament=\"{t}\"}} 1", metrics);

        await W.Provider.ClearFaultsAsync();
        await W.SetTimeAsync(W.Now.AddMinutes(1));
        // The circuit breaker may still be open for a few seconds after the outage: polling resumes by itself.
        string outcome = "";
        for (var i = 0; i < 10 && outcome != "accepted"; i++)
        {
            outcome = (await W.PollAsync(t)).GetProperty("outcome").GetString()!;
            if (outcome != "accepted") await Task.Delay(2000);
        }
        Assert.Equal("accepted", outcome);
        Assert.Contains($"ingestion_failing{{tournament=\"{t}\"}} 0", await W.Api.Client().GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task A_correction_is_a_new_event_that_changes_standings_and_replay_still_matches()
    {
        var (t, c, truth) = await W.CreateContestAsync(seed: 14);
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "end").AddMinutes(5));
        var first = await W.PollAsync(t);
        var before = await Standings(c);

        // A golfer of entry 0 (the first field golfer) gets 4 more strokes on the completed round 1.
        var entryGolfer = truth.GetProperty("players")[0].GetProperty("id").GetString();
        var correction = await W.Provider.Control.PostAsJsonAsync($"/_control/tournaments/{truth.GetProperty("id").GetString()}/corrections",
            new { player_id = entryGolfer, round = 1, strokes = truth.GetProperty("players")[0].GetProperty("rounds")[0].GetProperty("strokes").GetInt32() + 4 });
        Assert.True(correction.IsSuccessStatusCode, await correction.Content.ReadAsStringAsync());
        await W.SetTimeAsync(W.Now.AddMinutes(1));
        var second = await W.PollAsync(t);
        Assert.Equal("accepted", second.GetProperty("outcome").GetString());
        var after = await Standings(c);
        Assert.NotEqual(before.GetProperty("output_hash").GetString(), after.GetProperty("output_hash").GetString());
        long ScoreOf(JsonElement s) => s.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("entry_id").GetString() == $"{c}-e0").GetProperty("score").GetInt64();
        Assert.Equal(ScoreOf(before) + 4, ScoreOf(after));

        var events = JsonDocument.Parse(await W.Admin.GetStringAsync($"/api/admin/ingestion/tournaments/{t}/events?outcome=accepted")).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Contains(events, e => e.GetProperty("id").GetInt64() == first.GetProperty("id").GetInt64());
        Assert.NotEqual(events.First(e => e.GetProperty("id").GetInt64() == first.GetProperty("id").GetInt64()).GetProperty("payload_hash").GetString(),
            events.First(e => e.GetProperty("id").GetInt64() == second.GetProperty("id").GetInt64()).GetProperty("payload_hash").GetString());

        var replay = JsonDocument.Parse(await (await W.Admin.PostAsync($"/api/admin/ingestion/tournaments/{t}/replay", null)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(0, replay.GetProperty("mismatches").GetInt32());
        Assert.True(replay.GetProperty("matches").GetInt32() >= 2);
    }

    [Fact]
    public async Task Provider_cancellation_cancels_the_contest()
    {
        var (t, c, truth) = await W.CreateContestAsync(seed: 15);
        await W.SetTimeAsync(IngestionWorld.At(truth, "rounds", "0", "start").AddHours(-1));
        await W.TriggerAsync("contest-lifecycle-clock");
        await W.SetTimeAsync(W.Now.AddHours(2));
        await W.PollAsync(t);
        Assert.Equal("LIVE", await W.StateAsync(c));
        // The provider fails for two hours before it cancels: the tournament lags (IngestionLagHigh would fire on it).
        await W.Provider.FaultAsync(new { kind = "http_503", count = 1000 });
        await W.SetTimeAsync(W.Now.AddHours(2));
        Assert.Equal("fetch_failed", (await W.PollAsync(t)).GetProperty("outcome").GetString());
        Assert.Contains($"ingestion_failing{{tournament=\"{t}\"}} 1", await W.Api.Client().GetStringAsync("/metrics"));
        await W.Provider.ClearFaultsAsync();
        (await W.Provider.Control.PostAsync($"/_control/tournaments/{truth.GetProperty("id").GetString()}/cancel", null)).EnsureSuccessStatusCode();
        await W.SetTimeAsync(W.Now.AddMinutes(5));
        // The circuit breaker may still be open for a few seconds after the failures: polling resumes by itself.
        string? providerStatus = null;
        for (var i = 0; i < 10 && providerStatus != "cancelled"; i++)
        {
            var poll = await W.PollAsync(t);
            providerStatus = poll.TryGetProperty("provider_status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            if (providerStatus != "cancelled") await Task.Delay(2000);
        }
        Assert.Equal("cancelled", providerStatus);
        Assert.Equal("CANCELLED", await W.StateAsync(c));
        // With no unfinished contest the tournament is no longer polled and its lag no longer measured: the series is gone
        // (a lag frozen at its last value would keep the alert firing forever, with nothing left to recover).
        var metrics = await W.Api.Client().GetStringAsync("/metrics");
        Assert.DoesNotContain($"ingestion_lag_seconds{{tournament=\"{t}\"}}", metrics);
        Assert.DoesNotContain($"ingestion_failing{{tournament=\"{t}\"}}", metrics);
        var last = (await Transitions(c)).Last();
        Assert.Equal("system:ingestion", last.GetProperty("actor").GetString());
        Assert.Equal("provider cancelled the tournament", last.GetProperty("reason").GetString());
    }
}
