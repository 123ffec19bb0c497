using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Fairway.Simulation;

public sealed record Check(string Name, bool Passed, string Detail);

/// <summary>
/// The end of the run: a readable summary per contest and the invariants, all read through the admin
/// API, the ops CLI (settlement replay) and the Stripe sandbox's counters — never the database.
/// </summary>
public sealed class Verdict(World w, Season season, AlertWatch alerts, string root, TextWriter log)
{
    public List<Check> Checks { get; } = [];
    /// <summary>Per contest: its final state and settlement hash (what the outcome digest is made of).</summary>
    public SortedDictionary<string, string> Outcomes { get; } = new(StringComparer.Ordinal);

    /// <summary>How long after its tournament's end (official result or cancellation) a contest may take to finish: the
    /// settlement hold (one hour) and the payout schedule, with room for the faults' retries and backoff.</summary>
    public static readonly TimeSpan FinishBound = TimeSpan.FromHours(6);

    void Add(string name, bool passed, string detail) => Checks.Add(new Check(name, passed, detail));

    static long Long(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
    static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public async Task RunAsync()
    {
        var escrows = (await w.Admin.GetAsync("/api/admin/ledger/accounts?kind=contest_escrow&limit=200"));
        var escrowRows = Rows(escrows);
        var sb = new StringBuilder();
        long failedTerminalTotal = 0, completedTransfers = 0;
        foreach (var t in season.Tournaments)
        foreach (var c in t.Contests)
        {
            var contest = await w.Admin.GetAsync($"/api/admin/contests/{c.Id}");
            var state = Str(contest, "state");
            var escrow = escrowRows.FirstOrDefault(a => Str(a, "contest_id") == c.Id);
            var escrowBalance = escrow.ValueKind == JsonValueKind.Object ? Long(escrow, "balance") : 0;
            Add($"{c.Id}: finished {c.Expected}", state == c.Expected, $"state {state}");
            // Finished on time: within FinishBound (simulated) of the tournament's end as the provider published it (its
            // official result, or its cancellation), seen at the first clock step that recorded the final state.
            var end = t.Twist == Twist.CancelledMidway ? t.CancelAt : t.Official;
            var finishedAt = season.StateTimeline.Where(x => x.Contest == c.Id && x.State == c.Expected).Select(x => (DateTimeOffset?)x.At).FirstOrDefault();
            Add($"{c.Id}: finished within {FinishBound.TotalHours:F0} simulated hours of its tournament's end", finishedAt is { } f && f - end <= FinishBound,
                finishedAt is { } at ? $"tournament ended {end:MM-dd HH:mm}, contest {c.Expected} at {at:MM-dd HH:mm}" : $"never seen {c.Expected} within {FinishBound.TotalHours:F0} h of {end:MM-dd HH:mm}");
            Add($"{c.Id}: escrow is zero", escrowBalance == 0, $"escrow balance {escrowBalance}");
            sb.AppendLine($"\n{c.Id} ({c.Name}, fee {c.EntryFee}, roster {c.RosterSize}, rake {c.RakeBps} bps, min {c.MinEntries}): {state}");
            Outcomes[c.Id] = state ?? "?";
            if (state == "COMPLETE")
            {
                var s = await w.Admin.GetAsync($"/api/admin/settlements/{c.Id}?limit=1000");
                var settlement = s.GetProperty("settlement");
                var hash = Str(settlement, "output_hash");
                Outcomes[c.Id] = $"{state} {Long(settlement, "entry_count")} {hash}";
                sb.AppendLine($"  entries {Long(settlement, "entry_count")}  gross {Long(settlement, "gross")}  rake {Long(settlement, "rake")}  net {Long(settlement, "net")}  output_hash {hash?[..16]}…");
                foreach (var r in s.GetProperty("results").EnumerateArray().Where(r => Long(r, "prize") > 0).Take(5))
                    sb.AppendLine($"    rank {Long(r, "rank"),2}  {Str(r, "user_id"),-16} score {Long(r, "score"),4}  prize {Long(r, "prize")}");
                var replayed = await ReplayAsync(c.Id);
                Add($"{c.Id}: settlement replays to its hash", replayed == hash, $"stored {hash}, `fairway settlement replay` gives {replayed}");
                var payouts = await w.Admin.GetAsync($"/api/admin/payouts/contests/{c.Id}?limit=1000");
                var transfers = payouts.GetProperty("transfers").EnumerateArray().ToList();
                var byStatus = transfers.GroupBy(x => Str(x, "status")).ToDictionary(g => g.Key ?? "?", g => g.Count());
                sb.AppendLine($"  payout job {Str(payouts.GetProperty("job"), "status")}; transfers {string.Join(", ", byStatus.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}");
                Add($"{c.Id}: every transfer terminal", transfers.All(x => Str(x, "status") is "completed" or "failed_terminal"), string.Join(", ", byStatus.Select(k => $"{k.Key} {k.Value}")));
                Add($"{c.Id}: completed transfers carry their Stripe id", transfers.Where(x => Str(x, "status") == "completed").All(x => Str(x, "stripe_transfer_id")?.StartsWith("tr_") == true), "");
                failedTerminalTotal += transfers.Where(x => Str(x, "status") == "failed_terminal").Sum(x => Long(x, "amount"));
                completedTransfers += transfers.Count(x => Str(x, "status") == "completed");
            }
            var trail = await w.Admin.GetAsync($"/api/admin/contests/{c.Id}/transitions");
            sb.AppendLine($"  audit rows {trail.GetArrayLength()}: {string.Join(" -> ", trail.EnumerateArray().Where(e => Str(e, "action") == "contest.transition").Select(e => Str(e.GetProperty("after"), "state")))}");
        }

        if (season.End - season.Start >= Season.VolumeWindow && season.Players.Count >= Season.DefaultPlayers)
            Add($"the default volume was played: at least {Season.DefaultPlayers:N0} players and {Season.VolumeEntries:N0} entries created in the first {Season.VolumeWindow.TotalDays:F0} days",
                season.EntriesInVolumeWindow >= Season.VolumeEntries, $"{season.Players.Count} players, {season.EntriesInVolumeWindow} entries created in the first {Season.VolumeWindow.TotalDays:F0} days");
        else
            log.WriteLine($"volume check not applicable: {(season.End - season.Start).TotalDays:F0} days and {season.Players.Count} players (it needs at least {Season.VolumeWindow.TotalDays:F0} days and {Season.DefaultPlayers} players)");
        Add("players' requests behaved as the contract says (a retried request returns its entry)", season.Problems.Count == 0, string.Join("; ", season.Problems.Take(5)));
        var late = season.Arrivals.Count(a => a.Late);
        Add("every attempt to enter after lock was refused (409)", season.LateAttemptsRefused == late, $"{season.LateAttemptsRefused} of {late} refused");

        var fired = alerts.Incidents.Select(a => a.Alert).Distinct().ToList();
        Add("every alert that fired names a runbook of docs/runbooks", alerts.Incidents.All(alerts.RunbookExists),
            string.Join(", ", alerts.Incidents.Where(a => !alerts.RunbookExists(a)).Select(a => $"{a.Alert} → {a.Runbook ?? "no runbook"}").Distinct()));
        Add("no alert is left firing at the end", !alerts.StillFiring.Any(),
            alerts.StillFiring.Any() ? "still firing: " + string.Join(", ", alerts.StillFiring.Select(a => $"{a.Alert} (since {a.FiredAt:MM-dd HH:mm})")) : $"fired: {(fired.Count == 0 ? "none" : string.Join(", ", fired))}");
        await OperatorAsync();

        var payables = Rows(await w.Admin.GetAsync("/api/admin/ledger/accounts?kind=winnings_payable&limit=200"));
        var payableTotal = payables.Sum(a => Long(a, "balance"));
        Add("winnings payable equals exactly the failed-terminal transfers", payableTotal == failedTerminalTotal, $"payable {payableTotal}, failed_terminal {failedTerminalTotal}");

        var stats = await w.Stripe.GetAsync("/_sandbox/stats");
        var perKey = stats.GetProperty("transfers_by_idempotency_key").EnumerateObject().ToList();
        Add("no Stripe transfer was made twice", perKey.All(k => k.Value.GetInt64() == 1), $"{perKey.Count} idempotency keys, max {perKey.Select(k => k.Value.GetInt64()).DefaultIfEmpty(0).Max()} transfers per key");
        Add("Stripe transfers equal completed payouts", Long(stats, "transfers_created") == completedTransfers, $"Stripe {Long(stats, "transfers_created")}, Fairway completed {completedTransfers}");

        await PublicViewAsync();

        var reconciliation = await w.Admin.PostAsync("/api/admin/reconciliation/run");
        Add("reconciliation finds no violation", Long(reconciliation, "violation_count") == 0, reconciliation.GetRawText().Length > 300 ? reconciliation.GetRawText()[..300] : reconciliation.GetRawText());
        var stripeRun = await w.Admin.PostAsync("/api/admin/reconciliation/stripe/run");
        Add("reconciliation against Stripe finds no violation", Long(stripeRun, "violation_count") == 0 && Str(stripeRun, "outcome") == "completed",
            stripeRun.GetRawText().Length > 600 ? stripeRun.GetRawText()[..600] : stripeRun.GetRawText());
        var balances = stripeRun.TryGetProperty("balances", out var b) ? b.EnumerateArray().ToList() : [];
        Add("the ledger's money at Stripe (−clearing, fees booked) equals Stripe's balance", balances.Count > 0 && balances.All(x => Long(x, "difference") == 0),
            string.Join("; ", balances.Select(x => $"{Str(x, "currency")}: Stripe {Long(x, "stripe_balance")}, ledger {Long(x, "ledger_clearing")}")));
        var kill = await w.Admin.GetAsync("/api/admin/kill-switch");
        Add("the kill-switch was never tripped", kill.GetProperty("engaged").GetBoolean() == false, $"engaged {kill.GetProperty("engaged")}, last changed by {Str(kill, "changed_by")}");

        log.WriteLine(sb.ToString());
        log.WriteLine($"players {season.Players.Count}, entries {season.EntriesAttempted} ({season.PaymentsDeclined} declined, {season.PaymentsAbandoned} abandoned, {season.RequestsRetried} retried requests, {season.LateAttemptsRefused} refused after lock), Stripe refunds {Long(stats, "refunds_created")}, Stripe transfers {Long(stats, "transfers_created")}, webhooks delivered {Long(stats.GetProperty("webhook_deliveries"), "succeeded")}");
    }

    /// <summary>
    /// Issue 15 §3: every alert that fired was handled by an execution of its runbook, and every execution recovered: no
    /// step failed, nothing was escalated, it did not end still waiting, and its alert no longer fired once it was done.
    /// Seed 001's payment failure (<see cref="OutsideWorld"/>) was handled by the refund runbook end to end.
    /// </summary>
    async Task OperatorAsync()
    {
        var runs = season.Operator?.Runs ?? [];
        var unhandled = alerts.Incidents.Where(alerts.RunbookExists).Where(i => !runs.Any(r => r.Handles.Contains(i))).ToList();
        Add("every alert that fired was handled by an execution of its runbook", unhandled.Count == 0,
            string.Join(", ", unhandled.Select(i => $"{i.Alert} at {i.FiredAt:MM-dd HH:mm}")));
        var bad = runs.Where(r => r.Outcome != "succeeded" || r.Failure.Length > 0).ToList();
        Add("every runbook execution recovered (no failed step, no escalation, its alert resolved)", bad.Count == 0,
            bad.Count == 0 ? $"{runs.Count} executions: {string.Join(", ", runs.Select(r => $"{r.Runbook} #{r.Execution}"))}"
                : string.Join("; ", bad.Select(r => $"{r.Runbook} #{r.Execution} ({r.Page.Alert}): {(r.Outcome == "in_progress" ? $"still {(r.WaitingFor.Length > 0 ? "waiting for " + r.WaitingFor : "in progress")} at the end" : r.Outcome)}{(r.Failure.Length > 0 ? " — " + r.Failure : "")}")));
        if (season.Outside is not { } bank) return;
        string? refund = null;
        if (bank.EntryId is { } entry)
        {
            var shown = await w.Admin.GetAsync($"/api/admin/payments/{entry}");
            refund = shown.TryGetProperty("refund", out var r) && r.ValueKind == JsonValueKind.Object ? Str(r, "status") : null;
        }
        var handled = runs.FirstOrDefault(r => r.Runbook == "refunds-owed" && r.Outcome == "succeeded" && r.Failure.Length == 0 && r.Trail.Any(t => t.Contains("refund-retry: ok", StringComparison.Ordinal)));
        Add("seed 001: the refund Stripe failed (expired card) was handled by the refunds-owed runbook end to end", bank.EntryId is not null && refund == "SUCCEEDED" && handled is not null,
            bank.EntryId is null ? "no such refund in this season (no paid entry in a cancelled contest)" : $"entry {bank.EntryId}: refund {refund ?? "none"}; execution {(handled is null ? "none that recovered" : $"#{handled.Execution}")}");
    }

    /// <summary>
    /// What players see through the generated client of the public contract: their own entries (every page), each
    /// contest's public detail and standings, each tournament's leaderboard. Any undocumented status or property fails the run.
    /// </summary>
    async Task PublicViewAsync()
    {
        var listed = 0;
        await Parallel.ForEachAsync(season.Players, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, _) =>
        {
            using var player = w.Player(p.UserId);
            string? after = null;
            do
            {
                var page = await player.Api.ListMyEntriesAsync(100, after, CancellationToken.None);
                Interlocked.Add(ref listed, page.Data.Count(e => e.User_id == p.UserId));
                after = page.Has_more ? page.Next_after : null;
            } while (after is not null);
        });
        Add("players list exactly the entries they created (public API, every page)", listed == season.EntriesAttempted, $"listed {listed}, created {season.EntriesAttempted}");

        using var anyone = w.Player("sim-spectator");
        var mismatched = new List<string>();
        foreach (var t in season.Tournaments)
        {
            var leaderboard = await anyone.Api.GetTournamentLeaderboardAsync(t.Id, CancellationToken.None);
            var final = t.Twist == Twist.CancelledMidway ? "cancelled" : "closed";
            if (leaderboard.Provider_status != final) mismatched.Add($"{t.Id} leaderboard {leaderboard.Provider_status}, expected {final}");
            foreach (var c in t.Contests)
            {
                var detail = await anyone.Api.GetContestAsync(c.Id, CancellationToken.None);
                var admin = Str(await w.Admin.GetAsync($"/api/admin/contests/{c.Id}"), "state");
                if (detail.State != admin) mismatched.Add($"{c.Id} public {detail.State}, admin {admin}");
                if (detail.State == "COMPLETE")
                {
                    var (listedStandings, total) = (0, -1);
                    while (total < 0 || listedStandings < total)
                    {
                        var standings = await anyone.Api.GetContestStandingsAsync(c.Id, 500, listedStandings, CancellationToken.None);
                        total = standings.Total_entries;
                        if (standings.Entries.Count == 0) break;
                        listedStandings += standings.Entries.Count;
                    }
                    if (listedStandings != total) mismatched.Add($"{c.Id} standings list {listedStandings} of {total}");
                }
            }
        }
        Add("the public contest, standings and leaderboard views agree with the admin view", mismatched.Count == 0, string.Join("; ", mismatched));
    }

    static List<JsonElement> Rows(JsonElement page) =>
        (page.ValueKind == JsonValueKind.Array ? page : page.TryGetProperty("data", out var d) ? d : page.GetProperty("accounts")).EnumerateArray().ToList();

    /// <summary>The runbook's exact command: export the bundle, then `fairway settlement replay` it offline.</summary>
    async Task<string?> ReplayAsync(string contestId)
    {
        var bundlePath = Path.Combine(w.RunDir, $"bundle-{contestId}.json");
        var (status, body) = await w.Admin.TryAsync(HttpMethod.Get, $"/api/admin/settlements/{contestId}/bundle");
        if (status != 200) return $"bundle export failed: {status}";
        await File.WriteAllTextAsync(bundlePath, body.GetRawText());
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(root, "src", "Fairway.Cli", "bin", "Release", "net10.0", "fairway.dll"), "settlement", "replay", bundlePath }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return p.ExitCode == 0 ? Str(JsonDocument.Parse(output).RootElement, "output_hash") : $"replay exited {p.ExitCode}: {await p.StandardError.ReadToEndAsync()}";
    }
}
