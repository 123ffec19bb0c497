using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Fairway.Simulation;

/// <summary>
/// The simulation's only way to make the system act on its own: a discrete-event loop that moves the test clock to the
/// next instant of interest and then waits until the system is quiescent at that instant. It never triggers a job or a
/// poll: the workers' recurring scheduler reads the same clock (decisions.md, "Recurring schedules come due on Fairway's
/// clock"), so every schedule due at or before the new instant fires by itself.
/// Quiescent at T means, observed in one pass (twice in a row, so a job between fetch and Processing is not missed):
/// every recurring job's next execution is after T (each one due has been run by the scheduler), Hangfire has nothing
/// enqueued or processing, and the Stripe sandbox has no webhook queued or in flight (held ones are a fault's, excluded).
/// Every wait is bounded; a step that does not settle fails the run with what was still busy.
/// </summary>
public sealed class TimeDriver(World w, TextWriter log)
{
    /// <summary>How long one clock step may take to settle (real time) before the run fails.</summary>
    public static readonly TimeSpan StepBound = TimeSpan.FromSeconds(240);

    public int Steps { get; private set; }
    public TimeSpan Settling { get; private set; }
    public TimeSpan LongestStep { get; private set; }
    public DateTimeOffset LongestStepAt { get; private set; }
    /// <summary>Every step's settling time and the last thing it waited for (empty: it was quiet at once).</summary>
    public List<(DateTimeOffset At, TimeSpan Took, string WaitedFor)> StepLog { get; } = [];

    /// <summary>Moves the clock forward to <paramref name="at"/> (never backwards) and waits for the system to settle there.</summary>
    public async Task AdvanceToAsync(DateTimeOffset at)
    {
        if (at < w.Now) throw new InvalidOperationException($"the clock never runs backwards: {at:O} < {w.Now:O}");
        if (at > w.Now) await w.SetTimeAsync(at);
        await QuiescentAsync();
    }

    /// <summary>Waits (bounded) until everything the current instant made due has run and every webhook is delivered.</summary>
    public async Task QuiescentAsync()
    {
        var sw = Stopwatch.StartNew();
        var now = w.Now;
        var quietPasses = 0;
        string busy = "", waitedFor = "";
        while (true)
        {
            if (await w.SuperviseAsync()) quietPasses = 0;
            try { busy = await BusyAsync(now); }
            catch (HttpRequestException e) { busy = $"API unreachable ({e.Message}); the supervisor restarts a dead process"; }
            quietPasses = busy.Length == 0 ? quietPasses + 1 : 0;
            if (busy.Length > 0) waitedFor = busy;
            if (quietPasses == 2) break;
            if (sw.Elapsed > StepBound)
                throw new TimeoutException($"clock step to {now:yyyy-MM-dd HH:mm} did not settle within {StepBound.TotalSeconds:F0} s: {busy}");
            // Short pauses: one pass is two small reads, and a step's work is usually done within a few hundred milliseconds.
            await Task.Delay(busy.Length == 0 ? 25 : 50);
        }
        Steps++;
        Settling += sw.Elapsed;
        StepLog.Add((now, sw.Elapsed, waitedFor));
        if (sw.Elapsed > LongestStep) { LongestStep = sw.Elapsed; LongestStepAt = now; }
    }

    /// <summary>What is still busy at <paramref name="now"/> (empty: nothing).</summary>
    async Task<string> BusyAsync(DateTimeOffset now)
    {
        // Waits at most a second: a webhook whose API has just died is retried by the sandbox until the supervisor
        // (each pass, above) has restarted it, so a longer wait here only delays the restart (it cost a step 25 s).
        var hooks = await w.Stripe.PostAsync("/_sandbox/webhooks/wait_idle", new { timeout_ms = 1000 });
        if (hooks.TryGetProperty("idle", out var idle) && idle.ValueKind == JsonValueKind.False) return "Stripe sandbox webhooks still queued or in flight";
        // One read: recurring jobs due on Fairway's clock (next execution at or before the clock, as the scheduler reads
        // its set), and Hangfire's enqueued and processing counts.
        var stats = await w.Admin.GetAsync("/api/admin/jobs/stats");
        var due = stats.GetProperty("recurring_due").EnumerateArray().Select(d => d.GetString()!).ToList();
        long enqueued = stats.GetProperty("enqueued").GetInt64(), processing = stats.GetProperty("processing").GetInt64();
        if (due.Count == 0 && enqueued == 0 && processing == 0) return "";
        // The oldest queued jobs by name, so a step that does not settle says which job and whether a worker holds it.
        var queued = stats.GetProperty("queues").EnumerateArray().SelectMany(q => q.GetProperty("oldest").EnumerateArray().Select(j =>
            $"{q.GetProperty("queue").GetString()}:{j.GetProperty("job").GetString()}#{j.GetProperty("id").GetString()} {(j.GetProperty("fetched").GetBoolean() ? "fetched" : "waiting")} {j.GetProperty("state").GetString()}")).ToList();
        return $"recurring jobs not yet run [{string.Join(", ", due)}], {enqueued} enqueued, {processing} processing"
            + (queued.Count > 0 ? $" (queued: {string.Join("; ", queued)})" : "");
    }

    public string Summary() =>
        $"{Steps} clock steps, {Settling.TotalSeconds:F0} s settling (longest {LongestStep.TotalSeconds:F1} s at {LongestStepAt:yyyy-MM-dd HH:mm})";

    /// <summary>How settling time is spread over the steps, and the slowest steps with what they last waited for.</summary>
    public string Profile(int slowest = 8)
    {
        if (StepLog.Count == 0) return "no clock steps";
        var sorted = StepLog.Select(s => s.Took.TotalSeconds).Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        var lines = StepLog.OrderByDescending(s => s.Took).ThenBy(s => s.At).Take(slowest)
            .Select(s => $"  {s.Took.TotalSeconds,6:F1} s  {s.At:yyyy-MM-dd HH:mm}  {(s.WaitedFor.Length == 0 ? "(quiet at once)" : Shorten(s.WaitedFor))}");
        return string.Create(CultureInfo.InvariantCulture,
            $"clock steps settled in p50 {P(0.5):F2} s, p90 {P(0.9):F2} s, p99 {P(0.99):F2} s, max {sorted[^1]:F1} s; the {Math.Min(slowest, StepLog.Count)} slowest (with what each last waited for):\n")
            + string.Join("\n", lines);
    }

    static string Shorten(string s) => s.Length <= 160 ? s : s[..157] + "...";
}
