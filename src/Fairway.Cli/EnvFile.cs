using System.Text.RegularExpressions;
using Fairway.Host.Platform.Configuration;

namespace Fairway.Cli;

/// <summary>
/// An env file as Docker Compose's <c>env_file</c> and a shell's <c>set -a; . file</c> both read it: <c>NAME=value</c> lines,
/// <c>#</c> comments and blank lines; one pair of matching surrounding quotes is removed. Anything else is refused, so
/// the file means the same thing to both.
/// </summary>
public static partial class EnvFile
{
    [GeneratedRegex("^[A-Z_][A-Z0-9_]*$")]
    private static partial Regex NamePattern();

    public static (Dictionary<string, string?> Values, List<string> Problems) Read(string path)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var problems = new List<string>();
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            var eq = line.IndexOf('=');
            var name = eq < 0 ? line : line[..eq];
            if (eq < 0 || !NamePattern().IsMatch(name)) { problems.Add($"line {i + 1}: not a NAME=value line"); continue; }
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0]) value = value[1..^1];
            if (!values.TryAdd(name, value)) problems.Add($"line {i + 1}: {name} is set twice");
        }
        return (values, problems);
    }

    /// <summary>
    /// Every problem of the file against the configuration contract for the given roles, exactly as the host's start-up
    /// validation reports them, plus variables the contract does not know (a typo would otherwise be silently ignored).
    /// </summary>
    public static List<string> Check(IReadOnlyDictionary<string, string?> values, IEnumerable<string> readProblems, IReadOnlyList<HostRole> roles)
    {
        var problems = readProblems.ToList();
        var known = EnvironmentSchema.All.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(values.Keys.Where(k => !known.Contains(k)).Order(StringComparer.Ordinal)
            .Select(k => $"{k}: not part of the configuration contract (docs/infra/ENV_SCHEMA.md)"));
        foreach (var role in roles)
            problems.AddRange(SettingsLoader.Load(values, role).Errors.Select(e => $"role {HostRoles.Name(role)}: {e}"));
        return problems;
    }
}
