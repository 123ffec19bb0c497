using System.Text;
using Fairway.Host.Operations.Alerts;
using Fairway.Host.Platform.Http;

namespace Fairway.Host.Operations;

public sealed record RunbookText(string Id, string Title, IReadOnlyList<string> Alerts, string Markdown);

/// <summary>
/// The runbooks of docs/runbooks, embedded in the host at build time, so the console can show the exact text of
/// the release that is running (and the alerts that name each one) to someone without the repository at hand.
/// </summary>
public static class RunbookLibrary
{
    const string ResourcePrefix = "runbooks/";

    public static IReadOnlyDictionary<string, RunbookText> All { get; } = Load();

    static Dictionary<string, RunbookText> Load()
    {
        var assembly = typeof(RunbookLibrary).Assembly;
        var result = new Dictionary<string, RunbookText>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".md", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!, Encoding.UTF8);
            var markdown = reader.ReadToEnd();
            var name = resource[ResourcePrefix.Length..^3];
            var title = markdown.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal))?[2..].Trim() ?? name;
            var alerts = AlertPreview.Rules.Where(r => r.Runbook == name).Select(r => r.Alert).Distinct().Order(StringComparer.Ordinal).ToList();
            result[name] = new RunbookText(name, title, alerts, markdown);
        }
        return result;
    }

    /// <summary>
    /// The text as written, for people: the console renders it. The list of runbooks and their steps is the runbook API's
    /// (<c>GET /api/admin/runbooks</c>, Runbooks/); this serves every file of docs/runbooks, the index and template included.
    /// </summary>
    public static void MapRunbookLibrary(this RouteGroupBuilder admin)
    {
        admin.MapGet("/runbooks/{id}/markdown", (string id) => All.TryGetValue(id, out var doc)
            ? Results.Ok(doc)
            : Problems.Result(ProblemCodes.RunbookNotFound, "No such runbook.", $"no runbook '{id}' in docs/runbooks of this build"));
    }
}
