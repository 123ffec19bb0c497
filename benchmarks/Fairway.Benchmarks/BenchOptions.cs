namespace Fairway.Benchmarks;

public enum BaselineMode { Interleaved, After }

public sealed record BenchOptions(int Events, int Warmup, BaselineMode Baseline, string? CsvPath)
{
    /// <summary>The issue asks for p50/p99 "over at least 200 events".</summary>
    public const int MinimumEvents = 200;

    public static BenchOptions? Parse(string[] args, out string error)
    {
        error = "";
        var (events, warmup, baseline, csv) = (MinimumEvents, 5, BaselineMode.Interleaved, (string?)null);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "ingestion" when i == 0: break;
                    case "--events": events = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--warmup": warmup = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--baseline":
                        baseline = Next() switch
                        {
                            "interleaved" => BaselineMode.Interleaved,
                            "after" => BaselineMode.After,
                            var v => throw new ArgumentException($"--baseline must be interleaved or after, not '{v}'"),
                        };
                        break;
                    case "--csv": csv = Next(); break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                error = e.Message;
                return null;
            }
        }
        if (events < MinimumEvents) { error = $"--events must be at least {MinimumEvents} (found {events})"; return null; }
        if (warmup is < 0 or > 100) { error = $"--warmup must be 0..100 (found {warmup})"; return null; }
        return new BenchOptions(events, warmup, baseline, csv);
    }
}
