using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Fairway.Cli;

/// <summary>
/// The CLI's only way to act on a running deployment: the admin API, with FAIRWAY_API_URL and
/// FAIRWAY_API_TOKEN. Ops never need database access.
/// </summary>
public sealed class AdminApiClient : IDisposable
{
    readonly HttpClient http;

    AdminApiClient(HttpClient http) => this.http = http;

    public static AdminApiClient? FromEnvironment(out string? error)
    {
        error = null;
        var url = CliOutput.Env("FAIRWAY_API_URL");
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var baseUri)) { error = "FAIRWAY_API_URL is not set to an absolute URL"; return null; }
        var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(150) };
        if (CliOutput.Env("FAIRWAY_API_TOKEN") is { } token) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new AdminApiClient(http);
    }

    /// <summary>Sends, prints the response, and returns 0 on success; <paramref name="judge"/> may turn a 2xx body into a failure exit code.</summary>
    public async Task<int> SendAsync(HttpMethod method, string path, object? body = null, bool requireAuth = true, Func<JsonElement, int>? judge = null)
    {
        if (requireAuth && http.DefaultRequestHeaders.Authorization is null)
            return CliOutput.Error(CliOutput.Usage, "FAIRWAY_API_TOKEN is not set (an admin bearer token)");
        HttpResponseMessage response;
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body, JsonOptions), Encoding.UTF8, "application/json");
            try { response = await http.SendAsync(request); }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            { return CliOutput.Error(CliOutput.Failed, $"{method} {path}: {e.Message}"); }
            // The API asks for a retry only when the database was briefly unavailable (503 + Retry-After); at most 3 tries.
            if ((int)response.StatusCode != 503 || response.Headers.RetryAfter?.Delta is not { } wait || attempt == 3) break;
            response.Dispose();
            Console.Error.WriteLine($"fairway: {method} {path} -> 503, retrying in {wait.TotalSeconds:F0} s");
            await Task.Delay(wait);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Console.WriteLine(Pretty(text));
            if (response.IsSuccessStatusCode)
                return judge is null ? CliOutput.Ok : judge(JsonDocument.Parse(text).RootElement);
            Console.Error.WriteLine($"fairway: {method} {path} -> {(int)response.StatusCode}");
            return CliOutput.Failed;
        }
    }

    /// <summary>One call whose answer a command judges itself (nothing printed): status (0 = no answer) and body text.</summary>
    public async Task<(int Status, string Body)> RequestAsync(HttpMethod method, string path, bool anonymous = false)
    {
        using var request = new HttpRequestMessage(method, path);
        if (anonymous) request.Headers.Authorization = null;
        else if (http.DefaultRequestHeaders.Authorization is null) return (0, "FAIRWAY_API_TOKEN is not set (an admin bearer token)");
        try
        {
            using var r = anonymous ? await AnonymousAsync(request) : await http.SendAsync(request);
            return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return (0, $"{method} {path}: {e.Message}"); }
    }

    async Task<HttpResponseMessage> AnonymousAsync(HttpRequestMessage request)
    {
        using var bare = new HttpClient { BaseAddress = http.BaseAddress, Timeout = http.Timeout };
        return await bare.SendAsync(request);
    }

    static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static string Pretty(string text)
    {
        // Relaxed escaping: this output is read by people and by runbooks' expected-output blocks, never embedded in HTML.
        try { return JsonSerializer.Serialize(JsonDocument.Parse(text).RootElement, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }); }
        catch (JsonException) { return text; }
    }

    public void Dispose() => http.Dispose();
}
