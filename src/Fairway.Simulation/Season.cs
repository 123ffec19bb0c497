using System.Text.Json;

namespace Fairway.Simulation;

public sealed record ContestPlan(string Id, string Name, long EntryFee, int RosterSize, int RakeBps, int[] PayoutBps, int MinEntries, double EntryProbability);
public sealed record TournamentPlan(string Id, string SandboxId, int Seed, DateTimeOffset FirstTee, ContestPlan[] Contests);
public sealed record PlayerPlan(string UserId, bool Onboards);

/// <summary>
/// A short season on the embedded default: three generated tournaments with contests of different
/// rules, generated players who onboard for payouts, enter and pay through the public API (some cards
/// decline, some requests are retried), the tournaments played out under the test clock, settlement
/// and payouts, then the invariants. Everything is derived from the seed.
/// </summary>
public sealed class Season(World w, TimeDriver clock, int seed, TextWriter log, Faults? faults = null)
{
    readonly Random random = new(seed);
    public List<TournamentPlan> Tournaments { get; } = [];
    public List<PlayerPlan> Players { get; } = [];
    public Dictionary<string, string[]> FieldByTournament { get; } = [];
    public int EntriesAttempted { get; private set; }
    public int PaymentsDeclined { get; private set; }
    public int RequestsRetried { get; private set; }

    void Say(string line) => log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] {line}");

    public async Task PrepareAsync(int players)
    {
        // Launch checklist: the kill-switch is on for a fresh deployment until a smoke test passes.
        var probe = await w.Admin.PostAsync("/api/admin/jobs/probes", new { wait_seconds = 60 });
        if (probe.GetProperty("status").GetString() != "executed") throw new ApiException("smoke test: the job probe did not run");
        await w.Admin.PutAsync("/api/admin/kill-switch", new { engaged = false, reason = "launch checklist: smoke test passed (job probe executed by a worker)" });
        Say("smoke test passed; kill-switch off");

        for (var k = 0; k < 3; k++)
        {
            var firstTee = new DateTimeOffset(w.Now.UtcDateTime.Date, TimeSpan.Zero).AddDays(2).AddHours(12 + 5 * k);
            var t = new TournamentPlan($"sim-open-{seed}-{k}", $"sr-sim-{seed}-{k}", seed * 10 + k, firstTee, k switch
            {
                0 => [new($"sim-{seed}-{k}-main", "Main event", 1000, 4, 1000, [5000, 3000, 2000], 5, 0.8),
                      new($"sim-{seed}-{k}-high", "High roller", 5000, 3, 500, [10000], 3, 0.4)],
                1 => [new($"sim-{seed}-{k}-double", "Double up", 2500, 5, 800, [4000, 3000, 2000, 1000], 6, 0.7)],
                _ => [new($"sim-{seed}-{k}-thin", "Thin field", 2000, 4, 1000, [6000, 4000], 40, 0.3),
                      new($"sim-{seed}-{k}-std", "Standard", 1500, 4, 1000, [6000, 4000], 4, 0.6)],
            });
            var truth = await w.Provider.PostAsync("/_control/tournaments", new
            {
                id = t.SandboxId, seed = t.Seed, field_size = 40, round_count = 4, cut_after_round = 2, cut_keep = 20, withdrawals = 2, disqualifications = 1,
                start = firstTee.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), round_duration_minutes = 300, round_gap_minutes = 1140, official_delay_minutes = 60,
            });
            var field = truth.GetProperty("players").EnumerateArray().Select(p => new
            {
                id = p.GetProperty("id").GetString()!, name = $"{p.GetProperty("first_name").GetString()} {p.GetProperty("last_name").GetString()}", world_rank = p.GetProperty("world_rank").GetInt32(),
            }).ToArray();
            FieldByTournament[t.Id] = field.Select(f => f.id).ToArray();
            await w.Admin.PostAsync("/api/admin/tournaments", new { id = t.Id, provider_event_id = t.SandboxId, name = truth.GetProperty("name").GetString() });
            foreach (var c in t.Contests)
            {
                await w.Admin.PostAsync("/api/admin/contests", new { id = c.Id, tournament_id = t.Id, name = c.Name, config = Config(t, c) });
                await w.Admin.PutAsync($"/api/admin/contests/{c.Id}/field", new { participants = field });
            }
            Tournaments.Add(t with { });
            Say($"tournament {t.Id}: {field.Length} golfers, first tee {firstTee:yyyy-MM-dd HH:mm}, contests {string.Join(", ", t.Contests.Select(c => c.Id))}");
        }

        for (var i = 1; i <= players; i++)
        {
            var p = new PlayerPlan($"sim-player-{i:000}", random.NextDouble() < 0.85);
            using var player = w.Player(p.UserId);
            var account = await player.Api.StartPayoutOnboardingAsync(CancellationToken.None);
            if (p.Onboards)
                await w.Stripe.PostAsync($"/_sandbox/accounts/{account.Stripe_account_id}/complete_onboarding");
            Players.Add(p);
        }
        Say($"{players} players; {Players.Count(p => p.Onboards)} completed payout onboarding");
    }

    object Config(TournamentPlan t, ContestPlan c) => new Dictionary<string, object?>
    {
        ["id"] = t.Id, ["contest_id"] = c.Id, ["provider_event_id"] = t.SandboxId,
        ["ingestion_endpoint"] = $"{w.HostEnv["INGESTION_ENDPOINT_URL"]}/tournaments/{t.SandboxId}/leaderboard.json",
        ["event_start_date"] = t.FirstTee.UtcDateTime.ToString("yyyy-MM-dd"), ["event_end_date"] = t.FirstTee.UtcDateTime.AddDays(3).ToString("yyyy-MM-dd"),
        ["round_count"] = 4, ["cut_after_round"] = 2, ["leaderboard_schema_version"] = 1, ["field_source"] = "static_import",
        ["field_size"] = 40, ["alternates_count"] = 0,
        ["rules"] = new Dictionary<string, object?>
        {
            ["roster_size"] = c.RosterSize, ["entry_fee"] = c.EntryFee, ["currency"] = "usd", ["min_entries"] = c.MinEntries, ["max_entries"] = 500,
            ["rake_bps"] = c.RakeBps, ["payout_table"] = c.PayoutBps.Select((b, i) => new { place = i + 1, bps = b }).ToArray(),
            ["lock_time"] = t.FirstTee.AddHours(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), ["unplayed_round_strokes"] = 80,
            ["settlement_hold_seconds"] = 3600,
        },
    };

    public async Task EnterAsync()
    {
        if (faults is not null) await faults.BeforeEntriesAsync();
        foreach (var t in Tournaments)
        foreach (var c in t.Contests)
        foreach (var p in Players)
        {
            if (random.NextDouble() >= c.EntryProbability) continue;
            var golfers = FieldByTournament[t.Id].OrderBy(_ => random.Next()).Take(c.RosterSize).ToArray();
            var key = $"{p.UserId}-{c.Id}-{random.Next():x8}";
            using var player = w.Player(p.UserId);
            var request = new Client.CreateEntryRequest { Golfers = golfers };
            var created = await player.Api.CreateEntryAsync(c.Id, key, request, CancellationToken.None);
            EntriesAttempted++;
            if (random.NextDouble() < 0.05)
            {
                // A client that lost the response retries: same key, same entry, same PaymentIntent.
                var again = await player.Api.CreateEntryAsync(c.Id, key, request, CancellationToken.None);
                if (again.Entry.Id != created.Entry.Id)
                    throw new ApiException("a retried entry request created a second entry");
                RequestsRetried++;
            }
            var pi = created.Payment.Payment_intent_id;
            if (random.NextDouble() < 0.1)
            {
                await w.Stripe.PostAsync($"/_sandbox/payment_intents/{pi}/fail", new { decline_code = "card_declined" });
                PaymentsDeclined++;
            }
            else await w.Stripe.PostAsync($"/_sandbox/payment_intents/{pi}/succeed");
        }
        // Lost or slow webhooks are the sweeper's job, on its own schedule as the clock moves.
        await clock.QuiescentAsync();
        Say($"{EntriesAttempted} entries created ({RequestsRetried} requests retried, {PaymentsDeclined} cards declined)");
    }

    /// <summary>Plays every tournament to its official end, moving the clock through lock, each round, completion, the hold, settlement and payouts.</summary>
    public async Task PlayAsync()
    {
        var stops = new SortedSet<DateTimeOffset>();
        foreach (var t in Tournaments)
        {
            stops.Add(t.FirstTee.AddDays(-1));
            stops.Add(t.FirstTee.AddHours(-1));
            for (var r = 0; r < 4; r++) { stops.Add(t.FirstTee.AddDays(r).AddHours(2.5)); stops.Add(t.FirstTee.AddDays(r).AddHours(5).AddMinutes(1)); }
            stops.Add(t.FirstTee.AddDays(3).AddHours(6).AddMinutes(5));          // official (closed)
            stops.Add(t.FirstTee.AddDays(3).AddHours(6).AddMinutes(5).AddSeconds(3601)); // settlement hold over
        }
        if (faults is not null) await faults.BeforePlayAsync(this);
        var step = 0;
        foreach (var at in stops.Where(s => s > w.Now))
        {
            if (faults is not null) await faults.AtStepAsync(++step);
            await clock.AdvanceToAsync(at);
        }
        // Transient failures back off (payouts) or delay a step (polls after an outage): a few more hours of the
        // schedule, with every job run as its cron would, let everything converge.
        for (var i = 0; i < 4; i++)
        {
            await clock.AdvanceToAsync(w.Now.AddHours(1));
        }
        Say("every tournament played to its official end; settlement and payout jobs run");
    }
}
