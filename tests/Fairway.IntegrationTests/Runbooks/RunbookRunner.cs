using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.Host.Operations.Runbooks;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>Marks the test that executes a runbook; RunbookCoverageTests fails for a runbook no test names.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RunbookTestAttribute(string runbook) : Attribute
{
    public string Runbook { get; } = runbook;
}

/// <summary>What one step did.</summary>
public sealed record StepRun(string Step, int ExitCode, string Output);

/// <summary>
/// Executes a runbook as an operator would: its own commands, parsed from docs/runbooks/&lt;id&gt;.md, exactly as written,
/// in order, each through bash with `fairway` being the built CLI; every step's exit code and expected output checked;
/// the execution recorded through the runbook API (`fairway runbook start`, one step record per block, `fairway runbook
/// finish`). Process-control steps (`docker compose … restart worker`) are carried out by <see cref="RunbookWorld"/>, the
/// stand-in for the deployment's Docker.
/// </summary>
public sealed class RunbookRunner(RunbookWorld world)
{
    public static RunbookDocument Load(string id) =>
        RunbookDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "runbooks", id + ".md")), $"docs/runbooks/{id}.md");

    /// <summary>
    /// Runs the runbook's steps in order (only the sections given, when any), and returns what each step printed.
    /// <paramref name="inputs"/> are the runbook's declared inputs; a step may set more (NAME=$(fairway …)).
    /// </summary>
    public Task<IReadOnlyList<StepRun>> RunAsync(string id, Dictionary<string, string> inputs, string outcome = "succeeded", params string[] sections) =>
        RunAsync(id, inputs, outcome, recordAfterwards: false, sections);

    /// <summary>Called before the first step of each section: the outside world changing while ops work (e.g. Stripe recovers before Recover).</summary>
    public Func<string, Task>? BeforeSection { get; init; }

    /// <summary>
    /// <paramref name="recordAfterwards"/>: the execution is recorded once the steps are done (the runbook says so when the
    /// database, where executions are stored, is what is down); each step's record still carries its own output.
    /// </summary>
    public async Task<IReadOnlyList<StepRun>> RunAsync(string id, Dictionary<string, string> inputs, string outcome, bool recordAfterwards, params string[] sections)
    {
        var doc = Load(id);
        // An input the runbook's own steps find (sets=NAME:field) need not be given.
        var missing = doc.Inputs.Where(i => !inputs.ContainsKey(i) && !doc.Steps.Any(s => s.Sets.Any(x => x.Name == i))).ToList();
        Assert.True(missing.Count == 0, $"runbook {id} needs inputs {string.Join(", ", missing)}");
        var vars = new Dictionary<string, string>(inputs, StringComparer.Ordinal);
        var pending = new List<object>();
        long execution = 0;
        async Task StartAsync()
        {
            var start = await CliAsync(vars, "runbook", "start", id, "--reason", $"test {id}: induced failure", "--incident", "TEST-" + id);
            Assert.True(start.ExitCode == 0, start.Output);
            execution = JsonDocument.Parse(start.Stdout).RootElement.GetProperty("id").GetInt64();
        }
        async Task RecordAsync(object record)
        {
            var recorded = await world.World.Admin.PostAsJsonAsync($"/api/admin/runbooks/executions/{execution}/steps", record);
            Assert.True(recorded.IsSuccessStatusCode, await recorded.Content.ReadAsStringAsync());
        }
        if (!recordAfterwards) await StartAsync();
        var runs = new List<StepRun>();
        // By default the main path: the sections every runbook of its kind has (not Rollback, Escalate or alternative paths).
        string[] run = sections.Length > 0 ? sections : [.. RunbookDocument.RequiredSections(doc.Kind).Where(s => s != "Rollback"), "Immediate action"];
        string? section = null;
        foreach (var step in doc.Steps.Where(s => run.Contains(s.Section)))
        {
            if (step.Section != section && BeforeSection is not null) await BeforeSection(step.Section);
            section = step.Section;
            var result = step.Kind == RunbookStepKind.Process ? await ProcessAsync(step, vars) : await FairwayAsync(step, vars);
            runs.Add(result);
            foreach (var (name, value) in step.FindInputs(result.Output)) vars.TryAdd(name, value);
            foreach (var branch in doc.Branches.Where(b => b.AfterSteps == doc.Steps.ToList().IndexOf(step) + 1))
                if (runs.LastOrDefault(r => r.Step == branch.On) is { } read) Decisions.Add(branch.Decide(read.Output, vars));
            var ok = result.ExitCode == step.ExpectedExitCode;
            var notes = $"exit {result.ExitCode} (runbook expects {step.ExpectedExitCode})\n" + Tail(result.Output, 3000);
            // With the database down nothing can be recorded: report the failed step itself.
            Assert.True(ok || !recordAfterwards, $"runbook {id} step {step.Id}: `{string.Join(" && ", step.Commands)}` exited {result.ExitCode}, the runbook expects {step.ExpectedExitCode}:\n{result.Output}");
            var record = new { step = step.Id, outcome = ok ? "succeeded" : "failed", notes };
            if (recordAfterwards && ok) pending.Add(record);
            else
            {
                if (recordAfterwards) await StartAsync();
                await RecordAsync(record);
            }
            Assert.True(ok, $"runbook {id} step {step.Id}: `{string.Join(" && ", step.Commands)}` exited {result.ExitCode}, the runbook expects {step.ExpectedExitCode}:\n{result.Output}");
            foreach (var line in step.ExpectedOutput.Select(l => Substitute(l, vars)))
                Assert.True(result.Output.Contains(line, StringComparison.Ordinal), $"runbook {id} step {step.Id}: expected output line `{line}` not printed:\n{result.Output}");
        }
        if (recordAfterwards)
        {
            await StartAsync();
            foreach (var record in pending) await RecordAsync(record);
        }
        var finish = await CliAsync(vars, "runbook", "finish", execution.ToString(), "--outcome", outcome, "--notes", $"test of runbook {id} done");
        Assert.True(finish.ExitCode == 0, finish.Output);
        var shown = JsonDocument.Parse((await CliAsync(vars, "runbook", "show", execution.ToString())).Stdout).RootElement;
        Assert.Equal("finished", shown.GetProperty("state").GetString());
        Assert.Equal(runs.Count, shown.GetProperty("steps").GetArrayLength());
        Assert.StartsWith("admin:", shown.GetProperty("started_by").GetString());
        LastExecution = execution;
        Variables = vars;
        return runs;
    }

    public long LastExecution { get; private set; }

    /// <summary>The runbook's decisions (```branch blocks) as the outputs of its steps decided them, in order.</summary>
    public List<RunbookBranchRule> Decisions { get; } = [];

    /// <summary>Every variable at the end of the last run: the inputs given and those the steps found (sets=).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; private set; } = new Dictionary<string, string>();

    async Task<StepRun> FairwayAsync(RunbookStep step, Dictionary<string, string> vars)
    {
        var output = new StringBuilder();
        var exit = 0;
        foreach (var command in step.Commands)
        {
            var assignment = Regex.Match(command, @"^(?<name>[A-Z][A-Z0-9_]*)=\$\((?<cmd>fairway .*)\)$");
            var r = await BashAsync(assignment.Success ? assignment.Groups["cmd"].Value : command, vars);
            output.Append(r.Stdout).Append(r.Stderr);
            exit = r.ExitCode;
            if (assignment.Success && exit == 0) vars[assignment.Groups["name"].Value] = r.Stdout.Trim();
            if (exit != 0) break;
        }
        return new StepRun(step.Id, exit, output.ToString());
    }

    async Task<StepRun> ProcessAsync(RunbookStep step, Dictionary<string, string> vars)
    {
        var output = new StringBuilder();
        foreach (var command in step.Commands)
        {
            var compose = RunbookWorld.Compose.Match(command);
            if (compose.Success)
            {
                output.AppendLine(await world.ComposeAsync(compose));
                continue;
            }
            var r = await BashAsync(command, vars);
            output.Append(r.Stdout).Append(r.Stderr);
            if (r.ExitCode != 0) return new StepRun(step.Id, r.ExitCode, output.ToString());
        }
        return new StepRun(step.Id, 0, output.ToString());
    }

    public Task<(int ExitCode, string Stdout, string Stderr, string Output)> CliAsync(Dictionary<string, string> vars, params string[] args) =>
        BashAsync("fairway " + string.Join(' ', args.Select(a => "'" + a.Replace("'", "'\\''") + "'")), vars);

    /// <summary>Runs one command line through bash, in the repository root, with `fairway` on PATH and the deployment's variables.</summary>
    public async Task<(int ExitCode, string Stdout, string Stderr, string Output)> BashAsync(string command, Dictionary<string, string> vars)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        psi.Environment["PATH"] = world.BinDir + ":" + Environment.GetEnvironmentVariable("PATH");
        foreach (var (k, v) in world.Environment()) psi.Environment[k] = v;
        foreach (var (k, v) in vars) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException($"`{command}` did not finish within 180 s"); }
        return (p.ExitCode, await stdout, await stderr, await stdout + await stderr);
    }

    static string Substitute(string text, Dictionary<string, string> vars) =>
        Regex.Replace(text, @"\$\{?(?<name>[A-Z][A-Z0-9_]*)\}?", m => vars.TryGetValue(m.Groups["name"].Value, out var v) ? v : m.Value);

    static string Tail(string s, int max) => s.Length <= max ? s : s[^max..];
}
