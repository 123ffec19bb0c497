using System.Diagnostics;

namespace Fairway.Simulation;

/// <summary>
/// The faults of the founder absence simulation (PRODUCT.md §10), injected only through the
/// sandboxes' control APIs and the process and database controls an operator has: duplicate and
/// reordered webhooks, Stripe 5xx/429 and a transfer whose answer is lost, an invalid destination
/// account, a provider outage and bad payloads, a worker killed between steps, a database restart.
/// Every invariant must still hold at the end.
/// </summary>
public sealed class Faults(World w, TextWriter log)
{
    public List<string> Injected { get; } = [];

    void Note(string what) { Injected.Add(what); log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] FAULT {what}"); }

    public async Task BeforeEntriesAsync()
    {
        await w.Stripe.PostAsync("/_sandbox/webhooks/duplicate", new { count = 25 });
        Note("the next 25 Stripe webhooks are delivered twice");
        await w.Stripe.PostAsync("/_sandbox/webhooks/reorder", new { count = 12 });
        Note("12 Stripe webhooks are held and delivered in reverse order");
    }

    public async Task BeforePlayAsync(Season season)
    {
        await w.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "http_503", count = 2 });
        await w.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "rate_limit_429", count = 1 });
        await w.Stripe.PostAsync("/_sandbox/faults", new { method = "POST", path_prefix = "/v1/transfers", kind = "http_500", count = 1, after_commit = true });
        Note("Stripe transfers: two 503s, one 429, and one transfer made whose answer is lost (500 after commit)");
        var victim = season.Players.First(p => p.Onboards);
        using var player = w.Player(victim.UserId);
        var account = await player.Api.GetPayoutAccountAsync(CancellationToken.None);
        await w.Stripe.PostAsync($"/_sandbox/accounts/{account.Stripe_account_id}/invalidate");
        Note($"{victim.UserId}'s connected account becomes invalid (transfers to it are refused)");
    }

    /// <summary>Faults between the steps of play, keyed by step number.</summary>
    public async Task AtStepAsync(int step)
    {
        switch (step)
        {
            case 3:
                await w.Provider.PostAsync("/_control/faults", new { kind = "http_503", count = 12 });
                Note("provider outage: the next 12 leaderboard requests answer 503");
                break;
            case 5:
                await w.Provider.PostAsync("/_control/faults", new { kind = "float_strokes", count = 1 });
                await w.Provider.PostAsync("/_control/faults", new { kind = "truncated_json", count = 1 });
                Note("provider sends a payload with float strokes and a truncated one");
                break;
            case 8:
                await CrashWorkerAsync();
                break;
            case 11:
                await RestartDatabaseAsync();
                break;
        }
    }

    async Task CrashWorkerAsync()
    {
        w.WorkerProcess!.Crash();
        Note($"worker process {w.WorkerProcess.Pid} killed (SIGKILL)");
        w.WorkerProcess.Dispose();
        w.WorkerProcess = await w.StartHostAsync("worker", ChildProcess.FreePort());
        log.WriteLine($"    a new worker process {w.WorkerProcess.Pid} started and is ready");
    }

    /// <summary>A fast restart of the PostgreSQL server under the running API and worker (as ops would after a failover).</summary>
    async Task RestartDatabaseAsync()
    {
        var bin = Environment.GetEnvironmentVariable("PG_BIN_DIR");
        var data = Environment.GetEnvironmentVariable("PG_DATA_DIR");
        var baseDir = Environment.GetEnvironmentVariable("PG_BASE_DIR");
        if (bin is null || data is null || baseDir is null) { log.WriteLine("    (no PG_BIN_DIR/PG_DATA_DIR: database restart skipped)"); return; }
        var psi = new ProcessStartInfo("runuser");
        foreach (var a in new[] { "-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", data, "-l", Path.Combine(baseDir, "server.log"), "-m", "fast", "-w", "-t", "60", "restart" })
            psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        using var p = Process.Start(psi)!;
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"pg_ctl restart exited {p.ExitCode}");
        Note("PostgreSQL restarted under the running API and worker");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var sw = Stopwatch.StartNew();
        while (!(await Ready(http, w.ApiUrl)))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("the API did not become ready after the database restart");
            await Task.Delay(250);
        }
        log.WriteLine($"    API ready again after {sw.Elapsed.TotalSeconds:F1} s, without a restart");
    }

    static async Task<bool> Ready(HttpClient http, Uri api)
    {
        try { return (await http.GetAsync(new Uri(api, "/readyz"))).IsSuccessStatusCode; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }
}
