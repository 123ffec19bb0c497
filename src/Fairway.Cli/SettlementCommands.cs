using System.CommandLine;
using Fairway.Engine.Settlement;

namespace Fairway.Cli;

/// <summary>`fairway settlement replay &lt;bundle.json&gt;`: recomputes a settlement offline with the pure engine.</summary>
public static class SettlementCommands
{
    public static Command Build()
    {
        var bundle = new Argument<FileInfo>("bundle") { Description = "A fairway.settlement-bundle/1 JSON file." };
        var replay = new Command("replay", "Print the fairway.settlement-result/1 JSON (with output_hash) of a bundle; no database or network. Exit 1 with every validation error on bad input.") { bundle };
        replay.SetAction(parse =>
        {
            var file = parse.GetValue(bundle)!;
            if (!file.Exists) return CliOutput.Error(CliOutput.Usage, $"{file.FullName}: no such file");
            var result = SettlementBundleReplay.Run(File.ReadAllText(file.FullName));
            if (!result.IsSuccess)
            {
                foreach (var e in result.Errors) Console.Error.WriteLine($"fairway: {e.Path}: {e.Code}: {e.Message}");
                return CliOutput.Failed;
            }
            Console.Out.Write(result.Value);
            Console.Out.Write('\n');
            return CliOutput.Ok;
        });
        return new Command("settlement", "Settlement tools.") { replay };
    }
}
