namespace Fairway.Host.Platform.Faults;

/// <summary>
/// Named places where a process can be made to crash for real, for crash-recovery tests on real
/// processes: when <c>FAIRWAY_CRASH_POINTS</c> (comma-separated names) lists a name, reaching it logs one
/// line and calls <see cref="Environment.FailFast(string)"/> — no finally blocks, no commits, no graceful
/// shutdown. Start-up refuses the variable when <c>FAIRWAY_PRODUCTION=true</c>. Read once per process.
/// </summary>
public static class CrashPoints
{
    public const string Variable = "FAIRWAY_CRASH_POINTS";

    static readonly Lazy<HashSet<string>> armed = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    public static IReadOnlySet<string> Armed => armed.Value;

    public static HashSet<string> Parse(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    public static void Hit(string name)
    {
        if (armed.Value.Count == 0 || !armed.Value.Contains(name)) return;
        // Plain stderr on purpose: the logger may buffer, and this line must be out before the process dies.
        Console.Error.WriteLine($"fairway: crash point '{name}' reached: failing fast ({Variable})");
        Console.Error.Flush();
        Environment.FailFast($"crash point '{name}' ({Variable})");
    }
}
