using System.Text.Json;
using Fairway.Engine.Settlement;
using Npgsql;

namespace Fairway.Host.Ingestion;

/// <summary>A contest's ACTIVE entries as of one snapshot: the version of the set, the compact set, and the fees they recorded.</summary>
public sealed record ActiveEntries(long Version, EntrySet Entries, EntryFees Fees);

/// <summary>The fees the ACTIVE entries of a contest recorded (settlement's gross comes from them).</summary>
public sealed record EntryFees(long Entries, int DistinctFees, int DistinctCurrencies, long Unpriced, long? Fee, string? Currency)
{
    public static readonly EntryFees None = new(0, 0, 0, 0, null, null);
}

/// <summary>
/// Streams entry rows from the database into a compact <see cref="EntrySet"/>: one pass over the cursor, rosters parsed
/// from their jsonb text without allocating per golfer; nothing is held per row but the ids and six small integers. The
/// rows come in table order and are sorted in the process (ordinal, the engine's order), then hashed: sorting a million
/// rows in PostgreSQL (work_mem-bound, spilling to disk) took longer than reading them, and the process parses rows while
/// PostgreSQL is still scanning.
/// </summary>
public static class EntrySetReader
{
    /// <summary>Statement limit for a read of a whole contest (a million rows takes seconds, not minutes).</summary>
    public const int CommandTimeoutSeconds = 600;

    /// <summary>
    /// The ACTIVE entries of a contest, the fees they recorded and the version of the set (contest_entry_sets), read in ONE
    /// statement (one snapshot), so the set is exactly the one that version names. The outer row always exists, so an empty
    /// set still carries its version.
    /// </summary>
    public static async Task<ActiveEntries> ActiveAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT v.version, e.id, e.user_id, e.golfers::text, e.entry_fee, e.currency
              FROM (SELECT coalesce((SELECT version FROM contest_entry_sets WHERE contest_id = @contestId), 0) AS version) v
              LEFT JOIN LATERAL (SELECT id, user_id, golfers, entry_fee, currency FROM entries WHERE contest_id = @contestId AND status = 'ACTIVE') e ON true
            """, c, tx) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("contestId", contestId);
        var fees = new FeeTally();
        long version = 0;
        var set = await ReadAsync(cmd, 1, reader =>
        {
            version = reader.GetInt64(0);
            if (reader.IsDBNull(1)) return false;
            return true;
        }, reader => fees.Add(reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5).Trim()), ct);
        return new ActiveEntries(version, set, fees.ToFees());
    }

    /// <summary>The entries a stored settlement was computed over (its result rows carry each settled roster).</summary>
    public static async Task<EntrySet> SettledAsync(NpgsqlConnection c, long settlementId, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT entry_id, user_id, golfers::text FROM settlement_results WHERE settlement_id = @settlementId
            """, c) { CommandTimeout = CommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("settlementId", settlementId);
        return await ReadAsync(cmd, 0, null, null, ct);
    }

    /// <summary>Reads rows whose columns from <paramref name="first"/> on are id, user id and the roster as JSON text (then any
    /// others, for <paramref name="after"/>); <paramref name="before"/> sees each row first and may skip it.</summary>
    static async Task<EntrySet> ReadAsync(NpgsqlCommand cmd, int first, Func<NpgsqlDataReader, bool>? before, Action<NpgsqlDataReader>? after, CancellationToken ct)
    {
        using var builder = new EntrySetBuilder();
        var roster = new List<int>(8);
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            if (before is not null && !before(reader)) continue;
            var id = reader.GetString(first);
            var userId = reader.GetString(first + 1);
            ParseRoster(reader.GetString(first + 2), builder, roster);
            after?.Invoke(reader);
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
