using System.CommandLine;

namespace Fairway.Cli;

/// <summary>`fairway reconciliation run|runs`: the ledger invariants, through the admin API.</summary>
public static class ReconciliationCommands
{
    public static Command Build()
    {
        var run = new Command("run", "Run every ledger reconciliation check now (recorded; any violation engages the kill-switch). Exit 1 when a violation is found.");
        run.SetAction(_ => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, "/api/admin/reconciliation/run",
            judge: r => r.GetProperty("violation_count").GetInt32() == 0 ? CliOutput.Ok : CliOutput.Failed)));
        var limit = new Option<int>("--limit") { Description = "At most this many runs, newest first (1..200).", DefaultValueFactory = _ => 5 };
        var runs = new Command("runs", "The latest reconciliation runs with their violations. Exit 1 when the latest run found a violation.") { limit };
        runs.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/reconciliation/runs?limit={p.GetValue(limit)}",
            judge: r => r.GetProperty("runs").GetArrayLength() > 0 && r.GetProperty("runs")[0].GetProperty("violation_count").GetInt32() > 0 ? CliOutput.Failed : CliOutput.Ok)));
        return new Command("reconciliation", "Ledger reconciliation (the money invariants).") { run, runs };
    }
}
