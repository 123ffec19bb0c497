namespace Fairway.Host.Operations.Runbooks;

/// <summary>
/// The runbooks of docs/runbooks, compiled into the host (embedded resources), so the API knows exactly which
/// runbooks and which steps exist in the build that is running: an execution of an unknown runbook, or a step the
/// runbook does not have, is refused. Files without a front matter (the index, the postmortem template) are not
/// runbooks.
/// </summary>
public sealed class RunbookCatalog
{
    public const string ResourcePrefix = "runbooks/";

    public IReadOnlyDictionary<string, RunbookDocument> Runbooks { get; }

    public RunbookCatalog() : this(LoadEmbedded()) { }

    public RunbookCatalog(IEnumerable<RunbookDocument> runbooks)
    {
        var byId = new SortedDictionary<string, RunbookDocument>(StringComparer.Ordinal);
        foreach (var r in runbooks)
            if (!byId.TryAdd(r.Id, r)) throw new InvalidOperationException($"two runbooks have the id '{r.Id}'");
        Runbooks = byId;
    }

    public RunbookDocument? Find(string id) => Runbooks.GetValueOrDefault(id);

    static IEnumerable<RunbookDocument> LoadEmbedded()
    {
        var assembly = typeof(RunbookCatalog).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            var text = reader.ReadToEnd();
            if (!text.StartsWith("---", StringComparison.Ordinal)) continue;
            yield return RunbookDocument.Parse(text, "docs/" + name);
        }
    }
}
