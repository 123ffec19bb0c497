using System.Text.Json;
using Dapper;
using Npgsql;

namespace Fairway.Host.Ingestion;

public sealed record IngestionError(string Path, string Code, string Message);

public sealed record IngestionEventRow(long Id, string TournamentId, DateTimeOffset FetchedAt, int? HttpStatus, string? TransportError, string? PayloadHash,
    int SchemaVersion, string Outcome, string Errors, string Anomalies, string? ProviderStatus, int DurationMs)
{
    public IngestionEventRow() : this(0, "", default, null, null, null, 0, "", "[]", "[]", null, 0) { }
}

/// <summary>The append-only record of every fetch. Bodies are stored once per distinct hash.</summary>
public sealed class IngestionEventStore
{
    const string Columns = """
        id AS Id, tournament_id AS TournamentId, fetched_at AS FetchedAt, http_status AS HttpStatus, transport_error AS TransportError,
        payload_hash AS PayloadHash, schema_version AS SchemaVersion, outcome AS Outcome, errors::text AS Errors, anomalies::text AS Anomalies,
        provider_status AS ProviderStatus, duration_ms AS DurationMs
        """;
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public async Task<long> AppendAsync(NpgsqlTransaction tx, string tournamentId, DateTimeOffset fetchedAt, ProviderFetch fetch, string? payloadHash,
        string outcome, IReadOnlyList<IngestionError> errors, IReadOnlyList<object> anomalies, string? providerStatus)
    {
        var c = tx.Connection!;
        if (payloadHash is not null)
            await c.ExecuteAsync("INSERT INTO ingestion_payloads (payload_hash, body, first_seen_at) VALUES (@payloadHash, @body, @fetchedAt) ON CONFLICT DO NOTHING",
                new { payloadHash, body = fetch.Body, fetchedAt }, tx);
        return await c.ExecuteScalarAsync<long>("""
            INSERT INTO ingestion_events (tournament_id, fetched_at, http_status, transport_error, payload_hash, schema_version, outcome, errors, anomalies, provider_status, duration_ms)
            VALUES (@tournamentId, @fetchedAt, @status, @error, @payloadHash, 1, @outcome, @errors::jsonb, @anomalies::jsonb, @providerStatus, @durationMs)
            RETURNING id
            """, new
        {
            tournamentId, fetchedAt, status = fetch.HttpStatus, error = fetch.TransportError, payloadHash, outcome,
            errors = JsonSerializer.Serialize(errors, Json), anomalies = JsonSerializer.Serialize(anomalies, Json), providerStatus,
            durationMs = (int)Math.Min(int.MaxValue, fetch.Duration.TotalMilliseconds),
        }, tx);
    }

    /// <summary>The latest event whose payload was usable (accepted, or a duplicate of the accepted one).</summary>
    public Task<IngestionEventRow?> LastUsableAsync(NpgsqlConnection c, string tournamentId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<IngestionEventRow>($"SELECT {Columns} FROM ingestion_events WHERE tournament_id = @tournamentId AND outcome IN ('accepted', 'duplicate') ORDER BY id DESC LIMIT 1", new { tournamentId }, tx);

    public Task<IngestionEventRow?> LastAcceptedAsync(NpgsqlConnection c, string tournamentId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<IngestionEventRow>($"SELECT {Columns} FROM ingestion_events WHERE tournament_id = @tournamentId AND outcome = 'accepted' ORDER BY id DESC LIMIT 1", new { tournamentId }, tx);

    public Task<IngestionEventRow?> GetAsync(NpgsqlConnection c, long id) =>
        c.QuerySingleOrDefaultAsync<IngestionEventRow>($"SELECT {Columns} FROM ingestion_events WHERE id = @id", new { id });

    public async Task<IReadOnlyList<IngestionEventRow>> ListAsync(NpgsqlConnection c, string tournamentId, string? outcome, long? afterId, int limit) =>
        (await c.QueryAsync<IngestionEventRow>($"""
            SELECT {Columns} FROM ingestion_events WHERE tournament_id = @tournamentId AND (@outcome::text IS NULL OR outcome = @outcome)
              AND (@afterId::bigint IS NULL OR id > @afterId) ORDER BY id LIMIT @limit
            """, new { tournamentId, outcome, afterId, limit })).ToList();

    public Task<byte[]?> BodyAsync(NpgsqlConnection c, string payloadHash, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<byte[]?>("SELECT body FROM ingestion_payloads WHERE payload_hash = @payloadHash", new { payloadHash }, tx);

    /// <summary>Serialises concurrent polls of one tournament (a transaction-scoped advisory lock).</summary>
    public Task LockTournamentAsync(NpgsqlTransaction tx, string tournamentId) =>
        tx.Connection!.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('ingestion:' || @tournamentId))", new { tournamentId }, tx);
}
