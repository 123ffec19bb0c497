using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fairway.Host.Operations.Runbooks;

/// <summary>What a fenced block of a runbook holds: a <c>fairway …</c> CLI command, or a process-control command.</summary>
public enum RunbookStepKind { Fairway, Process }

/// <summary>
/// One executable step of a runbook: a fenced block <c>```fairway step=&lt;id&gt; [expect=&lt;exit code&gt;]</c> (or
/// <c>```process step=&lt;id&gt;</c>) in a section. <see cref="Commands"/> are its command lines as written (a line ending
/// in a backslash continues on the next). <see cref="ExpectedOutput"/> are the lines of the <c>```output</c> block that
/// follows it, if any: each must appear in what the command prints.
/// </summary>
public sealed record RunbookStep(string Id, string Section, RunbookStepKind Kind, IReadOnlyList<string> Commands, int ExpectedExitCode, IReadOnlyList<string> ExpectedOutput)
{
    /// <summary>
    /// <c>sets=NAME:field[,NAME:field]</c>: how an operator finds the runbook's inputs from what this step prints (JSON):
    /// NAME becomes the first value of a property <c>field</c> in document order, unless NAME is already known.
    /// </summary>
    public IReadOnlyList<RunbookInputSource> Sets { get; init; } = [];

    /// <summary>
    /// The inputs this step finds in what it printed (JSON): the first object, depth first in document order, whose
    /// property of the first <see cref="Sets"/> field is a value not <paramref name="taken"/> (subjects other executions
    /// already work on); every input is read from that same object (or, when it lacks one, from inside it). Empty when none.
    /// </summary>
    public IReadOnlyDictionary<string, string> FindInputs(string output, IReadOnlySet<string>? taken = null)
    {
        if (Sets.Count == 0) return new Dictionary<string, string>();
        JsonDocument doc;
        try { doc = JsonDocument.Parse(output); }
        catch (JsonException) { return new Dictionary<string, string>(); }
        using (doc)
        {
            if (Subject(doc.RootElement, Sets[0].Field, taken ?? new HashSet<string>()) is not { } subject) return new Dictionary<string, string>();
            var found = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var set in Sets)
                if (Subject(subject, set.Field, new HashSet<string>()) is { } holder) found[set.Name] = Scalar(holder.GetProperty(set.Field));
            return found;
        }
    }

    static string Scalar(JsonElement v) => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();

    /// <summary>The first object (depth first) with a scalar property <paramref name="field"/> whose value is not taken.</summary>
    static JsonElement? Subject(JsonElement e, string field, IReadOnlySet<string> taken)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            if (e.TryGetProperty(field, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array) && !taken.Contains(Scalar(v)))
                return e;
            foreach (var p in e.EnumerateObject()) if (Subject(p.Value, field, taken) is { } inner) return inner;
        }
        else if (e.ValueKind == JsonValueKind.Array)
            foreach (var item in e.EnumerateArray()) if (Subject(item, field, taken) is { } found) return found;
        return null;
    }
}

/// <summary>One input found by a step: <see cref="Name"/> is the first value of the JSON property <see cref="Field"/> the step prints.</summary>
public sealed record RunbookInputSource(string Name, string Field);

/// <summary>What an operator does once a decision table has decided (docs/runbooks/README.md, "Decisions").</summary>
public enum RunbookDecision
{
    /// <summary>Go on with the next steps of the main path.</summary>
    Continue,
    /// <summary>Nothing to do by hand: the system recovers by itself; finish once the alert has resolved.</summary>
    Wait,
    /// <summary>Someone outside (the player, the winner, a provider) must fix the cause first; go on once they say it is fixed.</summary>
    After,
    /// <summary>Only engineering can act: Escalate, finish the execution as escalated.</summary>
    Escalate,
}

/// <summary>One row of a decision: when the output of the step it reads contains <see cref="Match"/> (<c>*</c>: any), do <see cref="Decision"/>.</summary>
public sealed record RunbookBranchRule(string Match, RunbookDecision Decision, string? Party);

/// <summary>
/// A ```<c>branch on=&lt;step&gt;</c> block: the machine-readable form of a decision table. After the steps before it,
/// its first rule whose text appears in what step <see cref="On"/> printed decides; the last rule is <c>*</c>. A rule's
/// text may name the execution's variables (<c>$ENTRY</c>), replaced by their values as in the commands.
/// </summary>
public sealed record RunbookBranch(string Section, int AfterSteps, string On, IReadOnlyList<RunbookBranchRule> Rules)
{
    public RunbookBranchRule Decide(string output, IReadOnlyDictionary<string, string>? variables = null) =>
        Rules.First(r => r.Match == "*" || output.Contains(Expand(r.Match, variables), StringComparison.Ordinal));

    static string Expand(string text, IReadOnlyDictionary<string, string>? variables) => variables is null ? text
        : System.Text.RegularExpressions.Regex.Replace(text, @"\$([A-Z][A-Z0-9_]*)", m => variables.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
}

/// <summary>
/// A runbook file of docs/runbooks, parsed. Format (docs/runbooks/README.md): a front matter of <c>key: value</c>
/// lines between <c>---</c> lines (id, title, kind, alerts, covers, inputs, version), a <c># title</c>, <c>## section</c>
/// headings, and fenced steps. Parsing is strict: an unknown fence language, a duplicate step id or a missing key is an
/// error, so a runbook a program cannot execute exactly never ships.
/// </summary>
public sealed record RunbookDocument(
    string Id, string Title, string Kind, IReadOnlyList<string> Alerts, IReadOnlyList<string> Covers, IReadOnlyList<string> Inputs,
    string Version, IReadOnlyList<string> Sections, IReadOnlyList<RunbookStep> Steps)
{
    /// <summary>The decision tables in machine-readable form, in document order (<see cref="RunbookBranch.AfterSteps"/>: steps before each).</summary>
    public IReadOnlyList<RunbookBranch> Branches { get; init; } = [];

    public static readonly IReadOnlyList<string> Kinds = ["failure-mode", "incident", "operational-task", "escalation", "launch", "error-exit"];

    /// <summary>The sections a runbook of each kind must have, in this order (others may sit between them).</summary>
    public static IReadOnlyList<string> RequiredSections(string kind) => kind switch
    {
        "operational-task" or "launch" => ["Prerequisites", "Steps", "Verify", "Rollback"],
        "escalation" => ["When to escalate", "Collect", "Hand over"],
        _ => ["Detect", "Diagnose", "Recover", "Verify"],
    };

    static readonly Regex Fence = new(@"^```(?<lang>[a-z]*)(?<attrs>( +[a-z-]+=[^ ]+)*) *$", RegexOptions.CultureInvariant);
    static readonly Regex Attr = new(@"(?<k>[a-z-]+)=(?<v>[^ ]+)", RegexOptions.CultureInvariant);
    static readonly Regex SetsItem = new("^(?<name>[A-Z][A-Z0-9_]*):(?<field>[a-z_][a-z0-9_]*)$", RegexOptions.CultureInvariant);
    static readonly Regex BranchRule = new(@"^(?<match>.+?) +=> +(?<decision>continue|wait|escalate|after (?<party>[a-z][a-z0-9-]*))$", RegexOptions.CultureInvariant);
    public static readonly Regex IdPattern = new("^[a-z0-9][a-z0-9-]{0,99}$", RegexOptions.CultureInvariant);

    public static RunbookDocument Parse(string text, string source)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length < 3 || lines[0] != "---") throw Error(source, 1, "must start with a front matter block between '---' lines");
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 1;
        for (; i < lines.Length && lines[i] != "---"; i++)
        {
            var colon = lines[i].IndexOf(':');
            if (colon <= 0) throw Error(source, i + 1, $"front matter line '{lines[i]}' is not 'key: value'");
            if (!meta.TryAdd(lines[i][..colon].Trim(), lines[i][(colon + 1)..].Trim())) throw Error(source, i + 1, $"duplicate key '{lines[i][..colon].Trim()}'");
        }
        if (i == lines.Length) throw Error(source, 1, "front matter is not closed with '---'");
        string Required(string key) => meta.TryGetValue(key, out var v) && v.Length > 0 ? v : throw Error(source, 1, $"front matter key '{key}' is missing");
        static IReadOnlyList<string> List(string? v) => string.IsNullOrEmpty(v) ? [] : v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        var id = Required("id");
        if (!IdPattern.IsMatch(id)) throw Error(source, 1, $"id '{id}' must match {IdPattern}");
        var kind = Required("kind");
        if (!Kinds.Contains(kind)) throw Error(source, 1, $"kind '{kind}' is not one of {string.Join(", ", Kinds)}");
        var covers = meta.TryGetValue("covers", out var c) ? c.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : [];

        var sections = new List<string>();
        var steps = new List<RunbookStep>();
        var branches = new List<RunbookBranch>();
        string? section = null;
        for (i++; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal)) { section = line[3..].Trim(); sections.Add(section); continue; }
            if (!line.StartsWith("```", StringComparison.Ordinal)) continue;
            var m = Fence.Match(line);
            if (!m.Success) throw Error(source, i + 1, $"fence '{line}' is not ```<language> key=value…");
            var lang = m.Groups["lang"].Value;
            var attrs = Attr.Matches(m.Groups["attrs"].Value).ToDictionary(a => a.Groups["k"].Value, a => a.Groups["v"].Value, StringComparer.Ordinal);
            var start = i + 1;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i] != "```"; i++) body.Add(lines[i]);
            if (i == lines.Length) throw Error(source, start, "fenced block is not closed");
            switch (lang)
            {
                case "fairway" or "process":
                    if (section is null) throw Error(source, start, "a step must be inside a '## section'");
                    if (!attrs.TryGetValue("step", out var stepId) || !IdPattern.IsMatch(stepId)) throw Error(source, start, "a step needs step=<id> (lowercase, digits, dashes)");
                    if (stepId is "start" or "finish") throw Error(source, start, $"step id '{stepId}' is reserved");
                    if (steps.Any(s => s.Id == stepId)) throw Error(source, start, $"duplicate step id '{stepId}'");
                    var expect = attrs.TryGetValue("expect", out var e) ? int.TryParse(e, out var code) ? code : throw Error(source, start, $"expect={e} is not an exit code") : 0;
                    var unknown = attrs.Keys.Except(["step", "expect", "sets"]).ToList();
                    if (unknown.Count > 0) throw Error(source, start, $"unknown attribute(s) {string.Join(", ", unknown)}");
                    var commands = JoinContinuations(body);
                    if (commands.Count == 0) throw Error(source, start, $"step '{stepId}' has no command");
                    var kindOf = lang == "fairway" ? RunbookStepKind.Fairway : RunbookStepKind.Process;
                    if (kindOf == RunbookStepKind.Fairway && commands.Any(cmd => !cmd.StartsWith("fairway ", StringComparison.Ordinal) && !IsAssignmentOfFairway(cmd)))
                        throw Error(source, start, $"step '{stepId}': every line of a ```fairway block is a `fairway …` command (or NAME=$(fairway …))");
                    var sets = new List<RunbookInputSource>();
                    foreach (var item in attrs.TryGetValue("sets", out var setsText) ? setsText.Split(',') : [])
                    {
                        var set = SetsItem.Match(item);
                        if (!set.Success) throw Error(source, start, $"step '{stepId}': sets={setsText}: each item is NAME:json_field");
                        sets.Add(new RunbookInputSource(set.Groups["name"].Value, set.Groups["field"].Value));
                    }
                    steps.Add(new RunbookStep(stepId, section, kindOf, commands, expect, []) { Sets = sets });
                    break;
                case "branch":
                    if (section is null) throw Error(source, start, "a branch must be inside a '## section'");
                    if (!attrs.TryGetValue("on", out var on) || steps.All(s => s.Id != on)) throw Error(source, start, "a branch needs on=<id of a step before it>");
                    if (attrs.Keys.Any(k => k != "on")) throw Error(source, start, "a branch takes only on=<step>");
                    var rules = new List<RunbookBranchRule>();
                    foreach (var ruleLine in body.Where(l => l.Trim().Length > 0))
                    {
                        var rule = BranchRule.Match(ruleLine.Trim());
                        if (!rule.Success) throw Error(source, start, $"branch rule '{ruleLine.Trim()}' is not '<text printed> => continue|wait|escalate|after <party>'");
                        var party = rule.Groups["party"];
                        var decision = party.Success ? RunbookDecision.After : Enum.Parse<RunbookDecision>(rule.Groups["decision"].Value, ignoreCase: true);
                        rules.Add(new RunbookBranchRule(rule.Groups["match"].Value, decision, party.Success ? party.Value : null));
                    }
                    if (rules.Count == 0 || rules[^1].Match != "*" || rules.SkipLast(1).Any(r => r.Match == "*"))
                        throw Error(source, start, "a branch ends with exactly one '* => …' rule (what to do otherwise)");
                    branches.Add(new RunbookBranch(section, steps.Count, on, rules));
                    break;
                case "output":
                    if (steps.Count == 0 || steps[^1].ExpectedOutput.Count > 0) throw Error(source, start, "an ```output block must follow a step");
                    steps[^1] = steps[^1] with { ExpectedOutput = body.Where(l => l.Trim().Length > 0).Select(l => l.Trim()).ToList() };
                    break;
                case "" or "text" or "json" or "sh" or "yaml" or "markdown":
                    break; // illustration only, never executed
                default:
                    throw Error(source, start, $"unknown fence language '{lang}'");
            }
        }
        return new RunbookDocument(id, Required("title"), kind, List(meta.GetValueOrDefault("alerts")), covers, List(meta.GetValueOrDefault("inputs")),
            Required("version"), sections, steps) { Branches = branches };
    }

    /// <summary><c>NAME=$(fairway …)</c>: a step may capture an output for a later step.</summary>
    public static bool IsAssignmentOfFairway(string command) => Regex.IsMatch(command, @"^[A-Z][A-Z0-9_]*=\$\(fairway .*\)$", RegexOptions.CultureInvariant);

    static List<string> JoinContinuations(List<string> body)
    {
        var commands = new List<string>();
        var current = "";
        foreach (var raw in body)
        {
            var line = raw.TrimEnd();
            if (line.Length == 0 && current.Length == 0) continue;
            if (line.EndsWith('\\')) { current += line.Trim()[..^1].TrimEnd() + " "; continue; }
            commands.Add((current + line.Trim()).Trim());
            current = "";
        }
        if (current.Length > 0) commands.Add(current.Trim());
        return commands;
    }

    static FormatException Error(string source, int line, string message) => new($"{source}:{line}: {message}");
}
