namespace Fairway.Host.Ingestion;

/// <summary>
/// One value per contest, valid for one key (a version), bounded by the number of entries the values hold: the least
/// recently used contests are dropped first, and a value heavier than the bound is never kept. Thread-safe.
/// </summary>
public sealed class ContestCache<TKey, TValue>(long maxEntries, Func<TValue, long> entriesOf) where TKey : IEquatable<TKey> where TValue : class
{
    readonly object gate = new();
    readonly Dictionary<string, Slot> slots = new(StringComparer.Ordinal);
    long held, uses;

    sealed class Slot(TKey key, TValue value, long weight)
    {
        public TKey Key { get; } = key;
        public TValue Value { get; } = value;
        public long Weight { get; } = weight;
        public long LastUse { get; set; }
    }

    /// <summary>The value kept for the contest when it was kept for exactly this key; otherwise null.</summary>
    public TValue? Get(string contestId, TKey key)
    {
        lock (gate)
        {
            if (!slots.TryGetValue(contestId, out var slot) || !slot.Key.Equals(key)) return null;
            slot.LastUse = ++uses;
            return slot.Value;
        }
    }

    public void Keep(string contestId, TKey key, TValue value)
    {
        var weight = entriesOf(value);
        lock (gate)
        {
            if (slots.Remove(contestId, out var old)) held -= old.Weight;
            if (weight > maxEntries) return;
            while (held + weight > maxEntries && slots.Count > 0)
            {
                var (oldest, slot) = slots.MinBy(kv => kv.Value.LastUse);
                slots.Remove(oldest);
                held -= slot.Weight;
            }
            slots[contestId] = new Slot(key, value, weight) { LastUse = ++uses };
            held += weight;
        }
    }

    /// <summary>What is held now.</summary>
    public (int Contests, long Entries) Held()
    {
        lock (gate) return (slots.Count, held);
    }
}
