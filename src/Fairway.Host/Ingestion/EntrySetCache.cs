using Fairway.Engine.Settlement;
using Npgsql;

namespace Fairway.Host.Ingestion;

/// <summary>
/// The compact ACTIVE entry sets of contests, kept in memory by version. <c>contest_entry_sets.version</c> changes in the
/// same transaction as any change to a contest's ACTIVE entries (triggers on <c>entries</c>), so a cached set is reused
/// exactly while its version is current: after lock a contest's set never changes, and each leaderboard event costs one
/// small query instead of reading every entry again. Bounded by the number of entries held (least recently used
/// contests are dropped first); a set larger than the bound is read every time and not kept.
/// </summary>
public sealed class EntrySetCache
{
    /// <summary>Most entries held in memory across all contests (about 100 bytes each).</summary>
    public const long MaxCachedEntries = 3_000_000;

    readonly ContestCache<long, EntrySet> sets = new(MaxCachedEntries, s => s.Count);

    /// <summary>The current version of a contest's ACTIVE entry set (0 when it never had an ACTIVE entry).</summary>
    public static async Task<long> VersionAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT coalesce((SELECT version FROM contest_entry_sets WHERE contest_id = @contestId), 0)", c, tx);
        cmd.Parameters.AddWithValue("contestId", contestId);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The contest's ACTIVE entries as of now, with the version they are.</summary>
    public async Task<(long Version, EntrySet Entries)> ActiveAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        var version = await VersionAsync(c, contestId, tx, ct);
        if (sets.Get(contestId, version) is { } cached) return (version, cached);
        var loaded = await LoadAsync(c, contestId, tx, ct);
        sets.Keep(contestId, loaded.Version, loaded.Entries);
        return loaded;
    }

    /// <summary>What is held now (contests, entries).</summary>
    public (int Contests, long Entries) Held() => sets.Held();

    /// <summary>
    /// The version and the entries read in ONE statement (one snapshot), so the set is exactly the one that version names.
    /// The outer row always exists, so an empty set still carries its version.
    /// </summary>
    static async Task<(long Version, EntrySet Entries)> LoadAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("""
            SELECT v.version, e.id, e.user_id, e.golfers::text
              FROM (SELECT coalesce((SELECT version FROM contest_entry_sets WHERE contest_id = @contestId), 0) AS version) v
              LEFT JOIN LATERAL (SELECT id, user_id, golfers FROM entries WHERE contest_id = @contestId AND status = 'ACTIVE') e ON true
             ORDER BY e.id COLLATE "C"
            """, c, tx) { CommandTimeout = EntrySetReader.CommandTimeoutSeconds };
        cmd.Parameters.AddWithValue("contestId", contestId);
        using var builder = new EntrySetBuilder();
        var roster = new List<int>(8);
        long version = 0;
        await using var reader = await cmd.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, ct);
        while (await reader.ReadAsync(ct))
        {
            version = reader.GetInt64(0);
            if (reader.IsDBNull(1)) continue;
            var id = reader.GetString(1);
            var userId = reader.GetString(2);
            EntrySetReader.ParseRoster(reader.GetString(3), builder, roster);
            builder.Add(id, userId, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(roster));
        }
        return (version, builder.Build());
    }
}
