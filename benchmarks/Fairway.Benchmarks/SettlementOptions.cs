using System.Globalization;

namespace Fairway.Benchmarks;

/// <summary>Arguments of the settlement benchmark: <c>settlement [--entries 10000,100000,1000000] [--paid-places N] [--warmup-entries N]</c>.</summary>
public sealed record SettlementOptions(int[] Sizes, int PaidPlaces, int WarmupEntries)
{
    /// <summary>The issues: "Settlement of one contest with 100,000 and with 1,000,000 entries", plus 10,000 for a size sweep (issue 12).</summary>
    public static readonly int[] DefaultSizes = [10_000, 100_000, 1_000_000];
    public const int DefaultPaidPlaces = 1_000;
    public const int DefaultWarmupEntries = 5_000;
    public const int MaxPaidPlaces = 5_000;
    public const int MaxEntries = 5_000_000;

    public static SettlementOptions? Parse(string[] args, out string error)
    {
        error = "";
        var (sizes, paid, warmup) = (DefaultSizes, DefaultPaidPlaces, DefaultWarmupEntries);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "settlement" when i == 0: break;
                    case "--entries":
                        sizes = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(s => int.Parse(s.Replace("_", ""), NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
                        break;
                    case "--paid-places": paid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--warmup-entries": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                error = e.Message;
                return null;
            }
        }
        if (paid is < 1 or > MaxPaidPlaces) { error = $"--paid-places must be 1..{MaxPaidPlaces} (found {paid})"; return null; }
        if (sizes.Length == 0) { error = "--entries needs at least one size"; return null; }
        if (sizes.Distinct().Count() != sizes.Length) { error = "--entries sizes must be distinct"; return null; }
        if (sizes.Any(s => s < paid || s > MaxEntries)) { error = $"every --entries size must be {paid} (the paid places) .. {MaxEntries:N0}"; return null; }
        if (warmup != 0 && (warmup < paid || warmup > 100_000)) { error = $"--warmup-entries must be 0 (no warm-up) or {paid} (the paid places) .. 100000 (found {warmup})"; return null; }
        return new SettlementOptions(sizes, paid, warmup);
    }
}
