using Dapper;
using Fairway.Engine.Config;
using Npgsql;

namespace Fairway.Host.Contests;

public sealed record ContestRow(string Id, string TournamentId, string Name, string State, int ActiveConfigVersion, DateTimeOffset LockTime, DateTimeOffset CreatedAt, DateTimeOffset StateChangedAt)
{
    /// <summary>For Dapper, which sets the properties after construction.</summary>
    public ContestRow() : this("", "", "", "", 0, default, default, default) { }
}

public sealed record ConfigVersionRow(string ContestId, int Version, string ConfigText, string Hash, DateTimeOffset CreatedAt, DateTimeOffset PublishedAt, string PublishedBy)
{
    /// <summary>For Dapper, which sets the properties after construction.</summary>
    public ConfigVersionRow() : this("", 0, "", "", default, default, "") { }
}

/// <summary>A contest's active config, parsed by the engine from its stored canonical JSON.</summary>
public sealed record ActiveConfig(int Version, string Hash, ContestConfig Config);

public sealed class ContestRepository
{
    const string Columns = "id AS Id, tournament_id AS TournamentId, name AS Name, state AS State, active_config_version AS ActiveConfigVersion, lock_time AS LockTime, created_at AS CreatedAt, state_changed_at AS StateChangedAt";
    const string VersionColumns = "contest_id AS ContestId, version AS Version, config_text AS ConfigText, hash AS Hash, created_at AS CreatedAt, published_at AS PublishedAt, published_by AS PublishedBy";

    public Task<ContestRow?> GetAsync(NpgsqlConnection c, string id, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<ContestRow>($"SELECT {Columns} FROM contests WHERE id = @id", new { id }, tx);

    /// <summary>Locks the contest row: every state or config change of a contest is serialised through this.</summary>
    public Task<ContestRow?> GetForUpdateAsync(NpgsqlTransaction tx, string id) =>
        tx.Connection!.QuerySingleOrDefaultAsync<ContestRow>($"SELECT {Columns} FROM contests WHERE id = @id FOR UPDATE", new { id }, tx);

    /// <summary>Holds the contest row against changes (those take it FOR UPDATE) without excluding other readers that hold it too.</summary>
    public Task<ContestRow?> GetForShareAsync(NpgsqlTransaction tx, string id) =>
        tx.Connection!.QuerySingleOrDefaultAsync<ContestRow>($"SELECT {Columns} FROM contests WHERE id = @id FOR SHARE", new { id }, tx);

    public async Task<IReadOnlyList<ContestRow>> ListAsync(NpgsqlConnection c, string? state, string? tournamentId, int limit, string? after) =>
        (await c.QueryAsync<ContestRow>($"""
            SELECT {Columns} FROM contests
            WHERE (@state::text IS NULL OR state = @state) AND (@tournamentId::text IS NULL OR tournament_id = @tournamentId)
              AND (@after::text IS NULL OR id > @after)
            ORDER BY id LIMIT @limit
            """, new { state, tournamentId, limit, after })).ToList();

    /// <summary>Contests whose lock time has come, oldest first, bounded.</summary>
    public async Task<IReadOnlyList<string>> DueForLockAsync(NpgsqlConnection c, DateTimeOffset now, int limit) =>
        (await c.QueryAsync<string>("SELECT id FROM contests WHERE state = 'SCHEDULED' AND lock_time <= @now ORDER BY lock_time, id LIMIT @limit", new { now, limit })).ToList();

    public async Task<bool> TryInsertAsync(NpgsqlTransaction tx, ContestRow row) =>
        await tx.Connection!.ExecuteAsync($"""
            INSERT INTO contests (id, tournament_id, name, state, active_config_version, lock_time, created_at, state_changed_at)
            VALUES (@Id, @TournamentId, @Name, @State, @ActiveConfigVersion, @LockTime, @CreatedAt, @StateChangedAt)
            ON CONFLICT (id) DO NOTHING
            """, row, tx) == 1;

    public Task InsertVersionAsync(NpgsqlTransaction tx, ConfigVersionRow v) =>
        tx.Connection!.ExecuteAsync("""
            INSERT INTO contest_config_versions (contest_id, version, config_text, hash, created_at, published_at, published_by)
            VALUES (@ContestId, @Version, @ConfigText, @Hash, @CreatedAt, @PublishedAt, @PublishedBy)
            """, v, tx);

    public Task ActivateVersionAsync(NpgsqlTransaction tx, string contestId, int version, DateTimeOffset lockTime) =>
        tx.Connection!.ExecuteAsync("UPDATE contests SET active_config_version = @version, lock_time = @lockTime WHERE id = @contestId", new { contestId, version, lockTime }, tx);

    public Task SetStateAsync(NpgsqlTransaction tx, string contestId, ContestState state, DateTimeOffset at) =>
        tx.Connection!.ExecuteAsync("UPDATE contests SET state = @state, state_changed_at = @at WHERE id = @contestId", new { contestId, state = ContestStates.Name(state), at }, tx);

    public async Task<IReadOnlyList<ConfigVersionRow>> VersionsAsync(NpgsqlConnection c, string contestId) =>
        (await c.QueryAsync<ConfigVersionRow>($"SELECT {VersionColumns} FROM contest_config_versions WHERE contest_id = @contestId ORDER BY version", new { contestId })).ToList();

    public async Task<ActiveConfig> ActiveConfigAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null)
    {
        var v = await c.QuerySingleAsync<ConfigVersionRow>("""
            SELECT v.contest_id AS ContestId, v.version AS Version, v.config_text AS ConfigText, v.hash AS Hash,
                   v.created_at AS CreatedAt, v.published_at AS PublishedAt, v.published_by AS PublishedBy
            FROM contest_config_versions v JOIN contests k ON k.id = v.contest_id AND k.active_config_version = v.version
            WHERE v.contest_id = @contestId
            """, new { contestId }, tx);
        var parsed = ContestConfigValidator.Validate(v.ConfigText);
        // A stored version was validated at publish; failing now means the engine's rules changed under stored data.
        if (!parsed.IsSuccess)
            throw new InvalidOperationException($"stored config {contestId} v{v.Version} no longer validates: {string.Join("; ", parsed.Errors.Select(e => e.Path + ": " + e.Code))}");
        return new ActiveConfig(v.Version, v.Hash, parsed.Value);
    }

    /// <summary>A specific stored config version, parsed by the engine (replays use the version that was recorded).</summary>
    public async Task<ActiveConfig?> ConfigVersionAsync(NpgsqlConnection c, string contestId, int version)
    {
        var v = await c.QuerySingleOrDefaultAsync<ConfigVersionRow>($"SELECT {VersionColumns} FROM contest_config_versions WHERE contest_id = @contestId AND version = @version", new { contestId, version });
        if (v is null) return null;
        var parsed = ContestConfigValidator.Validate(v.ConfigText);
        return parsed.IsSuccess ? new ActiveConfig(v.Version, v.Hash, parsed.Value)
            : throw new InvalidOperationException($"stored config {contestId} v{version} no longer validates");
    }

    /// <summary>Whether any entry (whatever its status) exists for the contest.</summary>
    public Task<bool> HasEntriesAsync(NpgsqlConnection c, string contestId, NpgsqlTransaction? tx = null) =>
        c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM entries WHERE contest_id = @contestId)", new { contestId }, tx);

    public Task<long> CountEntriesAsync(NpgsqlConnection c, string contestId, string status, NpgsqlTransaction? tx = null) =>
        c.ExecuteScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contestId AND status = @status", new { contestId, status }, tx);
}
