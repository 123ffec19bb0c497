namespace Fairway.Host.Platform.Configuration;

/// <summary>What a host process does: serve the API, run background jobs, or both (local use).</summary>
[Flags]
public enum HostRole
{
    Api = 1,
    Worker = 2,
    All = Api | Worker,
}

public static class HostRoles
{
    public static bool TryParse(string? value, out HostRole role)
    {
        role = value switch { "api" => HostRole.Api, "worker" => HostRole.Worker, "all" => HostRole.All, _ => 0 };
        return role != 0;
    }

    public static string Name(HostRole role) => role switch { HostRole.Api => "api", HostRole.Worker => "worker", _ => "all" };
}
