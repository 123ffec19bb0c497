using System.Diagnostics;
using Fairway.Simulation;

// Usage: Fairway.Simulation --root <repo> --database-url <url> --run-dir <dir> [--host-dll <path>] [--seed N] [--days N] [--players N]
//                           [--no-faults] [--keep-running]
// --host-dll: the Fairway.Host.dll the API and worker processes run (scripts/simulate passes the published host, built as the
// release builds it); without it, the solution's build output.
var opts = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length ? args[x.i + 1] : "");
string Need(string k) => opts.TryGetValue(k, out var v) && v.Length > 0 ? v : throw new ArgumentException($"--{k} is required");
var seed = int.Parse(opts.GetValueOrDefault("seed", "20261123"), System.Globalization.CultureInfo.InvariantCulture);
var players = int.Parse(opts.GetValueOrDefault("players", Season.DefaultPlayers.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
var days = int.Parse(opts.GetValueOrDefault("days", "14"), System.Globalization.CultureInfo.InvariantCulture);
var root = Need("root");
var runDir = Need("run-dir");
Directory.CreateDirectory(runDir);
var sw = Stopwatch.StartNew();
var log = Console.Out;

// The simulated calendar starts in the future of any clock the database has seen (the test clock never runs backwards).
var t0 = new DateTimeOffset(DateTime.UtcNow.Year + 1, 6, 1, 0, 0, 0, TimeSpan.Zero);
log.WriteLine($"seed {seed}, {days} days, {players} players, calendar starts {t0:ddd yyyy-MM-dd}, logs in {runDir}");
var hostDll = opts.TryGetValue("host-dll", out var h) && h.Length > 0 ? Path.GetFullPath(h) : null;
if (hostDll is not null && !File.Exists(hostDll)) throw new ArgumentException($"--host-dll {hostDll} does not exist");
await using var world = await World.StartAsync(root, Need("database-url"), runDir, t0, hostDll);
// PRODUCT.md §10: the main job runs with faults injected; --no-faults plays the same season without them.
var faults = opts.ContainsKey("no-faults") ? null : new Faults(world, log, seed);
var clock = new TimeDriver(world, log);
var alerts = new AlertWatch(world, root);
// Issue 15 §3: the on-call operator follows runbooks only; the player's bank is the outside world of seed 001's refund failure.
var oncall = new Operator(world, clock, alerts, root, log);
var outside = new OutsideWorld(world, log) { Operator = oncall };
oncall.Ask = outside.AskAsync;
var season = new Season(world, clock, alerts, seed, days, log, faults) { Operator = oncall, Outside = outside };
Verdict? verdict = null;
try
{
    await season.PrepareAsync(players);
    await season.PlayAsync();
    verdict = new Verdict(world, season, alerts, root, log);
    await verdict.RunAsync();
    if (faults is not null)
    {
        var open = faults.Injected.Where(f => f.Recovery is null).ToList();
        verdict.Checks.Add(new Check("every fault recovered (the system quiescent with no alert firing) before the end", open.Count == 0,
            string.Join("; ", open.Select(f => $"{f.At:MM-dd HH:mm} {f.Kind}"))));
    }
    if (opts.ContainsKey("keep-running")) await KeepRunningAsync(world, log);
    var (apiExit, workerExit) = await world.StopHostsAsync();
    verdict.Checks.Add(new Check("api and worker drain and exit 0 on SIGTERM", apiExit == 0 && workerExit == 0, $"api {apiExit}, worker {workerExit}"));
}
catch (Exception e) when (e is ApiException or InvalidOperationException or TimeoutException or HttpRequestException or IOException or Fairway.Simulation.Client.ApiException)
{
    // A generated-client ApiException is a contract violation: an undocumented status, or a body that does not match the document.
    log.WriteLine($"SIMULATION ABORTED: {(e is Fairway.Simulation.Client.ApiException ? "public API contract: " : "")}{e.Message}");
    return 1;
}

log.WriteLine();
foreach (var c in verdict.Checks) log.WriteLine($"{(c.Passed ? "ok  " : "FAIL")}  {c.Name}{(c.Passed || c.Detail.Length == 0 ? "" : " — " + c.Detail)}");
var failed = verdict.Checks.Count(c => !c.Passed);
if (faults is not null) log.WriteLine($"\n{faults.Injected.Count} faults of {faults.KindsInjected.Count} kinds (catalogue: {Faults.Catalogue.Length}) injected:\n  " + string.Join("\n  ", faults.Injected.Select(f => $"{f.At:yyyy-MM-dd HH:mm} {f.Kind}: {f.What}; {f.RecoveryText()}")));
if (faults is { ArmedCrashPoints.Count: > 0 }) log.WriteLine($"crash points armed ({faults.ArmedCrashPoints.Count(c => c.Process.CrashPointReached is not null)} reached):\n  " + string.Join("\n  ", faults.CrashPointOutcomes()));
log.WriteLine($"\n{alerts.Incidents.Count} alerts fired (rules of infra/monitoring, `for` applied in simulated time){(alerts.Incidents.Count == 0 ? "" : ":\n  ")}" + string.Join("\n  ",
    alerts.Incidents.Select(a => $"{a.FiredAt:yyyy-MM-dd HH:mm} {a.Alert} (runbook {a.Runbook ?? "none"}) {(a.ResolvedAt is { } r ? $"resolved {r:yyyy-MM-dd HH:mm}" : "STILL FIRING")}")));
log.WriteLine($"\n{oncall.Runs.Count} runbook executions by the on-call operator{(oncall.Runs.Count == 0 ? "" : ":\n  ")}" + string.Join("\n  ",
    oncall.Runs.Select(r => $"{r.StartedAt:yyyy-MM-dd HH:mm} {r.Runbook} #{r.Execution} for {string.Join(", ", r.Handles.Select(h => h.Alert))} ({r.Incident}): {r.Outcome}{(r.FinishedAt is { } f ? $" {f:yyyy-MM-dd HH:mm}" : "")}{(r.Failure.Length > 0 ? " — FAILURE: " + r.Failure : "")}")));
if (world.Restarts.Count > 0) log.WriteLine("supervisor restarts:\n  " + string.Join("\n  ", world.Restarts));
log.WriteLine(clock.Summary());
log.WriteLine(clock.Profile());
// Every step's settling time in the run directory, to compare two runs step by step (the profile above shows only the slowest).
File.WriteAllLines(Path.Combine(runDir, "steps.tsv"), clock.StepLog.Select(s =>
    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{s.At:yyyy-MM-dd HH:mm}\t{s.Took.TotalSeconds:F3}\t{s.WaitedFor}")));
// Where the wall time went (issue 15 §5: the main job stays fast; this says what to speed up next).
log.WriteLine($"wall time {sw.Elapsed.TotalSeconds:F0} s: {clock.Settling.TotalSeconds:F0} s settling clock steps, " + string.Join(", ",
    season.WallByPhase.OrderByDescending(p => p.Value).Select(p => $"{p.Value.TotalSeconds:F0} s {p.Key}"))
    + $", {(sw.Elapsed - clock.Settling - season.WallByPhase.Values.Aggregate(TimeSpan.Zero, (x, y) => x + y)).TotalSeconds:F0} s the rest (start-up, announcements, verdict)");
log.WriteLine($"\n{verdict.Checks.Count - failed} checks passed, {failed} failed; simulated {days} days, {season.Tournaments.Count} tournaments, {season.Tournaments.Sum(t => t.Contests.Length)} contests, {season.Players.Count} players, {season.EntriesAttempted} entries in {sw.Elapsed.TotalSeconds:F0} s of wall time");
// The outcome digest: every contest's final state and settlement hash, in contest id order. The same seed must give the
// same digest run after run (--check-determinism), with or without faults when no fault changed an official result.
var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
    string.Join("\n", verdict.Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}")))));
log.WriteLine($"outcome digest {digest} (seed {seed}, {verdict.Outcomes.Count} contests)");
var report = Report.Write(root, seed, days, season, verdict, faults, alerts, world, clock, sw.Elapsed, digest);
log.WriteLine(failed == 0 ? "SIMULATION PASSED" : "SIMULATION FAILED");
log.WriteLine($"report: {report}");
return failed == 0 ? 0 : 1;

// --keep-running: the season's deployment stays up for a person to look at in the admin console, until Ctrl-C.
static async Task KeepRunningAsync(World world, TextWriter log)
{
    var stop = new TaskCompletionSource();
    using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
    using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
    log.WriteLine();
    log.WriteLine($"The deployment keeps running. Admin console: {world.ApiUrl}admin/");
    log.WriteLine("Sign in with this admin token (valid 6 hours):");
    log.WriteLine(Api.Token(world.SigningKey, World.Issuer, World.Audience, "console-operator", admin: true));
    log.WriteLine($"The same token works for the CLI: FAIRWAY_API_URL={world.ApiUrl} FAIRWAY_API_TOKEN=<token> ./scripts/fairway contests board");
    log.WriteLine("Ctrl-C stops everything (the API and worker drain first).");
    await stop.Task;
}