using System.Collections.Concurrent;
using System.Globalization;

namespace Fairway.Simulation;

/// <summary>A contest's rule shape; <see cref="EntryShare"/> is the share of the players who try it, <see cref="Expected"/> the state the ground truth leads it to.</summary>
public sealed record ContestPlan(string Id, string Name, long EntryFee, int RosterSize, int RakeBps, int[] PayoutBps, int MinEntries, int MaxEntries, double EntryShare)
{
    public string Expected { get; set; } = "COMPLETE";
}

/// <summary>What happens to a tournament beyond normal play (ground truth, published by the provider sandbox).</summary>
public enum Twist { None, Playoff, Postponed, CancelledMidway, WeatherDelay }

public sealed record TournamentPlan(string Id, string SandboxId, int Seed, DateTimeOffset FirstTee, DateTimeOffset OpensAt, Twist Twist, ContestPlan[] Contests)
{
    public DateTimeOffset Lock => FirstTee.AddHours(-1);
    /// <summary>How much later than scheduled play ends (a postponement or a weather delay).</summary>
    public TimeSpan Shift => Twist switch { Twist.Postponed => TimeSpan.FromHours(24), Twist.WeatherDelay => TimeSpan.FromHours(5), _ => TimeSpan.Zero };
    /// <summary>When the provider suspends play (before the first tee for a postponement, during round 3 for a weather delay).</summary>
    public DateTimeOffset SuspendAt => Twist == Twist.Postponed ? FirstTee.AddHours(-3) : FirstTee.AddDays(2).AddHours(2);
    public DateTimeOffset CancelAt => FirstTee.AddDays(1).AddHours(2);
    /// <summary>The official result (closed) on the provider's feed, as generated (playoffs end within the hour after play).</summary>
    public DateTimeOffset Official => FirstTee.AddDays(3).AddHours(Twist == Twist.Playoff ? 7 : 6) + Shift;
}

public sealed record PlayerPlan(string UserId, bool Onboards);

/// <summary>One player's attempt to enter a contest at a simulated instant, every choice drawn from the seed in advance.</summary>
public sealed record Arrival(DateTimeOffset At, PlayerPlan Player, TournamentPlan Tournament, ContestPlan Contest, string[] Golfers, string Key, Payment Payment, bool RetriesRequest, bool Late);

public enum Payment { Succeeds, Declines, Abandoned }

/// <summary>
/// The season (PRODUCT.md §10, issue 15): <c>days</c> simulated days from a Tuesday, two overlapping Thursday–Sunday
/// tournaments every week (one postponed by a day and so finishing on Monday, one cancelled by the provider mid-way,
/// one decided by a playoff, one with a weather delay), contests of every rule shape, and players arriving through each
/// week — entering and paying before lock, a few trying after it. Everything is drawn from the seed before play; the
/// simulator only moves the clock (<see cref="TimeDriver"/>), acts as the players and the provider, and never triggers a job.
/// </summary>
public sealed class Season(World w, TimeDriver clock, AlertWatch alerts, int seed, int days, TextWriter log, Faults? faults = null)
{
    /// <summary>Between events the clock moves in ticks of this size, so the sweeper, reconciliation and backups run through quiet hours too.</summary>
    static readonly TimeSpan Tick = TimeSpan.FromHours(6);
    const int Parallelism = 16;
    /// <summary>Most pages of 200 contests the report's sampling reads in one step.</summary>
    const int MaxContestPages = 20;

    readonly Random random = new(seed);
    static readonly System.Diagnostics.Stopwatch Wall = System.Diagnostics.Stopwatch.StartNew();
    public DateTimeOffset Start { get; } = w.Now;
    public DateTimeOffset End => Start.AddDays(days);
    public List<TournamentPlan> Tournaments { get; } = [];
    public List<PlayerPlan> Players { get; } = [];
    public List<Arrival> Arrivals { get; } = [];
    public Dictionary<string, string[]> FieldByTournament { get; } = [];
    public ConcurrentDictionary<string, string> CreatedEntries { get; } = new();
    public int EntriesAttempted => CreatedEntries.Count;

    /// <summary>
    /// The volume a default season must reach (issue 15 §1): at least 1,000 players and 5,000 entries over 14 simulated
    /// days. <see cref="PlanArrivals"/> sends exactly round(share × players) players to each contest: 5,120 entry
    /// attempts in the first 14 days with 1,000 players, about 1% of them after lock (refused, so no entry). Should a
    /// change of the calendar or of the contests bring it under the bound, the verdict fails the run.
    /// </summary>
    public const int DefaultPlayers = 1000, VolumeEntries = 5000;
    public static readonly TimeSpan VolumeWindow = TimeSpan.FromDays(14);
    int entriesInVolumeWindow;
    /// <summary>Entries created by arrivals in the first <see cref="VolumeWindow"/> of the calendar.</summary>
    public int EntriesInVolumeWindow => Volatile.Read(ref entriesInVolumeWindow);
    public int PaymentsDeclined { get; private set; }
    public int PaymentsAbandoned { get; private set; }
    public int RequestsRetried { get; private set; }
    public int LateAttemptsRefused { get; private set; }
    public List<string> Problems { get; } = [];
    /// <summary>Contest states seen at each step (for the report's timeline).</summary>
    public List<(DateTimeOffset At, string Contest, string State)> StateTimeline { get; } = [];

    /// <summary>Wall time spent outside the clock's settling, by what the simulator was doing (printed with the summary).</summary>
    public Dictionary<string, TimeSpan> WallByPhase { get; } = [];

    async Task Timed(string phase, Func<Task> body)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try { await body(); }
        finally { WallByPhase[phase] = WallByPhase.GetValueOrDefault(phase) + sw.Elapsed; }
    }

    void Say(string line) => log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] {line}");

    /// <summary>The on-call operator (issue 15 §3): acts on the alerts that fire, by their runbooks only.</summary>
    public Operator? Operator { get; init; }
    /// <summary>The outside world's card trouble of seed 001 (one refund Stripe fails until the player's bank fixes the card).</summary>
    public OutsideWorld? Outside { get; init; }

    /// <summary>After each clock step: the outside world fixes what is due, alerts are observed, the operator acts.</summary>
    async Task WatchAsync()
    {
        if (Outside is not null) await Outside.AtAsync();
        await alerts.ObserveAsync();
        if (Operator is not null) await Operator.ActAsync();
        // A fault has recovered once the system is quiet with no alert firing (and the world's own recovery of it happened).
        faults?.Observe(alerts.StillFiring.Any());
    }

    public async Task PrepareAsync(int players)
    {
        // Launch checklist: the kill-switch is on for a fresh deployment until a smoke test passes.
        var probe = await w.Admin.PostAsync("/api/admin/jobs/probes", new { wait_seconds = 60 });
        if (probe.GetProperty("status").GetString() != "executed") throw new ApiException("smoke test: the job probe did not run");
        Task TurnOff() => w.Admin.PutAsync("/api/admin/kill-switch", new { engaged = false, reason = "launch checklist: smoke test passed (job probe executed by a worker)" });
        if (faults is not null) await Timed("faults", () => faults.AtLaunchAsync(TurnOff));
        await TurnOff();
        Say("smoke test passed; kill-switch off");

        PlanCalendar();
        for (var i = 1; i <= players; i++) Players.Add(new PlayerPlan($"sim-player-{i:0000}", random.NextDouble() < 0.85));
        PlanArrivals();
        Outside?.Plan(this);
        await Timed("players onboarding", () => ForEachAsync(Players, async p =>
        {
            using var player = w.Player(p.UserId);
            var account = await player.Api.StartPayoutOnboardingAsync(CancellationToken.None);
            if (p.Onboards) await w.Stripe.PostAsync($"/_sandbox/accounts/{account.Stripe_account_id}/complete_onboarding");
        }));
        Say($"{players} players ({Players.Count(p => p.Onboards)} completed payout onboarding); {Tournaments.Count} tournaments, " +
            $"{Tournaments.Sum(t => t.Contests.Length)} contests, {Arrivals.Count(a => !a.Late)} entry attempts planned before lock and {Arrivals.Count(a => a.Late)} after");
    }

    void PlanCalendar()
    {
        var firstThursday = Start.Date.AddDays(2);
        while (firstThursday.DayOfWeek != DayOfWeek.Thursday) firstThursday = firstThursday.AddDays(1);
        for (var week = 0; ; week++)
        {
            var thursday = new DateTimeOffset(firstThursday.AddDays(7 * week), TimeSpan.Zero);
            var added = false;
            for (var k = 0; k < 2; k++)
            {
                // Week 0: a playoff and a postponement (which finishes on Monday); week 1: a weather delay and a
                // cancellation mid-way; later weeks: the seed decides whether a playoff decides the main event.
                var twist = (week, k) switch
                {
                    (0, 0) => Twist.Playoff, (0, 1) => Twist.Postponed, (1, 0) => Twist.WeatherDelay, (1, 1) => Twist.CancelledMidway,
                    (_, 0) when random.NextDouble() < 0.4 => Twist.Playoff, _ => Twist.None,
                };
                var id = $"sim-{seed}-w{week}{(k == 0 ? "a" : "b")}";
                var firstTee = thursday.AddHours(k == 0 ? 12 : 14);
                var opens = week == 0 ? Start : thursday.AddDays(-3);
                var t = new TournamentPlan(id, $"sr-{id}", seed * 100 + week * 2 + k, firstTee, opens, twist, k == 0 ? MainContests(id) : OppositeContests(id));
                // Only tournaments whose contests can be settled and paid inside the calendar are played.
                if (t.Official.AddHours(4) > End) continue;
                foreach (var c in t.Contests.Where(c => twist == Twist.CancelledMidway)) c.Expected = "CANCELLED";
                Tournaments.Add(t);
                added = true;
            }
            if (!added && thursday > End) break;
        }
        if (Tournaments.Count == 0) throw new ArgumentException($"--days {days} leaves no room for a tournament (at least 7)");
    }

    // Rule shapes: top-10 table, winner takes all, a flat double-up-like table, a capped satellite, no rake, and an
    // under-filled contest that is cancelled and refunded at lock. The satellite's cap is not reached: which of two
    // racing payments takes the last seat depends on the order the worker converges them, which no seed fixes, and the
    // settlements must be identical run after run.
    ContestPlan[] MainContests(string t) =>
    [
        new($"{t}-main", "Main event", 1000, 6, 1000, [2500, 1800, 1300, 1000, 800, 700, 600, 500, 450, 350], 10, 2000, 0.70),
        new($"{t}-wta", "Winner takes all", 5000, 4, 500, [10000], 3, 2000, 0.30),
        new($"{t}-double", "Double up", 2500, 5, 800, [2000, 2000, 2000, 2000, 2000], 6, 2000, 0.40),
        new($"{t}-sat", "Satellite (capped at 200)", 2000, 3, 1000, [6000, 4000], 4, 200, 0.12),
    ];

    ContestPlan[] OppositeContests(string t) =>
    [
        new($"{t}-std", "Standard", 1500, 4, 1000, [6000, 4000], 4, 2000, 0.62),
        new($"{t}-norake", "No rake", 2000, 3, 0, [7000, 3000], 4, 2000, 0.40),
        new($"{t}-thin", "Thin field", 2000, 4, 1000, [6000, 4000], 500, 2000, 0.02) { Expected = "CANCELLED" },
    ];

    void PlanArrivals()
    {
        foreach (var t in Tournaments)
        foreach (var c in t.Contests)
        {
            var entrants = ChooseEntrants(c.EntryShare);
            foreach (var p in Players.Where((_, i) => entrants[i]))
            {
                // Deposits arrive through the week, between the contest's opening and its lock; a few come after lock.
                var late = random.NextDouble() < 0.01;
                var window = (t.Lock.AddHours(-2) - t.OpensAt).TotalMinutes;
                var at = late ? t.Lock.AddMinutes(30 + random.Next(90)) : t.OpensAt.AddMinutes(random.NextDouble() * window);
                var golfers = Enumerable.Range(0, 50).OrderBy(_ => random.Next()).Take(c.RosterSize).ToArray();
                var roll = random.NextDouble();
                var payment = roll < 0.08 ? Payment.Declines : roll < 0.10 ? Payment.Abandoned : Payment.Succeeds;
                Arrivals.Add(new Arrival(at, p, t, c, golfers.Select(g => g.ToString(CultureInfo.InvariantCulture)).ToArray(),
                    $"{p.UserId}-{c.Id}-{random.Next():x8}", payment, random.NextDouble() < 0.05, late));
            }
        }
        Arrivals.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Key, b.Key));
    }

    /// <summary>
    /// Which players try a contest: exactly round(share × players) of them, chosen by the seed (a partial
    /// Fisher–Yates shuffle), so the season's volume is the plan's. A coin per player and contest made it a matter of luck:
    /// seed 10 played 4,973 entries in 14 days, under the 5,000 the main job promises.
    /// </summary>
    bool[] ChooseEntrants(double share)
    {
        var n = Players.Count;
        var k = (int)Math.Round(share * n, MidpointRounding.AwayFromZero);
        var order = Enumerable.Range(0, n).ToArray();
        var chosen = new bool[n];
        for (var i = 0; i < k; i++)
        {
            var j = random.Next(i, n);
            (order[i], order[j]) = (order[j], order[i]);
            chosen[order[i]] = true;
        }
        return chosen;
    }

    /// <summary>Creates a tournament at the provider and in Fairway, with its contests and field, when it is announced.</summary>
    async Task AnnounceAsync(TournamentPlan t)
    {
        var truth = await w.Provider.PostAsync("/_control/tournaments", new
        {
            id = t.SandboxId, seed = t.Seed, field_size = 50, round_count = 4, cut_after_round = 2, cut_keep = 25, withdrawals = 2, disqualifications = 1,
            playoff = t.Twist == Twist.Playoff,
            start = t.FirstTee.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), round_duration_minutes = 300, round_gap_minutes = 1140, official_delay_minutes = 60,
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
        Say($"tournament {t.Id} announced{(t.Twist == Twist.None ? "" : $" ({t.Twist})")}: {field.Length} golfers, first tee {t.FirstTee:ddd yyyy-MM-dd HH:mm}, contests {string.Join(", ", t.Contests.Select(c => c.Id))}");
    }

    object Config(TournamentPlan t, ContestPlan c) => new Dictionary<string, object?>
    {
        ["id"] = t.Id, ["contest_id"] = c.Id, ["provider_event_id"] = t.SandboxId,
        ["ingestion_endpoint"] = $"{w.HostEnv["INGESTION_ENDPOINT_URL"]}/tournaments/{t.SandboxId}/leaderboard.json",
        ["event_start_date"] = t.FirstTee.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["event_end_date"] = t.FirstTee.UtcDateTime.AddDays(3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["round_count"] = 4, ["cut_after_round"] = 2, ["leaderboard_schema_version"] = 1, ["field_source"] = "static_import",
        ["field_size"] = 50, ["alternates_count"] = 0,
        ["rules"] = new Dictionary<string, object?>
        {
            ["roster_size"] = c.RosterSize, ["entry_fee"] = c.EntryFee, ["currency"] = "usd", ["min_entries"] = c.MinEntries, ["max_entries"] = c.MaxEntries,
            ["rake_bps"] = c.RakeBps, ["payout_table"] = c.PayoutBps.Select((b, i) => new { place = i + 1, bps = b }).ToArray(),
            ["lock_time"] = t.Lock.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), ["unplayed_round_strokes"] = 80,
            ["settlement_hold_seconds"] = 3600,
        },
    };

    /// <summary>The instants the clock stops at: ticks, arrivals, and each tournament's lock, rounds, twist, official result and hold.</summary>
    public SortedSet<DateTimeOffset> Stops()
    {
        var stops = new SortedSet<DateTimeOffset>();
        for (var at = Start + Tick; at <= End; at += Tick) stops.Add(at);
        foreach (var t in Tournaments)
        {
            stops.Add(t.OpensAt);
            stops.Add(t.Lock.AddMinutes(1));
            if (t.Twist is Twist.Postponed or Twist.WeatherDelay) { stops.Add(t.SuspendAt); stops.Add(t.SuspendAt + t.Shift); }
            if (t.Twist == Twist.CancelledMidway) { stops.Add(t.CancelAt); stops.Add(t.CancelAt.AddHours(1)); continue; }
            for (var r = 0; r < 4; r++)
            {
                var roundStart = t.FirstTee.AddDays(r);
                var shift = t.Twist == Twist.Postponed || (t.Twist == Twist.WeatherDelay && roundStart.AddHours(5) > t.SuspendAt) ? t.Shift : TimeSpan.Zero;
                stops.Add(roundStart.AddHours(2.5) + shift);
                stops.Add(roundStart.AddHours(5).AddMinutes(1) + shift);
            }
            stops.Add(t.Official.AddMinutes(5));
            stops.Add(t.Official.AddMinutes(5).AddSeconds(3601));  // settlement hold over
            stops.Add(t.Official.AddHours(2));                     // payouts on their schedule
        }
        // Arrivals are grouped at the first stop at or after them: the ticks, and a last call two hours before each lock.
        foreach (var t in Tournaments) stops.Add(t.Lock.AddHours(-2));
        return new SortedSet<DateTimeOffset>(stops.Where(s => s > Start && s <= End));
    }

    /// <summary>Plays the calendar: at each stop the outside world acts (provider, players, faults), then the clock moves on.</summary>
    public async Task PlayAsync()
    {
        var announced = new HashSet<string>();
        var twisted = new HashSet<string>();
        var next = 0;
        var step = 0;
        foreach (var t in Tournaments.Where(t => t.OpensAt <= w.Now)) { await AnnounceAsync(t); announced.Add(t.Id); }
        var stops = Stops().ToList();
        // The faults that strike while players arrive (webhook faults, the API's crash points) are drawn among the stops
        // where some player enters and pays: at a stop with only attempts after lock the API refuses every request before
        // its transaction, and seed 4 armed payments.after_entry_insert_before_intent at such a stop, never reached.
        var arrivalStops = new HashSet<int>();
        for (int i = 0, a = 0; i < stops.Count; i++)
        {
            var entering = false;
            for (; a < Arrivals.Count && Arrivals[a].At <= stops[i]; a++) entering |= !Arrivals[a].Late;
            if (entering) arrivalStops.Add(i);
        }
        faults?.Plan(this, stops, arrivalStops, days);
        foreach (var at in stops)
        {
            if (faults is not null) await Timed("faults", () => faults.AtAsync(step, FaultMoment.BetweenSteps));
            // A fault's disturbance that ends before the next stop (a frozen feed, an outage, held webhooks) is a stop of its
            // own: the system's recovery is then timed from when the world recovered, not from the next planned stop.
            // The world recovers at that instant, then the system settles once.
            while (faults?.NextDisturbanceEndBefore(at) is { } end)
            {
                await w.SetTimeAsync(end);
                await Timed("faults", faults.ReleaseDueAsync);
                await clock.QuiescentAsync();
                await AfterStepAsync(end);
            }
            await clock.AdvanceToAsync(at);
            foreach (var t in Tournaments.Where(t => t.OpensAt <= at && announced.Add(t.Id))) await AnnounceAsync(t);
            foreach (var t in Tournaments.Where(t => !twisted.Contains(t.Id)))
            {
                if (t.Twist is Twist.Postponed or Twist.WeatherDelay && at >= t.SuspendAt)
                {
                    await w.Provider.PostAsync($"/_control/tournaments/{t.SandboxId}/suspend", new { until = (t.SuspendAt + t.Shift).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) });
                    Say($"provider: {t.Id} {(t.Twist == Twist.Postponed ? "postponed" : "suspended for weather")} until {t.SuspendAt + t.Shift:ddd HH:mm}");
                    twisted.Add(t.Id);
                }
                else if (t.Twist == Twist.CancelledMidway && at >= t.CancelAt)
                {
                    await w.Provider.PostAsync($"/_control/tournaments/{t.SandboxId}/cancel");
                    Say($"provider: {t.Id} cancelled during round 2");
                    twisted.Add(t.Id);
                }
            }
            var due = new List<Arrival>();
            while (next < Arrivals.Count && Arrivals[next].At <= at) due.Add(Arrivals[next++]);
            if (due.Count > 0)
            {
                if (faults is not null) await Timed("faults", () => faults.AtAsync(step, FaultMoment.BeforeArrivals));
                await Timed("players entering", () => EnterAllAsync(due));
                if (faults is not null) await Timed("faults", () => faults.AtAsync(step, FaultMoment.DuringArrivals));
                await clock.QuiescentAsync();
            }
            await AfterStepAsync(at);
            step++;
            if (step == stops.Count || stops[step].Date != at.Date)
                Say($"day {(at - Start).Days + 1} of {days}: {EntriesAttempted} entries, {clock.Summary()}, {Math.Round(Wall.Elapsed.TotalSeconds)} s of wall time");
        }
        if (faults is not null)
        {
            await faults.EndAsync();
            // After the world stops disturbing: a day of the system's own schedules lets every retry and backoff converge.
            for (var i = 1; i <= 4; i++) { await clock.AdvanceToAsync(w.Now.AddHours(6)); await WatchAsync(); }
        }
        // The on-call's follow-up after the calendar: while a runbook execution is open (waiting for a player or a winner),
        // the system's own schedules go on in ticks, at most two days.
        for (var i = 0; i < 8 && Operator is { } oncall && oncall.Open.Any(); i++) { await clock.AdvanceToAsync(w.Now + Tick); await WatchAsync(); }
        Say($"calendar played: {EntriesAttempted} entries created ({RequestsRetried} requests retried, {PaymentsDeclined} cards declined, " +
            $"{PaymentsAbandoned} checkouts abandoned), {LateAttemptsRefused} attempts after lock refused; {clock.Summary()}");
    }

    /// <summary>After a settled step: the report's sample, then the outside world, alerts and the operator.</summary>
    async Task AfterStepAsync(DateTimeOffset at)
    {
        await Timed("sampling for the report", () => RecordStatesAsync(at));
        await Timed("alerts, operator, outside world", WatchAsync);
    }

    /// <summary>
    /// The players of a step enter in parallel, then pay (or decline, or abandon) one after another in arrival order. Stripe's
    /// events of the step are then emitted in the same order on every run of the seed, so the webhook faults that take "the
    /// next N webhooks" (dropped, held for hours, reordered, duplicated) strike the same payments every time; paying in the
    /// order the parallel requests happened to finish made which entries paid before their lock, and so the settlements,
    /// differ between two runs of seed 8.
    /// </summary>
    async Task EnterAllAsync(IReadOnlyList<Arrival> due)
    {
        var created = new (string EntryId, string PaymentIntentId)?[due.Count];
        await ForEachAsync(Enumerable.Range(0, due.Count), async i => created[i] = await EnterAsync(due[i]));
        for (var i = 0; i < due.Count; i++)
            if (created[i] is var (entryId, paymentIntentId)) await PayAsync(due[i], entryId, paymentIntentId);
    }

    /// <summary>
    /// A player whose request met a dead API (a crash point, a kill) tries again with the same Idempotency-Key once the
    /// API is back, as a real client does: bounded, and the contract guarantees the same entry. Null when no entry was
    /// created (refused after lock, or the capped contest is full).
    /// </summary>
    async Task<(string EntryId, string PaymentIntentId)?> EnterAsync(Arrival a)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await EnterOnceAsync(a); }
            catch (Exception e) when (attempt < 6 && (e is HttpRequestException or TaskCanceledException or IOException || e is Client.ApiException { StatusCode: 502 or 503 }))
            {
                await w.SuperviseAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt));
            }
        }
    }

    async Task<(string EntryId, string PaymentIntentId)?> EnterOnceAsync(Arrival a)
    {
        using var player = w.Player(a.Player.UserId);
        var field = FieldByTournament[a.Tournament.Id];
        var request = new Client.CreateEntryRequest { Golfers = a.Golfers.Select(g => field[int.Parse(g, CultureInfo.InvariantCulture)]).ToArray() };
        if (a.Late)
        {
            try
            {
                await player.Api.CreateEntryAsync(a.Contest.Id, a.Key, request, CancellationToken.None);
                lock (Problems) Problems.Add($"{a.Player.UserId} entered {a.Contest.Id} after its lock");
            }
            catch (Client.ApiException e) when (e.StatusCode == 409)
            {
                lock (Problems) LateAttemptsRefused++;
            }
            return null;
        }
        Client.EntryCreated created;
        try { created = await player.Api.CreateEntryAsync(a.Contest.Id, a.Key, request, CancellationToken.None); }
        catch (Client.ApiException e) when (e.StatusCode == 409 && e.Response?.Contains("CONTEST_FULL", StringComparison.Ordinal) == true)
        {
            return null; // the capped contest is full: the player is told so and nothing is charged
        }
        if (CreatedEntries.TryAdd(created.Entry.Id, a.Contest.Id) && a.At < Start + VolumeWindow) Interlocked.Increment(ref entriesInVolumeWindow);
        if (a.RetriesRequest)
        {
            // A client that lost the response retries: same key, same entry, same PaymentIntent.
            var again = await player.Api.CreateEntryAsync(a.Contest.Id, a.Key, request, CancellationToken.None);
            if (again.Entry.Id != created.Entry.Id) lock (Problems) Problems.Add($"a retried entry request created a second entry ({a.Key})");
            lock (Problems) RequestsRetried++;
        }
        return (created.Entry.Id, created.Payment.Payment_intent_id);
    }

    async Task PayAsync(Arrival a, string entryId, string pi)
    {
        switch (a.Payment)
        {
            case Payment.Declines:
                await w.Stripe.PostAsync($"/_sandbox/payment_intents/{pi}/fail", new { decline_code = "card_declined" });
                lock (Problems) PaymentsDeclined++;
                break;
            case Payment.Abandoned:
                lock (Problems) PaymentsAbandoned++;
                break;
            default:
                await w.Stripe.PostAsync($"/_sandbox/payment_intents/{pi}/succeed");
                if (Outside is not null) await Outside.PaidAsync(a, entryId, pi);
                break;
        }
    }

    /// <summary>Money held in contest escrow and entries created, sampled after each step (for the report's timeline).</summary>
    public List<(DateTimeOffset At, long Escrow, int Entries, long WebhookBacklog, long PayoutsOpen)> Samples { get; } = [];

    async Task RecordStatesAsync(DateTimeOffset at)
    {
        var escrow = await w.Admin.GetAsync("/api/admin/ledger/accounts?kind=contest_escrow&limit=200");
        var rows = escrow.ValueKind == System.Text.Json.JsonValueKind.Array ? escrow : escrow.TryGetProperty("data", out var d) ? d : escrow.GetProperty("accounts");
        // The queues an operator watches: Stripe events stored and not processed yet, payout transfers not terminal yet.
        var webhooks = await w.Admin.GetAsync("/api/admin/stripe/webhooks/recent?limit=1");
        var payouts = await w.Admin.GetAsync("/api/admin/payouts/status");
        var payoutsOpen = payouts.GetProperty("transfers").EnumerateArray()
            .Where(t => t.GetProperty("status").GetString() is not ("completed" or "failed_terminal")).Sum(t => t.GetProperty("count").GetInt64());
        Samples.Add((at, rows.EnumerateArray().Sum(r => r.TryGetProperty("balance", out var b) ? b.GetInt64() : 0), EntriesAttempted,
            webhooks.GetProperty("unprocessed_count").GetInt64(), payoutsOpen));
        // Every contest's state in one paged read (a request per contest made this sampling a few thousand requests a season).
        // Bounded: a season has a few dozen contests, so a listing that keeps saying has_more is a paging fault, not a season.
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        var pages = 0;
        for (string? after = null; ;)
        {
            if (++pages > MaxContestPages) throw new InvalidOperationException($"GET /api/admin/contests still had more after {MaxContestPages} pages of 200");
            var page = await w.Admin.GetAsync("/api/admin/contests?limit=200" + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}"));
            foreach (var row in page.GetProperty("data").EnumerateArray()) states[row.GetProperty("id").GetString()!] = row.GetProperty("state").GetString() ?? "?";
            if (!page.GetProperty("has_more").GetBoolean()) break;
            after = page.GetProperty("next_after").GetString();
        }
        foreach (var t in Tournaments.Where(t => t.OpensAt <= at && t.Official.AddHours(3) >= at.AddHours(-6)))
        foreach (var c in t.Contests)
        {
            var state = states.TryGetValue(c.Id, out var listed) ? listed : throw new InvalidOperationException($"contest {c.Id} is not listed by GET /api/admin/contests");
            if (StateTimeline.LastOrDefault(s => s.Contest == c.Id) is var last && last.State == state) continue;
            StateTimeline.Add((at, c.Id, state));
        }
    }

    static Task ForEachAsync<T>(IEnumerable<T> items, Func<T, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (item, _) => await body(item));
}
