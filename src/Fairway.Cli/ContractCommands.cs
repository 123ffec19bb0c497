using System.CommandLine;
using System.Reflection;
using System.Text.Json;
using Fairway.Contract;
using Fairway.Migrations;

namespace Fairway.Cli;

/// <summary>`fairway contract check` (the breaking-change gate on a document) and `fairway version` (what this build is).</summary>
public static class ContractCommands
{
    public static Command Contract()
    {
        var document = new Option<string>("--document") { Description = "An OpenAPI document (e.g. the one `Fairway.Host --emit-docs` writes).", Required = true };
        var check = new Command("check", "Compare the document with the frozen v1 baseline (embedded in this build). Exit 0 when it passes the gate; 1 with one line per breaking change.") { document };
        check.SetAction(p =>
        {
            var path = p.GetValue(document)!;
            if (!File.Exists(path)) return CliOutput.Error(CliOutput.Usage, $"--document: {path} does not exist");
            GateResult result;
            try { result = ContractGate.Check(ContractGate.BaselineV1Json(), File.ReadAllText(path)); }
            catch (InvalidDataException e) { return CliOutput.Error(CliOutput.Failed, e.Message); }
            foreach (var b in result.Breaking) Console.Error.WriteLine($"fairway: contract: {b}");
            Console.WriteLine($"contract gate {(result.Passed ? "passed" : "FAILED")}: {result.Breaking.Count} breaking change(s) against {result.BaselineVersion}; document version {result.CurrentVersion}");
            return result.Passed ? CliOutput.Ok : CliOutput.Failed;
        });
        return new Command("contract", "The public API contract.") { check };
    }

    public static Command Version()
    {
        var cmd = new Command("version", "This build: version, commit and the schema version it expects (JSON).");
        cmd.SetAction(_ =>
        {
            var info = typeof(ContractCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            Console.WriteLine(JsonSerializer.Serialize(new { version = info.Split('+')[0], commit = info.Contains('+') ? info[(info.IndexOf('+') + 1)..] : null, schema_version = SchemaMigrator.ExpectedVersion }));
            return CliOutput.Ok;
        });
        return cmd;
    }
}
