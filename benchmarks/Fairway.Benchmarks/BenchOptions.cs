namespace Fairway.Benchmarks;

public enum BaselineMode { Interleaved, After }

public sealed record BenchOptions(int Events, int Warmup, BaselineMode Baseline, string? CsvPath, int[] ContestCounts)
{
    /// <summary>The issue asks for p50/p99 "over at least 200 events".</summary>
    public const int MinimumEvents = 200;

    /// <summary>The workload is 10 contests; 1 and 50 show how the cost grows with the number of contests (issue 12).</summary>
    public static readonly int[] DefaultContestCounts = [10, 1, 50];
    public const int MaxContests = 200;

    public static BenchOptions? Parse(string[] args, out string error)
    {
        error = "";
        var (events, warmup, baseline, csv, contests) = (MinimumEvents, 5, BaselineMode.Interleaved, (string?)null, DefaultContestCounts);
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
                    case "--contests":
                        contests = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(x => int.Parse(x, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                        break;
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
        if (contests.Length == 0 || contests.Any(n => n is < 1 or > MaxContests) || contests.Distinct().Count() != contests.Length)
        { error = $"--contests must be distinct counts 1..{MaxContests}, e.g. 10,1,50 (the first is the headline workload)"; return null; }
        return new BenchOptions(events, warmup, baseline, csv, contests);
    }
}
