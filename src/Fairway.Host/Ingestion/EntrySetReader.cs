using System.Text.Json;
using Fairway.Engine.Settlement;
using Npgsql;

namespace Fairway.Host.Ingestion;

/// <summary>The fees the ACTIVE entries of a contest recorded (settlement's gross comes from them).</summary>
public sealed record EntryFees(long Entries, int DistinctFees, int DistinctCurrencies, long Unpriced, long? Fee, string? Currency)
{
    public static readonly EntryFees None = new(0, 0, 0, 0, null, null);
}

/// <summary>
/// Streams entry rows from the database into a compact <see cref="EntrySet"/>: one pass over the cursor, rosters parsed
/// from their jsonb text without allocating per golfer, the entry-set hash computed while rows arrive (they are ordered by
/// id COLLATE "C", which is the engine's ordinal order). Nothing is held per row but the ids and six small integers.
/// </summary>
public static class EntrySetReader
{
    /// <summary>Statement limit for a read of a whole contest (a million rows takes seconds, not minutes).</summary>
    public const int CommandTimeoutSeconds = 600;

    /// <summary>The ACTIVE entries of a contest and the fees they recorded, in one pass.</summary>
    public static async Task<(EntrySet Entries, EntryFees Fees)> ActiveAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT id, user_id, golfers::text, entry_fee, trim(currency) FROM entries
             WHERE contest_id = @contestId AND status = 'ACTIVE'
             ORDER BY id COLLATE "C"
            """, c, tx) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("contestId", contestId);
        var fees = new FeeTally();
        var set = await ReadAsync(cmd, (reader) => fees.Add(reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4)), ct);
        return (set, fees.ToFees());
    }

    /// <summary>The entries a stored settlement was computed over (its result rows carry each settled roster).</summary>
    public static async Task<EntrySet> SettledAsync(NpgsqlConnection c, long settlementId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT entry_id, user_id, golfers::text FROM settlement_results WHERE settlement_id = @settlementId ORDER BY entry_id COLLATE "C"
            """, c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("settlementId", settlementId);
        return await ReadAsync(cmd, null, ct);
    }

    /// <summary>Reads rows whose first three columns are id, user id and the roster as JSON text.</summary>
    static async Task<EntrySet> ReadAsync(NpgsqlCommand cmd, Action<NpgsqlDataReader>? perRow, CancellationToken ct)
    {
        using var builder = new EntrySetBuilder();
        var roster = new List<int>(8);
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetString(0);
            var userId = reader.GetString(1);
            ParseRoster(reader.GetString(2), builder, roster);
            perRow?.Invoke(reader);
            builder.Add(id, userId, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(roster));
        }
        return builder.Build();
    }

    /// <summary>
    /// A roster's jsonb text (<c>["sr:player:1", "sr:player:2"]</c>) into golfer indices. PostgreSQL prints jsonb in one
    /// fixed form, so plain strings are sliced directly; anything with an escape goes through the JSON parser.
    /// </summary>
    internal static void ParseRoster(string json, EntrySetBuilder builder, List<int> roster)
    {
        roster.Clear();
        var s = json.AsSpan();
        var i = SkipSpace(s, 0);
        if (i >= s.Length || s[i] != '[') { ParseSlow(json, builder, roster); return; }
        i = SkipSpace(s, i + 1);
        if (i < s.Length && s[i] == ']') return;
        while (true)
        {
            if (i >= s.Length || s[i] != '"') { ParseSlow(json, builder, roster); return; }
            var end = s[(i + 1)..].IndexOfAny('"', '\\');
            if (end < 0 || s[i + 1 + end] == '\\') { ParseSlow(json, builder, roster); return; }
            roster.Add(builder.GolferIndex(s.Slice(i + 1, end)));
            i = SkipSpace(s, i + end + 2);
            if (i < s.Length && s[i] == ',') { i = SkipSpace(s, i + 1); continue; }
            if (i < s.Length && s[i] == ']') return;
            ParseSlow(json, builder, roster);
            return;
        }
    }

    static int SkipSpace(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && s[i] is ' ' or '\n' or '\r' or '\t') i++;
        return i;
    }

    static void ParseSlow(string json, EntrySetBuilder builder, List<int> roster)
    {
        roster.Clear();
        foreach (var g in JsonSerializer.Deserialize<List<string>>(json) ?? throw new InvalidOperationException($"roster is not a JSON array of strings: {json}"))
            roster.Add(builder.GolferIndex(g ?? throw new InvalidOperationException($"roster holds a null golfer: {json}")));
    }

    sealed class FeeTally
    {
        readonly HashSet<long> fees = [];
        readonly HashSet<string> currencies = new(StringComparer.Ordinal);
        long entries, unpriced;

        public void Add(long? fee, string? currency)
        {
            entries++;
            if (fee is null || currency is null) unpriced++;
            if (fee is { } f) fees.Add(f);
            if (currency is not null) currencies.Add(currency);
        }

        public EntryFees ToFees() => new(entries, fees.Count, currencies.Count, unpriced,
            fees.Count == 0 ? null : fees.Min(), currencies.Count == 0 ? null : currencies.Min(StringComparer.Ordinal));
    }
}
