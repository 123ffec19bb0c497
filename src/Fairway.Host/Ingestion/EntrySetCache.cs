using Fairway.Engine.Settlement;
using Npgsql;

namespace Fairway.Host.Ingestion;

/// <summary>
/// The compact ACTIVE entry sets of contests (with the fees they recorded), kept in memory by version. <c>contest_entry_sets.version</c> changes in the
/// same transaction as any change to a contest's ACTIVE entries (triggers on <c>entries</c>), so a cached set is reused
/// exactly while its version is current: after lock a contest's set never changes, and each leaderboard event costs one
/// small query instead of reading every entry again. Bounded by the number of entries held (least recently used
/// contests are dropped first); a set larger than the bound is read every time and not kept. Settlement uses it too:
/// the set the live standings kept for the whole tournament is the one settled, without reading every entry again.
/// </summary>
public sealed class EntrySetCache
{
    /// <summary>Most entries held in memory across all contests (about 100 bytes each).</summary>
    public const long MaxCachedEntries = 3_000_000;

    readonly ContestCache<long, ActiveEntries> sets = new(MaxCachedEntries, s => s.Entries.Count);

    /// <summary>The current version of a contest's ACTIVE entry set (0 when it never had an ACTIVE entry).</summary>
    public static async Task<long> VersionAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT coalesce((SELECT version FROM contest_entry_sets WHERE contest_id = @contestId), 0)", c, tx);
        cmd.Parameters.AddWithValue("contestId", contestId);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>The contest's ACTIVE entries as of now (this transaction), with the version they are.</summary>
    public async Task<ActiveEntries> ActiveAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx, CancellationToken ct) =>
        await ActiveAsync(c, contestId, await VersionAsync(c, contestId, tx, ct), tx, ct);

    /// <summary>As <see cref="ActiveAsync(NpgsqlConnection, string, NpgsqlTransaction?, CancellationToken)"/>, for a version the caller has just read.</summary>
    public async Task<ActiveEntries> ActiveAsync(NpgsqlConnection c, string contestId, long version, NpgsqlTransaction? tx, CancellationToken ct)
    {
        if (sets.Get(contestId, version) is { } cached) return cached;
        var loaded = await EntrySetReader.ActiveAsync(c, contestId, tx, ct);
        sets.Keep(contestId, loaded.Version, loaded);
        return loaded;
    }

    /// <summary>Whether this process holds the contest's set at <paramref name="version"/> (diagnostics).</summary>
    public bool Holds(string contestId, long version) => sets.Get(contestId, version) is not null;

    /// <summary>What is held now (contests, entries).</summary>
    public (int Contests, long Entries) Held() => sets.Held();
}
