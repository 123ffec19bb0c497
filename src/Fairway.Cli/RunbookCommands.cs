using System.CommandLine;

namespace Fairway.Cli;

/// <summary>
/// `fairway runbook start|step|finish|list|show|catalog`: runbook executions on the record, through the admin API.
/// The operator is the token's subject; every write is append-only and audited.
/// </summary>
public static class RunbookCommands
{
    public static Command Build()
    {
        var name = new Argument<string>("runbook") { Description = "Runbook id (the file name under docs/runbooks without .md; `fairway runbook catalog` lists them)." };
        var reason = new Option<string>("--reason") { Description = "Why (3..500 characters): the alert that fired, who asked.", Required = true };
        var incident = new Option<string?>("--incident") { Description = "Incident or ticket id (letters, digits, . _ : -)." };
        var start = new Command("start", "Start an execution of a runbook; prints it with its id and the steps to do.") { name, reason, incident };
        start.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, "/api/admin/runbooks/executions",
            new { runbook = p.GetValue(name), reason = p.GetValue(reason), incident = p.GetValue(incident) })));

        var execution = new Argument<long>("execution") { Description = "Execution id (printed by `fairway runbook start`)." };
        var step = new Argument<string>("step") { Description = "Step id as written in the runbook (step=…)." };
        var stepOutcome = new Option<string>("--outcome") { Description = "succeeded or failed (a step not needed is simply not recorded).", Required = true };
        var notes = new Option<string?>("--notes") { Description = "What happened (required for failed): output, decisions." };
        var stepCmd = new Command("step", "Record one step of an execution as done.") { execution, step, stepOutcome, notes };
        stepCmd.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/runbooks/executions/{p.GetValue(execution)}/steps",
            new { step = p.GetValue(step), outcome = p.GetValue(stepOutcome), notes = p.GetValue(notes) })));

        var finishExecution = new Argument<long>("execution") { Description = "Execution id." };
        var finishOutcome = new Option<string>("--outcome") { Description = "succeeded, failed, escalated or rolled_back.", Required = true };
        var finishNotes = new Option<string?>("--notes") { Description = "Summary (required unless succeeded): what was done, who was told." };
        var finish = new Command("finish", "Finish an execution; no step can be recorded on it afterwards.") { finishExecution, finishOutcome, finishNotes };
        finish.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/runbooks/executions/{p.GetValue(finishExecution)}/finish",
            new { outcome = p.GetValue(finishOutcome), notes = p.GetValue(finishNotes) })));

        var filterRunbook = new Option<string?>("--runbook") { Description = "Only executions of this runbook." };
        var state = new Option<string?>("--state") { Description = "in_progress or finished." };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first (1..200).", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Runbook executions, newest first.") { filterRunbook, state, limit };
        list.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/runbooks/executions?limit={p.GetValue(limit)}"
            + (p.GetValue(filterRunbook) is { } r ? $"&runbook={Uri.EscapeDataString(r)}" : "")
            + (p.GetValue(state) is { } s ? $"&state={Uri.EscapeDataString(s)}" : ""))));

        var showExecution = new Argument<long>("execution") { Description = "Execution id." };
        var show = new Command("show", "One execution: who started it and why, every step recorded, the steps not done yet, how it finished.") { showExecution };
        show.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/runbooks/executions/{p.GetValue(showExecution)}")));

        var catalogName = new Argument<string?>("runbook") { Description = "A runbook id: show its steps and commands.", Arity = ArgumentArity.ZeroOrOne };
        var catalog = new Command("catalog", "The runbooks of the running build (or one of them with its steps).") { catalogName };
        catalog.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, p.GetValue(catalogName) is { } id ? $"/api/admin/runbooks/{Uri.EscapeDataString(id)}" : "/api/admin/runbooks")));

        return new Command("runbook", "Runbook executions on the record (docs/runbooks).") { start, stepCmd, finish, list, show, catalog };
    }
}
