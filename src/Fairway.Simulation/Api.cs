using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.Simulation;

/// <summary>Thrown when an API call answers something the simulation did not expect.</summary>
public sealed class ApiException(string message) : Exception(message);

/// <summary>A JSON-over-HTTP client for one base address and one bearer token.</summary>
public sealed class Api(Uri baseUrl, string? token) : IDisposable
{
    readonly HttpClient http = Create(baseUrl, token);
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static HttpClient Create(Uri b, string? token)
    {
        var c = new HttpClient { BaseAddress = b, Timeout = TimeSpan.FromSeconds(150) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public Task<JsonElement> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);
    public Task<JsonElement> PostAsync(string path, object? body = null, IDictionary<string, string>? headers = null) => SendAsync(HttpMethod.Post, path, body, headers);
    public Task<JsonElement> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);

    /// <summary>
    /// Returns the status and body without throwing (for calls whose failure is part of the scenario). A 503
    /// with Retry-After (the database was briefly unavailable) is retried, at most 5 times.
    /// </summary>
    public async Task<(int Status, JsonElement Body)> TryAsync(HttpMethod method, string path, object? body = null, IDictionary<string, string>? headers = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (status, parsed, retryAfter) = await OnceAsync(method, path, body, headers);
            if (status != 503 || retryAfter is null || attempt == 5) return (status, parsed);
            await Task.Delay(retryAfter.Value);
        }
    }

    async Task<(int Status, JsonElement Body, TimeSpan? RetryAfter)> OnceAsync(HttpMethod method, string path, object? body, IDictionary<string, string>? headers)
    {
        using var req = new HttpRequestMessage(method, path);
        if (body is not null) req.Content = JsonContent.Create(body, options: Json);
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) req.Headers.Add(k, v);
        using var r = await http.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        JsonElement parsed;
        try { parsed = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { parsed = JsonDocument.Parse(JsonSerializer.Serialize(new { raw = text })).RootElement.Clone(); }
        return ((int)r.StatusCode, parsed, r.Headers.RetryAfter?.Delta);
    }

    async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, IDictionary<string, string>? headers = null)
    {
        var (status, parsed) = await TryAsync(method, path, body, headers);
        if (status is < 200 or > 299) throw new ApiException($"{method} {path} -> {status}: {parsed}");
        return parsed;
    }

    public void Dispose() => http.Dispose();

    public static string Token(byte[] key, string issuer, string audience, string sub, bool admin) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity(admin ? [new Claim("sub", sub), new Claim("role", "admin")] : [new Claim("sub", sub)]),
            Expires = DateTime.UtcNow.AddHours(6),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
        });
}
