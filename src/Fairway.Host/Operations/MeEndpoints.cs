using Fairway.Host.Platform.Http;

namespace Fairway.Host.Operations;

public sealed record MeResponse(string Subject, IReadOnlyList<string> Roles);

public static class MeEndpoints
{
    /// <summary>GET /api/me: who the bearer token says the caller is (any authenticated player).</summary>
    public static void MapMe(this RouteGroupBuilder api) =>
        api.MapGet("/me", (HttpContext http) => Results.Ok(new MeResponse(
            http.User.FindFirst("sub")?.Value ?? "",
            http.User.FindAll("role").Select(c => c.Value).Order(StringComparer.Ordinal).ToList())))
        .WithName("GetMe").WithTags("Players").Produces<MeResponse>();
}
