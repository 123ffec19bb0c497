using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Hangfire.Server;
using Hangfire.Storage;
using Npgsql;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// At most one run of the marked job method at a time, across every worker: the run waits up to
/// <see cref="TimeoutSeconds"/> for the one before it, then fails (Hangfire retries it) with
/// <see cref="DistributedLockTimeoutException"/>. Enforced by <see cref="SingleInstanceJobFilter"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class SingleInstanceAttribute(int timeoutInSeconds) : Attribute
{
    public int TimeoutSeconds { get; } = timeoutInSeconds > 0 ? timeoutInSeconds : throw new ArgumentOutOfRangeException(nameof(timeoutInSeconds));
}

/// <summary>
/// The lock behind <see cref="SingleInstanceAttribute"/>: a PostgreSQL session advisory lock taken on a connection of its
/// own and held for the whole run. PostgreSQL releases it the moment that connection ends, so a worker killed in the
/// middle of a run (SIGKILL, a crash point, an OOM kill) frees it at once, and it never expires while its holder lives.
/// Hangfire's DisableConcurrentExecution stores its lock as a row that only expires (after the storage's
/// DistributedLockTimeout, one minute): a dead worker's row held that job type for a minute (the main job measured 61 s),
/// and a live run longer than the timeout lost its exclusion.
/// </summary>
public sealed class SingleInstanceJobFilter(Func<NpgsqlDataSource> dataSource) : IServerFilter
{
    const string ConnectionItem = "fairway:single-instance:connection";
    const string KeyItem = "fairway:single-instance:key";
    static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>The advisory lock key of a job method: the first 8 bytes of SHA-256 of "Type.Method" (stable across processes and builds).</summary>
    public static long KeyOf(string resource) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(resource)), 0);

    public static string ResourceOf(MethodInfo method) => $"{method.DeclaringType!.FullName}.{method.Name}";

    public void OnPerforming(PerformingContext context)
    {
        var method = context.BackgroundJob.Job.Method;
        if (method.GetCustomAttribute<SingleInstanceAttribute>() is not { } single) return;
        var resource = ResourceOf(method);
        var key = KeyOf(resource);
        var connection = dataSource().OpenConnection();
        try
        {
            var waited = Stopwatch.StartNew();
            while (!TryLock(connection, key))
            {
                var left = TimeSpan.FromSeconds(single.TimeoutSeconds) - waited.Elapsed;
                if (left <= TimeSpan.Zero) throw new DistributedLockTimeoutException($"single-instance job {resource}");
                context.CancellationToken.ShutdownToken.WaitHandle.WaitOne(left < RetryEvery ? left : RetryEvery);
                context.CancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        context.Items[ConnectionItem] = connection;
        context.Items[KeyItem] = key;
    }

    public void OnPerformed(PerformedContext context)
    {
        if (!context.Items.TryGetValue(ConnectionItem, out var held) || held is not NpgsqlConnection connection) return;
        context.Items.Remove(ConnectionItem);
        using (connection)
        {
            // A connection the database already dropped holds no lock any more; disposing it is enough.
            if (connection.State != System.Data.ConnectionState.Open) return;
            try
            {
                using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
                unlock.Parameters.AddWithValue("key", (long)context.Items[KeyItem]);
                unlock.ExecuteScalar();
            }
            catch (NpgsqlException)
            {
                // The connection broke (the session, and its lock, ended with it) or the unlock failed on a live session:
                // pooled connections are not reset (PooledConnections), so this one must not be used again.
                NpgsqlConnection.ClearPool(connection);
            }
        }
    }

    static bool TryLock(NpgsqlConnection connection, long key)
    {
        using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", key);
        return (bool)command.ExecuteScalar()!;
    }
}
