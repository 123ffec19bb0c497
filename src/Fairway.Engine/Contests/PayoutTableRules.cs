using Fairway.Engine.Json;

namespace Fairway.Engine.Contests;

/// <summary>The payout-table invariants, shared by config validation and settlement so both enforce exactly the same rules.</summary>
internal static class PayoutTableRules
{
    public const int FullBps = 10_000;

    /// <summary>Checks cross-row rules; per-row shape (ints, bps range) is checked by the caller that parsed them.
    /// <paramref name="rows"/> holds (index in the input, row); rows whose shape was invalid are simply absent.</summary>
    public static void CheckTable(IReadOnlyList<(int Index, PayoutPlace Row)> rows, int inputCount, bool allRowsValid, string path, ErrorSink sink)
    {
        if (inputCount == 0)
        {
            sink.Add(path, ErrorCodes.PayoutTableEmpty, "The payout table needs at least one place.");
            return;
        }

        var seen = new HashSet<int>();
        foreach (var (index, row) in rows)
        {
            if (!seen.Add(row.Place))
            {
                sink.Add(JsonPath.Field(JsonPath.Index(path, index), "place"), ErrorCodes.PayoutDuplicatePlace,
                    $"Place {row.Place} appears more than once.");
            }
        }

        if (!allRowsValid)
        {
            return; // Contiguity and the bps sum are meaningless with rows missing.
        }

        if (seen.Count == inputCount && (seen.Min() != 1 || seen.Max() != inputCount))
        {
            sink.Add(path, ErrorCodes.PayoutPlacesNotContiguous,
                $"Places must be exactly 1..{inputCount}, found {string.Join(", ", seen.Order())}.");
        }

        var sum = rows.Sum(r => (long)r.Row.Bps);
        if (sum != FullBps)
        {
            sink.Add(path, ErrorCodes.PayoutBpsSumInvalid, $"Payout bps must sum to exactly {FullBps}, found {sum}.");
        }
    }

    public static void CheckBps(int bps, string path, ErrorSink sink)
    {
        if (bps < 0 || bps > FullBps)
        {
            sink.Add(path, ErrorCodes.OutOfRange, $"Must be between 0 and {FullBps}, found {bps}.");
        }
    }

    /// <summary>Validates an already-typed table (e.g. built by a host from its database).</summary>
    public static void CheckTyped(IReadOnlyList<PayoutPlace>? table, string path, ErrorSink sink)
    {
        if (table is null)
        {
            sink.Add(path, ErrorCodes.MissingField, "The payout table is required.");
            return;
        }
        var rows = new List<(int, PayoutPlace)>();
        var allValid = true;
        for (var i = 0; i < table.Count; i++)
        {
            var row = table[i];
            var rowPath = JsonPath.Index(path, i);
            if (row is null)
            {
                sink.Add(rowPath, ErrorCodes.MissingField, "Payout row is null.");
                allValid = false;
                continue;
            }
            var before = sink.Count;
            if (row.Place < 1)
            {
                sink.Add(JsonPath.Field(rowPath, "place"), ErrorCodes.OutOfRange, $"Place must be at least 1, found {row.Place}.");
            }
            CheckBps(row.Bps, JsonPath.Field(rowPath, "bps"), sink);
            if (sink.Count == before)
            {
                rows.Add((i, row));
            }
            else
            {
                allValid = false;
            }
        }
        CheckTable(rows, table.Count, allValid, path, sink);
    }
}
