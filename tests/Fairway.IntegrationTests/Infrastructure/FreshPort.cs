namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// Starting a server on a port found free a moment earlier races with every other process doing the same (parallel
/// test classes, other engineers' suites): someone may bind it in between. A start that lost that race (the process
/// exited reporting the address in use) is retried on a fresh port, a bounded number of times; any other failure is
/// reported as it is.
/// </summary>
public static class FreshPort
{
    public const int Attempts = 4;

    public static async Task<T> StartAsync<T>(Func<int, Task<T>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return await start(PostgresCluster.FreePort()); }
            catch (PortTakenException) when (attempt < Attempts) { }
        }
    }

    /// <summary>The process exited because its port was taken (Kestrel: "address already in use").</summary>
    public static bool LostTheRace(ManagedProcess p) =>
        p.HasExited && p.Stderr.Concat(p.Stdout).Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
}

public sealed class PortTakenException(string message) : Exception(message);
