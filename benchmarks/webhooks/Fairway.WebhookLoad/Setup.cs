using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fairway.WebhookLoad;

public sealed record PaidIntent(string EntryId, string PaymentIntentId, string EventId, string EventBody);

public sealed record SetupResult(string ContestId, long Fee, IReadOnlyList<PaidIntent> Intents, string ApiVersion, TimeSpan EntriesTime, TimeSpan CreatedProcessingTime, TimeSpan SucceedTime);

/// <summary>
/// Untimed set-up: kill-switch off, one SCHEDULED contest with its field, N entries through the public API (each
/// creates a real PaymentIntent in the sandbox; its payment_intent.created webhook is delivered and processed as
/// usual), then webhook delivery OFF and every PaymentIntent succeeded at the sandbox: the sandbox records the
/// real payment_intent.succeeded events without delivering them; they are collected raw from GET /v1/events
/// for the load phase to deliver.
/// </summary>
public static class Setup
{
    public const long Fee = 1000;
    static readonly string[] Roster = ["g01", "g02", "g03"];

    public static async Task<SetupResult> RunAsync(Deployment d, Db db, int n, int concurrency, Action<string> say, CancellationToken ct)
    {
        var admin = d.Token("bench-ops", admin: true);
        await d.ApiAsync(HttpMethod.Put, "/api/admin/kill-switch", new { engaged = false, reason = "webhook benchmark: deployment started" }, admin);
        // The tests' deployment has no provider (INGESTION_ENDPOINT_URL=http://127.0.0.1:9): without this pause the
        // scheduler polls the benchmark's tournament into a refused connection (with retries and error logs) each minute.
        await d.ApiAsync(HttpMethod.Post, "/api/admin/jobs/recurring/ingestion-scheduler/pause", new { reason = "webhook benchmark: no provider in this deployment" }, admin);

        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (t, c, pe) = ($"t-bench-{suffix}", $"c-bench-{suffix}", $"sr:tournament:{suffix}");
        var lockTime = DateTimeOffset.UtcNow.AddDays(30);
        await d.ApiAsync(HttpMethod.Post, "/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "The Benchmark Open" }, admin);
        await d.ApiAsync(HttpMethod.Post, "/api/admin/contests", new { id = c, tournament_id = t, name = "Webhook benchmark", config = Config(t, c, pe, lockTime, Math.Max(1000, n)) }, admin);
        var field = new { participants = Enumerable.Range(1, 12).Select(i => new { id = $"g{i:00}", name = $"Golfer {i}", world_rank = i }).ToArray() };
        await d.ApiAsync(HttpMethod.Put, $"/api/admin/contests/{c}/field", field, admin);
        say($"contest {c} (fee {Fee} usd, max_entries {Math.Max(1000, n)}) with a field of 12");

        // Entries: one player each, an Idempotency-Key each (a 503 is retried with it, as a client would).
        var entries = new (string Entry, string Pi)[n];
        var sw = Stopwatch.StartNew();
        await ForEachAsync(n, Math.Min(concurrency, 8), async i =>
        {
            var player = $"bench-player-{i:00000}";
            var token = d.Token(player);
            for (var attempt = 1; ; attempt++)
            {
                var (status, body) = await d.ApiAsync(HttpMethod.Post, $"/api/contests/{c}/entries", new { golfers = Roster }, token,
                    new Dictionary<string, string> { ["Idempotency-Key"] = $"bench-{i}" }, 503);
                if (status is 200 or 201)
                {
                    entries[i] = (body.GetProperty("entry").GetProperty("id").GetString()!, body.GetProperty("payment").GetProperty("payment_intent_id").GetString()!);
                    return;
                }
                if (attempt >= 5) throw new InvalidOperationException($"entry {i}: {status} {body}");
                await Task.Delay(200 * attempt, ct);
            }
        }, ct);
        var entriesTime = sw.Elapsed;
        say($"{n} entries created in {entriesTime.TotalSeconds:F1} s ({n / entriesTime.TotalSeconds:F0}/s), each with a PaymentIntent in the sandbox");

        // Their payment_intent.created webhooks must be processed before the intents succeed (the convergence of a
        // created event reads the intent's CURRENT state and would otherwise apply the success itself).
        sw.Restart();
        var deadline = DateTime.UtcNow.AddSeconds(240);
        while (await db.ProcessedCountAsync("payment_intent.created") < n)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"payment_intent.created not all processed within 240 s ({await db.ProcessedCountAsync("payment_intent.created")}/{n})");
            await Task.Delay(250, ct);
        }
        var createdTime = sw.Elapsed;
        say($"their {n} payment_intent.created webhooks delivered by the sandbox and processed in {createdTime.TotalSeconds:F1} s");

        // Delivery OFF: the sandbox still creates and records events, it just does not send them.
        await d.SetWebhookUrlAsync(null);
        sw.Restart();
        var byPi = entries.ToDictionary(e => e.Pi, e => e.Entry, StringComparer.Ordinal);
        var found = new Dictionary<string, (string EventId, string Body)>(StringComparer.Ordinal);
        string apiVersion = "";
        const int Chunk = 2000; // the sandbox keeps the newest 20,000 events; collect after each chunk (3 events per intent so far)
        for (var start = 0; start < n; start += Chunk)
        {
            var count = Math.Min(Chunk, n - start);
            await ForEachAsync(count, Math.Min(concurrency, 8), async i =>
            {
                var pi = entries[start + i].Pi;
                var r = await d.StripeAsync(HttpMethod.Post, $"/_sandbox/payment_intents/{pi}/succeed", new { });
                if (r.GetProperty("status").GetString() != "succeeded") throw new InvalidOperationException($"{pi} is {r.GetProperty("status")} after succeed");
            }, ct);
            var wanted = entries.Skip(start).Take(count).Select(e => e.Pi).ToHashSet(StringComparer.Ordinal);
            string? after = null;
            while (wanted.Count > 0)
            {
                var path = "/v1/events?type=payment_intent.succeeded&limit=100" + (after is null ? "" : "&starting_after=" + after);
                using var page = JsonDocument.Parse(await d.StripeRawAsync(HttpMethod.Get, path));
                var data = page.RootElement.GetProperty("data");
                if (data.GetArrayLength() == 0) throw new InvalidOperationException($"{wanted.Count} payment_intent.succeeded events not found in the sandbox");
                foreach (var e in data.EnumerateArray())
                {
                    var id = e.GetProperty("id").GetString()!;
                    after = id;
                    var obj = e.GetProperty("data").GetProperty("object");
                    var pi = obj.GetProperty("id").GetString()!;
                    if (!wanted.Remove(pi)) continue;
                    if (obj.GetProperty("status").GetString() != "succeeded") throw new InvalidOperationException($"event {id} shows {pi} as {obj.GetProperty("status")}");
                    apiVersion = e.GetProperty("api_version").GetString()!;
                    found[pi] = (id, e.GetRawText()); // the sandbox's own serialisation of the event, as it would have delivered it
                }
            }
        }
        var succeedTime = sw.Elapsed;
        if (found.Count != n || found.Values.Select(v => v.EventId).Distinct().Count() != n)
            throw new InvalidOperationException($"collected {found.Count} events for {n} intents");
        say($"{n} PaymentIntents succeeded at the sandbox and their {n} payment_intent.succeeded events collected in {succeedTime.TotalSeconds:F1} s (delivery off; api_version {apiVersion})");

        var intents = entries.Select(e => new PaidIntent(e.Entry, e.Pi, found[e.Pi].EventId, found[e.Pi].Body)).ToList();
        return new SetupResult(c, Fee, intents, apiVersion, entriesTime, createdTime, succeedTime);
    }

    /// <summary>The contest config of the integration tests (ContestSetup.Config) with max_entries ≥ N.</summary>
    static JsonObject Config(string tournamentId, string contestId, string providerEventId, DateTimeOffset lockTime, int maxEntries) => new()
    {
        ["id"] = tournamentId,
        ["contest_id"] = contestId,
        ["provider_event_id"] = providerEventId,
        ["ingestion_endpoint"] = $"http://127.0.0.1:9/tournaments/{providerEventId}/leaderboard.json",
        ["event_start_date"] = lockTime.UtcDateTime.ToString("yyyy-MM-dd"),
        ["event_end_date"] = lockTime.UtcDateTime.AddDays(3).ToString("yyyy-MM-dd"),
        ["round_count"] = 4,
        ["cut_after_round"] = 2,
        ["leaderboard_schema_version"] = 1,
        ["field_source"] = "static_import",
        ["field_size"] = 10,
        ["alternates_count"] = 2,
        ["rules"] = new JsonObject
        {
            ["roster_size"] = 3,
            ["entry_fee"] = Fee,
            ["currency"] = "usd",
            ["min_entries"] = 2,
            ["max_entries"] = maxEntries,
            ["rake_bps"] = 1000,
            ["payout_table"] = new JsonArray(new JsonObject { ["place"] = 1, ["bps"] = 6000 }, new JsonObject { ["place"] = 2, ["bps"] = 4000 }),
            ["lock_time"] = lockTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
            ["unplayed_round_strokes"] = 80,
            ["settlement_hold_seconds"] = 3600,
        },
    };

    public static async Task ForEachAsync(int count, int parallelism, Func<int, Task> body, CancellationToken ct)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, parallelism).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                ct.ThrowIfCancellationRequested();
                await body(i);
            }
        }));
    }
}
