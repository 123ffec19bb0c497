using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Fairway.Engine;
using Fairway.Engine.Golf;
using Fairway.Host.Contests;
using Fairway.Host.Ledger;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Time;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fairway.IntegrationTests.Settlement;

/// <summary>A contest played by the provider sandbox: its tournament, the sandbox's truth (schedule), players and their rosters.</summary>
public sealed record PlayedContest(string TournamentId, string ContestId, string SandboxId, JsonElement Truth, string[] Users, string[][] Rosters);

/// <summary>A contest seeded up to COMPLETE with paid entries: its users (entry i belongs to Users[i]).</summary>
public sealed record SeededContest(string ContestId, string TournamentId, IReadOnlyList<string> Users, long EventId, long EntryFee);

/// <summary>
/// Money out, end to end on real processes: one migrated database, the Stripe sandbox, an API process and
/// worker processes (test clock), optionally the provider sandbox. Contests are seeded directly where
/// payments are not the subject: ACTIVE entries with a SUCCEEDED payment row and exactly the ledger entry a
/// SUCCEEDED payment posts (clearing → escrow, key payment:&lt;pi&gt;:succeeded), a stored final leaderboard as an
/// accepted ingestion event, and the audited lifecycle (LOCKED → LIVE → COMPLETE with terminal evidence).
/// </summary>
public sealed class MoneyOutWorld : IAsyncDisposable
{
    public static readonly DateTimeOffset T0 = new(2027, 6, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>Never in a test's lifetime: tests trigger the payout scheduler explicitly.</summary>
    public const string NeverCron = "0 0 1 1 *";

    public string DatabaseUrl { get; private init; } = "";
    public StripeSandboxProcess Stripe { get; private init; } = null!;
    public ProviderSandboxProcess? Provider { get; private init; }
    public FairwayHostProcess Api { get; private set; } = null!;
    public List<FairwayHostProcess> Workers { get; } = [];
    public HttpClient Admin { get; private init; } = null!;
    public NpgsqlDataSource Db { get; private init; } = null!;
    public LedgerRepository Ledger { get; private init; } = null!;
    public ContestLifecycleService Lifecycle { get; private init; } = null!;
    public TimeProvider Clock { get; private init; } = null!;
    Action<Dictionary<string, string>> baseEnv = _ => { };

    public string IngestionBase => Provider?.IngestionBase ?? ContestSetup.IngestionBase;

    public static async Task<MoneyOutWorld> StartAsync(bool provider = false, bool worker = true, Action<Dictionary<string, string>>? env = null, string? databaseUrl = null)
    {
        // The audit-trail recorder goes only into databases this world creates: a caller's database (a runbook's
        // deployment, a restore drill) is compared with the schema snapshot, which knows nothing of the test's recorder.
        var db = databaseUrl ?? await TestDatabases.CreateMigratedAsync();
        if (databaseUrl is null) await AuditTrail.InstallAsync(db);
        var stripe = StripeSandboxProcess.StartAsync();
        var prov = provider ? await ProviderSandboxProcess.StartAsync(T0) : null;
        var s = await stripe;
        void Configure(Dictionary<string, string> e)
        {
            s.Configure(e);
            if (prov is not null)
            {
                e["INGESTION_ENDPOINT_URL"] = prov.IngestionBase;
                e["INGESTION_API_KEY"] = ProviderSandboxProcess.ApiKey;
                e["INGESTION_HTTP_TIMEOUT_SECONDS"] = "2";
            }
            e["PAYOUT_SCHEDULER_CRON"] = NeverCron;
            e["PAYOUT_STRIPE_TIMEOUT_SECONDS"] = "3";
            e["PAYOUT_RETRY_BASE_SECONDS"] = "60";
            env?.Invoke(e);
        }
        var api = await FairwayHostProcess.StartAsync("api", db, Configure, testClock: true);
        var ds = NpgsqlDataSource.Create(TestDatabases.ConnectionString(db));
        var clock = new DatabaseTestClock(ds);
        var world = new MoneyOutWorld
        {
            DatabaseUrl = db, Stripe = s, Provider = prov, Api = api, Admin = api.Client(TestAuth.Admin), Db = ds, Ledger = new LedgerRepository(ds), Clock = clock,
            Lifecycle = new ContestLifecycleService(ds, new ContestRepository(), new AuditWriter(clock), clock, NullLogger<ContestLifecycleService>.Instance),
        };
        world.baseEnv = Configure;
        await world.SetTimeAsync(T0);
        if (worker) await world.StartWorkerAsync();
        // Background jobs that would act between a test's steps: reconciliation engages the kill-switch on any
        // drift it finds (tests run it explicitly), and ingestion is polled explicitly.
        foreach (var id in new[] { "ledger-reconciliation", "stripe-reconciliation", "ingestion-scheduler" })
            (await world.Admin.PostAsJsonAsync($"/api/admin/jobs/recurring/{id}/pause", new { reason = "tests drive this explicitly" })).EnsureSuccessStatusCode();
        await world.KillSwitchAsync(false);
        return world;
    }

    /// <summary>Starts a worker process (test clock, this world's Stripe sandbox); <paramref name="env"/> adds to or overrides its environment.</summary>
    public async Task<FairwayHostProcess> StartWorkerAsync(Action<Dictionary<string, string>>? env = null)
    {
        var w = await FairwayHostProcess.StartAsync("worker", DatabaseUrl, e => { baseEnv(e); env?.Invoke(e); }, testClock: true);
        Workers.Add(w);
        return w;
    }

    /// <summary>The environment every host of this world gets (sandboxes, schedules), before a caller's own additions.</summary>
    public void ConfigureHost(Dictionary<string, string> env) => baseEnv(env);

    /// <summary>Stops the API (SIGKILL) and starts it again on the same port, so clients and the sandbox's webhooks keep working.</summary>
    public async Task RestartApiAsync(Action<Dictionary<string, string>>? env = null)
    {
        var port = Api.BaseUrl.Port;
        Api.Dispose();
        Api = await FairwayHostProcess.StartAsync("api", DatabaseUrl, e => { baseEnv(e); env?.Invoke(e); }, testClock: true, port: port);
    }

    /// <summary>The environment this world's processes run with (the deployment's env file, as an operator would write it).</summary>
    public Dictionary<string, string> HostEnvironment()
    {
        var e = FairwayHostProcess.Environment(DatabaseUrl, Api.BaseUrl.Port, testClock: true);
        baseEnv(e);
        return e;
    }

    public void StopWorkers()
    {
        foreach (var w in Workers) w.Dispose();
        Workers.Clear();
    }

    public DateTimeOffset Now { get; private set; }

    public async Task SetTimeAsync(DateTimeOffset now)
    {
        Now = now;
        (await Admin.PutAsJsonAsync("/api/admin/test-clock", new { now })).EnsureSuccessStatusCode();
        if (Provider is not null) await Provider.SetClockAsync(now);
    }

    public Task AdvanceAsync(TimeSpan by) => SetTimeAsync(Now + by);

    public async Task KillSwitchAsync(bool engaged) =>
        (await Admin.PutAsJsonAsync("/api/admin/kill-switch", new { engaged, reason = engaged ? "test engages the switch" : "test disengages the switch" })).EnsureSuccessStatusCode();

    /// <summary>Triggers a recurring job and returns its final state (null/Processing when it did not finish within <paramref name="waitSeconds"/>).</summary>
    public async Task<string?> TriggerAsync(string recurringJobId, int waitSeconds = 110)
    {
        var r = await Admin.PostAsync($"/api/admin/jobs/recurring/{recurringJobId}/trigger?wait_seconds={waitSeconds}", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("state").GetString();
    }

    public async Task RunPayoutSchedulerAsync()
    {
        var state = await TriggerAsync("payout-scheduler");
        Assert.True(state == "Succeeded", $"payout scheduler: {state}, not Succeeded\n{WorkersLogTail()}");
    }

    public async Task<JsonElement> GetAsync(string path)
    {
        var r = await Admin.GetAsync(path);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    public Task<JsonElement> SettlementAsync(string contestId) => GetAsync($"/api/admin/settlements/{contestId}?limit=1000");

    /// <summary>Waits (real time) until the contest is settled, e.g. after the scheduler enqueued its job.</summary>
    public async Task<JsonElement> WaitSettledAsync(string contestId, TimeSpan? timeout = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var s = await SettlementAsync(contestId);
            if (s.GetProperty("settled").GetBoolean() && s.GetProperty("payout_job").ValueKind == JsonValueKind.Object) return s;
            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(60))) throw new TimeoutException($"contest {contestId} not settled: {s}");
            await Task.Delay(200);
        }
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var c = await Db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<T>(sql, args);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var c = await Db.OpenConnectionAsync();
        return (await c.QueryAsync<T>(sql, args)).ToList();
    }

    public async Task ExecAsync(string sql, object? args = null)
    {
        await using var c = await Db.OpenConnectionAsync();
        await c.ExecuteAsync(sql, args);
    }

    public Task<long> BalanceAsync(string account) => ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = @account), 0)", new { account });

    // ---- a contest played by the provider sandbox through real ingestion --------------------------------

    static DateTimeOffset At(JsonElement truth, params string[] path)
    {
        var e = truth.GetProperty("schedule");
        foreach (var p in path) e = int.TryParse(p, out var i) ? e[i] : e.GetProperty(p);
        return e.GetDateTimeOffset();
    }

    /// <summary>Polls the provider for a tournament through the admin API (a worker runs the poll) and returns the event it stored.</summary>
    public async Task<JsonElement> PollAsync(string tournamentId)
    {
        var r = await Admin.PostAsync($"/api/admin/ingestion/tournaments/{tournamentId}/poll?wait_seconds=90", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("Succeeded", body.GetProperty("job_state").GetString());
        return body.GetProperty("latest_event");
    }

    public async Task<string> StateAsync(string contestId) => (await GetAsync($"/api/admin/contests/{contestId}")).GetProperty("state").GetString()!;

    /// <summary>
    /// A provider sandbox tournament and a contest on it with <paramref name="entries"/> paid entries (funded as the payments
    /// capability leaves them, or by <paramref name="pay"/>), locked by the lifecycle clock and LIVE from ingestion.
    /// </summary>
    public async Task<PlayedContest> PlayToLiveAsync(int seed, int entries = 4, Func<string, string[], string[][], Task>? pay = null)
    {
        var start = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero).AddDays(2).AddHours(12);
        var sandboxId = "sr-" + Guid.NewGuid().ToString("N")[..10];
        var truth = await Provider!.CreateTournamentAsync(new
        {
            id = sandboxId, seed, field_size = 30, round_count = 4, cut_after_round = 2, cut_keep = 15, withdrawals = 2, disqualifications = 1,
            start = start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), round_duration_minutes = 300, round_gap_minutes = 1140, official_delay_minutes = 60,
        });
        var (t, c) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"));
        (await Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = sandboxId, name = "Sandbox Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, c, sandboxId, start.AddHours(-1), minEntries: 2, rosterSize: 3, fieldSize: 30, ingestionBase: IngestionBase);
        config["rules"]!["settlement_hold_seconds"] = 7200;
        var created = await Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Sandbox main", config });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var players = truth.GetProperty("players").EnumerateArray().ToList();
        (await Admin.PutAsJsonAsync($"/api/admin/contests/{c}/field", new
        {
            participants = players.Select(p => new { id = p.GetProperty("id").GetString(), name = p.GetProperty("last_name").GetString(), world_rank = p.GetProperty("world_rank").GetInt32() }).ToArray(),
        })).EnsureSuccessStatusCode();
        // Rosters of golfers who finish all four rounds, so a correction of any of their rounds is accepted.
        var finishers = players.Where(p => p.GetProperty("final_status").ValueKind == JsonValueKind.Null).Select(p => p.GetProperty("id").GetString()!).ToArray();
        var rosters = Enumerable.Range(0, entries).Select(i => new[] { finishers[i], finishers[(i + 5) % finishers.Length], finishers[(i + 10) % finishers.Length] }).ToArray();
        var users = Enumerable.Range(0, entries).Select(i => $"player-{c}-{i}").ToArray();
        if (pay is not null) await pay(c, users, rosters);
        else await FundEntriesAsync(c, Enumerable.Range(0, entries).Select(i => ($"{c}-e{i}", users[i], rosters[i])).ToList(), 1000);

        Assert.Equal("accepted", (await PollAsync(t)).GetProperty("outcome").GetString());
        var firstTee = At(truth, "rounds", "0", "start");
        await SetTimeAsync(firstTee.AddHours(-1));
        Assert.Equal("Succeeded", await TriggerAsync("contest-lifecycle-clock"));
        Assert.Equal("LOCKED", await StateAsync(c));
        await SetTimeAsync(firstTee.AddHours(2));
        await PollAsync(t);
        Assert.Equal("LIVE", await StateAsync(c));
        return new PlayedContest(t, c, sandboxId, truth, users, rosters);
    }

    /// <summary>Plays the rest of the tournament through ingestion until the provider closes it: the contest is COMPLETE.</summary>
    public async Task FinishAsync(PlayedContest p)
    {
        for (var round = 0; round < 4; round++)
        {
            await SetTimeAsync(At(p.Truth, "rounds", round.ToString(), "end").AddMinutes(1));
            await PollAsync(p.TournamentId);
        }
        await SetTimeAsync(At(p.Truth, "closed_at").AddMinutes(1));
        Assert.Equal("closed", (await PollAsync(p.TournamentId)).GetProperty("provider_status").GetString());
        Assert.Equal("COMPLETE", await StateAsync(p.ContestId));
    }

    // ---- entries paid through the public API and the Stripe sandbox (webhooks pointed at the API) ----------

    /// <summary>
    /// A player enters <paramref name="contestId"/> through the public API; returns the entry and its payment intent once
    /// Fairway has processed payment_intent.created (so a later event is never overtaken by it).
    /// </summary>
    public async Task<(string Entry, string PaymentIntent)> EnterThroughTheApiAsync(string contestId, string user, string[] golfers)
    {
        using var player = Api.Client(TestAuth.Player(user));
        var r = await player.PostAsJsonAsync($"/api/contests/{contestId}/entries", new { golfers });
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == System.Net.HttpStatusCode.Created, text);
        var body = JsonDocument.Parse(text).RootElement;
        var (entry, pi) = (body.GetProperty("entry").GetProperty("id").GetString()!, body.GetProperty("payment").GetProperty("payment_intent_id").GetString()!);
        await Wait.UntilAsync(() => ScalarAsync<bool>("""
            SELECT EXISTS (SELECT 1 FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id
                            WHERE e.type = 'payment_intent.created' AND e.payload LIKE '%' || @pi || '%')
            """, new { pi }), $"payment_intent.created of {pi} processed");
        return (entry, pi);
    }

    public Task<string?> EntryStatusAsync(string entry) => ScalarAsync<string?>("SELECT status FROM entries WHERE id = @entry", new { entry });

    public Task<string?> RefundStatusAsync(string entry) => ScalarAsync<string?>("SELECT status FROM refunds WHERE entry_id = @entry", new { entry });

    // ---- seeding -------------------------------------------------------------------------------------

    /// <summary>
    /// A final (closed) four-round leaderboard of <paramref name="golfers"/> golfers g00.. whose totals grow with
    /// their index (g00 best), so entry i of a distinct seeding beats entry i+1.
    /// </summary>
    public static string FinalLeaderboard(string providerEventId, int golfers = 30, Func<int, int, int>? strokes = null)
    {
        var lb = new JsonObject
        {
            ["id"] = providerEventId,
            ["status"] = "closed",
            ["rounds"] = new JsonArray(Enumerable.Range(1, 4).Select(n => (JsonNode)new JsonObject { ["number"] = n, ["status"] = "closed" }).ToArray()),
            ["leaderboard"] = new JsonArray(Enumerable.Range(0, golfers).Select(g => (JsonNode)new JsonObject
            {
                ["id"] = Golfer(g),
                ["rounds"] = new JsonArray(Enumerable.Range(1, 4).Select(r => (JsonNode)new JsonObject
                    { ["sequence"] = r, ["strokes"] = strokes?.Invoke(g, r) ?? 65 + g % 10 + (r == 4 ? g / 10 : 0), ["thru"] = 18 }).ToArray()),
            }).ToArray()),
        };
        return lb.ToJsonString();
    }

    public static string Golfer(int i) => $"g{i:00}";

    /// <summary>
    /// Seeds a contest up to COMPLETE (COMPLETE at the current test clock time). <paramref name="tie"/>: every
    /// entry has the same roster, so all tie for first and every user wins an equal share. Otherwise entry i has
    /// golfers (i, 10+i, 20+i) mod 30 and ranks i+1 (entries ≤ 10 for distinct ranks). <paramref name="unfunded"/>
    /// entries are ACTIVE but their payment is missing from the ledger (an escrow mismatch). <paramref name="paidFee"/>: what the
    /// entries paid, when it differs from the config's fee.
    /// </summary>
    public async Task<SeededContest> SeedCompleteContestAsync(int entries, long holdSeconds = 3600, bool tie = false, int unfunded = 0, long entryFee = 1000,
        IReadOnlyList<string>? users = null, long? paidFee = null, bool stripePayments = false)
    {
        var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:tournament:" + Guid.NewGuid().ToString("N")[..8]);
        (await Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "Seeded Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, c, pe, Now.AddDays(1), minEntries: 2, rosterSize: 3, fieldSize: 30, entryFee: entryFee, ingestionBase: IngestionBase);
        config["rules"]!["settlement_hold_seconds"] = holdSeconds;
        var created = await Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Seeded main", config });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());

        var userIds = users ?? Enumerable.Range(0, entries).Select(i => $"u-{c}-{i}").ToList();
        await FundEntriesAsync(c, Enumerable.Range(0, entries).Select(i =>
            (Entry: $"{c}-e{i:0000}", User: userIds[i], Golfers: tie ? new[] { Golfer(0), Golfer(10), Golfer(20) } : new[] { Golfer(i % 30), Golfer((10 + i) % 30), Golfer((20 + i) % 30) })).ToList(),
            paidFee ?? entryFee, unfunded, insertEntries: true, stripePayments);

        var body = FinalLeaderboard(pe);
        var eventId = await StoreAcceptedEventAsync(t, body);
        var now = Clock.GetUtcNow();
        Assert.Equal(ContestState.Locked, (await Lifecycle.LockAsync(c, "test:seed", "seeded contest", force: true)).To);
        Assert.Equal(ContestState.Live, (await Lifecycle.MarkLiveAsync(c, eventId, "inprogress")).To);
        var evidence = TerminalEvidence.FromLeaderboard(eventId, CanonicalJson.Sha256Hex(body), LeaderboardParser.Parse(body).Value, 4)!;
        Assert.Equal(ContestState.Complete, (await Lifecycle.CompleteAsync(c, evidence)).To);
        return new SeededContest(c, t, userIds, eventId, entryFee);
    }

    /// <summary>Stores a provider payload as an accepted ingestion event of <paramref name="tournamentId"/> (as ingestion would).</summary>
    public async Task<long> StoreAcceptedEventAsync(string tournamentId, string body)
    {
        var hash = CanonicalJson.Sha256Hex(body);
        await using var conn = await Db.OpenConnectionAsync();
        var now = Clock.GetUtcNow();
        await conn.ExecuteAsync("INSERT INTO ingestion_payloads (payload_hash, body, first_seen_at) VALUES (@hash, @body, @now) ON CONFLICT DO NOTHING",
            new { hash, body = System.Text.Encoding.UTF8.GetBytes(body), now });
        return await conn.ExecuteScalarAsync<long>("""
            INSERT INTO ingestion_events (tournament_id, fetched_at, http_status, payload_hash, schema_version, outcome, errors, anomalies, provider_status, duration_ms)
            VALUES (@tournamentId, @now, 200, @hash, 1, 'accepted', '[]', '[]', 'closed', 1) RETURNING id
            """, new { tournamentId, now, hash });
    }

    /// <summary>
    /// Paid entries exactly as a SUCCEEDED payment leaves them: entry ACTIVE with its fee, a SUCCEEDED payment row,
    /// and the ledger entry clearing → escrow (key payment:&lt;pi&gt;:succeeded). The last <paramref name="unfunded"/>
    /// entries get everything but the ledger entry. With <paramref name="insertEntries"/> false, existing entries are updated.
    /// With <paramref name="stripePayments"/> each payment is a real payment intent paid at the Stripe sandbox (for the
    /// reconciliation against Stripe); otherwise its id names nothing at Stripe.
    /// </summary>
    public async Task FundEntriesAsync(string contestId, IReadOnlyList<(string Entry, string User, string[] Golfers)> entries, long fee, int unfunded = 0, bool insertEntries = true,
        bool stripePayments = false)
    {
        var intents = new Dictionary<string, string>();
        if (stripePayments)
            foreach (var (entry, _, _) in entries)
            {
                var created = await Stripe.Http.PostAsync("/v1/payment_intents", new FormUrlEncodedContent(new Dictionary<string, string>
                    { ["amount"] = fee.ToString(System.Globalization.CultureInfo.InvariantCulture), ["currency"] = "usd", ["metadata[entry_id]"] = entry, ["metadata[contest_id]"] = contestId }));
                var text = await created.Content.ReadAsStringAsync();
                Assert.True(created.IsSuccessStatusCode, text);
                intents[entry] = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
                await Stripe.SucceedAsync(intents[entry]);
            }
        await using var c = await Db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var now = Clock.GetUtcNow();
        for (var i = 0; i < entries.Count; i++)
        {
            var (entry, user, golfers) = entries[i];
            if (insertEntries)
                await c.ExecuteAsync("""
                    INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency)
                    VALUES (@entry, @contestId, @user, @golfers::jsonb, 'ACTIVE', @now, @now, @fee, 'usd')
                    """, new { entry, contestId, user, golfers = JsonSerializer.Serialize(golfers), now, fee }, tx);
            else
                await c.ExecuteAsync("UPDATE entries SET entry_fee = @fee, currency = 'usd' WHERE id = @entry", new { entry, fee }, tx);
            var pi = intents.GetValueOrDefault(entry) ?? "pi_test_" + entry.Replace('-', '_');
            await c.ExecuteAsync("""
                INSERT INTO payments (entry_id, payment_intent_id, amount, currency, status, created_at, updated_at)
                VALUES (@entry, @pi, @fee, 'usd', 'SUCCEEDED', @now, @now)
                """, new { entry, pi, fee, now }, tx);
            if (i < entries.Count - unfunded)
                await Ledger.PostAsync(tx, JournalEntry.Movement($"payment:{pi}:succeeded", "entry_fee.captured", "usd", now, "payment", pi,
                    LedgerAccountRef.Clearing("usd"), LedgerAccountRef.Escrow(contestId), fee));
        }
        await tx.CommitAsync();
    }

    /// <summary>Posts the missing payment ledger entry of entry <paramref name="entryId"/> (repairs an "unfunded" seeding).</summary>
    public async Task PostMissingPaymentAsync(string contestId, string entryId, long fee)
    {
        await using var c = await Db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var pi = "pi_test_" + entryId.Replace('-', '_');
        await Ledger.PostAsync(tx, JournalEntry.Movement($"payment:{pi}:succeeded", "entry_fee.captured", "usd", Clock.GetUtcNow(), "payment", pi,
            LedgerAccountRef.Clearing("usd"), LedgerAccountRef.Escrow(contestId), fee));
        await tx.CommitAsync();
    }

    /// <summary>Creates an onboarded Connect account at the sandbox for each user and records it as the payments capability does.</summary>
    public async Task<Dictionary<string, string>> ConnectAccountsAsync(IEnumerable<string> users, bool payoutsEnabled = true)
    {
        var result = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(users.Select(async user =>
        {
            await gate.WaitAsync();
            try
            {
                var r = await Stripe.Http.PostAsync("/v1/accounts", new FormUrlEncodedContent(new Dictionary<string, string> { ["type"] = "express", ["country"] = "US" }));
                var text = await r.Content.ReadAsStringAsync();
                Assert.True(r.IsSuccessStatusCode, text);
                var id = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
                if (payoutsEnabled) await Stripe.PostAsync($"/_sandbox/accounts/{id}/complete_onboarding");
                result[user] = id;
            }
            finally { gate.Release(); }
        }));
        await using var c = await Db.OpenConnectionAsync();
        var now = Clock.GetUtcNow();
        foreach (var (user, account) in result)
            await c.ExecuteAsync("""
                INSERT INTO user_stripe_accounts (user_id, stripe_account_id, charges_enabled, payouts_enabled, details_submitted, stripe_state_created, created_at, updated_at)
                VALUES (@user, @account, @enabled, @enabled, @enabled, 1, @now, @now)
                ON CONFLICT (user_id) DO UPDATE SET stripe_account_id = excluded.stripe_account_id, payouts_enabled = excluded.payouts_enabled, updated_at = excluded.updated_at
                """, new { user, account, enabled = payoutsEnabled, now });
        return new Dictionary<string, string>(result);
    }

    /// <summary>Settles a seeded contest through the admin API (the worker runs the settlement job) and waits for its payout job.</summary>
    public async Task<JsonElement> SettleNowAsync(string contestId)
    {
        var r = await Admin.PostAsync($"/api/admin/settlements/{contestId}/run?wait_seconds=110", null);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        var state = JsonDocument.Parse(text).RootElement.GetProperty("job_state").GetString();
        Assert.True(state == "Succeeded", $"settlement job of {contestId}: {state}, not Succeeded\n{WorkersLogTail()}");
        return await WaitSettledAsync(contestId);
    }

    /// <summary>What each running worker logged last (for a failure message: why a job did not run or finish).</summary>
    public string WorkersLogTail(int lines = 30) => string.Join("\n", Workers.Select(w =>
        $"worker {w.Process.Pid}{(w.Process.HasExited ? $" (exited {w.Process.ExitCode})" : "")}, last {lines} lines:\n  "
        + string.Join("\n  ", w.Process.Stdout.Concat(w.Process.Stderr).TakeLast(lines).Select(l => l.Length <= 400 ? l : l[..400]))));

    /// <summary>Transfers Stripe created per idempotency key (the sandbox's own count).</summary>
    public async Task<Dictionary<string, long>> TransfersByKeyAsync() =>
        (await Stripe.StatsAsync())["transfers_by_idempotency_key"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>());

    public async Task<long> TransferPostsAsync() =>
        (await Stripe.StatsAsync())["requests_by_endpoint"]!.AsObject().TryGetPropertyValue("POST /v1/transfers", out var n) && n is not null ? n.GetValue<long>() : 0;

    public async Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(params string[] args) =>
        await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, args, new Dictionary<string, string>
        {
            ["FAIRWAY_API_URL"] = Api.BaseUrl.ToString(),
            ["FAIRWAY_API_TOKEN"] = TestAuth.Admin,
        });

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        StopWorkers();
        Api.Dispose();
        Stripe.Dispose();
        Provider?.Dispose();
        await Db.DisposeAsync();
    }
}
