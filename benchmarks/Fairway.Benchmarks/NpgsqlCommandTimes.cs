using System.Diagnostics;

namespace Fairway.Benchmarks;

/// <summary>
/// Sums the durations of Npgsql's command activities (ActivitySource "Npgsql", emitted by every data source when
/// someone listens) by kind of statement, so the time inside a service method can be attributed without changing it.
/// Only a measurement aid: an activity covers a command from execution until its reader is closed.
/// </summary>
public sealed class NpgsqlCommandTimes : IDisposable
{
    readonly ActivityListener listener;
    readonly object gate = new();
    Dictionary<string, (int Count, double Ms)> sums = new(StringComparer.Ordinal);

    public NpgsqlCommandTimes()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a =>
            {
                var text = (a.GetTagItem("db.query.text") ?? a.GetTagItem("db.statement")) as string ?? a.DisplayName;
                var kind = Classify(text);
                lock (gate)
                {
                    var (n, ms) = sums.GetValueOrDefault(kind);
                    sums[kind] = (n + 1, ms + a.Duration.TotalMilliseconds);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    static string Classify(string text)
    {
        var t = text.TrimStart();
        if (t.Contains("fairway_post_journal_entr", StringComparison.Ordinal)) return "ledger";
        if (t.StartsWith("COPY", StringComparison.OrdinalIgnoreCase)) return "copy";
        if (t.Contains("FROM entries", StringComparison.Ordinal)) return "entries";
        return "other";
    }

    public void Reset() { lock (gate) sums = new(StringComparer.Ordinal); }

    public Snapshot Take() { lock (gate) return new Snapshot(new Dictionary<string, (int, double)>(sums)); }

    public void Dispose() => listener.Dispose();

    public sealed record Snapshot(IReadOnlyDictionary<string, (int Count, double Ms)> Sums)
    {
        public static readonly Snapshot Empty = new(new Dictionary<string, (int, double)>());
        public int Count(string kind) => Sums.GetValueOrDefault(kind).Count;
        public double Ms(string kind) => Sums.TryGetValue(kind, out var v) ? v.Ms : double.NaN;
        public int TotalCount => Sums.Values.Sum(v => v.Count);
        public double TotalMs => Sums.Values.Sum(v => v.Ms);
    }
}
