namespace Fairway.ProviderSandbox;

/// <summary>
/// SplitMix64: a tiny, fully specified PRNG. Unlike System.Random its output is fixed by this code,
/// so a seed gives the same tournament on every runtime. Sub-streams are derived by hashing
/// (seed, tag, indices) so that e.g. golfer 17's round 3 does not depend on generation order.
/// </summary>
public sealed class SeededRandom
{
    private ulong _state;

    public SeededRandom(ulong state) => _state = state;

    public static SeededRandom For(params long[] parts) => new(Hash(parts));

    public static ulong Hash(params long[] parts)
    {
        unchecked
        {
            ulong h = 0x243F6A8885A308D3UL;
            foreach (var p in parts) h = Mix(h ^ Mix((ulong)p + 0x9E3779B97F4A7C15UL));
            return h;
        }
    }

    /// <summary>FNV-1a 64 of a string, for mixing text (ids, names) into seeds.</summary>
    public static long HashString(string s)
    {
        unchecked
        {
            ulong h = 0xCBF29CE484222325UL;
            foreach (var ch in s)
            {
                h ^= ch;
                h *= 0x100000001B3UL;
            }
            return (long)h;
        }
    }

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    public ulong NextUInt64()
    {
        unchecked
        {
            _state += 0x9E3779B97F4A7C15UL;
            return Mix(_state);
        }
    }

    /// <summary>Uniform integer in [0, exclusiveMax).</summary>
    public int NextInt(int exclusiveMax)
    {
        if (exclusiveMax <= 0) throw new ArgumentOutOfRangeException(nameof(exclusiveMax));
        return (int)Math.BigMul(NextUInt64(), (ulong)exclusiveMax, out _);
    }

    /// <summary>Uniform integer in [lo, hi].</summary>
    public int NextInclusive(int lo, int hi) => lo + NextInt(hi - lo + 1);

    /// <summary>A version-4-shaped GUID string (lowercase, 8-4-4-4-12).</summary>
    public string NextGuid()
    {
        var a = NextUInt64();
        var b = NextUInt64();
        a = (a & 0xFFFFFFFFFFFF0FFFUL) | 0x0000000000004000UL;
        b = (b & 0x3FFFFFFFFFFFFFFFUL) | 0x8000000000000000UL;
        var h = a.ToString("x16") + b.ToString("x16");
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }

    public void Shuffle<T>(IList<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
