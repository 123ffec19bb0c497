using System.CommandLine;

namespace Fairway.Cli;

/// <summary>Commands that act through the admin API.</summary>
public static class AdminCommands
{
    public static Command Jobs()
    {
        var delay = new Option<int>("--delay-ms") { Description = "How long the probe job works (0..60000).", DefaultValueFactory = _ => 0 };
        var wait = new Option<int>("--wait-seconds") { Description = "How long to wait for a worker to run it (0..120).", DefaultValueFactory = _ => 30 };
        var probe = new Command("probe", "Enqueue a probe job through the API and show which worker process ran it. Exit 1 when no worker ran it within --wait-seconds.") { delay, wait };
        probe.SetAction(parse => Call(c => c.SendAsync(HttpMethod.Post, "/api/admin/jobs/probes",
            new { delay_ms = parse.GetValue(delay), wait_seconds = parse.GetValue(wait) },
            judge: r => r.GetProperty("status").GetString() == "executed" ? CliOutput.Ok : CliOutput.Failed)));
        var list = new Command("list", "Recurring jobs: schedule, last and next run, and whether they are paused.");
        list.SetAction(_ => Call(c => c.SendAsync(HttpMethod.Get, "/api/admin/jobs/recurring")));
        var stats = new Command("stats", "Counts of background jobs by state (enqueued, processing, scheduled, failed, succeeded) and of servers.");
        stats.SetAction(_ => Call(c => c.SendAsync(HttpMethod.Get, "/api/admin/jobs/stats")));
        var id = new Argument<string>("recurring-job") { Description = "Recurring job id, e.g. payout-scheduler." };
        var reason = new Option<string>("--reason") { Description = "Why (recorded in the audit trail).", Required = true };
        var pause = new Command("pause", "Pause one recurring job on every worker (holds across restarts) without the kill-switch.") { id, reason };
        pause.SetAction(p => Call(c => c.SendAsync(HttpMethod.Post, $"/api/admin/jobs/recurring/{Uri.EscapeDataString(p.GetValue(id)!)}/pause", new { reason = p.GetValue(reason) })));
        var resume = new Command("resume", "Resume a paused recurring job.") { id, reason };
        resume.SetAction(p => Call(c => c.SendAsync(HttpMethod.Post, $"/api/admin/jobs/recurring/{Uri.EscapeDataString(p.GetValue(id)!)}/resume", new { reason = p.GetValue(reason) })));
        var trigger = new Command("trigger", "Run a recurring job now in a worker and wait (up to 120 s) for its result.") { id };
        trigger.SetAction(p => Call(c => c.SendAsync(HttpMethod.Post, $"/api/admin/jobs/recurring/{Uri.EscapeDataString(p.GetValue(id)!)}/trigger?wait_seconds=120",
            judge: r => r.GetProperty("state").GetString() == "Succeeded" ? CliOutput.Ok : CliOutput.Failed)));
        return new Command("jobs", "Background jobs.") { probe, list, stats, pause, resume, trigger };
    }

    public static Command Health()
    {
        var wait = new Option<int>("--wait-seconds") { Description = "Ask again every 2 s until ready, at most this long (0..600); e.g. after a restart.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("health", "Show /readyz of the API (exit 1 when not ready).") { wait };
        cmd.SetAction(p => Call(async c =>
        {
            var seconds = p.GetValue(wait);
            if (seconds is < 0 or > 600) return CliOutput.Error(CliOutput.Usage, "--wait-seconds must be between 0 and 600");
            var deadline = TimeProvider.System.GetUtcNow().AddSeconds(seconds);
            while (true)
            {
                var exit = await c.SendAsync(HttpMethod.Get, "/readyz", requireAuth: false);
                if (exit == CliOutput.Ok || TimeProvider.System.GetUtcNow() >= deadline) return exit;
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        }));
        return cmd;
    }

    public static Command Clock()
    {
        var show = new Command("show", "Show the test clock.");
        show.SetAction(_ => Call(c => c.SendAsync(HttpMethod.Get, "/api/admin/test-clock")));
        var nowOpt = new Option<string>("--now") { Description = "UTC instant, e.g. 2026-04-09T12:00:00Z.", Required = true };
        var set = new Command("set", "Set the test clock.") { nowOpt };
        set.SetAction(parse => Call(c => c.SendAsync(HttpMethod.Put, "/api/admin/test-clock", new { now = parse.GetValue(nowOpt) })));
        var seconds = new Option<long>("--seconds") { Description = "Seconds to advance.", Required = true };
        var advance = new Command("advance", "Advance the test clock.") { seconds };
        advance.SetAction(parse => Call(c => c.SendAsync(HttpMethod.Post, "/api/admin/test-clock/advance", new { seconds = parse.GetValue(seconds) })));
        return new Command("clock", "The test clock (only on deployments with FAIRWAY_TEST_CLOCK_ENABLED=true).") { show, set, advance };
    }

    static async Task<int> Call(Func<AdminApiClient, Task<int>> action)
    {
        using var client = AdminApiClient.FromEnvironment(out var error);
        if (client is null) return CliOutput.Error(CliOutput.Usage, error!);
        return await action(client);
    }
}
