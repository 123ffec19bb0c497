using Npgsql;

namespace Fairway.Migrations;

/// <summary>
/// Parses DATABASE_URL (postgresql://user:password@host:port/database?sslmode=...) into an Npgsql
/// connection string. Only the URI form is accepted so that every deployment spells it one way.
/// </summary>
public static class DatabaseUrl
{
    static readonly HashSet<string> AllowedQueryKeys = new(StringComparer.Ordinal)
    {
        "sslmode", "pooling", "maximum_pool_size", "timeout", "command_timeout",
    };

    public static bool TryParse(string? value, out string connectionString, out string error)
    {
        connectionString = "";
        error = "";
        if (string.IsNullOrWhiteSpace(value)) { error = "is empty"; return false; }
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "postgresql" && uri.Scheme != "postgres"))
        {
            error = "must be a URI of the form postgresql://user:password@host:port/database";
            return false;
        }
        if (string.IsNullOrEmpty(uri.Host)) { error = "has no host"; return false; }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || database.Contains('/')) { error = "must name exactly one database in its path"; return false; }
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length == 0) { error = "has no user name"; return false; }

        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = database,
            Username = Uri.UnescapeDataString(userInfo[0]),
            // Ops expect the pool name to show the role in pg_stat_activity.
            ApplicationName = "fairway",
        };
        if (userInfo.Length == 2) b.Password = Uri.UnescapeDataString(userInfo[1]);

        var query = uri.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var val = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            if (!AllowedQueryKeys.Contains(key)) { error = $"has unsupported query parameter '{key}' (allowed: {string.Join(", ", AllowedQueryKeys.Order(StringComparer.Ordinal))})"; return false; }
            try
            {
                switch (key)
                {
                    case "sslmode": b.SslMode = Enum.Parse<SslMode>(val, ignoreCase: true); break;
                    case "pooling": b.Pooling = bool.Parse(val); break;
                    case "maximum_pool_size": b.MaxPoolSize = int.Parse(val, System.Globalization.CultureInfo.InvariantCulture); break;
                    case "timeout": b.Timeout = int.Parse(val, System.Globalization.CultureInfo.InvariantCulture); break;
                    case "command_timeout": b.CommandTimeout = int.Parse(val, System.Globalization.CultureInfo.InvariantCulture); break;
                }
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                error = $"has an invalid value for query parameter '{key}'";
                return false;
            }
        }
        connectionString = b.ConnectionString;
        return true;
    }

    /// <summary>host:port/database, without credentials: safe to print in errors and logs.</summary>
    public static string Describe(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{b.Host}:{b.Port}/{b.Database}";
    }
}
