namespace Fairway.Host.Platform.Http;

/// <summary>
/// HTTP clients for calls Fairway makes (Stripe). One long-lived client per gateway over a pooled
/// <see cref="SocketsHttpHandler"/>: connections are reused, but never for longer than
/// <paramref name="connectionLifetime"/> (so a DNS change is followed) nor kept idle past a minute; the number of
/// connections per host is bounded.
/// </summary>
public static class OutboundHttp
{
    public const int MaxConnectionsPerServer = 32;
    static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    public static SocketsHttpHandler PooledHandler(TimeSpan connectionLifetime, TimeSpan connectTimeout) => new()
    {
        PooledConnectionLifetime = connectionLifetime,
        PooledConnectionIdleTimeout = IdleTimeout,
        ConnectTimeout = connectTimeout,
        MaxConnectionsPerServer = MaxConnectionsPerServer,
    };

    public static HttpClient Client(TimeSpan timeout, TimeSpan connectionLifetime) =>
        new(PooledHandler(connectionLifetime, timeout)) { Timeout = timeout };
}
