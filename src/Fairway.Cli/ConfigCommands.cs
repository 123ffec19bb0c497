using System.CommandLine;
using Fairway.Host.Platform.Configuration;

namespace Fairway.Cli;

/// <summary>`fairway config check --env-file F`: validates a deployment's env file against the contract, starting nothing.</summary>
public static class ConfigCommands
{
    public static Command Build()
    {
        var file = new Option<string>("--env-file") { Description = "The env file a deployment gives the api and worker containers (e.g. /etc/fairway/fairway.env).", Required = true };
        var role = new Option<string>("--role") { Description = "api, worker, or both (default: both, as production runs both).", DefaultValueFactory = _ => "both" };
        var check = new Command("check", "Validate an env file against the configuration contract (docs/infra/ENV_SCHEMA.md) for the given roles, as the host would at start-up. "
            + "Exit 0 when valid; 1 with one line per problem.") { file, role };
        check.SetAction(parse => Check(parse.GetValue(file)!, parse.GetValue(role)!));
        return new Command("config", "The configuration contract.") { check };
    }

    public static int Check(string path, string roleName)
    {
        if (!File.Exists(path) && path != "/dev/stdin") return CliOutput.Error(CliOutput.Usage, $"--env-file: {path} does not exist");
        IReadOnlyList<HostRole> roles = roleName switch
        {
            "both" => [HostRole.Api, HostRole.Worker],
            _ when HostRoles.TryParse(roleName, out var r) => [r],
            _ => [],
        };
        if (roles.Count == 0) return CliOutput.Error(CliOutput.Usage, $"--role: '{roleName}' is not one of api, worker, all, both");
        var (values, readProblems) = EnvFile.Read(path);   // read once: the file may be /dev/stdin
        var problems = EnvFile.Check(values, readProblems, roles);
        foreach (var p in problems) Console.Error.WriteLine($"fairway: config: {p}");
        if (problems.Count > 0) return CliOutput.Error(CliOutput.Failed, $"{path}: {problems.Count} problem(s)");
        Console.WriteLine($"{path}: valid for role(s) {string.Join(", ", roles.Select(HostRoles.Name))}");
        return CliOutput.Ok;
    }
}
