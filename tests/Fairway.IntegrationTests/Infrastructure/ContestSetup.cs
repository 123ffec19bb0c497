using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>Valid contest configs and the Fairway services wired in-process over a real database.</summary>
public static class ContestSetup
{
    public const string IngestionBase = "http://127.0.0.1:9";

    public static JsonObject Config(string tournamentId, string contestId, string providerEventId, DateTimeOffset lockTime,
        int minEntries = 2, int rosterSize = 3, int fieldSize = 10, long entryFee = 1000, string ingestionBase = IngestionBase, int maxEntries = 1000) => new()
    {
        ["id"] = tournamentId,
        ["contest_id"] = contestId,
        ["provider_event_id"] = providerEventId,
        ["ingestion_endpoint"] = $"{ingestionBase}/tournaments/{providerEventId}/leaderboard.json",
        ["event_start_date"] = lockTime.UtcDateTime.ToString("yyyy-MM-dd"),
        ["event_end_date"] = lockTime.UtcDateTime.AddDays(3).ToString("yyyy-MM-dd"),
        ["round_count"] = 4,
        ["cut_after_round"] = 2,
        ["leaderboard_schema_version"] = 1,
        ["field_source"] = "static_import",
        ["field_size"] = fieldSize,
        ["alternates_count"] = 2,
        ["rules"] = new JsonObject
        {
            ["roster_size"] = rosterSize,
            ["entry_fee"] = entryFee,
            ["currency"] = "usd",
            ["min_entries"] = minEntries,
            ["max_entries"] = maxEntries,
            ["rake_bps"] = 1000,
            ["payout_table"] = new JsonArray(new JsonObject { ["place"] = 1, ["bps"] = 6000 }, new JsonObject { ["place"] = 2, ["bps"] = 4000 }),
            ["lock_time"] = lockTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
            ["unplayed_round_strokes"] = 80,
            ["settlement_hold_seconds"] = 3600,
        },
    };

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>Creates a tournament and a contest through the admin API of a running host.</summary>
    public static async Task<(string TournamentId, string ContestId, string ProviderEventId)> CreateViaApiAsync(HttpClient admin, DateTimeOffset lockTime, int minEntries = 2,
        int maxEntries = 1000, string ingestionBase = IngestionBase)
    {
        var (t, c, pe) = (NewId("t"), NewId("c"), "sr:tournament:" + Guid.NewGuid().ToString("N")[..8]);
        (await admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "The Test Open" })).EnsureSuccessStatusCode();
        var r = await admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Main event", config = Config(t, c, pe, lockTime, minEntries, maxEntries: maxEntries, ingestionBase: ingestionBase) });
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(await r.Content.ReadAsStringAsync());
        return (t, c, pe);
    }

    /// <summary>A SCHEDULED contest created through the admin API (fee 1000 usd, roster 3) with its field g01..g12 selected: players can enter it.</summary>
    public static async Task<string> CreateOpenForEntriesAsync(HttpClient admin, DateTimeOffset lockTime, int minEntries = 2, int maxEntries = 1000,
        string ingestionBase = IngestionBase)
    {
        var (_, contest, _) = await CreateViaApiAsync(admin, lockTime, minEntries, maxEntries, ingestionBase);
        var field = new { participants = Enumerable.Range(1, 12).Select(i => new { id = $"g{i:00}", name = $"Golfer {i}", world_rank = i }).ToArray() };
        (await admin.PutAsJsonAsync($"/api/admin/contests/{contest}/field", field)).EnsureSuccessStatusCode();
        return contest;
    }

    /// <summary>
    /// Paid entries for lifecycle tests, written as the payments capability will write them
    /// (status ACTIVE only after a SUCCEEDED payment). Replaced by real paid entries once payments exist.
    /// </summary>
    public static Task InsertActiveEntriesAsync(string databaseUrl, string contestId, int count) =>
        TestDatabases.ExecAsync(databaseUrl, string.Join('\n', Enumerable.Range(0, count).Select(i =>
            $"INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at) VALUES ('{contestId}-e{i}', '{contestId}', 'user-{i}', '[]', 'ACTIVE', '2026-01-01Z', '2026-01-01Z');")));

    public static FairwaySettings Settings(string databaseUrl) => new()
    {
        Role = HostRole.All,
        DatabaseConnectionString = TestDatabases.ConnectionString(databaseUrl),
        ListenUrl = "http://127.0.0.1:0",
        Production = false,
        TestClockEnabled = false,
        ShutdownTimeout = TimeSpan.FromSeconds(5),
        LogLevel = Serilog.Events.LogEventLevel.Warning,
        WorkerCount = 1,
        JwtIssuer = TestAuth.Issuer,
        JwtAudience = TestAuth.Audience,
        JwtSigningKey = Convert.FromBase64String(TestAuth.SigningKeyBase64),
        OidcAuthority = null,
        StripeApiKey = "sk_test",
        StripeApiBase = new Uri("http://127.0.0.1:9"),
        StripeWebhookSecret = "whsec_test",
        IngestionEndpoint = new Uri(IngestionBase),
        IngestionApiKey = "k",
    };
}

/// <summary>The contest services of Fairway, in-process, over a real database and a given clock.</summary>
public sealed class ContestServices : IAsyncDisposable
{
    public NpgsqlDataSource Db { get; }
    public ContestRepository Contests { get; } = new();
    public TournamentRepository Tournaments { get; } = new();
    public ContestLifecycleService Lifecycle { get; }
    public ContestConfigService Configs { get; }
    public string DatabaseUrl { get; }

    public ContestServices(string databaseUrl, TimeProvider clock)
    {
        DatabaseUrl = databaseUrl;
        Db = NpgsqlDataSource.Create(TestDatabases.ConnectionString(databaseUrl));
        var audit = new AuditWriter(clock);
        Lifecycle = new ContestLifecycleService(Db, Contests, audit, clock, NullLogger<ContestLifecycleService>.Instance);
        Configs = new ContestConfigService(Db, Contests, Tournaments, new ContestConfigValidation(ContestSetup.Settings(databaseUrl)), audit, clock);
    }

    public async Task<string> CreateContestAsync(DateTimeOffset lockTime, int minEntries = 2)
    {
        var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:" + Guid.NewGuid().ToString("N")[..8]);
        await using (var conn = await Db.OpenConnectionAsync())
        await using (var tx = await conn.BeginTransactionAsync())
        {
            await Tournaments.TryInsertAsync(tx, new Tournament(t, pe, "Test Open", lockTime));
            await tx.CommitAsync();
        }
        var config = JsonSerializer.SerializeToElement(ContestSetup.Config(t, c, pe, lockTime, minEntries));
        var r = await Configs.CreateContestAsync(c, t, "Main", config, "test", CancellationToken.None);
        if (r.Code is not null) throw new InvalidOperationException($"{r.Code}: {string.Join("; ", r.Errors.Select(e => e.Field + " " + e.Code))}");
        return c;
    }

    public async Task<string> StateAsync(string contestId)
    {
        await using var c = await Db.OpenConnectionAsync();
        return (await Contests.GetAsync(c, contestId))!.State;
    }

    public async Task<long> AuditCountAsync(string contestId, string action = "contest.transition")
    {
        await using var c = await Db.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM audit_events WHERE entity_type = 'contest' AND entity_id = @id AND action = @action", c);
        cmd.Parameters.AddWithValue("id", contestId);
        cmd.Parameters.AddWithValue("action", action);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public ValueTask DisposeAsync() => Db.DisposeAsync();
}
