using Dapper;
using Npgsql;

namespace Fairway.Host.Golf;

public sealed class TournamentRepository
{
    const string Columns = "id AS Id, provider_event_id AS ProviderEventId, name AS Name, created_at AS CreatedAt";

    public Task<Tournament?> GetAsync(NpgsqlConnection c, string id, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<Tournament>($"SELECT {Columns} FROM tournaments WHERE id = @id", new { id }, tx);

    public Task<Tournament?> GetByProviderEventAsync(NpgsqlConnection c, string providerEventId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<Tournament>($"SELECT {Columns} FROM tournaments WHERE provider_event_id = @providerEventId", new { providerEventId }, tx);

    public async Task<IReadOnlyList<Tournament>> ListAsync(NpgsqlConnection c, int limit, string? after) =>
        (await c.QueryAsync<Tournament>($"SELECT {Columns} FROM tournaments WHERE @after::text IS NULL OR id > @after ORDER BY id LIMIT @limit", new { limit, after })).ToList();

    /// <summary>Inserts; returns false when the id or provider event already exists (nothing written).</summary>
    public async Task<bool> TryInsertAsync(NpgsqlTransaction tx, Tournament t) =>
        await tx.Connection!.ExecuteAsync("""
            INSERT INTO tournaments (id, provider_event_id, name, created_at) VALUES (@Id, @ProviderEventId, @Name, @CreatedAt)
            ON CONFLICT DO NOTHING
            """, t, tx) == 1;
}
