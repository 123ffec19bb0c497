using System.Diagnostics;
using Fairway.Host.Platform.Configuration;
using Microsoft.Extensions.Http.Resilience;
using Polly.CircuitBreaker;

namespace Fairway.Host.Ingestion;

/// <summary>What one fetch produced: a response (any status) or a transport failure.</summary>
public sealed record ProviderFetch(int? HttpStatus, byte[]? Body, string? TransportError, TimeSpan Duration);

/// <summary>
/// Sportradar Golf v3 Tournament Leaderboard over HTTP (adapted to directly, no provider layer).
/// Timeouts, retries with exponential backoff and jitter, and the circuit breaker come from the
/// standard resilience pipeline (Microsoft.Extensions.Http.Resilience), never a hand-written loop.
/// </summary>
public sealed class ProviderClient(HttpClient http, FairwaySettings settings)
{
    public const string HttpClientName = "provider";
    /// <summary>Leaderboards are at most a few hundred kilobytes; anything far larger is refused.</summary>
    public const int MaxBodyBytes = 8 * 1024 * 1024;
    /// <summary>The longest Retry-After a poll waits out before it tries again; a longer one ends the poll.</summary>
    public static readonly TimeSpan MaxRetryAfterWaited = TimeSpan.FromSeconds(2);

    public Uri LeaderboardUri(string providerEventId) =>
        new($"{settings.IngestionEndpoint.ToString().TrimEnd('/')}/tournaments/{providerEventId}/leaderboard.json");

    public async Task<ProviderFetch> FetchLeaderboardAsync(string providerEventId, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, LeaderboardUri(providerEventId));
            request.Headers.Add("x-api-key", settings.IngestionApiKey);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            if (response.Content.Headers.ContentLength > MaxBodyBytes)
                return new ProviderFetch((int)response.StatusCode, null, $"response of {response.Content.Headers.ContentLength} bytes exceeds {MaxBodyBytes}", sw.Elapsed);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            return new ProviderFetch((int)response.StatusCode, body, null, sw.Elapsed);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or TimeoutException or BrokenCircuitException
                                      or Polly.Timeout.TimeoutRejectedException && !ct.IsCancellationRequested)
        {
            return new ProviderFetch(null, null, $"{e.GetType().Name}: {e.Message}", sw.Elapsed);
        }
    }

    /// <summary>A Retry-After longer than <see cref="MaxRetryAfterWaited"/>, or given as a date (read as "not soon").</summary>
    static bool AsksForLongerPause(HttpResponseMessage? response) =>
        response?.Headers.RetryAfter is { } pause && (pause.Delta is not { } delta || delta > MaxRetryAfterWaited);

    public static void Register(IServiceCollection services, FairwaySettings settings)
    {
        services.AddHttpClient<ProviderClient>(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler(o =>
            {
                o.AttemptTimeout.Timeout = settings.IngestionHttpTimeout;
                o.TotalRequestTimeout.Timeout = settings.IngestionHttpTimeout * 4 + TimeSpan.FromSeconds(5);
                o.Retry.MaxRetryAttempts = 3;
                o.Retry.BackoffType = Polly.DelayBackoffType.Exponential;
                o.Retry.UseJitter = true;
                o.Retry.Delay = TimeSpan.FromMilliseconds(500);
                // A provider that asks for a pause longer than MaxRetryAfterWaited gets it: this poll ends with its
                // answer (recorded as a failed poll) and the next scheduled poll asks again, rather than a worker thread
                // sleeping out the pause inside one job (a 5 s Retry-After twice ran every outage poll into its total timeout).
                o.Retry.ShouldHandle = args => ValueTask.FromResult(HttpClientResiliencePredicates.IsTransient(args.Outcome)
                    && !AsksForLongerPause(args.Outcome.Result));
                o.CircuitBreaker.SamplingDuration = settings.IngestionHttpTimeout * 2 + TimeSpan.FromSeconds(10);
                o.CircuitBreaker.FailureRatio = 0.9;
                o.CircuitBreaker.MinimumThroughput = 5;
                o.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(Math.Max(5, settings.IngestionHttpTimeout.TotalSeconds * 2));
            });
    }
}
