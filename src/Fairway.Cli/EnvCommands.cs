using System.CommandLine;
using Fairway.Host.Platform.Configuration;

namespace Fairway.Cli;

/// <summary>
/// `fairway env set --file F NAME=VALUE…`: changes variables of a deployment's env file (e.g. /etc/fairway/fairway.env),
/// each name and value checked against the configuration contract first (docs/infra/ENV_SCHEMA.md), so a runbook's
/// configuration change cannot introduce a typo that only the next start-up would find. Other lines are kept as they
/// are; the file is replaced atomically with its permissions.
/// </summary>
public static class EnvCommands
{
    public static Command Build()
    {
        var file = new Option<string>("--file") { Description = "The env file (KEY=VALUE lines).", Required = true };
        var assignments = new Argument<string[]>("assignments") { Description = "NAME=VALUE pairs of variables of the contract.", Arity = ArgumentArity.OneOrMore };
        var set = new Command("set", "Set variables in an env file after checking each against the configuration contract; prints what changed (secrets masked). Restart the processes to apply.") { file, assignments };
        set.SetAction(p => Set(p.GetValue(file)!, p.GetValue(assignments)!));
        return new Command("env", "The deployment's environment file.") { set };
    }

    static int Set(string path, string[] assignments)
    {
        if (!File.Exists(path)) return CliOutput.Error(CliOutput.Usage, $"{path}: no such env file");
        var changes = new List<(EnvironmentVariable Variable, string Value)>();
        var errors = new List<string>();
        foreach (var a in assignments)
        {
            var eq = a.IndexOf('=');
            if (eq <= 0) { errors.Add($"'{a}' is not NAME=VALUE"); continue; }
            var (name, value) = (a[..eq], a[(eq + 1)..]);
            var variable = EnvironmentSchema.All.FirstOrDefault(v => v.Name == name);
            if (variable is null) { errors.Add($"{name}: not a variable of the configuration contract (docs/infra/ENV_SCHEMA.md)"); continue; }
            if (value.Length == 0 && variable.Required) { errors.Add($"{name}: required variable cannot be empty"); continue; }
            if (value.Length > 0 && SettingsLoader.Check(variable, value) is { } problem) { errors.Add($"{name}: {problem}"); continue; }
            changes.Add((variable, value));
        }
        if (errors.Count > 0)
        {
            foreach (var e in errors) Console.Error.WriteLine("fairway: " + e);
            return CliOutput.Usage;
        }
        var lines = File.ReadAllLines(path).ToList();
        foreach (var (variable, value) in changes)
        {
            var index = lines.FindIndex(l => l.StartsWith(variable.Name + "=", StringComparison.Ordinal));
            var before = index >= 0 ? lines[index][(variable.Name.Length + 1)..] : null;
            if (index >= 0) lines[index] = $"{variable.Name}={value}"; else lines.Add($"{variable.Name}={value}");
            string Show(string? v) => v is null ? "(unset)" : variable.Secret ? "(secret)" : v;
            Console.WriteLine($"{variable.Name}: {Show(before)} -> {Show(value)}");
        }
        var temp = path + ".fairway-tmp";
        File.WriteAllText(temp, string.Join('\n', lines) + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        File.Move(temp, path, overwrite: true);
        Console.WriteLine($"{path} updated; restart the processes that read it for the change to take effect");
        return CliOutput.Ok;
    }
}
