using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Host;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Ingestion;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Settlement;
using Fairway.Migrations;
using Fairway.ProviderSandbox;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

namespace Fairway.Benchmarks;

/// <summary>
/// The settlement benchmark of the issue: settlement of one contest with 100,000 and with 1,000,000
/// entries (roster 6, field 90) through the real <see cref="SettlementService.SettleAsync"/> (what
/// <see cref="SettlementJob"/> calls), wall time split into load / compute / persist as the service records
/// them on the settlement row; against a baseline measured in the same run: a bare binary COPY of the same
/// result rows into settlement_results.
/// </summary>
public static class SettlementBenchmark
{
    const int FieldSize = 90;
    const int RoundCount = 4;
    const int CutAfterRound = 2;
    const int SandboxSeed = 42;
    const int RosterSize = 6;
    const long EntryFee = 1000;
    const int RakeBps = 1000;
    const int HoldSeconds = 3600;
    const ulong RosterSeed = 0xFA1_2026;
    const string ApiKey = "bench-provider-key";
    const string SandboxTournamentId = "bench-settle-42";
    const string TournamentId = "bench-settle";
    const string Actor = "bench:settlement";
    static readonly DateTimeOffset Start = new(2026, 4, 9, 12, 0, 0, TimeSpan.Zero);

    sealed record Target(string Label, int Entries, string ContestId, string BaselineContestId, bool Warmup);

    sealed record Measured(Target Target)
    {
        public string? Failure { get; set; }
        public SettlementView? Row { get; set; }
        public double TotalMs { get; set; }
        public long AllocatedBytes { get; set; }
        public int Gen2Collections { get; set; }
        public long PeakWorkingSetAfter { get; set; }
        public long WorkingSetBefore { get; set; }
        public bool PeakReset { get; set; }
        public Diagnostics? Split { get; set; }
        public long ResultRows { get; set; }
        public bool EntrySetCached { get; set; }
        public long EscrowAfter { get; set; }
        public NpgsqlCommandTimes.Snapshot Sql { get; set; } = NpgsqlCommandTimes.Snapshot.Empty;
        public double BaselineTotalMs { get; set; } = double.NaN;
        public double BaselineCopyMs { get; set; } = double.NaN;
        public double BaselineCommitMs { get; set; } = double.NaN;
        public long BaselineRows { get; set; }
        public string? BaselineFailure { get; set; }
    }

    public static async Task<int> RunAsync(SettlementOptions options, string connectionString)
    {
        var wall = Stopwatch.StartNew();
        Phase("migrate");
        SchemaMigrator.MigrateUp(connectionString);
        await using (var check = new NpgsqlConnection(connectionString))
        {
            await check.OpenAsync();
            if (await check.ExecuteScalarAsync<long>("SELECT count(*) FROM tournaments") != 0)
                throw new InvalidOperationException("DATABASE_URL must point at a fresh database (tournaments is not empty)");
        }

        Phase($"provider sandbox (in-process, loopback HTTP): {FieldSize} golfers, {RoundCount} rounds, seed {SandboxSeed}");
        await using var sandbox = ProviderSandboxApp.Build(["--urls", "http://127.0.0.1:0", "--api-key", ApiKey,
            "--start-time", Json(Start.AddDays(-1)), "--log-requests", "false"]);
        await sandbox.StartAsync();
        var sandboxBase = ProviderSandboxApp.BoundAddress(sandbox).ToString().TrimEnd('/');
        using var control = new HttpClient { BaseAddress = new Uri(sandboxBase) };
        var created = await control.PostAsJsonAsync("/_control/tournaments", new
        {
            id = SandboxTournamentId, seed = SandboxSeed, name = "Fairway Settlement Bench Open", field_size = FieldSize, round_count = RoundCount,
            cut_after_round = CutAfterRound, start = Json(Start), round_duration_minutes = 300, round_gap_minutes = 1140, official_delay_minutes = 60,
        });
        var truthText = await created.Content.ReadAsStringAsync();
        if (!created.IsSuccessStatusCode) throw new InvalidOperationException($"sandbox refused the tournament: {(int)created.StatusCode} {truthText}");
        var truth = JsonNode.Parse(truthText)!;
        var golfers = truth["players"]!.AsArray().Select(p => (string)p!["id"]!).ToArray();
        if (golfers.Length != FieldSize) throw new InvalidOperationException($"sandbox generated {golfers.Length} golfers, expected {FieldSize}");
        var closedAt = DateTimeOffset.Parse((string)truth["schedule"]!["closed_at"]!, CultureInfo.InvariantCulture);
        await SetSandboxClockAsync(control, Start.AddMinutes(-1));

        var ingestionBase = sandboxBase + "/golf/trial/v3/en";
        Phase("Fairway host (worker role, test clock on, built, not started)");
        await using var app = FairwayHost.Build(Settings(connectionString, ingestionBase));
        var services = app.Services;
        var db = services.GetRequiredService<NpgsqlDataSource>();

        var targets = new List<Target>();
        if (options.WarmupEntries > 0)
            targets.Add(new Target("warm-up", options.WarmupEntries, "bench-settle-warmup", "bench-baseline-warmup", Warmup: true));
        foreach (var n in options.Sizes)
            targets.Add(new Target(n.ToString("N0", CultureInfo.InvariantCulture), n, $"bench-settle-{n}", $"bench-baseline-{n}", Warmup: false));

        Phase($"tournament and {targets.Count} contests through ContestConfigService (roster {RosterSize}, field {FieldSize}, {options.PaidPlaces} paid places)");
        await CreateTournamentAsync(services, db);
        foreach (var t in targets) await CreateContestAsync(services, t.ContestId, t.Entries, options.PaidPlaces, ingestionBase);

        Phase($"ACTIVE entries by COPY: {string.Join(" + ", targets.Select(t => t.Entries.ToString("N0", CultureInfo.InvariantCulture)))} (roster {RosterSize} of {FieldSize}, seeded)");
        var copyTime = Stopwatch.StartNew();
        foreach (var t in targets) await LoadEntriesAsync(db, t, golfers);
        Console.WriteLine($"        loaded in {copyTime.Elapsed.TotalSeconds:F1} s");

        Phase("kill-switch off; escrows funded (one aggregated clearing -> escrow entry per contest); contests locked (forced)");
        var killSwitch = services.GetRequiredService<KillSwitch>();
        await killSwitch.SetAsync(false, Actor, "benchmark set-up: fresh deployments start engaged");
        var ledger = services.GetRequiredService<LedgerRepository>();
        var clock = services.GetRequiredService<TimeProvider>();
        foreach (var t in targets) await FundEscrowAsync(db, ledger, killSwitch, clock, t);
        var lifecycle = services.GetRequiredService<ContestLifecycleService>();
        foreach (var t in targets)
        {
            var r = await lifecycle.LockAsync(t.ContestId, Actor, "benchmark set-up", force: true);
            if (r.To != ContestState.Locked) throw new InvalidOperationException($"contest {t.ContestId} went to {r.To} on lock, expected LOCKED");
        }
        await VacuumAnalyzeAsync(db);

        Phase($"tournament played to closed (sandbox clock {Json(closedAt.AddMinutes(1))}); one IngestionService.PollAsync: LOCKED -> LIVE -> standings -> COMPLETE");
        await SetSandboxClockAsync(control, closedAt.AddMinutes(1));
        var pollWatch = Stopwatch.StartNew();
        PollResult poll;
        await using (var scope = services.CreateAsyncScope())
            poll = await scope.ServiceProvider.GetRequiredService<IngestionService>().PollAsync(TournamentId);
        Console.WriteLine($"        poll: {poll.Outcome} (event {poll.EventId}, provider status {poll.ProviderStatus}) in {pollWatch.Elapsed.TotalSeconds:F1} s");
        if (poll.Outcome != "accepted" || poll.ProviderStatus != "closed" || poll.EventId is not { } eventId)
            throw new InvalidOperationException($"the closed leaderboard was not accepted: {poll.Outcome} {string.Join("; ", poll.Errors.Select(e => $"{e.Path} {e.Code} {e.Message}"))} {string.Join("; ", poll.Anomalies.Select(a => a.Code))}");
        foreach (var t in targets) await EnsureCompleteAsync(db, lifecycle, t, eventId);

        Phase($"test clock moved past the settlement hold ({HoldSeconds} s); escrow == gross checked");
        await MoveTestClockAsync(db, services.GetRequiredService<AuditWriter>(), TimeSpan.FromSeconds(HoldSeconds + 1));
        var settlement = services.GetRequiredService<SettlementService>();
        foreach (var t in targets)
        {
            if (await settlement.CheckDueAsync(t.ContestId) is { } refused) throw new InvalidOperationException($"contest {t.ContestId} is not due: {refused.Code} {refused.Message}");
            var escrow = await ledger.BalanceAsync(LedgerAccountRef.Escrow(t.ContestId).Id);
            if (escrow != t.Entries * EntryFee) throw new InvalidOperationException($"escrow of {t.ContestId} is {escrow}, expected {t.Entries * EntryFee}");
        }
        Phase("baseline contests (own the baseline's settlement rows; never settled); VACUUM ANALYZE");
        foreach (var t in targets) await CreateContestAsync(services, t.BaselineContestId, t.Entries, options.PaidPlaces, ingestionBase);
        await VacuumAnalyzeAsync(db);
        var setupPeak = PeakWorkingSet();
        Console.WriteLine($"        set-up done in {wall.Elapsed.TotalSeconds:F0} s; process peak working set so far {setupPeak / 1048576.0:F0} MiB");

        var results = new List<Measured>();
        using var sql = new NpgsqlCommandTimes();
        foreach (var t in targets)
        {
            var m = new Measured(t);
            results.Add(m);
            Phase($"{(t.Warmup ? "warm-up (not reported as a figure)" : "timed")}: settle {t.ContestId} ({t.Entries:N0} entries) with SettlementService.SettleAsync");
            await using (var c = await db.OpenConnectionAsync())
                m.EntrySetCached = services.GetRequiredService<EntrySetCache>().Holds(t.ContestId, await EntrySetCache.VersionAsync(c, t.ContestId, null, CancellationToken.None));
            await CheckpointAsync(db);
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            var (alloc0, gen2) = (GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(2));
            m.WorkingSetBefore = WorkingSet();
            m.PeakReset = ResetPeakWorkingSet();
            sql.Reset();
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                var r = await settlement.SettleAsync(t.ContestId, Actor);
                m.TotalMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (r.Outcome != SettleOutcome.Settled) m.Failure = $"outcome {r.Outcome}, expected Settled";
            }
            catch (Exception e)
            {
                m.TotalMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                m.Failure = $"{e.GetType().Name}: {e.Message}" + (e is SettlementFailedException f ? $" (code {f.Code})" : "") + (e.InnerException is { } inner ? $" <- {inner.GetType().Name}: {inner.Message}" : "");
            }
            m.Sql = sql.Take();
            m.AllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
            m.Gen2Collections = GC.CollectionCount(2) - gen2;
            m.PeakWorkingSetAfter = PeakWorkingSet();
            await using (var c = await db.OpenConnectionAsync())
            {
                m.Row = await new SettlementRepository().ByContestAsync(c, t.ContestId);
                if (m.Row is not null)
                    m.ResultRows = await c.ExecuteScalarAsync<long>("SELECT count(*) FROM settlement_results WHERE settlement_id = @id", new { id = m.Row.Id });
                m.EscrowAfter = await c.ExecuteScalarAsync<long?>("SELECT balance FROM ledger_accounts WHERE id = @id", new { id = LedgerAccountRef.Escrow(t.ContestId).Id }) ?? -1;
            }
            if (m.Failure is null && (m.Row is null || m.Row.EntryCount != t.Entries || m.ResultRows != t.Entries || m.EscrowAfter != 0))
                m.Failure = $"settled but inconsistent: settlement row {(m.Row is null ? "missing" : $"entry_count {m.Row.EntryCount}")}, {m.ResultRows} result rows, escrow {m.EscrowAfter}";
            Console.WriteLine(m.Failure is null
                ? $"        settled in {m.TotalMs:F0} ms (load {m.Row!.LoadMs}, compute {m.Row.ComputeMs}, persist {m.Row.PersistMs} ms; {m.Row.Winners} winners); allocated {m.AllocatedBytes / 1048576.0:F0} MiB"
                : $"        SETTLEMENT DID NOT COMPLETE after {m.TotalMs:F0} ms: {m.Failure}");
            if (m.Row is null) continue;

            // Baseline: the same result rows (read back, untimed) copied into the same table under a settlement row
            // of the baseline contest, inserted directly for it.
            try
            {
                var rows = await ReadResultsAsync(db, m.Row.Id, t.Entries);
                var baselineId = await InsertBaselineSettlementAsync(db, m.Row.Id, t.BaselineContestId);
                await CheckpointAsync(db);
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                (m.BaselineTotalMs, m.BaselineCopyMs, m.BaselineCommitMs) = await BaselineCopyAsync(db, baselineId, rows);
                await using var c = await db.OpenConnectionAsync();
                m.BaselineRows = await c.ExecuteScalarAsync<long>("SELECT count(*) FROM settlement_results WHERE settlement_id = @baselineId", new { baselineId });
                if (m.BaselineRows != t.Entries) m.BaselineFailure = $"baseline wrote {m.BaselineRows} rows, expected {t.Entries}";
                Console.WriteLine($"        baseline COPY of {rows.Count:N0} rows: {m.BaselineTotalMs:F0} ms (COPY {m.BaselineCopyMs:F0}, commit {m.BaselineCommitMs:F0})");
            }
            catch (Exception e)
            {
                m.BaselineFailure = $"{e.GetType().Name}: {e.Message}";
                Console.WriteLine($"        BASELINE FAILED: {m.BaselineFailure}");
            }
            if (!t.Warmup && m.Failure is null)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                m.Split = await DiagnoseAsync(db, services.GetRequiredService<ContestRepository>(), t.ContestId, m.Row.LeaderboardHash);
                Console.WriteLine($"        diagnostic split (pieces re-run standalone): {m.Split}");
            }
        }

        string pg;
        await using (var c = await db.OpenConnectionAsync()) pg = (await c.ExecuteScalarAsync<string>("SHOW server_version"))!;
        Report(options, results, setupPeak, pg, wall.Elapsed);
        await sandbox.StopAsync();

        var failed = results.Where(m => m.Failure is not null || m.BaselineFailure is not null).ToList();
        if (failed.Count > 0)
        {
            Console.WriteLine($"INVALID RUN: {string.Join("; ", failed.Select(m => $"{m.Target.Label}: {m.Failure ?? m.BaselineFailure}"))}");
            return 1;
        }
        Console.WriteLine("VALID RUN");
        return 0;
    }

    static FairwaySettings Settings(string connectionString, string ingestionBase) => new()
    {
        Role = HostRole.Worker,
        DatabaseConnectionString = connectionString,
        ListenUrl = "http://127.0.0.1:0",
        Production = false,
        // The settlement hold is checked against the host's TimeProvider: with the test clock (a row in the
        // database, moved only when set) the hold is passed by moving the clock, without real waiting.
        TestClockEnabled = true,
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

    static async Task CreateTournamentAsync(IServiceProvider services, NpgsqlDataSource db)
    {
        var tournaments = services.GetRequiredService<TournamentRepository>();
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        if (!await tournaments.TryInsertAsync(tx, new Tournament(TournamentId, SandboxTournamentId, "Fairway Settlement Bench Open", DateTimeOffset.UtcNow)))
            throw new InvalidOperationException($"tournament {TournamentId} exists already");
        await tx.CommitAsync();
    }

    /// <summary>A payout table of <paramref name="places"/> places, bps ∝ 1/place (at least 1 each), the remainder to place 1.</summary>
    static int[] PayoutBps(int places)
    {
        var harmonic = Enumerable.Range(1, places).Sum(p => 1.0 / p);
        var bps = Enumerable.Range(1, places).Select(p => Math.Max(1, (int)Math.Floor(10_000 / (harmonic * p)))).ToArray();
        bps[0] += 10_000 - bps.Sum();
        if (bps[0] < 1) throw new InvalidOperationException($"no payout table of {places} places");
        return bps;
    }

    static async Task CreateContestAsync(IServiceProvider services, string contestId, int maxEntries, int paidPlaces, string ingestionBase)
    {
        var configs = services.GetRequiredService<ContestConfigService>();
        var payout = new JsonArray();
        var bps = PayoutBps(paidPlaces);
        for (var p = 0; p < bps.Length; p++) payout.Add(new JsonObject { ["place"] = p + 1, ["bps"] = bps[p] });
        var config = new JsonObject
        {
            ["id"] = TournamentId,
            ["contest_id"] = contestId,
            ["provider_event_id"] = SandboxTournamentId,
            ["ingestion_endpoint"] = $"{ingestionBase}/tournaments/{SandboxTournamentId}/leaderboard.json",
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
                ["entry_fee"] = EntryFee,
                ["currency"] = "usd",
                // Hosts cancel a contest with fewer entries than paid places; min_entries = paid places.
                ["min_entries"] = paidPlaces,
                ["max_entries"] = maxEntries,
                ["rake_bps"] = RakeBps,
                ["payout_table"] = payout,
                ["lock_time"] = Json(Start.AddHours(-1)),
                ["unplayed_round_strokes"] = 80,
                ["settlement_hold_seconds"] = HoldSeconds,
            },
        };
        var r = await configs.CreateContestAsync(contestId, TournamentId, $"Settlement bench {contestId}", JsonSerializer.SerializeToElement(config), Actor, CancellationToken.None);
        if (r.Code is not null)
            throw new InvalidOperationException($"contest {contestId}: {r.Code} {r.Message}: {string.Join("; ", r.Errors.Select(e => $"{e.Field} {e.Code} {e.Message}"))}");
    }

    /// <summary>Entries as a SUCCEEDED payment leaves them (ACTIVE, entry_fee, currency), bulk-loaded with binary COPY.</summary>
    static async Task LoadEntriesAsync(NpgsqlDataSource db, Target t, string[] golfers)
    {
        var rng = new SplitMix64(RosterSeed + (ulong)t.Entries);
        var scratch = new int[golfers.Length];
        var roster = new string[RosterSize];
        var at = new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero);
        await using var c = await db.OpenConnectionAsync();
        using var import = await c.BeginBinaryImportAsync(
            "COPY entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency) FROM STDIN (FORMAT BINARY)");
        for (var i = 0; i < t.Entries; i++)
        {
            var picked = rng.Distinct(golfers.Length, RosterSize, scratch);
            for (var k = 0; k < RosterSize; k++) roster[k] = golfers[picked[k]];
            import.StartRow();
            import.Write($"{t.ContestId}-e{i:D7}", NpgsqlDbType.Text);
            import.Write(t.ContestId, NpgsqlDbType.Text);
            import.Write($"bench-user-{i:D7}", NpgsqlDbType.Text);
            import.Write(JsonSerializer.Serialize(roster), NpgsqlDbType.Jsonb);
            import.Write("ACTIVE", NpgsqlDbType.Text);
            import.Write(at, NpgsqlDbType.TimestampTz);
            import.Write(at, NpgsqlDbType.TimestampTz);
            import.Write(EntryFee, NpgsqlDbType.Bigint);
            import.Write("usd", NpgsqlDbType.Char);
        }
        await import.CompleteAsync();
    }

    /// <summary>
    /// The escrow funded to exactly gross with the movement a SUCCEEDED payment posts (clearing:usd → escrow,
    /// kind entry_fee.captured, cause payment), aggregated into ONE journal entry per contest instead of one
    /// per entry (a million single postings would take longer than the benchmark itself); the settlement
    /// reads only the escrow balance. Same transaction shape as a money path: kill-switch check, then post.
    /// </summary>
    static async Task FundEscrowAsync(NpgsqlDataSource db, LedgerRepository ledger, KillSwitch killSwitch, TimeProvider clock, Target t)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await killSwitch.EnsureDisengagedAsync(tx);
        var cause = $"bench_aggregate_{t.ContestId}";
        await ledger.PostAsync(tx, JournalEntry.Movement($"payment:{cause}:succeeded", "entry_fee.captured", "usd", clock.GetUtcNow(), "payment", cause,
            LedgerAccountRef.Clearing("usd"), LedgerAccountRef.Escrow(t.ContestId), t.Entries * EntryFee, $"benchmark: {t.Entries} entry fees of {EntryFee}, aggregated"));
        await tx.CommitAsync();
    }

    /// <summary>
    /// The poll must have moved the contest to COMPLETE. If applying the event to it failed (IngestionService logs
    /// and leaves it for the next poll), the transition is made as the tests do: CompleteAsync with TerminalEvidence
    /// from the same stored accepted event — and the run says so.
    /// </summary>
    static async Task EnsureCompleteAsync(NpgsqlDataSource db, ContestLifecycleService lifecycle, Target t, long eventId)
    {
        string state;
        await using (var c = await db.OpenConnectionAsync())
            state = (await c.ExecuteScalarAsync<string>("SELECT state FROM contests WHERE id = @id", new { id = t.ContestId }))!;
        if (state == "COMPLETE") return;
        Console.WriteLine($"        NOTE: {t.ContestId} is {state} after the poll (applying the event failed, see the log above); completing it from event {eventId} directly");
        string hash; byte[] body;
        await using (var c = await db.OpenConnectionAsync())
        {
            hash = (await c.ExecuteScalarAsync<string>("SELECT payload_hash FROM ingestion_events WHERE id = @eventId", new { eventId }))!;
            body = (await c.ExecuteScalarAsync<byte[]>("SELECT body FROM ingestion_payloads WHERE payload_hash = @hash", new { hash }))!;
        }
        var lb = LeaderboardParser.Parse(System.Text.Encoding.UTF8.GetString(body)).Value;
        if (state == "LOCKED") await lifecycle.MarkLiveAsync(t.ContestId, eventId, lb.Status.ToString().ToLowerInvariant());
        var evidence = TerminalEvidence.FromLeaderboard(eventId, hash, lb, RoundCount) ?? throw new InvalidOperationException($"event {eventId} is not final");
        var r = await lifecycle.CompleteAsync(t.ContestId, evidence, Actor);
        if (r.To != ContestState.Complete) throw new InvalidOperationException($"contest {t.ContestId} went to {r.To}, expected COMPLETE");
    }

    /// <summary>Moves the host's test clock forward as PUT /api/admin/test-clock does (row update + audit row, one transaction).</summary>
    static async Task MoveTestClockAsync(NpgsqlDataSource db, AuditWriter audit, TimeSpan by)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var before = new DateTimeOffset(DateTime.SpecifyKind(await c.ExecuteScalarAsync<DateTime>("SELECT now_utc FROM test_clock WHERE id = 1 FOR UPDATE", transaction: tx), DateTimeKind.Utc));
        var after = before + by;
        await c.ExecuteAsync("UPDATE test_clock SET now_utc = @after WHERE id = 1", new { after }, tx);
        await audit.WriteAsync(tx, new AuditEntry(Actor, "test_clock.moved", "test_clock", "1", "benchmark: past the settlement hold", new { now = before }, new { now = after }));
        await tx.CommitAsync();
    }

    sealed record ResultRow(string EntryId, string UserId, string Golfers, int Rank, long Score, long Prize);

    static async Task<List<ResultRow>> ReadResultsAsync(NpgsqlDataSource db, long settlementId, int expected)
    {
        var rows = new List<ResultRow>(expected);
        await using var c = await db.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("""
            SELECT entry_id, user_id, golfers::text, rank, score, prize FROM settlement_results WHERE settlement_id = @id ORDER BY rank, entry_id COLLATE "C"
            """, c) { CommandTimeout = 600 };
        cmd.Parameters.AddWithValue("id", settlementId);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add(new ResultRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetInt64(5)));
        return rows;
    }

    /// <summary>The baseline's own settlement row (settlement_results.settlement_id references settlements): a copy of the real row's
    /// values under the baseline contest, inserted directly, committed before the timed COPY.</summary>
    static async Task<long> InsertBaselineSettlementAsync(NpgsqlDataSource db, long realId, string baselineContestId)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<long>("""
            INSERT INTO settlements (contest_id, config_version, config_hash, leaderboard_event_id, leaderboard_hash, complete_event_id, entry_set_hash,
                entry_count, output_hash, gross, rake, net, currency, winners, started_at, committed_at, load_ms, compute_ms, persist_ms, settled_by, correlation_id)
            SELECT @baselineContestId, config_version, config_hash, leaderboard_event_id, leaderboard_hash, complete_event_id, entry_set_hash,
                entry_count, output_hash, gross, rake, net, currency, winners, started_at, committed_at, 0, 0, 0, 'bench:baseline', NULL
              FROM settlements WHERE id = @realId
            RETURNING id
            """, new { baselineContestId, realId });
    }

    /// <summary>
    /// The baseline: the same rows, COPY'd into settlement_results exactly as the service writes them (binary COPY, the
    /// same columns, types and Npgsql calls, pooled connection of the host's data source, own transaction), timed from
    /// opening the connection to commit (which runs the deferred FK checks, as the settlement's commit does).
    /// </summary>
    static async Task<(double Total, double Copy, double Commit)> BaselineCopyAsync(NpgsqlDataSource db, long settlementId, List<ResultRow> rows)
    {
        var t0 = Stopwatch.GetTimestamp();
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var tCopy = Stopwatch.GetTimestamp();
        await using (var writer = await c.BeginBinaryImportAsync(
            "COPY settlement_results (settlement_id, entry_id, user_id, golfers, rank, score, prize) FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var e in rows)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(settlementId, NpgsqlDbType.Bigint);
                await writer.WriteAsync(e.EntryId, NpgsqlDbType.Text);
                await writer.WriteAsync(e.UserId, NpgsqlDbType.Text);
                await writer.WriteAsync(e.Golfers, NpgsqlDbType.Jsonb);
                await writer.WriteAsync(e.Rank, NpgsqlDbType.Integer);
                await writer.WriteAsync(e.Score, NpgsqlDbType.Bigint);
                await writer.WriteAsync(e.Prize, NpgsqlDbType.Bigint);
            }
            await writer.CompleteAsync();
        }
        var copyMs = Stopwatch.GetElapsedTime(tCopy).TotalMilliseconds;
        var tCommit = Stopwatch.GetTimestamp();
        await tx.CommitAsync();
        var commitMs = Stopwatch.GetElapsedTime(tCommit).TotalMilliseconds;
        return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, copyMs, commitMs);
    }

    static async Task VacuumAnalyzeAsync(NpgsqlDataSource db)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("VACUUM ANALYZE", commandTimeout: 1800);
    }

    /// <summary>Before each timed part: dirty buffers written out, so neither side pays for the other's writes.</summary>
    static async Task CheckpointAsync(NpgsqlDataSource db)
    {
        await using var c = await db.OpenConnectionAsync();
        // Not through Dapper: it would take a one-word command for a stored procedure.
        await using var cmd = new NpgsqlCommand("CHECKPOINT", c) { CommandTimeout = 600 };
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Where the time of load and compute goes: the same public pieces the service calls, re-run once standalone
    /// after the timed run (outside its transaction; same data). Not part of any figure above; an aid to reading them.
    /// </summary>
    public sealed record Diagnostics(double EntriesReadMs, double EngineSettleMs, double OutputHashMs)
    {
        public override string ToString() =>
            $"EntrySetReader.ActiveAsync (a cold read: query + entry-set hash) {EntriesReadMs:F0} ms, SettlementCalculator.Settle(EntrySet) {EngineSettleMs:F0} ms, SettlementResultDocument.OutputHash {OutputHashMs:F0} ms";
    }

    static async Task<Diagnostics> DiagnoseAsync(NpgsqlDataSource db, ContestRepository contests, string contestId, string leaderboardHash)
    {
        await using var c = await db.OpenConnectionAsync();
        var config = await contests.ActiveConfigAsync(c, contestId);
        var body = (await c.ExecuteScalarAsync<byte[]>("SELECT body FROM ingestion_payloads WHERE payload_hash = @leaderboardHash", new { leaderboardHash }))!;
        var leaderboard = LeaderboardParser.Parse(System.Text.Encoding.UTF8.GetString(body)).Value;
        var t0 = Stopwatch.GetTimestamp();
        var (_, entries, _) = await EntrySetReader.ActiveAsync(c, contestId, null, CancellationToken.None);
        var readMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        t0 = Stopwatch.GetTimestamp();
        var settled = Fairway.Engine.Settlement.SettlementCalculator.Settle(Fairway.Engine.Settlement.SettlementRules.FromConfig(config.Config), leaderboard, entries);
        var settleMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        t0 = Stopwatch.GetTimestamp();
        _ = Fairway.Engine.Settlement.SettlementResultDocument.OutputHash(settled.Value);
        var hashMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return new Diagnostics(readMs, settleMs, hashMs);
    }

    static long WorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        return p.WorkingSet64;
    }

    /// <summary>Linux: writing 5 to /proc/self/clear_refs resets the peak RSS (VmHWM) to the current RSS, so the peak after a run is that run's.</summary>
    static bool ResetPeakWorkingSet()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { return false; }
    }

    static long PeakWorkingSet()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.PeakWorkingSet64;
    }

    static void Report(SettlementOptions options, List<Measured> results, long setupPeak, string pg, TimeSpan wall)
    {
        Console.WriteLine();
        Console.WriteLine("== Fairway settlement benchmark ==");
        Console.WriteLine($"machine     : {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, " +
                          $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:F1} GiB available to the GC");
        Console.WriteLine($"runtime     : {RuntimeInformation.FrameworkDescription}, server GC {System.Runtime.GCSettings.IsServerGC}; PostgreSQL {pg}");
        Console.WriteLine($"workload    : field {FieldSize} (sandbox seed {SandboxSeed}, {RoundCount} rounds, cut after {CutAfterRound}, played to closed), roster {RosterSize}, " +
                          $"entry fee {EntryFee}, rake {RakeBps} bps, {options.PaidPlaces} paid places (bps ~ 1/place); one contest per size, every entry a distinct user");
        Console.WriteLine("timed       : SettlementService.SettleAsync (the job's call), one run per contest; load/compute/persist = the ms the service records on the settlement row;");
        Console.WriteLine("              rest = total - load - compute - persist (settlements + settlement_runs + audit rows, commit with the deferred FK checks of the result rows)");
        Console.WriteLine("baseline    : binary COPY of the same result rows into settlement_results (own settlement row, same columns and Npgsql calls), open connection -> commit");
        Console.WriteLine();
        var measured = results.Where(m => !m.Target.Warmup).ToList();
        foreach (var m in results.Where(m => m.Target.Warmup))
            Console.WriteLine($"warm-up {m.Target.Entries:N0} entries (not a figure): settle {m.TotalMs:F0} ms, baseline {m.BaselineTotalMs:F0} ms{(m.Failure is null ? "" : " FAILED: " + m.Failure)}");
        Console.WriteLine();
        Console.WriteLine($"{"ms",-34} {string.Join(" ", measured.Select(m => $"{m.Target.Entries,14:N0}"))}");
        void Row(string name, Func<Measured, string> cell) => Console.WriteLine($"{name,-34} {string.Join(" ", measured.Select(m => $"{cell(m),14}"))}");
        string Ms(double v) => double.IsNaN(v) ? "-" : v.ToString("F0", CultureInfo.InvariantCulture);
        string Ok(Measured m, Func<SettlementView, double> f) => m.Failure is null && m.Row is { } r ? Ms(f(r)) : "-";
        Row("settlement total (SettleAsync)", m => m.Failure is null ? Ms(m.TotalMs) : "FAILED");
        Row("  load (row load_ms)", m => Ok(m, r => r.LoadMs));
        Row("  compute (row compute_ms)", m => Ok(m, r => r.ComputeMs));
        Row("  persist (row persist_ms)", m => Ok(m, r => r.PersistMs));
        Row("  rest (rows, audit, commit)", m => Ok(m, r => m.TotalMs - r.LoadMs - r.ComputeMs - r.PersistMs));
        Row("baseline: COPY + commit", m => Ms(m.BaselineTotalMs));
        Row("  of which COPY", m => Ms(m.BaselineCopyMs));
        Row("  of which commit", m => Ms(m.BaselineCommitMs));
        Row("ratio total / baseline", m => m.Failure is null && !double.IsNaN(m.BaselineTotalMs) ? $"{m.TotalMs / m.BaselineTotalMs:F1}x" : "-");
        Row("ratio persist / baseline", m => m.Failure is null && m.Row is { } r && !double.IsNaN(m.BaselineTotalMs) ? $"{r.PersistMs / m.BaselineTotalMs:F2}x" : "-");
        Row("ratio (persist + rest) / baseline", m => m.Failure is null && m.Row is { } r && !double.IsNaN(m.BaselineTotalMs) ? $"{(m.TotalMs - r.LoadMs - r.ComputeMs) / m.BaselineTotalMs:F2}x" : "-");
        Console.WriteLine();
        Row("entry set from the standings cache", m => m.EntrySetCached ? "yes" : "no (read)");
        Row("winners (ledger postings + rake)", m => m.Row?.Winners.ToString("N0", CultureInfo.InvariantCulture) ?? "-");
        Row("SQL: entries SELECT (in load)", m => Ms(m.Sql.Ms("entries")));
        Row("SQL: ledger posts (in persist)", m => m.Sql.Count("ledger") == 0 ? "-" : $"{m.Sql.Count("ledger")} / {m.Sql.Ms("ledger"):F0}");
        Row("SQL: COPY results (in persist)", m => m.Sql.Count("copy") == 0 ? "n/a" : Ms(m.Sql.Ms("copy")));
        Row("SQL: all traced commands", m => $"{m.Sql.TotalCount} / {m.Sql.TotalMs:F0}");
        Row("allocated in SettleAsync (MiB)", m => (m.AllocatedBytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture));
        Row("gen2 GCs during SettleAsync", m => m.Gen2Collections.ToString(CultureInfo.InvariantCulture));
        Row("working set before (MiB)", m => (m.WorkingSetBefore / 1048576.0).ToString("F0", CultureInfo.InvariantCulture));
        Row(results.All(m => m.PeakReset) ? "peak working set in run (MiB)" : "process peak working set (MiB)", m => (m.PeakWorkingSetAfter / 1048576.0).ToString("F0", CultureInfo.InvariantCulture));
        Console.WriteLine();
        Console.WriteLine("diagnostic split, the service's public pieces re-run standalone once after the timed run (ms; not part of the figures above):");
        Row("  load, cold: read + entry-set hash", m => m.Split is { } d ? Ms(d.EntriesReadMs) : "-");
        Row("  compute: engine Settle(EntrySet)", m => m.Split is { } d ? Ms(d.EngineSettleMs) : "-");
        Row("  persist: output hash (overlaps COPY)", m => m.Split is { } d ? Ms(d.OutputHashMs) : "-");
        Console.WriteLine();
        Console.WriteLine("size sweep: how the cost grows (a linear cost keeps µs per entry flat; growth = time ratio / size ratio vs the previous size):");
        Row("  settlement µs per entry", m => m.Failure is null ? (m.TotalMs * 1000 / m.Target.Entries).ToString("F2", CultureInfo.InvariantCulture) : "-");
        Row("  baseline µs per entry", m => double.IsNaN(m.BaselineTotalMs) ? "-" : (m.BaselineTotalMs * 1000 / m.Target.Entries).ToString("F2", CultureInfo.InvariantCulture));
        Row("  settlement growth", m => Growth(measured, m, x => x.TotalMs));
        Row("  baseline growth", m => Growth(measured, m, x => x.BaselineTotalMs));
        Row("  peak working set MiB per 100k", m => (m.PeakWorkingSetAfter / 1048576.0 / (m.Target.Entries / 100_000.0)).ToString("F0", CultureInfo.InvariantCulture));
        Console.WriteLine($"(working set in MiB; {(results.All(m => m.PeakReset) ? "the peak is reset (/proc/self/clear_refs) right before each SettleAsync, so it is that run's peak" : "the peak is process-wide and monotonic")}; " +
                          $"{setupPeak / 1048576.0:F0} MiB peak during set-up, which includes the standings recompute of every contest by the poll; " +
                          "\"SQL\" rows are Npgsql command activities: count / summed ms)");
        Console.WriteLine($"whole run {wall.TotalSeconds:F0} s");
        foreach (var m in results.Where(m => m.Failure is not null || m.BaselineFailure is not null))
            Console.WriteLine($"FAILED {m.Target.Label}: {m.Failure ?? m.BaselineFailure}");
    }

    static string Growth(List<Measured> measured, Measured m, Func<Measured, double> time)
    {
        var i = measured.IndexOf(m);
        if (i <= 0 || m.Failure is not null || measured[i - 1].Failure is not null) return "-";
        var previous = measured[i - 1];
        var sizeRatio = (double)m.Target.Entries / previous.Target.Entries;
        return $"{time(m) / time(previous) / sizeRatio:F2}";
    }

    static async Task SetSandboxClockAsync(HttpClient control, DateTimeOffset now) =>
        (await control.PutAsJsonAsync("/_control/clock", new { now = Json(now) })).EnsureSuccessStatusCode();

    static void Phase(string what) => Console.WriteLine($"[bench] {DateTime.UtcNow:HH:mm:ss} {what}");

    static string Json(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
