using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Fairway.Host.Platform.Configuration;

namespace Fairway.Host.Operations.Console;

/// <summary>One static file of the console, embedded in the host assembly (no file system, no build toolchain).</summary>
public sealed record ConsoleAsset(string Name, byte[] Bytes, string ContentType, string ETag);

/// <summary>
/// The admin console's static files, embedded at build time from <c>Operations/Console/wwwroot</c> (plain HTML,
/// CSS and ES modules: nothing to compile, no Node toolchain). They hold no data: every number the console
/// shows comes from the admin API, called by the browser with the operator's bearer token.
/// </summary>
public static class ConsoleAssets
{
    const string Prefix = "console/";

    public static FrozenDictionary<string, ConsoleAsset> All { get; } = Load();

    static FrozenDictionary<string, ConsoleAsset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var name = resource[Prefix.Length..].Replace('\\', '/');
            assets[name] = new ConsoleAsset(name, bytes, ContentTypeOf(name), $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}

/// <summary>What the console needs to know before anyone signs in: how to sign in, and how often to refresh.</summary>
public sealed record ConsoleConfig(ConsoleOidcConfig? Oidc, int RefreshSeconds, string JobsDashboard);

public sealed record ConsoleOidcConfig(string Authority, string ClientId, string Scope);

/// <summary>
/// Serves the console under <c>/admin</c>: <c>/admin/</c> (the page), <c>/admin/console/*</c> (its files and its
/// sign-in configuration). They are anonymous because they hold no data; <c>/admin/jobs</c> stays Hangfire's
/// dashboard. Pages are addressed by the URL fragment (<c>/admin/#/contests/…</c>), so no catch-all route
/// shadows anything else under /admin.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>Polling cadence of every console page (bounded: one request set per page per period).</summary>
    public const int RefreshSeconds = 5;

    public static void MapAdminConsole(this WebApplication app, FairwaySettings settings)
    {
        var config = new ConsoleConfig(
            settings.OidcAuthority is { } authority && settings.ConsoleOidcClientId is { } clientId
                ? new ConsoleOidcConfig(authority.ToString().TrimEnd('/'), clientId, settings.ConsoleOidcScope) : null,
            RefreshSeconds, "/admin/jobs");
        var connectSources = settings.OidcAuthority is { } a ? $"'self' {a.GetLeftPart(UriPartial.Authority)}" : "'self'";
        var policy = $"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connectSources}; " +
                     "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

        // Routing treats /admin and /admin/ alike; the page is served at /admin/ so its relative URLs and the OIDC redirect URI are stable.
        app.MapGet("/admin", (HttpContext http) => http.Request.Path.Value!.EndsWith('/') ? Serve(http, "index.html", policy) : Results.Redirect("/admin/"))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/admin/console/config.json", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(config);
        }).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/admin/console/{**file}", (string file, HttpContext http) => Serve(http, file, policy)).AllowAnonymous().ExcludeFromDescription();
    }

    static IResult Serve(HttpContext http, string name, string policy)
    {
        if (!ConsoleAssets.All.TryGetValue(name, out var asset)) return Results.NotFound();
        var headers = http.Response.Headers;
        headers.ETag = asset.ETag;
        // Revalidated on every load: a new release's console is never mixed with an old one's modules.
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = policy;
        if (http.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }
}
