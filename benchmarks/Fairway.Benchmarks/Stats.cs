namespace Fairway.Benchmarks;

/// <summary>Summary of one series of durations in milliseconds. Percentiles are nearest-rank (no interpolation).</summary>
public sealed record Summary(int Count, double P50, double P95, double P99, double Max, double Mean, double Min)
{
    public static Summary Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0) return new Summary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        var sorted = samples.Order().ToArray();
        double Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Summary(sorted.Length, Rank(0.50), Rank(0.95), Rank(0.99), sorted[^1], sorted.Average(), sorted[0]);
    }
}

/// <summary>SplitMix64: a tiny, explicit, seeded PRNG so rosters are identical on every run and runtime.</summary>
public sealed class SplitMix64(ulong seed)
{
    ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) (rejection sampling, no modulo bias).</summary>
    public int Below(int bound)
    {
        var b = (ulong)bound;
        var limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do x = Next(); while (x >= limit);
        return (int)(x % b);
    }

    /// <summary><paramref name="count"/> distinct indices of 0..n-1 (partial Fisher–Yates).</summary>
    public int[] Distinct(int n, int count, int[] scratch)
    {
        for (var i = 0; i < n; i++) scratch[i] = i;
        for (var i = 0; i < count; i++)
        {
            var j = i + Below(n - i);
            (scratch[i], scratch[j]) = (scratch[j], scratch[i]);
        }
        return scratch[..count];
    }
}
