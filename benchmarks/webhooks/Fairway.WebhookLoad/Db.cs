using Dapper;
using Npgsql;

namespace Fairway.WebhookLoad;

/// <summary>Read-only SQL used by the benchmark to wait and to verify (never to change Fairway's state).</summary>
public sealed class Db(string databaseUrl) : IAsyncDisposable
{
    public NpgsqlDataSource Source { get; } = NpgsqlDataSource.Create(ConnectionString(databaseUrl, "fairway-bench-webhooks"));

    /// <summary>postgresql://user[:password]@host[:port]/database → an Npgsql connection string.</summary>
    public static string ConnectionString(string url, string appName, string? database = null)
    {
        var u = new Uri(url);
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = u.Host,
            Port = u.IsDefaultPort || u.Port <= 0 ? 5432 : u.Port,
            Database = database ?? Uri.UnescapeDataString(u.AbsolutePath.TrimStart('/')),
            ApplicationName = appName,
            MaxPoolSize = 4,
        };
        var userInfo = u.UserInfo.Split(':', 2);
        b.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length > 1) b.Password = Uri.UnescapeDataString(userInfo[1]);
        return b.ConnectionString;
    }

    public async Task<long> ProcessedCountAsync(string type)
    {
        await using var c = await Source.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM stripe_webhook_processing p JOIN stripe_webhook_events e ON e.event_id = p.event_id WHERE e.type = @type
            """, new { type });
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var c = await Source.OpenConnectionAsync();
        return (await c.ExecuteScalarAsync<T>(sql, args))!;
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var c = await Source.OpenConnectionAsync();
        return (await c.QueryAsync<T>(sql, args)).ToList();
    }

    public ValueTask DisposeAsync() => Source.DisposeAsync();
}
