using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Fairway.Host;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Ingestion;
using Fairway.Host.Platform.Configuration;
using Fairway.Migrations;
using Fairway.ProviderSandbox;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Fairway.Benchmarks;

/// <summary>
/// The ingestion benchmark of the issue: one leaderboard (156 golfers, 4 rounds) ingested end to end —
/// fetch from the sandbox over HTTP, hash, validate, store, recompute standings for 10 contests of
/// 10,000 ACTIVE entries each — timed per event with <see cref="IngestionService.PollAsync"/>, against
/// a baseline measured in the same run: a bare INSERT of the same payload body into ingestion_payloads.
/// </summary>
public static class IngestionBenchmark
{
    const int FieldSize = 156;
    const int RoundCount = 4;
    const int CutAfterRound = 2;
    const int SandboxSeed = 42;
    const int EntriesPerContest = 10_000;
    const int RosterSize = 6;
    const ulong RosterSeed = 0xFA1_2026;
    const string ApiKey = "bench-provider-key";
    const string SandboxTournamentId = "bench-open-42";
    const string TournamentId = "bench-open";
    /// <summary>Round 1 tees off here (sandbox clock). Fairway's own clock is the system clock (TestClockEnabled false).</summary>
    static readonly DateTimeOffset Start = new(2026, 4, 9, 12, 0, 0, TimeSpan.Zero);

    sealed record Sample(int Index, DateTimeOffset SandboxTime, int BodyBytes, double EndToEndMs, double FetchMs, double StandingsMs, int StandingsCount, double BaselineMs, string Outcome);

    /// <summary>One point of the contest-count sweep: its own tournament (same sandbox seed, so the same leaderboards), contests and entries.</summary>
    sealed record Workload(int Contests, string TournamentId, string SandboxTournamentId, string[] ContestIds)
    {
        public static Workload For(int contests) =>
            new(contests, $"{IngestionBenchmark.TournamentId}-c{contests}", $"{IngestionBenchmark.SandboxTournamentId}-c{contests}",
                Enumerable.Range(1, contests).Select(i => $"bench-c{contests}-{i:D3}").ToArray());
    }

    sealed record Measured(Workload Workload, List<Sample> Samples, SortedDictionary<string, int> Outcomes, List<string> NotAccepted);

    public static async Task<int> RunAsync(BenchOptions options, string connectionString)
    {
        var total = Stopwatch.StartNew();
        var eventCount = options.Warmup + options.Events;
        // Enough live play for every event to see a new leaderboard: about 6 minutes of play between two
        // events (4 rounds x 300 min covers 200 events), longer rounds for more events (the sandbox allows up to 1440).
        var roundMinutes = Math.Clamp((int)Math.Ceiling(eventCount * 6.0 / RoundCount), 300, 1440);

        Phase("migrate");
        SchemaMigrator.MigrateUp(connectionString);
        await using (var check = new NpgsqlConnection(connectionString))
        {
            await check.OpenAsync();
            if (await check.ExecuteScalarAsync<long>("SELECT count(*) FROM tournaments") != 0)
                throw new InvalidOperationException("DATABASE_URL must point at a fresh database (tournaments is not empty)");
        }

        Phase("provider sandbox (in-process, loopback HTTP)");
        await using var sandbox = ProviderSandboxApp.Build(["--urls", "http://127.0.0.1:0", "--api-key", ApiKey,
            "--start-time", Json(Start.AddDays(-1)), "--log-requests", "false"]);
        await sandbox.StartAsync();
        var sandboxBase = ProviderSandboxApp.BoundAddress(sandbox).ToString().TrimEnd('/');
        using var control = new HttpClient { BaseAddress = new Uri(sandboxBase) };
        var workloads = options.ContestCounts.Select(Workload.For).ToArray();
        JsonNode? truth = null;
        foreach (var w in workloads)
        {
            var created = await control.PostAsJsonAsync("/_control/tournaments", new
            {
                id = w.SandboxTournamentId, seed = SandboxSeed, name = "Fairway Bench Open", field_size = FieldSize, round_count = RoundCount,
                cut_after_round = CutAfterRound, start = Json(Start), round_duration_minutes = roundMinutes, round_gap_minutes = 1140, official_delay_minutes = 60,
            });
            var truthText = await created.Content.ReadAsStringAsync();
            if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"sandbox refused the tournament: {(int)created.StatusCode} {truthText}");
            truth ??= JsonNode.Parse(truthText)!;
        }
        var golfers = truth!["players"]!.AsArray().Select(p => (string)p!["id"]!).ToArray();
        if (golfers.Length != FieldSize) throw new InvalidOperationException($"sandbox generated {golfers.Length} golfers, expected {FieldSize}");
        var windows = truth["schedule"]!["rounds"]!.AsArray()
            .Select(r => (Start: DateTimeOffset.Parse((string)r!["start"]!, CultureInfo.InvariantCulture), End: DateTimeOffset.Parse((string)r["end"]!, CultureInfo.InvariantCulture)))
            .ToArray();
        await SetSandboxClockAsync(control, Start.AddMinutes(-1));

        var ingestionBase = sandboxBase + "/golf/trial/v3/en";
        var settings = Settings(connectionString, ingestionBase);
        Phase("Fairway host (worker role, built, not started)");
        await using var app = FairwayHost.Build(settings);
        var db = app.Services.GetRequiredService<NpgsqlDataSource>();

        foreach (var w in workloads)
        {
            Phase($"tournament {w.TournamentId}: {w.Contests} contest(s) through ContestConfigService, {w.Contests} x {EntriesPerContest:N0} ACTIVE entries by COPY (roster {RosterSize} of {FieldSize}, seeded), locked (forced)");
            await CreateContestsAsync(app.Services, db, ingestionBase, w);
            var copyTime = Stopwatch.StartNew();
            await LoadEntriesAsync(db, w.ContestIds, golfers);
            Console.WriteLine($"        loaded in {copyTime.Elapsed.TotalSeconds:F1} s");
            var lifecycle = app.Services.GetRequiredService<ContestLifecycleService>();
            foreach (var c in w.ContestIds)
            {
                var r = await lifecycle.LockAsync(c, "bench", "benchmark set-up", force: true);
                if (r.To != ContestState.Locked) throw new InvalidOperationException($"contest {c} went to {r.To} on lock, expected LOCKED");
            }
        }
        await using (var c = await db.OpenConnectionAsync()) await c.ExecuteAsync("VACUUM ANALYZE");

        Phase($"choosing {eventCount} sandbox instants with distinct leaderboards ({options.Warmup} warm-up + {options.Events} measured; rounds of {roundMinutes} min)");
        var instants = await ChooseInstantsAsync(control, sandboxBase, workloads[0].SandboxTournamentId, windows, eventCount);

        var results = new List<Measured>();
        foreach (var w in workloads)
        {
            Phase($"{w.Contests} contest(s): timed loop, {options.Warmup} warm-up events, then {options.Events} measured (baseline {(options.Baseline == BaselineMode.Interleaved ? "interleaved after each event" : "after all events")})");
            results.Add(await MeasureAsync(options, app.Services, db, control, w, instants));
        }

        await using (var c = await db.OpenConnectionAsync())
        {
            var standingsRows = await c.ExecuteScalarAsync<long>("SELECT count(*) FROM contest_standings");
            var live = await c.ExecuteScalarAsync<long>("SELECT count(*) FROM contests WHERE state = 'LIVE'");
            var active = await c.ExecuteScalarAsync<long>("SELECT count(*) FROM entries WHERE status = 'ACTIVE'");
            var pg = await c.ExecuteScalarAsync<string>("SHOW server_version");
            foreach (var m in results) Report(options, m, roundMinutes, (standingsRows, live, active, pg!));
            Sweep(results);
            Console.WriteLine($"whole run {total.Elapsed.TotalSeconds:F0} s");
        }
        if (options.CsvPath is { } csv) WriteCsv(csv, results);
        await sandbox.StopAsync();

        var invalid = results.Where(m => m.Outcomes.GetValueOrDefault("accepted") < options.Events).ToList();
        if (invalid.Count > 0)
        {
            Console.WriteLine($"INVALID RUN: {string.Join("; ", invalid.Select(m => $"{m.Workload.Contests} contest(s): {m.Outcomes.GetValueOrDefault("accepted")} of {options.Events} measured events accepted"))}");
            return 1;
        }
        Console.WriteLine("VALID RUN");
        return 0;
    }

    static async Task<Measured> MeasureAsync(BenchOptions options, IServiceProvider services, NpgsqlDataSource db, HttpClient control, Workload w, DateTimeOffset[] instants)
    {
        var eventCount = instants.Length;
        var samples = new List<Sample>();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var notAccepted = new List<string>();
        var bodies = new List<(int Index, byte[] Body)>();
        for (var i = 0; i < eventCount; i++)
        {
            await SetSandboxClockAsync(control, instants[i]);
            PollResult result;
            double elapsedMs, fetchMs, standingsMs;
            long standingsCount;
            await using (var scope = services.CreateAsyncScope())
            {
                var ingestion = scope.ServiceProvider.GetRequiredService<IngestionService>();
                var (fetchSum, standingsSum, standingsN) = (IngestionMetrics.FetchDuration.Sum, IngestionMetrics.StandingsDuration.Sum, IngestionMetrics.StandingsDuration.Count);
                var t0 = Stopwatch.GetTimestamp();
                result = await ingestion.PollAsync(w.TournamentId);
                elapsedMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                fetchMs = (IngestionMetrics.FetchDuration.Sum - fetchSum) * 1000;
                standingsMs = (IngestionMetrics.StandingsDuration.Sum - standingsSum) * 1000;
                standingsCount = IngestionMetrics.StandingsDuration.Count - standingsN;
            }
            var measured = i >= options.Warmup;
            if (measured) outcomes[result.Outcome] = outcomes.GetValueOrDefault(result.Outcome) + 1;
            if (result.Outcome != "accepted")
            {
                var why = $"event {i + 1} at {Json(instants[i])}: {result.Outcome} (HTTP {result.HttpStatus}) {string.Join("; ", result.Errors.Select(e => $"{e.Path} {e.Code} {e.Message}"))} {string.Join("; ", result.Anomalies.Select(a => $"{a.Code} {a.PlayerId} r{a.Round}"))}";
                if (measured) notAccepted.Add(why);
                Console.WriteLine("        NOT ACCEPTED: " + why);
            }
            var body = await StoredBodyAsync(db, result.EventId);
            double baselineMs = double.NaN;
            if (body is not null)
            {
                if (options.Baseline == BaselineMode.Interleaved) baselineMs = await BareInsertAsync(db, body, w.Contests * 100_000 + i);
                else bodies.Add((i, body));
            }
            if (measured)
                samples.Add(new Sample(i - options.Warmup + 1, instants[i], body?.Length ?? 0, elapsedMs, fetchMs, standingsMs, (int)standingsCount, baselineMs, result.Outcome));
            else
                Console.WriteLine($"        warm-up {i + 1}/{options.Warmup}: {result.Outcome} in {elapsedMs:F0} ms" + (double.IsNaN(baselineMs) ? "" : $" (bare insert {baselineMs:F2} ms)"));
            if (measured && (i - options.Warmup + 1) % 25 == 0)
                Console.WriteLine($"        {i - options.Warmup + 1}/{options.Events} events, last {elapsedMs:F0} ms, {outcomes.GetValueOrDefault("accepted")} accepted");
        }
        if (options.Baseline == BaselineMode.After)
        {
            foreach (var (index, body) in bodies)
            {
                var ms = await BareInsertAsync(db, body, w.Contests * 100_000 + index);
                var k = index - options.Warmup;
                if (k >= 0) samples[k] = samples[k] with { BaselineMs = ms };
            }
        }

        return new Measured(w, samples, outcomes, notAccepted);
    }

    static FairwaySettings Settings(string connectionString, string ingestionBase) => new()
    {
        Role = HostRole.Worker,
        DatabaseConnectionString = connectionString,
        ListenUrl = "http://127.0.0.1:0",
        Production = false,
        TestClockEnabled = false,
        ShutdownTimeout = TimeSpan.FromSeconds(5),
        LogLevel = Serilog.Events.LogEventLevel.Warning,
        WorkerCount = 1,
        JwtIssuer = "fairway-bench",
        JwtAudience = "fairway-bench",
        JwtSigningKey = null,
        OidcAuthority = null,
        StripeApiKey = "sk_test_bench",
        StripeApiBase = new Uri("http://127.0.0.1:9"),
        StripeWebhookSecret = "whsec_bench",
        IngestionEndpoint = new Uri(ingestionBase),
        IngestionApiKey = ApiKey,
    };

    static async Task CreateContestsAsync(IServiceProvider services, NpgsqlDataSource db, string ingestionBase, Workload w)
    {
        var tournaments = services.GetRequiredService<TournamentRepository>();
        var configs = services.GetRequiredService<ContestConfigService>();
        await using (var c = await db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            if (!await tournaments.TryInsertAsync(tx, new Tournament(w.TournamentId, w.SandboxTournamentId, "Fairway Bench Open", DateTimeOffset.UtcNow)))
                throw new InvalidOperationException($"tournament {w.TournamentId} exists already");
            await tx.CommitAsync();
        }
        var lockTime = Start.AddHours(-1);
        foreach (var id in w.ContestIds)
        {
            var config = new JsonObject
            {
                ["id"] = w.TournamentId,
                ["contest_id"] = id,
                ["provider_event_id"] = w.SandboxTournamentId,
                ["ingestion_endpoint"] = $"{ingestionBase}/tournaments/{w.SandboxTournamentId}/leaderboard.json",
                ["event_start_date"] = Start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["event_end_date"] = Start.UtcDateTime.AddDays(3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                ["round_count"] = RoundCount,
                ["cut_after_round"] = CutAfterRound,
                ["leaderboard_schema_version"] = 1,
                ["field_source"] = "static_import",
                ["field_size"] = FieldSize,
                ["alternates_count"] = 0,
                ["rules"] = new JsonObject
                {
                    ["roster_size"] = RosterSize,
                    ["entry_fee"] = 1000,
                    ["currency"] = "usd",
                    ["min_entries"] = 10,
                    ["max_entries"] = EntriesPerContest,
                    ["rake_bps"] = 1000,
                    ["payout_table"] = new JsonArray(
                        new JsonObject { ["place"] = 1, ["bps"] = 5000 }, new JsonObject { ["place"] = 2, ["bps"] = 3000 },
                        new JsonObject { ["place"] = 3, ["bps"] = 2000 }),
                    ["lock_time"] = Json(lockTime),
                    ["unplayed_round_strokes"] = 80,
                    ["settlement_hold_seconds"] = 3600,
                },
            };
            var r = await configs.CreateContestAsync(id, w.TournamentId, $"Bench contest {id}", JsonSerializer.SerializeToElement(config), "bench", CancellationToken.None);
            if (r.Code is not null)
                throw new InvalidOperationException($"contest {id}: {r.Code} {r.Message}: {string.Join("; ", r.Errors.Select(e => $"{e.Field} {e.Code} {e.Message}"))}");
        }
    }

    /// <summary>Entries as the payments capability leaves them (ACTIVE), bulk-loaded with binary COPY.</summary>
    static async Task LoadEntriesAsync(NpgsqlDataSource db, string[] contestIds, string[] golfers)
    {
        var rng = new SplitMix64(RosterSeed);
        var scratch = new int[golfers.Length];
        var at = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        await using var c = await db.OpenConnectionAsync();
        await using var import = await c.BeginBinaryImportAsync("COPY entries (id, contest_id, user_id, golfers, status, created_at, updated_at) FROM STDIN (FORMAT BINARY)");
        foreach (var contestId in contestIds)
        {
            for (var i = 0; i < EntriesPerContest; i++)
            {
                var roster = rng.Distinct(golfers.Length, RosterSize, scratch).Select(k => golfers[k]);
                await import.StartRowAsync();
                await import.WriteAsync($"{contestId}-e{i:D5}", NpgsqlDbType.Text);
                await import.WriteAsync(contestId, NpgsqlDbType.Text);
                await import.WriteAsync($"bench-user-{i:D5}", NpgsqlDbType.Text);
                await import.WriteAsync(JsonSerializer.Serialize(roster), NpgsqlDbType.Jsonb);
                await import.WriteAsync("ACTIVE", NpgsqlDbType.Text);
                await import.WriteAsync(at, NpgsqlDbType.TimestampTz);
                await import.WriteAsync(at, NpgsqlDbType.TimestampTz);
            }
        }
        await import.CompleteAsync();
    }

    /// <summary>
    /// Evenly spread instants over the live play of the rounds (never between rounds, never after play
    /// ends), each checked — untimed, before the loop — to serve a leaderboard different from the previous one.
    /// </summary>
    static async Task<DateTimeOffset[]> ChooseInstantsAsync(HttpClient control, string sandboxBase, string sandboxTournamentId, (DateTimeOffset Start, DateTimeOffset End)[] windows, int count)
    {
        using var fetch = new HttpClient();
        fetch.DefaultRequestHeaders.Add("x-api-key", ApiKey);
        var url = $"{sandboxBase}/golf/trial/v3/en/tournaments/{sandboxTournamentId}/leaderboard.json";
        var playSeconds = windows.Sum(w => (w.End - w.Start).TotalSeconds);
        var step = playSeconds / (count + 1);
        DateTimeOffset At(double offset)
        {
            foreach (var w in windows)
            {
                var length = (w.End - w.Start).TotalSeconds;
                if (offset < length) return w.Start.AddSeconds(Math.Floor(offset));
                offset -= length;
            }
            return windows[^1].End;
        }
        var chosen = new List<DateTimeOffset>();
        byte[]? previous = null;
        var offset = step;
        var nudges = 0;
        while (chosen.Count < count)
        {
            if (offset >= playSeconds) throw new InvalidOperationException($"only {chosen.Count} distinct leaderboards found in live play; need {count}");
            var t = At(offset);
            await SetSandboxClockAsync(control, t);
            var body = await fetch.GetByteArrayAsync(url);
            var status = JsonNode.Parse(body)!["status"]!.GetValue<string>();
            if (status == "inprogress" && (previous is null || !previous.AsSpan().SequenceEqual(body)) && (chosen.Count == 0 || t > chosen[^1]))
            {
                chosen.Add(t);
                previous = body;
                offset = Math.Max(offset + 1, step * (chosen.Count + 1));
            }
            else
            {
                nudges++;
                offset += Math.Min(60, step / 4);
            }
        }
        Console.WriteLine($"        {count} instants, one every {step / 60:F1} min of play ({nudges} nudged forward to get a new leaderboard), {Json(chosen[0])} .. {Json(chosen[^1])}");
        return chosen.ToArray();
    }

    static async Task SetSandboxClockAsync(HttpClient control, DateTimeOffset now) =>
        (await control.PutAsJsonAsync("/_control/clock", new { now = Json(now) })).EnsureSuccessStatusCode();

    static async Task<byte[]?> StoredBodyAsync(NpgsqlDataSource db, long? eventId)
    {
        if (eventId is null) return null;
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<byte[]?>(
            "SELECT p.body FROM ingestion_events e JOIN ingestion_payloads p ON p.payload_hash = e.payload_hash WHERE e.id = @eventId", new { eventId });
    }

    /// <summary>
    /// The baseline: the bare cost of storing that payload — one INSERT of the same body into the same
    /// table (new unique hash), in its own transaction, on a connection from the host's own pool.
    /// </summary>
    static async Task<double> BareInsertAsync(NpgsqlDataSource db, byte[] body, int index)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. body, .. Encoding.UTF8.GetBytes($"baseline{index}")]));
        var firstSeenAt = DateTimeOffset.UtcNow;
        var t0 = Stopwatch.GetTimestamp();
        await using (var c = await db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            await c.ExecuteAsync("INSERT INTO ingestion_payloads (payload_hash, body, first_seen_at) VALUES (@hash, @body, @firstSeenAt)", new { hash, body, firstSeenAt }, tx);
            await tx.CommitAsync();
        }
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    static void Report(BenchOptions options, Measured m, int roundMinutes, (long StandingsRows, long Live, long Active, string Pg) db)
    {
        var samples = m.Samples;
        var e2e = Summary.Of(samples.Select(s => s.EndToEndMs).ToList());
        var bare = Summary.Of(samples.Select(s => s.BaselineMs).Where(x => !double.IsNaN(x)).ToList());
        var fetch = Summary.Of(samples.Select(s => s.FetchMs).ToList());
        var standings = Summary.Of(samples.Select(s => s.StandingsMs).ToList());
        var sumE2e = samples.Sum(s => s.EndToEndMs);
        Console.WriteLine();
        Console.WriteLine($"== Fairway ingestion benchmark: {m.Workload.Contests} contest(s) ==");
        Console.WriteLine($"machine     : {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}; load average {LoadAverage()}");
        Console.WriteLine($"runtime     : {RuntimeInformation.FrameworkDescription}, server GC {System.Runtime.GCSettings.IsServerGC}; PostgreSQL {db.Pg}");
        Console.WriteLine($"workload    : {FieldSize} golfers, {RoundCount} rounds (cut after {CutAfterRound}, rounds of {roundMinutes} min), sandbox seed {SandboxSeed}; " +
                          $"{m.Workload.Contests} contests x {EntriesPerContest:N0} ACTIVE entries (roster {RosterSize}) = {m.Workload.Contests * EntriesPerContest:N0} entries");
        Console.WriteLine($"events      : {samples.Count} measured (+{options.Warmup} warm-up, not counted); outcomes: {string.Join(", ", m.Outcomes.Select(o => $"{o.Key} {o.Value}"))}");
        Console.WriteLine($"payload     : {samples.Min(s => s.BodyBytes):N0} .. {samples.Max(s => s.BodyBytes):N0} bytes (median {samples.Select(s => (double)s.BodyBytes).Order().ElementAt(samples.Count / 2):N0})");
        Console.WriteLine($"baseline    : bare INSERT of the same body into ingestion_payloads, own transaction, pooled connection, {(options.Baseline == BaselineMode.Interleaved ? "interleaved (right after each event)" : "after all events")}");
        Console.WriteLine();
        Console.WriteLine($"{"ms",-34} {"n",5} {"p50",10} {"p95",10} {"p99",10} {"max",10} {"mean",10}");
        void Row(string name, Summary s) =>
            Console.WriteLine($"{name,-34} {s.Count,5} {s.P50,10:F2} {s.P95,10:F2} {s.P99,10:F2} {s.Max,10:F2} {s.Mean,10:F2}");
        Row("end-to-end ingestion (PollAsync)", e2e);
        Row("baseline: bare payload insert", bare);
        Console.WriteLine();
        Console.WriteLine($"ratio p50/p50 : {e2e.P50 / bare.P50:F1}x");
        Console.WriteLine($"ratio p99/p99 : {e2e.P99 / bare.P99:F1}x");
        Console.WriteLine();
        Console.WriteLine("inside end-to-end (from IngestionMetrics histograms, summed per event):");
        Row("  provider fetch (HTTP)", fetch);
        Row($"  standings recompute, {m.Workload.Contests} contests", standings);
        Console.WriteLine($"  share of total time: fetch {100 * samples.Sum(s => s.FetchMs) / sumE2e:F1}%, standings {100 * samples.Sum(s => s.StandingsMs) / sumE2e:F1}%, " +
                          $"rest (hash, validation, store, lifecycle, connections) {100 * (sumE2e - samples.Sum(s => s.FetchMs) - samples.Sum(s => s.StandingsMs)) / sumE2e:F1}%; " +
                          $"standings recomputes per event {samples.Min(s => s.StandingsCount)}..{samples.Max(s => s.StandingsCount)}");
        Console.WriteLine($"checks      : contest_standings rows {db.StandingsRows}, LIVE contests {db.Live}, ACTIVE entries {db.Active:N0} (all workloads)");
        if (m.NotAccepted.Count > 0)
        {
            Console.WriteLine($"not accepted ({m.NotAccepted.Count}):");
            foreach (var n in m.NotAccepted) Console.WriteLine("  " + n);
        }
    }

    /// <summary>How the cost grows with the number of contests (10,000 entries each): per event and per contest.</summary>
    static void Sweep(List<Measured> results)
    {
        Console.WriteLine();
        Console.WriteLine("== contest-count sweep (10,000 entries per contest; a linear cost keeps ms per contest flat) ==");
        Console.WriteLine($"{"contests",9} {"entries",10} {"p50 ms",9} {"p99 ms",9} {"base p50",9} {"base p99",9} {"p50 ratio",10} {"p99 ratio",10} {"standings p50/contest",22}");
        foreach (var m in results.OrderBy(r => r.Workload.Contests))
        {
            var e2e = Summary.Of(m.Samples.Select(s => s.EndToEndMs).ToList());
            var bare = Summary.Of(m.Samples.Select(s => s.BaselineMs).Where(x => !double.IsNaN(x)).ToList());
            var standings = Summary.Of(m.Samples.Select(s => s.StandingsMs / Math.Max(1, s.StandingsCount)).ToList());
            Console.WriteLine($"{m.Workload.Contests,9} {m.Workload.Contests * EntriesPerContest,10:N0} {e2e.P50,9:F2} {e2e.P99,9:F2} {bare.P50,9:F2} {bare.P99,9:F2} {e2e.P50 / bare.P50,9:F1}x {e2e.P99 / bare.P99,9:F1}x {standings.P50,22:F2}");
        }
    }

    static string LoadAverage()
    {
        try { return string.Join('/', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    static void WriteCsv(string path, List<Measured> results)
    {
        var sb = new StringBuilder("contests,event,sandbox_time,body_bytes,end_to_end_ms,fetch_ms,standings_ms,standings_recomputes,baseline_insert_ms,outcome\n");
        foreach (var m in results)
            foreach (var s in m.Samples)
                sb.Append(CultureInfo.InvariantCulture, $"{m.Workload.Contests},{s.Index},{Json(s.SandboxTime)},{s.BodyBytes},{s.EndToEndMs:F3},{s.FetchMs:F3},{s.StandingsMs:F3},{s.StandingsCount},{s.BaselineMs:F3},{s.Outcome}\n");
        File.WriteAllText(path, sb.ToString());
        Console.WriteLine($"samples written to {path}");
    }

    static void Phase(string what) => Console.WriteLine($"[bench] {DateTime.UtcNow:HH:mm:ss} {what}");

    static string Json(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
