using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Fairway.WebhookLoad;

public sealed record Delivery(int Index, PaidIntent Intent, bool IsDuplicate);

public sealed record Sample(int Index, bool IsDuplicate, int Status, bool? DuplicateAnswer, double LatencyMs, string? Error, double LagMs = 0);

public sealed record LoadResult(IReadOnlyList<Sample> Samples, TimeSpan Wall, DateTimeOffset StartedAt, DateTimeOffset EndedAt, bool TimedOut);

/// <summary>
/// The bounded load generator: C workers over one HttpClient (keep-alive connections to the API), a fixed list of
/// deliveries (each event once, plus a fraction of them again shortly after), each one signed at send time exactly
/// as Stripe (and the sandbox) signs: <c>Stripe-Signature: t=&lt;unix now&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.body")&gt;</c>.
/// Per request it records the status, the answer's <c>duplicate</c> flag and the latency from sending the request
/// to having read the whole answer.
/// </summary>
public static class Load
{
    public static List<Delivery> Plan(IReadOnlyList<PaidIntent> intents, int duplicatesPercent, int seed)
    {
        var rng = new Random(seed);
        var order = intents.OrderBy(_ => rng.Next()).ToList();
        var keyed = order.Select((p, i) => (Key: (double)i, Intent: p, Dup: false)).ToList();
        var dupCount = (int)Math.Round(order.Count * duplicatesPercent / 100.0);
        foreach (var i in Enumerable.Range(0, order.Count).OrderBy(_ => rng.Next()).Take(dupCount))
            keyed.Add((i + 1 + rng.Next(0, 200) + 0.5, order[i], true)); // again, 1..200 deliveries after the first one
        return keyed.OrderBy(k => k.Key).Select((k, idx) => new Delivery(idx, k.Intent, k.Dup)).ToList();
    }

    public static string Sign(string body, long unixSeconds, byte[] secret)
    {
        var mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{unixSeconds}.{body}"));
        return $"t={unixSeconds},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <param name="rate">Deliveries per second offered (open loop: delivery i is due at start + i / rate; a delivery sent late
    /// records its lag, so a saturated API cannot hide behind fewer requests). Null: as fast as the C connections allow.</param>
    public static async Task<LoadResult> RunAsync(Uri apiUrl, string webhookSecret, IReadOnlyList<Delivery> plan, int concurrency, TimeSpan timeLimit, double? rate = null)
    {
        var secret = Encoding.UTF8.GetBytes(webhookSecret);
        var endpoint = new Uri(apiUrl, "/webhooks/stripe");
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var cts = new CancellationTokenSource(timeLimit);
        var samples = new Sample?[plan.Count];
        var next = -1;
        var json = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };

        var startedAt = DateTimeOffset.UtcNow;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while (!cts.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < plan.Count)
            {
                var d = plan[i];
                var lag = 0.0;
                if (rate is { } perSecond)
                {
                    var due = TimeSpan.FromSeconds(i / perSecond) - wall.Elapsed;
                    if (due > TimeSpan.Zero) await Task.Delay(due, cts.Token).ConfigureAwait(false);
                    else lag = -due.TotalMilliseconds;
                }
                var body = d.Intent.EventBody;
                using var req = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(body, Encoding.UTF8) };
                req.Content.Headers.ContentType = json;
                req.Headers.TryAddWithoutValidation("Stripe-Signature", Sign(body, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), secret));
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    using var r = await http.SendAsync(req, cts.Token);
                    var text = await r.Content.ReadAsStringAsync(cts.Token);
                    var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    bool? dup = null;
                    string? error = null;
                    if (r.IsSuccessStatusCode)
                    {
                        using var doc = JsonDocument.Parse(text);
                        dup = doc.RootElement.GetProperty("duplicate").GetBoolean();
                        if (doc.RootElement.GetProperty("event_id").GetString() != d.Intent.EventId) error = "answer names another event: " + text;
                    }
                    else error = text.Length > 300 ? text[..300] : text;
                    samples[i] = new Sample(i, d.IsDuplicate, (int)r.StatusCode, dup, ms, error, lag);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                    samples[i] = new Sample(i, d.IsDuplicate, 0, null, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, e.GetType().Name + ": " + e.Message, lag);
                }
            }
        }))).ConfigureAwait(false);
        wall.Stop();
        var endedAt = DateTimeOffset.UtcNow;
        var done = samples.Where(s => s is not null).Select(s => s!).ToList();
        return new LoadResult(done, wall.Elapsed, startedAt, endedAt, done.Count < plan.Count);
    }
}

public static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
