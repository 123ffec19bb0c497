using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fairway.Simulation.Client
{
    /// <summary>
    /// The generated client (obj/FairwayApiClient.g.cs, from docs/api/openapi.json) made strict: a response property
    /// the contract does not declare fails deserialization, as does a missing required one (`required` members).
    /// An undocumented status code already fails in the generated code. So every run of the simulation proves the
    /// committed contract against the real API.
    /// </summary>
    public partial class FairwayApiClient
    {
        static partial void UpdateJsonSerializerSettings(JsonSerializerOptions settings) =>
            settings.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
    }
}

namespace Fairway.Simulation
{
    using Fairway.Simulation.Client;

    /// <summary>One player: the generated public API client with the player's bearer token (none: anonymous).</summary>
    public sealed class Player : IDisposable
    {
        readonly HttpClient http;

        public Player(Uri baseUrl, string? token)
        {
            // One connection pool for every player (a thousand players would otherwise each open their own sockets).
            http = new HttpClient(Shared, disposeHandler: false) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(150) };
            if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Api = new FairwayApiClient(http);
        }

        static readonly HttpMessageHandler Shared = new RetryWhenDatabaseUnavailable
        {
            InnerHandler = new SocketsHttpHandler { MaxConnectionsPerServer = 32, PooledConnectionLifetime = TimeSpan.FromMinutes(5) },
        };

        public FairwayApiClient Api { get; }

        public void Dispose() => http.Dispose();

        /// <summary>
        /// The API answers 503 with Retry-After only when the database was briefly unavailable (DATABASE_UNAVAILABLE);
        /// a real client retries that, at most 5 attempts, like the simulation's admin client.
        /// </summary>
        sealed class RetryWhenDatabaseUnavailable : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
            {
                for (var attempt = 1; ; attempt++)
                {
                    var response = await base.SendAsync(request, ct);
                    if ((int)response.StatusCode != 503 || response.Headers.RetryAfter?.Delta is not { } wait || attempt == 5) return response;
                    response.Dispose();
                    await Task.Delay(wait, ct);
                }
            }
        }
    }
}
