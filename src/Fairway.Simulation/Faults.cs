using System.Diagnostics;
using System.Globalization;

namespace Fairway.Simulation;

/// <summary>When a fault kind may strike: between two clock steps (the system idle), right after or before a burst of player
/// arrivals (webhooks in flight), or at the launch checklist (before the calendar starts; every faulted run).</summary>
public enum FaultMoment { BetweenSteps, DuringArrivals, BeforeArrivals, AtLaunch }

/// <summary>One kind of fault of the catalogue: its name, when it may strike, and how it is injected at an intensity in [0, 1).</summary>
public sealed record FaultKind(string Name, FaultMoment Moment, Func<Faults, double, Task<string>> Inject);

/// <summary>
/// One injected fault. Recovery: from the injection until the system was next quiescent (nothing due, queued or in flight)
/// with no alert firing — in simulated time, and the wall-clock seconds that took. Null while it has not recovered.
/// </summary>
public sealed record FaultEvent(DateTimeOffset At, string Kind, string What)
{
    public long InjectedAtTicks { get; init; } = Stopwatch.GetTimestamp();
    public TimeSpan? Recovery { get; set; }
    public double? RecoveryWallSeconds { get; set; }

    public string RecoveryText() => Recovery is { } r
        ? $"recovered after {(r.TotalHours >= 1 ? $"{r.TotalHours:F1} simulated hours" : $"{r.TotalMinutes:F0} simulated minutes")} ({RecoveryWallSeconds:F1} s of wall time)"
        : "NOT RECOVERED";
}

/// <summary>
/// The fault catalogue of the founder absence simulation (issue 15 §2), injected only through the sandboxes' control APIs
/// and the process and database controls an operator has. Which faults strike, when and how hard is drawn from the seed
/// (its own random stream, so the season itself is the same with and without faults). Faults disturb delivery, processes
/// and timing, never the ground truth of play.
/// </summary>
public sealed class Faults(World world, TextWriter log, int seed)
{
    World w => world;
    int workerCrashPointsArmed;
    int Seed => seed;
    readonly Random random = new(unchecked(seed * 7919 + 17));
    readonly List<(int Stop, FaultKind Kind, double Intensity)> plan = [];
    /// <summary>The world's own recoveries still to come (a held webhook batch released, an account fixed), by the fault they end.</summary>
    readonly List<(DateTimeOffset At, string What, Func<Task> Action, int Fault)> later = [];
    /// <summary>Where a fault's disturbance ends by itself (a provider outage or frozen feed over, a held batch released,
    /// an account fixed): the clock stops there too, so the system is judged by when it noticed, not by the next planned stop.</summary>
    readonly SortedSet<DateTimeOffset> disturbanceEnds = [];
    Season season = null!;
    public List<FaultEvent> Injected { get; } = [];
    public HashSet<string> KindsInjected { get; } = [];

    static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    static int Scale(double intensity, int min, int max) => min + (int)(intensity * (max - min + 1));

    public static readonly FaultKind[] Catalogue =
    [
        // Stripe: webhook delivery
        new("webhooks-duplicated", FaultMoment.BeforeArrivals, async (f, x) => { var n = Scale(x, 10, 60); await f.w.Stripe.PostAsync("/_sandbox/webhooks/duplicate", new { count = n }); return $"the next {n} Stripe webhooks are delivered twice"; }),
        new("webhooks-reordered", FaultMoment.BeforeArrivals, async (f, x) => { var n = Scale(x, 5, 20); await f.w.Stripe.PostAsync("/_sandbox/webhooks/reorder", new { count = n }); return $"the next {n} Stripe webhooks are held and delivered newest first"; }),
        new("webhooks-delayed-hours", FaultMoment.BeforeArrivals, async (f, x) =>
        {
            var n = Scale(x, 5, 25); var hours = Scale(x, 2, 8);
            await f.w.Stripe.PostAsync("/_sandbox/webhooks/delay", new { count = n });
            f.Later(f.w.Now.AddHours(hours), $"the {n} delayed webhooks are released", () => f.w.Stripe.PostAsync("/_sandbox/webhooks/release"));
            return $"the next {n} Stripe webhooks are held for {hours} simulated hours";
        }),
        new("webhooks-never-delivered", FaultMoment.BeforeArrivals, async (f, x) => { var n = Scale(x, 3, 15); await f.w.Stripe.PostAsync("/_sandbox/webhooks/drop", new { count = n }); return $"the next {n} Stripe webhooks are never delivered"; }),
        // Stripe: API answers
        new("stripe-transfer-503", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/transfers", "http_503", Scale(x, 1, 4), false)),
        new("stripe-transfer-429", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/transfers", "rate_limit_429", Scale(x, 1, 3), false)),
        new("stripe-transfer-answer-lost", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/transfers", "http_500", Scale(x, 1, 2), true)),
        new("stripe-answer-after-client-timeout", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/transfers", "timeout", 1, true, (int)(f.Seconds("PAYOUT_STRIPE_TIMEOUT_SECONDS") + 2) * 1000)),
        new("stripe-refund-503", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/refunds", "http_503", Scale(x, 1, 3), false)),
        new("stripe-refund-connection-reset", FaultMoment.BetweenSteps, (f, x) => f.StripeFault("POST", "/v1/refunds", "connection_reset", 1, true)),
        new("stripe-idempotency-keys-pruned", FaultMoment.BetweenSteps, async (f, x) => { var r = await f.w.Stripe.PostAsync("/_sandbox/idempotency/prune", new { older_than_seconds = 0 }); return $"Stripe forgot every idempotency key ({r.GetProperty("pruned").GetInt64()})"; }),
        new("account-restricted-then-fixed", FaultMoment.BetweenSteps, async (f, x) =>
        {
            var (user, account) = await f.OnboardedAccountAsync();
            var days = Scale(x, 1, 3);
            await f.w.Stripe.PostAsync($"/_sandbox/accounts/{account}/restrict");
            f.Later(f.w.Now.AddDays(days), $"{user}'s connected account is fixed", () => f.w.Stripe.PostAsync($"/_sandbox/accounts/{account}/complete_onboarding"));
            return $"{user}'s connected account is restricted for {days} simulated days";
        }),
        new("account-invalid", FaultMoment.BetweenSteps, async (f, x) =>
        {
            var (user, account) = await f.OnboardedAccountAsync();
            await f.w.Stripe.PostAsync($"/_sandbox/accounts/{account}/invalidate");
            return $"{user}'s connected account becomes invalid (transfers to it are refused)";
        }),
        // The provider
        new("provider-outage-hours", FaultMoment.BetweenSteps, async (f, x) => { var h = Scale(x, 1, 4); await f.w.Provider.PostAsync("/_control/faults", new { kind = "http_503", until = Iso(f.EndsAt(f.w.Now.AddHours(h))) }); return $"provider outage: every leaderboard request answers 503 for {h} simulated hours"; }),
        new("provider-stale-leaderboard", FaultMoment.BetweenSteps, async (f, x) => { var h = Scale(x, 1, 3); await f.w.Provider.PostAsync("/_control/faults", new { kind = "stale_repeat", until = Iso(f.EndsAt(f.w.Now.AddHours(h))) }); return $"provider serves a frozen (stale) leaderboard for {h} simulated hours"; }),
        new("provider-timeouts", FaultMoment.BetweenSteps, async (f, x) => { var n = Scale(x, 2, 5); await f.w.Provider.PostAsync("/_control/faults", new { kind = "timeout", count = n, delay_ms = (int)(f.Seconds("INGESTION_HTTP_TIMEOUT_SECONDS") + 2) * 1000 }); return $"the next {n} leaderboard requests time out"; }),
        new("provider-connection-refused", FaultMoment.BetweenSteps, async (f, x) => { var n = Scale(x, 2, 6); await f.w.Provider.PostAsync("/_control/faults", new { kind = "connection_refused", count = n }); return $"the next {n} leaderboard connections are refused"; }),
        new("provider-float-strokes", FaultMoment.BetweenSteps, (f, x) => f.ProviderPayload("float_strokes")),
        new("provider-truncated-json", FaultMoment.BetweenSteps, (f, x) => f.ProviderPayload("truncated_json")),
        new("provider-duplicate-player", FaultMoment.BetweenSteps, (f, x) => f.ProviderPayload("duplicate_player")),
        new("provider-unknown-status", FaultMoment.BetweenSteps, (f, x) => f.ProviderPayload("unknown_tournament_status")),
        // Processes and the database
        new("worker-sigkill", FaultMoment.BetweenSteps, async (f, x) => await f.CrashWorkerAsync()),
        new("api-sigkill-during-webhook-burst", FaultMoment.DuringArrivals, async (f, x) => await f.CrashApiAsync()),
        new("api-crash-point-entry", FaultMoment.BeforeArrivals, (f, x) => f.ArmApiCrashPointAsync("payments.after_entry_insert_before_intent")),
        new("api-crash-point-webhook", FaultMoment.BeforeArrivals, (f, x) => f.ArmApiCrashPointAsync("webhooks.after_store_before_enqueue")),
        // The worker's crash points: the worker runs with one armed until a job reaches it (the process dies mid-transaction,
        // the supervisor starts a clean worker, and the job it held is taken again once its invisibility timeout passes).
        // Which point rotates with the seed (and the occurrence), so consecutive seeds cover every one of them.
        // The launch checklist's "kill-switch off" meets an API armed to die between the switch's update and its commit.
        new("api-crash-point-kill-switch", FaultMoment.AtLaunch, (f, x) => f.KillSwitchCrashAtLaunchAsync()),
        new(WorkerCrashPointKind, FaultMoment.BetweenSteps, (f, x) => f.ArmWorkerCrashPointAsync(WorkerCrashPoints[Math.Abs(f.Seed) % WorkerCrashPoints.Length])),
        new("postgres-restart", FaultMoment.BetweenSteps, async (f, x) => await f.PostgresAsync("restart", 0)),
        // Down for 18-30 s of real time: longer than every real-time threshold the processes have for a database outage
        // (Npgsql's 15 s connect timeout, Hangfire's 15 s before it reports a process failed and its retry delay of at
        // most 5 s, the 5 s invisibility of a dead worker's jobs, the readiness probe), so each of them is crossed; the
        // clock (in the database) stands still meanwhile. Longer adds nothing a process could notice but wall time.
        new("postgres-down", FaultMoment.BetweenSteps, async (f, x) => await f.PostgresAsync("down", Scale(x, 18, 30))),
    ];

    /// <summary>Every named crash point a worker job can reach (Fairway's FAIRWAY_CRASH_POINTS); seed s arms point s mod 6 first.</summary>
    public static readonly string[] WorkerCrashPoints =
    [
        "payments.after_ledger_before_commit", "settlement.before_commit", "payout.after_send_mark_before_stripe",
        "payout.after_stripe_before_commit", "refunds.after_stripe_refund_before_record", "ledger.after_postings_before_commit",
    ];

    /// <summary>Crash points armed in a process, and whether that process died of it (the supervisor replaced it).</summary>
    public List<(DateTimeOffset At, string Role, string Point, ChildProcess Process)> ArmedCrashPoints { get; } = [];

    /// <summary>Draws the schedule: every kind strikes once per 14 days (at least once), at a random stop, with a random intensity.</summary>
    public void Plan(Season s, IReadOnlyList<DateTimeOffset> stops, IReadOnlySet<int> arrivalStops, int days)
    {
        season = s;
        var occurrences = Math.Max(1, days / 14);
        foreach (var kind in Catalogue.Where(k => k.Moment != FaultMoment.AtLaunch))
            for (var k = 0; k < occurrences; k++)
            {
                var candidates = Enumerable.Range(stops.Count / 10, stops.Count * 3 / 4)
                    .Where(i => kind.Moment == FaultMoment.BetweenSteps || arrivalStops.Contains(i)).ToList();
                var planned = kind;
                if (kind.Name == WorkerCrashPointKind)
                {
                    // Seed s arms point s mod 6 first, then the next ones; each is armed right before a step whose jobs reach it.
                    var point = WorkerCrashPoints[(Math.Abs(seed) + workerCrashPointsArmed++) % WorkerCrashPoints.Length];
                    if (StopsReaching(point, stops, arrivalStops) is { Count: > 0 } reaching) candidates = reaching;
                    planned = kind with { Inject = (f, _) => f.ArmWorkerCrashPointAsync(point) };
                }
                if (candidates.Count == 0) continue;
                plan.Add((candidates[random.Next(candidates.Count)], planned, random.NextDouble()));
            }
        log.WriteLine($"fault schedule (seed {seed}): {plan.Count} faults of {plan.Select(p => p.Kind.Name).Distinct().Count()} kinds");
    }

    const string WorkerCrashPointKind = "worker-crash-point";

    /// <summary>
    /// The stops right before which a worker armed with <paramref name="point"/> meets a job that reaches it: settlement
    /// and payouts when a tournament's settlement hold ends, refunds when a contest is cancelled (an under-filled one at
    /// lock, or the provider's cancellation mid-way), payment convergence and ledger postings when players pay.
    /// </summary>
    List<int> StopsReaching(string point, IReadOnlyList<DateTimeOffset> stops, IReadOnlySet<int> arrivalStops)
    {
        IEnumerable<DateTimeOffset> at = point switch
        {
            "settlement.before_commit" or "payout.after_send_mark_before_stripe" or "payout.after_stripe_before_commit" =>
                season.Tournaments.Where(t => t.Twist != Twist.CancelledMidway).Select(t => t.Official.AddMinutes(5).AddSeconds(3601)),
            "refunds.after_stripe_refund_before_record" =>
                season.Tournaments.Where(t => t.Contests.Any(c => c.Expected == "CANCELLED")).Select(t => t.Twist == Twist.CancelledMidway ? t.CancelAt : t.Lock.AddMinutes(1)),
            _ => [],
        };
        var wanted = at.ToHashSet();
        var found = Enumerable.Range(0, stops.Count).Where(i => wanted.Contains(stops[i])).ToList();
        return found.Count > 0 ? found : arrivalStops.Order().ToList();
    }

    void Later(DateTimeOffset at, string what, Func<Task> action)
    {
        later.Add((at, what, action, Injected.Count));
        EndsAt(at);
    }

    DateTimeOffset EndsAt(DateTimeOffset at)
    {
        disturbanceEnds.Add(at);
        return at;
    }

    /// <summary>The first instant after the clock and before <paramref name="before"/> at which a fault's disturbance ends (null: none).</summary>
    public DateTimeOffset? NextDisturbanceEndBefore(DateTimeOffset before)
    {
        foreach (var end in disturbanceEnds)
            if (end > w.Now && end < before) return end;
        return null;
    }

    /// <summary>The world's own recoveries due at the clock (held webhooks released, an account fixed).</summary>
    public async Task ReleaseDueAsync()
    {
        foreach (var due in later.Where(l => l.At <= w.Now).ToList())
        {
            await due.Action();
            later.Remove(due);
            log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] RECOVERY {due.What}");
        }
    }

    public async Task AtAsync(int stop, FaultMoment moment)
    {
        if (moment == FaultMoment.BetweenSteps) await ReleaseDueAsync();
        foreach (var (_, kind, intensity) in plan.Where(p => p.Stop == stop && p.Kind.Moment == moment).ToList())
        {
            var what = await kind.Inject(this, intensity);
            KindsInjected.Add(kind.Name);
            Injected.Add(new FaultEvent(w.Now, kind.Name, what));
            log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] FAULT {kind.Name}: {what}");
        }
    }

    Func<Task>? launchRequest;

    /// <summary>
    /// The launch checklist's last step (<paramref name="turnOff"/>: the kill-switch off, an admin request) under the
    /// faults that strike at launch; the checklist's own request afterwards is the retry.
    /// </summary>
    public async Task AtLaunchAsync(Func<Task> turnOff)
    {
        launchRequest = turnOff;
        foreach (var kind in Catalogue.Where(k => k.Moment == FaultMoment.AtLaunch))
        {
            var what = await kind.Inject(this, 0);
            KindsInjected.Add(kind.Name);
            Injected.Add(new FaultEvent(w.Now, kind.Name, what));
            log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] FAULT {kind.Name}: {what}");
        }
    }

    /// <summary>
    /// The admin request that turns the kill-switch off reaches an API armed with killswitch.after_update_before_commit:
    /// the process dies between the switch's update (with its audit row) and the commit. The supervisor replaces it; the
    /// switch must still be engaged (nothing half-written), and the checklist asks again.
    /// </summary>
    async Task<string> KillSwitchCrashAtLaunchAsync()
    {
        const string point = "killswitch.after_update_before_commit";
        await ArmApiCrashPointAsync(point);
        var armed = w.ApiProcess!;
        try
        {
            await launchRequest!();
            throw new InvalidOperationException($"the API armed with crash point {point} answered the kill-switch request");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException) { }
        for (var i = 0; i < 100 && !armed.HasExited; i++) await Task.Delay(50);
        await w.SuperviseAsync();
        var engaged = (await w.Admin.GetAsync("/api/admin/kill-switch")).GetProperty("engaged").GetBoolean();
        if (!engaged) throw new InvalidOperationException($"the kill-switch is off although the request's transaction died at {point}, before its commit");
        return $"the launch checklist's request to turn the kill-switch off killed the API at crash point {point} (between the update and its commit); " +
            "the supervisor restarted the API, the switch was still on, and the checklist asked again";
    }

    /// <summary>Called after each settled clock step with whether any alert is firing: faults not yet recovered and with no
    /// release still pending recover now.</summary>
    public void Observe(bool alertsFiring)
    {
        if (alertsFiring) return;
        // A fault whose own recovery (by the world) is still to come has not recovered yet; the others have.
        var waiting = later.Select(l => l.Fault).ToHashSet();
        foreach (var f in Injected.Where((f, i) => f.Recovery is null && !waiting.Contains(i)))
        {
            f.Recovery = w.Now - f.At;
            f.RecoveryWallSeconds = Stopwatch.GetElapsedTime(f.InjectedAtTicks).TotalSeconds;
        }
    }

    /// <summary>Whatever is still held or pending is let go at the end, so the verdict judges a system the world stopped disturbing.</summary>
    public async Task EndAsync()
    {
        foreach (var due in later.ToList()) { await due.Action(); log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] RECOVERY {due.What} (end of calendar)"); }
        later.Clear();
        await w.Stripe.PostAsync("/_sandbox/webhooks/release");
    }

    /// <summary>A timeout the hosts run with (seconds): a fault that answers "after the client's timeout" answers after this.</summary>
    int Seconds(string variable) => int.Parse(w.HostEnv[variable], System.Globalization.CultureInfo.InvariantCulture);

    async Task<string> StripeFault(string method, string path, string kind, int count, bool afterCommit, int delayMs = 0)
    {
        await w.Stripe.PostAsync("/_sandbox/faults", delayMs > 0
            ? new { method, path_prefix = path, kind, count, after_commit = afterCommit, delay_ms = delayMs }
            : (object)new { method, path_prefix = path, kind, count, after_commit = afterCommit });
        return $"Stripe {method} {path}: the next {count} answer {kind}{(afterCommit ? " after the operation was done" : "")}";
    }

    async Task<string> ProviderPayload(string kind)
    {
        await w.Provider.PostAsync("/_control/faults", new { kind, count = 1 });
        return $"the provider's next leaderboard is malformed ({kind})";
    }

    async Task<(string User, string Account)> OnboardedAccountAsync()
    {
        var onboarded = season.Players.Where(p => p.Onboards).ToList();
        var victim = onboarded[random.Next(onboarded.Count)];
        using var player = w.Player(victim.UserId);
        var account = await player.Api.GetPayoutAccountAsync(CancellationToken.None);
        return (victim.UserId, account.Stripe_account_id);
    }

    async Task<string> CrashWorkerAsync()
    {
        var pid = w.WorkerProcess!.Pid;
        w.WorkerProcess.Crash();
        w.WorkerProcess.Dispose();
        w.WorkerProcess = await w.StartHostAsync("worker", ChildProcess.FreePort());
        return $"worker process {pid} killed (SIGKILL); a new worker {w.WorkerProcess.Pid} started";
    }

    /// <summary>Right after a burst of payments: the webhooks are in flight when the API dies; the sandbox retries them.</summary>
    async Task<string> CrashApiAsync()
    {
        var pid = w.ApiProcess!.Pid;
        w.ApiProcess.Crash();
        w.ApiProcess.Dispose();
        w.ApiProcess = await w.StartHostAsync("api", w.ApiUrl.Port);
        return $"API process {pid} killed (SIGKILL) during a webhook burst; a new API {w.ApiProcess.Pid} started on the same port";
    }

    /// <summary>Restarts the API with one crash point armed: the next request that reaches it kills the process mid-transaction.</summary>
    async Task<string> ArmApiCrashPointAsync(string point)
    {
        await w.ApiProcess!.StopAsync(TimeSpan.FromSeconds(30));
        w.ApiProcess.Dispose();
        w.ApiProcess = await w.StartHostAsync("api", w.ApiUrl.Port, new Dictionary<string, string> { ["FAIRWAY_CRASH_POINTS"] = point });
        ArmedCrashPoints.Add((w.Now, "api", point, w.ApiProcess));
        return $"API restarted with crash point {point} armed (the process dies there; the supervisor restarts it)";
    }

    /// <summary>Restarts the worker (drained, SIGTERM) with one crash point armed: the first job that reaches it kills the process.</summary>
    async Task<string> ArmWorkerCrashPointAsync(string point)
    {
        await w.WorkerProcess!.StopAsync(TimeSpan.FromSeconds(30));
        w.WorkerProcess.Dispose();
        w.WorkerProcess = await w.StartHostAsync("worker", ChildProcess.FreePort(), new Dictionary<string, string> { ["FAIRWAY_CRASH_POINTS"] = point });
        ArmedCrashPoints.Add((w.Now, "worker", point, w.WorkerProcess));
        return $"worker restarted with crash point {point} armed (the first job reaching it dies there mid-transaction; the supervisor restarts a clean worker)";
    }

    /// <summary>One line per armed crash point: reached (the process died there) or not (the season never reached it while armed).</summary>
    public IEnumerable<string> CrashPointOutcomes() => ArmedCrashPoints.Select(c =>
        $"{c.At:yyyy-MM-dd HH:mm} {c.Role} {c.Point}: {(c.Process.DiedAt(c.Point) ? "reached, process died there and was replaced" : "not reached while armed")}");

    /// <summary>PostgreSQL restarted under the running processes, or down for half a minute to a minute of real time (the processes see real time) and started again.</summary>
    async Task<string> PostgresAsync(string how, int downSeconds)
    {
        var bin = Environment.GetEnvironmentVariable("PG_BIN_DIR");
        var data = Environment.GetEnvironmentVariable("PG_DATA_DIR");
        var baseDir = Environment.GetEnvironmentVariable("PG_BASE_DIR");
        if (bin is null || data is null || baseDir is null) return "(no PG_BIN_DIR/PG_DATA_DIR: database fault skipped)";
        async Task PgCtl(string action)
        {
            var psi = new ProcessStartInfo("runuser") { RedirectStandardOutput = true };
            foreach (var a in new[] { "-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", data, "-l", Path.Combine(baseDir, "server.log"), "-m", "fast", "-w", "-t", "60", action })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException($"pg_ctl {action} exited {p.ExitCode}");
        }
        if (how == "restart") await PgCtl("restart");
        else
        {
            await PgCtl("stop");
            await Task.Delay(TimeSpan.FromSeconds(downSeconds));
            await PgCtl("start");
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var sw = Stopwatch.StartNew();
        while (!(await Ready(http, w.ApiUrl)))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(90)) throw new TimeoutException("the API did not become ready after the database came back");
            await Task.Delay(250);
        }
        return how == "restart"
            ? $"PostgreSQL restarted under the running API and worker (API ready again after {sw.Elapsed.TotalSeconds:F1} s)"
            : $"PostgreSQL down for {downSeconds} s of real time (API ready again {sw.Elapsed.TotalSeconds:F1} s after it came back)";
    }

    static async Task<bool> Ready(HttpClient http, Uri api)
    {
        try { return (await http.GetAsync(new Uri(api, "/readyz"))).IsSuccessStatusCode; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }
}
