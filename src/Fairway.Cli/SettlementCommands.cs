using System.CommandLine;
using System.Net.Http.Headers;
using Fairway.Engine.Settlement;

namespace Fairway.Cli;

/// <summary>
/// `fairway settlement replay &lt;bundle.json&gt;` recomputes a settlement offline with the pure engine;
/// `fairway settlement show|export &lt;contest&gt;` read a stored settlement through the admin API.
/// </summary>
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

        var contest = new Argument<string>("contest") { Description = "Contest id." };
        var limit = new Option<int>("--limit") { Description = "Show at most this many results, best first (0..1000).", DefaultValueFactory = _ => 20 };
        var show = new Command("show", "A contest's settlement: hashes, totals, timings, top results, every failed attempt, correction checks and the payout job.") { contest, limit };
        show.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Get, $"/api/admin/settlements/{Uri.EscapeDataString(p.GetValue(contest)!)}?limit={p.GetValue(limit)}")));

        var exportContest = new Argument<string>("contest") { Description = "Contest id." };
        var output = new Option<FileInfo?>("--output") { Description = "Write the bundle to this file instead of standard output." };
        var export = new Command("export", "Write the settlement bundle of a settled contest, rebuilt from the database (config version, stored leaderboard payload, settled entries); `fairway settlement replay` on it reproduces the stored output_hash.") { exportContest, output };
        export.SetAction(async p => await ExportAsync(p.GetValue(exportContest)!, p.GetValue(output)));

        var runContest = new Argument<string>("contest") { Description = "Contest id (COMPLETE, its settlement hold over)." };
        var run = new Command("run", "Settle a contest now in a worker (normally the scheduler does it after the hold) and wait up to 110 s. Exit 0 only when the settlement job succeeded.") { runContest };
        run.SetAction(p => AdminCall.Run(c => c.SendAsync(HttpMethod.Post, $"/api/admin/settlements/{Uri.EscapeDataString(p.GetValue(runContest)!)}/run?wait_seconds=110",
            judge: r => r.GetProperty("job_state").GetString() == "Succeeded" ? CliOutput.Ok : CliOutput.Failed)));

        return new Command("settlement", "Settlement tools.") { replay, show, export, run };
    }

    static async Task<int> ExportAsync(string contestId, FileInfo? output)
    {
        var url = CliOutput.Env("FAIRWAY_API_URL");
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var baseUri)) return CliOutput.Error(CliOutput.Usage, "FAIRWAY_API_URL is not set to an absolute URL");
        if (CliOutput.Env("FAIRWAY_API_TOKEN") is not { } token) return CliOutput.Error(CliOutput.Usage, "FAIRWAY_API_TOKEN is not set (an admin bearer token)");
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(300) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var path = $"/api/admin/settlements/{Uri.EscapeDataString(contestId)}/bundle";
        HttpResponseMessage response;
        try { response = await http.GetAsync(path); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return CliOutput.Error(CliOutput.Failed, $"GET {path}: {e.Message}"); }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine(text);
                return CliOutput.Error(CliOutput.Failed, $"GET {path} -> {(int)response.StatusCode}");
            }
            // The bundle's bytes exactly as served (canonical JSON), so its replay is byte-for-byte reproducible.
            if (output is null) { Console.Out.Write(text); Console.Out.Write('\n'); }
            else
            {
                await File.WriteAllTextAsync(output.FullName, text);
                Console.Error.WriteLine($"fairway: settlement bundle of {contestId} written to {output.FullName} ({text.Length} characters)");
            }
            return CliOutput.Ok;
        }
    }
}
