using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Fairway.Host.Operations.Runbooks;

namespace Fairway.Simulation;

/// <summary>One runbook execution by the on-call operator: which alert paged, what it did, how it ended.</summary>
public sealed class RunbookRun(string runbook, AlertIncident page, string incident, DateTimeOffset startedAt)
{
    public string Runbook { get; } = runbook;
    public AlertIncident Page { get; } = page;
    /// <summary>Every incident of an alert this execution handles (several alerts may name the same runbook).</summary>
    public List<AlertIncident> Handles { get; } = [page];
    public string Incident { get; } = incident;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public long Execution { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>in_progress, succeeded, failed or escalated (the recorded outcome).</summary>
    public string Outcome { get; set; } = "in_progress";
    /// <summary>Why the run is a failure of the simulation (empty: it is not): a failed step, an escalation, the alert still firing after it.</summary>
    public string Failure { get; set; } = "";
    /// <summary>What it did, one line per step and decision (for the report).</summary>
    public List<string> Trail { get; } = [];
    /// <summary>What the run waits for: "" (nothing), "alert resolution" (a `wait` decision), or the outside party of an `after` decision.</summary>
    public string WaitingFor { get; set; } = "";
    public DateTimeOffset? WaitingSince { get; set; }
    /// <summary>Its alert still fired right after it finished (another subject is left).</summary>
    public bool StillFiringAfter { get; set; }
    internal RunbookDocument Document { get; init; } = null!;
    internal Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);
    internal Dictionary<string, string> Outputs { get; } = new(StringComparer.Ordinal);
    internal int NextStep { get; set; }
    internal HashSet<RunbookBranch> Decided { get; } = [];
}

/// <summary>What someone outside tells the operator (through support): <see cref="Party"/> fixed the cause about <see cref="About"/>.</summary>
public sealed record OutsideWord(DateTimeOffset At, string Party, IReadOnlyDictionary<string, string> About, string What);

/// <summary>
/// The on-call operator of issue 15 §3: no engineering access, only the runbooks. It acts only when an alert of the
/// repository's rules fires (<see cref="AlertWatch"/>): it opens the runbook the alert names (docs/runbooks/&lt;id&gt;.md,
/// parsed by the same parser the host and the runbook tests use), records an execution (`fairway runbook start`, one
/// `fairway runbook step` per block, `fairway runbook finish`), and runs the runbook's commands exactly as written, through
/// bash with the built CLI as `fairway`, on the main path (docs/runbooks/README.md): inputs come from the page (INCIDENT,
/// the alert's labels) or from the steps that find them (<c>sets=</c>), and decision tables are decided from step outputs
/// (```branch blocks), never from what the simulator knows. A step whose exit code or output differs from the runbook's
/// fails the execution (no interpretation). Between two steps the operator lets the system settle (a moment of their
/// time; the simulated clock does not move). An execution that waits (`wait`, `after &lt;party&gt;`) resumes at a later
/// clock step. Everything else about the run (the verdict) is judged from <see cref="Runs"/>.
/// </summary>
public sealed class Operator(World w, TimeDriver clock, AlertWatch alerts, string root, TextWriter log)
{
    readonly HashSet<AlertIncident> seen = new(ReferenceEqualityComparer.Instance); // records compare by value, and ResolvedAt changes
    readonly List<OutsideWord> inbox = [];
    string? binDir;
    public List<RunbookRun> Runs { get; } = [];
    /// <summary>The handover of an `after &lt;party&gt;` decision: support asks that party to fix the cause (the outside world answers through <see cref="Inform"/>).</summary>
    public Func<string, IReadOnlyDictionary<string, string>, Task>? Ask { get; set; }
    public IEnumerable<RunbookRun> Open => Runs.Where(r => r.Outcome == "in_progress");

    void Say(string line) => log.WriteLine($"[{w.Now:yyyy-MM-dd HH:mm}] OPERATOR {line}");

    /// <summary>The outside world's word, e.g. support: "the player's bank reissued the card" about an entry.</summary>
    public void Inform(string party, IReadOnlyDictionary<string, string> about, string what)
    {
        inbox.Add(new OutsideWord(w.Now, party, about, what));
        Say($"told by {party}: {what}");
    }

    /// <summary>After each clock step: pages for alerts that fired start executions; open executions go on.</summary>
    public async Task ActAsync()
    {
        foreach (var page in alerts.Incidents.Where(seen.Add).ToList())
        {
            if (page.Runbook is null || !alerts.RunbookExists(page)) continue; // a failure of the run: the verdict reports it
            if (Open.FirstOrDefault(r => r.Runbook == page.Runbook) is { } running)
            {
                running.Handles.Add(page);
                running.Trail.Add($"{w.Now:MM-dd HH:mm} also pages: {page.Alert}");
                continue;
            }
            await StartAsync(page);
        }
        foreach (var run in Open.ToList()) await GoOnAsync(run);
        foreach (var page in alerts.StillFiring.Where(alerts.RunbookExists).ToList()) await CoverAsync(page);
    }

    /// <summary>
    /// An alert that counts several subjects (refunds owed, failed transfers: its value) gets one execution per subject:
    /// while every execution handling it waits for someone outside and fewer are open than the alert counts, or none is
    /// open and it still fires, the runbook is run again; its finding steps skip the subjects open executions have.
    /// </summary>
    async Task CoverAsync(AlertIncident page)
    {
        while (Runs.Count(r => r.Handles.Contains(page)) < MaxExecutionsPerPage)
        {
            var open = Runs.Where(r => r.Outcome == "in_progress" && r.Handles.Contains(page)).ToList();
            var handled = Runs.Any(r => r.Handles.Contains(page));
            var another = open.Count == 0 ? handled && Runs.Last(r => r.Handles.Contains(page)).StillFiringAfter && Runs.Where(r => r.Handles.Contains(page)).All(r => r.Failure.Length == 0)
                : open.All(r => r.WaitingFor.Length > 0 && r.WaitingFor != "alert resolution") && open.Count < page.Value;
            // Only a runbook whose steps find its subject (sets=) is run once per subject.
            if (!another || open.Count > 0 && !open[0].Document.Steps.Any(st => st.Sets.Count > 0)) return;
            var next = await StartAsync(page, Runs.Last(r => r.Handles.Contains(page)).Handles);
            if (next.Outcome == "in_progress") await GoOnAsync(next);
            if (next.Failure.Length > 0) return;
        }
    }

    async Task<RunbookRun> StartAsync(AlertIncident page, IEnumerable<AlertIncident>? alsoHandles = null)
    {
        var path = Path.Combine(root, "docs", "runbooks", page.Runbook + ".md");
        var doc = RunbookDocument.Parse(await File.ReadAllTextAsync(path), $"docs/runbooks/{page.Runbook}.md");
        var incident = $"SIM-{page.Alert}-{page.FiredAt:yyyyMMddHHmm}";
        var run = new RunbookRun(doc.Id, page, incident, w.Now) { Document = doc };
        foreach (var h in alsoHandles ?? []) if (!run.Handles.Contains(h)) run.Handles.Add(h);
        Runs.Add(run);
        run.Variables["INCIDENT"] = incident;
        // An input whose lowercase name is a label of the page is taken from it (docs/runbooks/README.md).
        foreach (var input in doc.Inputs)
            if (page.Labels.TryGetValue(input.ToLowerInvariant(), out var v)) run.Variables[input] = v;
        var start = await CliAsync(run, "runbook", "start", doc.Id, "--reason", $"alert {page.Alert} fired at {page.FiredAt:yyyy-MM-dd HH:mm} (simulated on-call operator)", "--incident", incident);
        if (start.Exit != 0)
        {
            Fail(run, $"`fairway runbook start` exited {start.Exit}: {Tail(start.Output, 300)}");
            await FinishAsync(run, "failed", "the execution could not be started");
            return run;
        }
        run.Execution = System.Text.Json.JsonDocument.Parse(start.Stdout).RootElement.GetProperty("id").GetInt64();
        Say($"{page.Alert} paged: runbook {doc.Id}, execution {run.Execution}, incident {incident}");
        run.Trail.Add($"{w.Now:MM-dd HH:mm} started execution {run.Execution} ({page.Alert})");
        return run;
    }

    /// <summary>The main path (as the runbook tests run it): the sections every runbook of its kind has, not Rollback.</summary>
    static bool OnMainPath(RunbookDocument doc, string section) =>
        section == "Immediate action" || (RunbookDocument.RequiredSections(doc.Kind).Contains(section) && section != "Rollback");

    async Task GoOnAsync(RunbookRun run)
    {
        var doc = run.Document;
        if (run.WaitingFor == "alert resolution")
        {
            if (run.Handles.All(h => h.ResolvedAt is not null)) await FinishAsync(run, "succeeded", $"the alert resolved by itself, as the runbook said (waited since {run.WaitingSince:MM-dd HH:mm})");
            return;
        }
        if (run.WaitingFor.Length > 0)
        {
            var word = inbox.FirstOrDefault(m => m.Party == run.WaitingFor && m.About.Any(a => run.Variables.ContainsKey(a.Key))
                && m.About.All(a => !run.Variables.TryGetValue(a.Key, out var v) || v == a.Value));
            if (word is null)
            {
                // The cause went away before anyone said so (e.g. an automatic retry succeeded): nothing left to recover.
                if (run.Handles.All(h => h.ResolvedAt is not null))
                    await FinishAsync(run, "succeeded", $"the alert resolved while waiting for the {run.WaitingFor}");
                return;
            }
            inbox.Remove(word);
            run.Trail.Add($"{w.Now:MM-dd HH:mm} {run.WaitingFor}: {word.What}; going on");
            Say($"execution {run.Execution} ({run.Runbook}): {run.WaitingFor} says \"{word.What}\"; going on");
            run.WaitingFor = "";
        }
        while (true)
        {
            foreach (var branch in doc.Branches.Where(b => b.AfterSteps == run.NextStep && OnMainPath(doc, b.Section) && !run.Decided.Contains(b)))
            {
                run.Decided.Add(branch);
                var rule = branch.Decide(run.Outputs.GetValueOrDefault(branch.On, ""), run.Variables);
                var what = rule.Decision == RunbookDecision.After ? $"after {rule.Party}" : rule.Decision.ToString().ToLowerInvariant();
                run.Trail.Add($"{w.Now:MM-dd HH:mm} decision on {branch.On}: `{rule.Match}` => {what}");
                Say($"execution {run.Execution} ({run.Runbook}): decided from step {branch.On}: `{rule.Match}` => {what}");
                switch (rule.Decision)
                {
                    case RunbookDecision.Escalate:
                        Fail(run, $"the runbook says Escalate (step {branch.On} printed `{rule.Match}`): a state that needs more than a runbook");
                        await FinishAsync(run, "escalated", $"decision on step {branch.On}: Escalate");
                        return;
                    case RunbookDecision.Wait:
                        (run.WaitingFor, run.WaitingSince) = ("alert resolution", w.Now);
                        return;
                    case RunbookDecision.After:
                        (run.WaitingFor, run.WaitingSince) = (rule.Party!, w.Now);
                        if (Ask is not null) await Ask(rule.Party!, run.Variables);
                        return;
                }
            }
            if (run.NextStep == doc.Steps.Count) break;
            var step = doc.Steps[run.NextStep++];
            if (!OnMainPath(doc, step.Section)) continue;
            await clock.QuiescentAsync();
            if (!await RunStepAsync(run, step)) return;
        }
        await FinishAsync(run, "succeeded", "every step of the main path as written");
        // Recovered means the alert no longer fires once the runbook is done.
        var firing = (await w.Admin.GetAsync("/api/admin/alerts")).GetProperty("firing").EnumerateArray().Select(a => a.GetProperty("alert").GetString()).ToHashSet();
        var still = run.Handles.Select(h => h.Alert).Where(firing.Contains).Distinct().ToList();
        if (still.Count == 0) return;
        // An alert that counts several subjects (refunds owed, failed transfers) still fires while another one is left: the
        // runbook is run again, for the next subject its steps find. The same subject found again is no progress: a failure.
        var before = Runs.Where(r => r != run && r.Handles.Contains(run.Page) && r.Outcome != "in_progress").ToList();
        if (before.Any(r => Subject(r) == Subject(run)))
            Fail(run, $"the runbook finished but {string.Join(", ", still)} still fires, and it found a subject recovered before ({Subject(run)}): no progress");
        else
        {
            run.StillFiringAfter = true;
            run.Trail.Add($"{w.Now:MM-dd HH:mm} {string.Join(", ", still)} still fires (value {run.Page.Value}): another subject is left");
        }
    }

    /// <summary>Executions of one runbook for one page, at most (each for another subject).</summary>
    const int MaxExecutionsPerPage = 100;

    /// <summary>What an execution was about: the variables its steps found (not INCIDENT).</summary>
    static string Subject(RunbookRun r) =>
        string.Join(" ", r.Variables.Where(v => v.Key != "INCIDENT").OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}"));

    /// <summary>Runs one step as written; records it. False when it failed (the execution is then finished as failed).</summary>
    async Task<bool> RunStepAsync(RunbookRun run, RunbookStep step)
    {
        string output;
        int exit;
        if (step.Kind == RunbookStepKind.Process)
            (exit, output) = (127, "process-control steps (docker compose) are not available to the simulated operator");
        else (exit, output) = await FairwayStepAsync(run, step);
        run.Outputs[step.Id] = output;
        if (step.Sets.Count > 0 && !run.Variables.ContainsKey(step.Sets[0].Name))
        {
            // The first subject no other open execution of this runbook is working on.
            var taken = Open.Where(r => r != run && r.Runbook == run.Runbook && r.Variables.ContainsKey(step.Sets[0].Name))
                .Select(r => r.Variables[step.Sets[0].Name]).ToHashSet(StringComparer.Ordinal);
            foreach (var (name, value) in step.FindInputs(output, taken)) run.Variables.TryAdd(name, value);
        }
        var missing = step.ExpectedOutput.Select(l => Substitute(l, run.Variables)).Where(l => !output.Contains(l, StringComparison.Ordinal)).ToList();
        var ok = exit == step.ExpectedExitCode && missing.Count == 0;
        var notes = $"exit {exit} (runbook expects {step.ExpectedExitCode}){(missing.Count == 0 ? "" : "; expected output not printed: " + string.Join(" | ", missing))}\n{Tail(output, 1500)}";
        var recorded = await CliAsync(run, "runbook", "step", run.Execution.ToString(System.Globalization.CultureInfo.InvariantCulture), step.Id, "--outcome", ok ? "succeeded" : "failed", "--notes", notes);
        run.Trail.Add($"{w.Now:MM-dd HH:mm} {step.Section}/{step.Id}: {(ok ? "ok" : "FAILED")} (exit {exit})");
        if (recorded.Exit != 0)
        {
            Fail(run, $"recording step {step.Id} failed: {Tail(recorded.Output, 300)}");
            await FinishAsync(run, "failed", $"step {step.Id} could not be recorded");
            return false;
        }
        if (ok) return true;
        Say($"execution {run.Execution} ({run.Runbook}): step {step.Id} FAILED: {notes.Split('\n')[0]}");
        Fail(run, $"step {step.Id} `{string.Join(" && ", step.Commands)}`: {notes.Split('\n')[0]}: {Tail(output, 400)}");
        await FinishAsync(run, "failed", $"step {step.Id} did not do what the runbook says; stopped (no interpretation)");
        return false;
    }

    async Task<(int Exit, string Output)> FairwayStepAsync(RunbookRun run, RunbookStep step)
    {
        var output = new StringBuilder();
        var exit = 0;
        foreach (var command in step.Commands)
        {
            var assignment = Regex.Match(command, @"^(?<name>[A-Z][A-Z0-9_]*)=\$\((?<cmd>fairway .*)\)$");
            var r = await BashAsync(run, assignment.Success ? assignment.Groups["cmd"].Value : command);
            output.Append(r.Stdout).Append(r.Stderr);
            exit = r.Exit;
            if (assignment.Success && exit == 0) run.Variables[assignment.Groups["name"].Value] = r.Stdout.Trim();
            if (exit != 0) break;
        }
        return (exit, output.ToString());
    }

    void Fail(RunbookRun run, string why)
    {
        if (run.Failure.Length == 0) run.Failure = Regex.Replace(why, @"\s+", " ");
    }

    async Task FinishAsync(RunbookRun run, string outcome, string notes)
    {
        run.WaitingFor = "";
        run.Outcome = outcome;
        run.FinishedAt = w.Now;
        if (run.Execution != 0)
        {
            var finish = await CliAsync(run, "runbook", "finish", run.Execution.ToString(System.Globalization.CultureInfo.InvariantCulture), "--outcome", outcome, "--notes", notes);
            if (finish.Exit != 0) Fail(run, $"`fairway runbook finish` exited {finish.Exit}: {Tail(finish.Output, 300)}");
        }
        run.Trail.Add($"{w.Now:MM-dd HH:mm} finished {outcome}: {notes}");
        Say($"execution {run.Execution} ({run.Runbook}) finished {outcome}: {notes}");
    }

    Task<(int Exit, string Stdout, string Stderr, string Output)> CliAsync(RunbookRun run, params string[] args) =>
        BashAsync(run, "fairway " + string.Join(' ', args.Select(a => "'" + a.Replace("'", "'\\''") + "'")));

    /// <summary>One command line through bash, in the repository root, with `fairway` (the built CLI) on PATH, pointed at the deployment with an admin token.</summary>
    async Task<(int Exit, string Stdout, string Stderr, string Output)> BashAsync(RunbookRun run, string command)
    {
        binDir ??= CreateBin();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment["PATH"] = binDir + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["FAIRWAY_API_URL"] = w.ApiUrl.ToString().TrimEnd('/');
        psi.Environment["FAIRWAY_API_TOKEN"] = Api.Token(w.SigningKey, World.Issuer, World.Audience, "oncall-operator", admin: true);
        foreach (var (k, v) in run.Variables) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); return (124, "", $"`{command}` did not finish within 180 s", $"`{command}` did not finish within 180 s"); }
        return (p.ExitCode, await stdout, await stderr, await stdout + await stderr);
    }

    string CreateBin()
    {
        var dir = Directory.CreateDirectory(Path.Combine(w.RunDir, "operator-bin")).FullName;
        var wrapper = Path.Combine(dir, "fairway");
        File.WriteAllText(wrapper, $"#!/usr/bin/env bash\nexec dotnet '{Path.Combine(root, "src", "Fairway.Cli", "bin", "Release", "net10.0", "fairway.dll")}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }

    static string Substitute(string text, Dictionary<string, string> vars) =>
        Regex.Replace(text, @"\$\{?(?<name>[A-Z][A-Z0-9_]*)\}?", m => vars.TryGetValue(m.Groups["name"].Value, out var v) ? v : m.Value);

    static string Tail(string s, int max) => s.Length <= max ? s : s[^max..];
}
