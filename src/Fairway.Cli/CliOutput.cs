namespace Fairway.Cli;

/// <summary>Exit codes and error printing shared by every command, so runbooks can rely on them.</summary>
public static class CliOutput
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    public static int Error(int code, string message)
    {
        Console.Error.WriteLine("fairway: " + message);
        return code;
    }

    public static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
