using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// One migrated database, a real Stripe sandbox process, a real API process and a separate real worker
/// process pointed at it (Stripe.net against the sandbox; webhooks from the sandbox to the API). The sweeper
/// age is 0 so a triggered sweep considers everything pending. Tests of this collection run one at a time
/// (they share the kill-switch) and may replace the API or the worker (crash tests).
/// </summary>
public class PaymentsFixture : IAsyncLifetime
{
    public const long Fee = 1000;
    public static readonly string[] Roster = ["g01", "g02", "g03"];

    public string DatabaseUrl { get; private set; } = "";
    public StripeSandboxProcess Stripe { get; private set; } = null!;
    public FairwayHostProcess Api { get; private set; } = null!;
    public FairwayHostProcess Worker { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        DatabaseUrl = await TestDatabases.CreateMigratedAsync();
        await AuditTrail.InstallAsync(DatabaseUrl);
        Stripe = await StripeSandboxProcess.StartAsync();
        var api = StartHostAsync("api", null);
        var worker = StartHostAsync("worker", null);
        Api = await api;
        Worker = await worker;
        await Stripe.PointWebhooksAtAsync(Api.BaseUrl);
        using var admin = Admin();
        (await admin.PutAsJsonAsync("/api/admin/kill-switch", new { engaged = false, reason = "payments tests: smoke tests passed" })).EnsureSuccessStatusCode();
    }

    Task<FairwayHostProcess> StartHostAsync(string role, string? crashPoints) =>
        FairwayHostProcess.StartAsync(role, DatabaseUrl, env =>
        {
            Stripe.Configure(env);
            env["PAYMENT_SWEEPER_PENDING_AGE_SECONDS"] = "0";
            env["STRIPE_MAX_NETWORK_RETRIES"] = "1";
            env["STRIPE_HTTP_TIMEOUT_SECONDS"] = "10";
            // A refund sent once is due again after 1 s (then 2, 4 s …), so a test's sweep finds it without waiting minutes.
            env["REFUND_RETRY_BASE_SECONDS"] = "1";
            env["REFUND_RETRY_MAX_SECONDS"] = "8";
            env["STRIPE_WEBHOOK_MAX_ATTEMPTS"] = "5";
            if (crashPoints is not null) env["FAIRWAY_CRASH_POINTS"] = crashPoints;
            ConfigureHost(env);
        });

    /// <summary>Adds to or overrides the environment of every host this fixture starts.</summary>
    protected virtual void ConfigureHost(Dictionary<string, string> env) { }

    /// <summary>Kills the worker (SIGKILL) and starts a fresh one, optionally armed with crash points.</summary>
    public async Task RestartWorkerAsync(string? crashPoints = null)
    {
        Worker.Dispose();
        Worker = await StartHostAsync("worker", crashPoints);
    }

    /// <summary>Kills the API (SIGKILL) and starts a fresh one (new port; the sandbox's webhooks follow it).</summary>
    public async Task RestartApiAsync(string? crashPoints = null)
    {
        Api.Dispose();
        Api = await StartHostAsync("api", crashPoints);
        await Stripe.PointWebhooksAtAsync(Api.BaseUrl);
    }

    public HttpClient Admin() => Api.Client(TestAuth.Admin);
    public HttpClient Player(string sub) => Api.Client(TestAuth.Player(sub));

    public static string NewPlayer() => "player-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>A SCHEDULED contest (fee 1000 usd, roster 3, lock in 30 days) with its field g01..g10.</summary>
    public async Task<string> CreateContestAsync(int minEntries = 2, int maxEntries = 1000)
    {
        using var admin = Admin();
        return await ContestSetup.CreateOpenForEntriesAsync(admin, DateTimeOffset.UtcNow.AddDays(30), minEntries, maxEntries);
    }

    /// <summary>
    /// Enters as a well-behaved client does: a 503 with Retry-After (the database was briefly unavailable, e.g. a deadlock
    /// victim under load) is retried with the same Idempotency-Key, at most three times in all.
    /// </summary>
    public async Task<(HttpStatusCode Status, JsonElement Body)> EnterAsync(string player, string contest, string? key = null, string[]? golfers = null)
    {
        using var http = Player(player);
        var retryKey = key ?? (golfers is null ? "test-" + Guid.NewGuid().ToString("N") : null);
        for (var attempt = 1; ; attempt++)
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, $"/api/contests/{contest}/entries")
            {
                Content = new StringContent(JsonSerializer.Serialize(new { golfers = golfers ?? Roster }), Encoding.UTF8, "application/json"),
            };
            if (retryKey is not null) req.Headers.Add("Idempotency-Key", retryKey);
            using var r = await http.SendAsync(req);
            var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
            var databaseBlip = r.StatusCode == HttpStatusCode.ServiceUnavailable && body.TryGetProperty("code", out var code) && code.GetString() == "DATABASE_UNAVAILABLE";
            if (!databaseBlip || retryKey is null || attempt == 3) return (r.StatusCode, body);
            await Task.Delay(r.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Creates an entry (201) and returns (entry id, payment intent id).</summary>
    public async Task<(string Entry, string PaymentIntent)> NewEntryAsync(string contest, string? player = null, string? key = null)
    {
        var (status, body) = await EnterAsync(player ?? NewPlayer(), contest, key);
        // With a fresh key of our own, 200 can only be the replay of our first attempt: it committed, then answered 503
        // (a database blip after the commit) and EnterAsync retried with the same key, as a client should.
        Assert.True(status == HttpStatusCode.Created || (key is null && status == HttpStatusCode.OK), $"entry creation: {(int)status} {body}");
        var pi = body.GetProperty("payment").GetProperty("payment_intent_id").GetString()!;
        // Let payment_intent.created be processed first: its convergence reads the intent's CURRENT state at Stripe, and tests
        // that withhold later webhooks must not be overtaken by it.
        await WaitUntilAsync(async () => await ProcessedEventsAsync("payment_intent.created", pi) == 1, $"payment_intent.created of {pi} processed");
        return (body.GetProperty("entry").GetProperty("id").GetString()!, pi);
    }

    /// <summary>Creates an entry, pays it at Stripe and waits until Fairway has it ACTIVE.</summary>
    public async Task<(string Entry, string PaymentIntent)> PaidEntryAsync(string contest, string? player = null)
    {
        var (entry, pi) = await NewEntryAsync(contest, player);
        await Stripe.SucceedAsync(pi);
        await WaitUntilAsync(async () => await EntryStatusAsync(entry) == "ACTIVE", $"entry {entry} ACTIVE");
        return (entry, pi);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var c = await TestDatabases.OpenAsync(DatabaseUrl);
        return await c.ExecuteScalarAsync<T>(sql, args);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var c = await TestDatabases.OpenAsync(DatabaseUrl);
        return (await c.QueryAsync<T>(sql, args)).ToList();
    }

    public async Task ExecAsync(string sql, object? args = null)
    {
        await using var c = await TestDatabases.OpenAsync(DatabaseUrl);
        await c.ExecuteAsync(sql, args);
    }

    public Task<string?> EntryStatusAsync(string entry) => ScalarAsync<string?>("SELECT status FROM entries WHERE id = @entry", new { entry });
    public Task<string?> PaymentStatusAsync(string entry) => ScalarAsync<string?>("SELECT status FROM payments WHERE entry_id = @entry", new { entry });
    public Task<string?> RefundStatusAsync(string entry) => ScalarAsync<string?>("SELECT status FROM refunds WHERE entry_id = @entry", new { entry });
    public Task<long> EscrowAsync(string contest) => ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = 'escrow:' || @contest), 0)", new { contest });
    public Task<long> LedgerEntriesAsync(string key) => ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @key", new { key });
    public Task<long> LedgerEntriesOfContestAsync(string contest) => ScalarAsync<long>(
        "SELECT count(DISTINCT entry_id) FROM ledger_postings WHERE account_id = 'escrow:' || @contest", new { contest });
    public Task<long> StoredEventsAsync(string type, string objectId) => ScalarAsync<long>(
        "SELECT count(*) FROM stripe_webhook_events WHERE type = @type AND payload LIKE '%' || @objectId || '%'", new { type, objectId });
    public Task<long> ProcessedEventsAsync(string type, string objectId) => ScalarAsync<long>("""
        SELECT count(*) FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id
         WHERE e.type = @type AND e.payload LIKE '%' || @objectId || '%'
        """, new { type, objectId });

    /// <summary>
    /// Waits until Stripe has delivered every webhook it owes and Fairway has processed every stored event that mentions
    /// <paramref name="objectId"/>. A test that changes the object at Stripe behind Fairway's back needs this first: an
    /// event still waiting converges the payment from Stripe's CURRENT state, and would record the change itself.
    /// </summary>
    public async Task WebhooksProcessedAsync(string objectId)
    {
        await Stripe.WaitIdleAsync();
        await WaitUntilAsync(async () => await ScalarAsync<bool>("""
            SELECT NOT EXISTS (SELECT 1 FROM stripe_webhook_events e WHERE e.payload LIKE '%' || @objectId || '%'
                                  AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id))
            """, new { objectId }), $"every stored event of {objectId} processed");
    }

    public async Task SetKillSwitchAsync(bool engaged, string reason = "payments test")
    {
        using var admin = Admin();
        (await admin.PutAsJsonAsync("/api/admin/kill-switch", new { engaged, reason })).EnsureSuccessStatusCode();
    }

    /// <summary>Runs a recurring job now on the worker and waits for it (workers register recurring jobs at start-up).</summary>
    public async Task TriggerAsync(string recurringId)
    {
        using var admin = Admin();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var r = await admin.PostAsync($"/api/admin/jobs/recurring/{recurringId}/trigger?wait_seconds=90", null);
            var text = await r.Content.ReadAsStringAsync();
            if (r.StatusCode == HttpStatusCode.NotFound && sw.Elapsed < TimeSpan.FromSeconds(20)) { await Task.Delay(250); continue; }
            // A scheduler held the job's lock: nothing was triggered, ask again (bounded).
            if (r.StatusCode == HttpStatusCode.Conflict && text.Contains("RECURRING_JOB_BUSY") && sw.Elapsed < TimeSpan.FromSeconds(60)) { await Task.Delay(250); continue; }
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"trigger {recurringId}: {(int)r.StatusCode} {text}");
            Assert.Equal("Succeeded", JsonDocument.Parse(text).RootElement.GetProperty("state").GetString());
            return;
        }
    }

    /// <summary>
    /// Runs the payment sweeper once the payment of each entry is due for its next look, and waits for it. The sweeper
    /// looks at a pending payment again only at its <c>next_sweep_at</c> (here 60 s after a look, then longer), and its
    /// recurring run (every 5 minutes of real time) may have looked at the payment moments before the test's trigger; a
    /// trigger then rightly leaves it alone (a fresh-clone run failed "entry ACTIVE" that way).
    /// </summary>
    public async Task SweepWhenDueAsync(params string[] entries)
    {
        using var admin = Admin();
        foreach (var entry in entries)
            await WaitUntilAsync(async () =>
            {
                var view = JsonDocument.Parse(await admin.GetStringAsync($"/api/admin/payments/{entry}")).RootElement;
                return !view.TryGetProperty("sweeper", out var sweeper) || sweeper.ValueKind == JsonValueKind.Null
                    || sweeper.GetProperty("next_sweep_at") is not { ValueKind: JsonValueKind.String } next
                    || next.GetDateTimeOffset() <= DateTimeOffset.UtcNow;
            }, $"payment of {entry} due for the sweeper's next look");
        await TriggerAsync("payment-sweeper");
    }

    public async Task<long> StripeStatAsync(string name) => (long)(await Stripe.StatsAsync())[name]!;

    /// <summary>
    /// Waits for something webhooks or jobs bring about: 90 s by default. After a test kills the worker, a webhook batch
    /// job it had fetched stays invisible for the invisibility timeout, and the delivery that raised the wake-up flag
    /// enqueued it: later deliveries rely on the stripe-webhook-drain, which runs every minute. So the system's bound for
    /// a webhook after a worker crash is a minute plus processing; 45 s failed a fresh-clone run once
    /// ("payment_intent.created of pi_sbx_000019 processed", the whole suite running; this collection's crash-point tests
    /// kill the worker).
    /// </summary>
    public static Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 90) => Wait.UntilAsync(condition, what, seconds);

    public Task DisposeAsync()
    {
        Api?.Dispose();
        Worker?.Dispose();
        Stripe?.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PaymentsCollection : ICollectionFixture<PaymentsFixture>
{
    public const string Name = "payments (shared hosts and Stripe sandbox)";
}
