using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using Fairway.Cli;
using Fairway.Host.Operations.Runbooks;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// The runbooks of docs/runbooks as a whole: each parses, has the sections of its kind in order with steps to run, uses
/// only real `fairway` commands (parsed by the CLI's own command tree) and supported process-control commands, contains
/// no SQL and no "ask engineering", is listed in the index, compiled into the host's catalog, and executed by a test.
/// </summary>
public sealed class RunbookCoverageTests
{
    static string Dir => Path.Combine(RepoPaths.Root, "docs", "runbooks");

    public static IReadOnlyList<RunbookDocument> All() =>
        Directory.GetFiles(Dir, "*.md").Order(StringComparer.Ordinal).Select(f => (File: f, Text: File.ReadAllText(f)))
            .Where(x => x.Text.StartsWith("---", StringComparison.Ordinal))
            .Select(x => RunbookDocument.Parse(x.Text, Path.GetRelativePath(RepoPaths.Root, x.File))).ToList();

    [Fact]
    public void Every_runbook_has_the_sections_of_its_kind_and_steps_to_run()
    {
        var problems = new List<string>();
        var runbooks = All();
        Assert.True(runbooks.Count >= 9, $"only {runbooks.Count} runbooks");
        foreach (var r in runbooks)
        {
            if (!File.Exists(Path.Combine(Dir, r.Id + ".md"))) problems.Add($"{r.Id}: the file name must be {r.Id}.md");
            var required = RunbookDocument.RequiredSections(r.Kind);
            var positions = required.Select(s => r.Sections.ToList().IndexOf(s)).ToList();
            if (positions.Any(p => p < 0)) problems.Add($"{r.Id} ({r.Kind}): needs sections {string.Join(" → ", required)}, has {string.Join(", ", r.Sections)}");
            else if (!positions.SequenceEqual(positions.Order())) problems.Add($"{r.Id}: sections {string.Join(" → ", required)} are out of order");
            foreach (var section in required.Where(s => s is "Diagnose" or "Steps" or "Verify"))
                if (!r.Steps.Any(s => s.Section == section)) problems.Add($"{r.Id}: section {section} has no step");
            if (r.Inputs.Any(i => !Regex.IsMatch(i, "^[A-Z][A-Z0-9_]*$"))) problems.Add($"{r.Id}: inputs must be SHELL_NAMES");
            var text = File.ReadAllText(Path.Combine(Dir, r.Id + ".md"));
            if (Regex.IsMatch(text, @"\bask engineering\b|engineering will handle", RegexOptions.IgnoreCase)) problems.Add($"{r.Id}: says 'ask engineering'");
            foreach (var command in r.Steps.SelectMany(s => s.Commands))
                if (Regex.IsMatch(command, @"\b(psql|SELECT|UPDATE|DELETE|INSERT)\b", RegexOptions.IgnoreCase)) problems.Add($"{r.Id}: command `{command}` touches the database by hand");
            foreach (var variable in r.Steps.SelectMany(s => s.Commands.Concat(s.ExpectedOutput)).SelectMany(c => Regex.Matches(c, @"\$\{?([A-Z][A-Z0-9_]*)").Select(m => m.Groups[1].Value)).Distinct())
                if (!r.Inputs.Contains(variable) && !Standard.Contains(variable) && !r.Steps.Any(s => s.Commands.Any(c => c.StartsWith(variable + "=$(", StringComparison.Ordinal)) || s.Sets.Any(x => x.Name == variable)))
                    problems.Add($"{r.Id}: uses ${variable}, which is neither an input nor set by a step");
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    /// <summary>Variables every operator's shell has (docs/runbooks/README.md).</summary>
    static readonly string[] Standard = ["FAIRWAY_API_URL", "FAIRWAY_API_TOKEN", "DATABASE_URL", "FAIRWAY_ENV_FILE", "PG_BIN"];

    [Fact]
    public void Every_command_is_a_real_fairway_command_or_a_supported_process_control_command()
    {
        var problems = new List<string>();
        foreach (var r in All())
            foreach (var step in r.Steps)
                foreach (var command in step.Commands)
                {
                    if (step.Kind == RunbookStepKind.Process)
                    {
                        if (!RunbookWorld.Compose.IsMatch(command) && !RunbookWorld.HostCommand.IsMatch(command)) problems.Add($"{r.Id}/{step.Id}: `{command}` is not a supported process-control command (docker compose -f infra/compose/docker-compose.prod.yml restart|stop|start|up -d api|worker|postgres, or exec -T postgres createdb|dropdb; chown/pg_ctl of a recovered data directory)");
                        continue;
                    }
                    var assignment = Regex.Match(command, @"^[A-Z][A-Z0-9_]*=\$\((?<cmd>fairway .*)\)$");
                    var line = assignment.Success ? assignment.Groups["cmd"].Value : command;
                    var args = ShellWords(Regex.Replace(line, @"\$\{?[A-Z][A-Z0-9_]*\}?", "1")).Skip(1).ToArray();
                    var parsed = CliRoot.Build().Parse(args);
                    if (parsed.Errors.Count > 0) problems.Add($"{r.Id}/{step.Id}: `{command}` is not a valid fairway command: {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
                    else if (parsed.CommandResult.Command.Subcommands.Count > 0) problems.Add($"{r.Id}/{step.Id}: `{command}` names a command group, not a command");
                }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        // The check can fail: a misspelt command is reported.
        Assert.NotEmpty(CliRoot.Build().Parse(["killswitch", "of", "--reason", "x"]).Errors);
    }

    /// <summary>
    /// Paged at 3 a.m., the operator has the alert and nothing else: every input a runbook's main path uses is either a
    /// label of the alert (a static label, or one its expression groups by) or found by a step before it is used
    /// (<c>sets=</c>, or <c>NAME=$(fairway …)</c>). PaymentsPendingOverdue once paged a runbook that needed an entry no page
    /// names: the simulated operator ran `fairway payments show ""`.
    /// </summary>
    /// <summary>
    /// Debt, written down: alerts whose runbook needs a subject the page does not carry and no step finds yet (the operator
    /// reads it off a list step or the reconciliation's violations by eye: `fairway contests list`, `fairway ingestion status`), or, for BackupMissing and
    /// StripeWebhookSignatureFailures, the operator's own directories and the new secret they generate. Each needs a list of exactly the subjects the alert counts (as `fairway payments
    /// overdue` is for PaymentsPendingOverdue) and a `sets=` step. Alert → the inputs it lacks, in ordinal order.
    /// </summary>
    static readonly Dictionary<string, string> KnownInputGaps = new(StringComparer.Ordinal)
    {
        ["ContestLockOverdue"] = "CONTEST",
        ["ContestTransitionFailed"] = "CONTEST",
        ["BackupMissing"] = "BACKUP_DIR SCRATCH_DATABASE_URL",
        ["ScoreAuditMismatch"] = "BUNDLE CONTEST TOURNAMENT",
        ["LedgerInvariantViolation"] = "ENTRY",
        ["LedgerAccountBalanceMismatch"] = "ENTRY",
        ["PartialPayoutExecuted"] = "ENTRY",
        ["StripeWebhookSignatureFailures"] = "NEW_SECRET",
    };

    [Fact]
    public void Every_alert_runbook_finds_its_inputs_from_the_page_or_its_own_steps()
    {
        var runbooks = All().ToDictionary(r => r.Id);
        var problems = new List<string>();
        var gaps = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var checkedAlerts = 0;
        foreach (var rule in Monitoring.AlertRules.Load().Where(r => r.Alert is not null && r.Annotations.ContainsKey("runbook_url")))
        {
            var id = Path.GetFileNameWithoutExtension(rule.Annotations["runbook_url"]);
            if (!runbooks.TryGetValue(id, out var doc)) { problems.Add($"{rule.Alert}: runbook {id} does not exist"); continue; }
            checkedAlerts++;
            var known = new HashSet<string>(Standard.Append("INCIDENT"), StringComparer.Ordinal);
            foreach (var label in rule.Labels.Keys.Concat(Regex.Matches(rule.Expr, @"\bby\s*\(([^)]*)\)").SelectMany(m => m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries))))
                known.Add(label.ToUpperInvariant());
            foreach (var step in doc.Steps.Where(s => s.Section == "Immediate action" || RunbookDocument.RequiredSections(doc.Kind).Contains(s.Section) && s.Section != "Rollback"))
            {
                foreach (var set in step.Sets) known.Add(set.Name);
                foreach (var variable in step.Commands.Concat(step.ExpectedOutput).SelectMany(c => Regex.Matches(c, @"\$\{?([A-Z][A-Z0-9_]*)").Select(m => m.Groups[1].Value)))
                    if (!known.Contains(variable))
                    {
                        if (KnownInputGaps.ContainsKey(rule.Alert!)) (gaps.TryGetValue(rule.Alert!, out var g) ? g : gaps[rule.Alert!] = new(StringComparer.Ordinal)).Add(variable);
                        else problems.Add($"{rule.Alert} → {id}: step {step.Id} uses ${variable}, which the page does not carry and no earlier step finds");
                    }
                foreach (var command in step.Commands)
                    if (Regex.Match(command, @"^([A-Z][A-Z0-9_]*)=\$\(") is { Success: true } m) known.Add(m.Groups[1].Value);
            }
        }
        // The list only shrinks: a gap that is closed (or changed) must be taken off it.
        foreach (var (alert, inputs) in KnownInputGaps)
            if (string.Join(' ', gaps.GetValueOrDefault(alert) ?? []) != inputs)
                problems.Add($"{alert}: listed as a known gap for {inputs}, but the runbook now lacks [{string.Join(' ', gaps.GetValueOrDefault(alert) ?? [])}]: update KnownInputGaps");
        Assert.True(checkedAlerts >= 10, $"only {checkedAlerts} alerts with a runbook");
        Assert.True(problems.Count == 0, string.Join('\n', problems.Distinct()));
    }

    [Fact]
    public void Every_runbook_is_executed_by_a_test_and_listed_in_the_index()
    {
        var tested = typeof(RunbookCoverageTests).Assembly.GetTypes().SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<FactAttribute>() is not null)
            .Select(m => m.GetCustomAttribute<RunbookTestAttribute>()?.Runbook).Where(r => r is not null).ToHashSet();
        var index = File.ReadAllText(Path.Combine(Dir, "README.md"));
        var problems = new List<string>();
        foreach (var r in All())
        {
            if (!tested.Contains(r.Id)) problems.Add($"{r.Id}: no test executes it (a [Fact] with [RunbookTest(\"{r.Id}\")])");
            if (!index.Contains($"]({r.Id}.md)", StringComparison.Ordinal)) problems.Add($"{r.Id}: not listed in docs/runbooks/README.md");
        }
        foreach (var id in tested.Where(t => All().All(r => r.Id != t))) problems.Add($"a test names runbook {id}, which does not exist");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void The_host_compiles_in_exactly_the_runbooks_of_the_repository()
    {
        var catalog = new RunbookCatalog();
        Assert.Equal(All().Select(r => r.Id).Order(), catalog.Runbooks.Keys.Order());
        foreach (var r in All()) Assert.Equal(r.Steps.Select(s => s.Id), catalog.Find(r.Id)!.Steps.Select(s => s.Id));
    }

    [Fact]
    public void The_parser_refuses_what_a_program_could_not_execute_exactly()
    {
        const string head = "---\nid: x\ntitle: X\nkind: failure-mode\nversion: 2026-11-30\n---\n## Diagnose\n";
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a\nfairway health\n```\n```fairway step=a\nfairway health\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a\npsql -c 'select 1'\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```bash\nfairway health\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway\nfairway health\n```\n", "t"));
        var ok = RunbookDocument.Parse(head + "```fairway step=a expect=1\nfairway contests lock \"$C\" \\\n  --reason \"r\"\n```\n```output\n\"state\": \"LOCKED\"\n```\n", "t");
        Assert.Equal(["fairway contests lock \"$C\" --reason \"r\""], ok.Steps[0].Commands);
        Assert.Equal(1, ok.Steps[0].ExpectedExitCode);
        Assert.Equal(["\"state\": \"LOCKED\""], ok.Steps[0].ExpectedOutput);

        // Inputs found by a step, and a decision table in machine-readable form.
        const string branch = "```branch on=a\n\"reason\": \"card\" => after player\n\"reason\": \"x => continue\n* => escalate\n```\n";
        var decided = RunbookDocument.Parse(head + "```fairway step=a sets=ENTRY:entry_id,C:contest_id\nfairway payments refunds --status FAILED\n```\n" + branch, "t");
        Assert.Equal([new RunbookInputSource("ENTRY", "entry_id"), new RunbookInputSource("C", "contest_id")], decided.Steps[0].Sets);
        const string listed = "{\"refunds\": [{\"id\": \"r\", \"entry\": {\"entry_id\": \"e2\", \"contest_id\": \"c2\"}}, {\"entry_id\": \"e3\", \"contest_id\": \"c3\"}]}";
        Assert.Equal(new Dictionary<string, string> { ["ENTRY"] = "e2", ["C"] = "c2" }, decided.Steps[0].FindInputs(listed));
        // A subject another execution works on is skipped; both inputs come from the same object.
        Assert.Equal(new Dictionary<string, string> { ["ENTRY"] = "e3", ["C"] = "c3" }, decided.Steps[0].FindInputs(listed, new HashSet<string> { "e2" }));
        Assert.Empty(decided.Steps[0].FindInputs("{\"refunds\": []}"));
        var table = Assert.Single(decided.Branches);
        Assert.Equal((1, "a"), (table.AfterSteps, table.On));
        Assert.Equal((RunbookDecision.After, "player"), (table.Decide("{\"reason\": \"card\"}").Decision, table.Decide("{\"reason\": \"card\"}").Party));
        Assert.Equal(RunbookDecision.Continue, table.Decide("\"reason\": \"x1\"").Decision);
        Assert.Equal(RunbookDecision.Escalate, table.Decide("anything").Decision);
        // A rule may name the execution's variables, replaced by their values before it is looked for.
        var named = Assert.Single(RunbookDocument.Parse(head + "```fairway step=a\nfairway health\n```\n```branch on=a\n\"entry_id\": \"$ENTRY\" => continue\n* => wait\n```\n", "t").Branches);
        var vars = new Dictionary<string, string> { ["ENTRY"] = "e2" };
        Assert.Equal(RunbookDecision.Continue, named.Decide("[{\"entry_id\": \"e2\"}]", vars).Decision);
        Assert.Equal(RunbookDecision.Wait, named.Decide("[{\"entry_id\": \"e3\"}]", vars).Decision);
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a sets=entry\nfairway health\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a\nfairway health\n```\n```branch on=b\n* => wait\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a\nfairway health\n```\n```branch on=a\nx => continue\n```\n", "t"));
        Assert.Throws<FormatException>(() => RunbookDocument.Parse(head + "```fairway step=a\nfairway health\n```\n```branch on=a\nx => retry\n* => wait\n```\n", "t"));
    }

    /// <summary>Splits a command line as bash would for the simple quoting runbooks use ("…", '…').</summary>
    static IEnumerable<string> ShellWords(string line)
    {
        foreach (Match m in Regex.Matches(line, "\"(?<w>(?:[^\"\\\\]|\\\\.)*)\"|'(?<w>[^']*)'|(?<w>[^\\s\"']+)"))
            yield return m.Groups["w"].Value;
    }
}
