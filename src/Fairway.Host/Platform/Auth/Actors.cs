using System.Security.Claims;

namespace Fairway.Host.Platform.Auth;

/// <summary>Who did something, as recorded in audit rows: "admin:&lt;sub&gt;", "player:&lt;sub&gt;", or a system actor.</summary>
public static class Actors
{
    public const string System = "system";

    public static string Of(ClaimsPrincipal user)
    {
        var sub = user.FindFirst("sub")?.Value ?? "anonymous";
        return user.IsInRole(Roles.Admin) ? $"admin:{sub}" : $"player:{sub}";
    }
}

public static class Roles
{
    public const string Admin = "admin";
    public const string AdminPolicy = "admin";
}
