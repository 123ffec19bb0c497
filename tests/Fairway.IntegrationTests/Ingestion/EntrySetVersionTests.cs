using System.Security.Cryptography;
using System.Text;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fairway.IntegrationTests.Ingestion;

/// <summary>
/// The entry-set version the database keeps per contest (triggers on entries) and the in-memory entry sets and standings
/// built on it: a cached set is used exactly while its version is current, so a change to the ACTIVE entries is never missed
/// and live standings equal the engine's projection of the entries as they are in the database.
/// </summary>
public sealed class EntrySetVersionTests
{
    const string Golfers = """["g01", "g02", "g03"]""";

    static Task<long> VersionAsync(string url, string contest) =>
        Scalar<long>(url, "SELECT coalesce((SELECT version FROM contest_entry_sets WHERE contest_id = @contest), 0)", new { contest });

    static async Task<T> Scalar<T>(string url, string sql, object? args = null)
    {
        await using var c = await TestDatabases.OpenAsync(url);
        return await c.ExecuteScalarAsync<T>(sql, args);
    }

    static async Task Exec(string url, string sql, object? args = null)
    {
        await using var c = await TestDatabases.OpenAsync(url);
        await c.ExecuteAsync(sql, args);
    }

    static Task InsertEntryAsync(string url, string contest, string id, string status, string golfers = Golfers) => Exec(url, """
        INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency)
        VALUES (@id, @contest, 'user-' || @id, @golfers::jsonb, @status, '2026-01-01Z', '2026-01-01Z', 1000, 'usd')
        """, new { id, contest, golfers, status });

    [Fact]
    public async Task Every_change_to_the_ACTIVE_entries_and_nothing_else_moves_the_version()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await using var s = new ContestServices(url, TimeProvider.System);
        var contest = await s.CreateContestAsync(DateTimeOffset.UtcNow.AddDays(7));
        Assert.Equal(0, await VersionAsync(url, contest));

        await InsertEntryAsync(url, contest, $"{contest}-p", "PENDING_PAYMENT");
        Assert.Equal(0, await VersionAsync(url, contest)); // not in the ACTIVE set

        var steps = new (string What, string Sql, bool Moves)[]
        {
            ("an ACTIVE entry inserted", $"INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency) VALUES ('{contest}-a', '{contest}', 'u-a', '{Golfers}', 'ACTIVE', now(), now(), 1000, 'usd')", true),
            ("a pending entry paid (ACTIVE)", $"UPDATE entries SET status = 'ACTIVE' WHERE id = '{contest}-p'", true),
            ("an ACTIVE entry touched without a change to the set", $"UPDATE entries SET updated_at = now() WHERE id = '{contest}-a'", false),
            ("an ACTIVE entry's roster", $"UPDATE entries SET golfers = '[\"g01\", \"g02\", \"g04\"]' WHERE id = '{contest}-a'", true),
            ("an ACTIVE entry's fee", $"UPDATE entries SET entry_fee = 1001 WHERE id = '{contest}-a'", true),
            ("an ACTIVE entry voided", $"UPDATE entries SET status = 'VOID' WHERE id = '{contest}-a'", true),
            ("a void entry refunded (outside the set both times)", $"UPDATE entries SET status = 'REFUNDED' WHERE id = '{contest}-a'", false),
            ("a bulk insert of ACTIVE entries (one statement)", $"INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency) SELECT '{contest}-b' || i, '{contest}', 'u-b' || i, '{Golfers}', 'ACTIVE', now(), now(), 1000, 'usd' FROM generate_series(1, 50) i", true),
        };
        foreach (var (what, sql, moves) in steps)
        {
            var before = await VersionAsync(url, contest);
            await Exec(url, sql);
            var after = await VersionAsync(url, contest);
            Assert.True(moves ? after > before : after == before, $"{what}: version {before} -> {after}");
        }
        // A rolled-back change leaves the version as it was.
        var committed = await VersionAsync(url, contest);
        await using (var c = await TestDatabases.OpenAsync(url))
        await using (var tx = await c.BeginTransactionAsync())
        {
            await c.ExecuteAsync($"UPDATE entries SET status = 'VOID' WHERE id = '{contest}-p'", transaction: tx);
            await tx.RollbackAsync();
        }
        Assert.Equal(committed, await VersionAsync(url, contest));
    }

    [Fact]
    public async Task Cached_entry_sets_and_live_standings_follow_the_database_and_equal_the_engine_on_fresh_entries()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await using var s = new ContestServices(url, TimeProvider.System);
        var contest = await s.CreateContestAsync(DateTimeOffset.UtcNow.AddDays(7));
        var rosters = new[] { """["g01", "g02", "g03"]""", """["g04", "g05", "g06"]""", """["g01", "g05", "g09"]""", """["g07", "g08", "g02"]""" };
        for (var i = 0; i < 12; i++) await InsertEntryAsync(url, contest, $"{contest}-e{i:D2}", "ACTIVE", rosters[i % rosters.Length]);
        var (eventId, hash, leaderboard) = await StoreLeaderboardAsync(url, contest);

        var cache = new EntrySetCache();
        var standings = new StandingsService(s.Db, s.Contests, cache, new IngestionEventStore(), TimeProvider.System, NullLogger<StandingsService>.Instance);
        await standings.RecomputeAsync(contest, eventId, hash, leaderboard, CancellationToken.None);
        await AssertStandingsAreTheEnginesAsync(url, s, standings, contest, leaderboard, expectedEntries: 12);
        var firstSetHash = await Scalar<string>(url, "SELECT entry_set_hash FROM contest_standings WHERE contest_id = @contest", new { contest });
        Assert.True(cache.Holds(contest, await VersionAsync(url, contest)));

        // The same event again changes nothing (no new scoring audit)...
        await standings.RecomputeAsync(contest, eventId, hash, leaderboard, CancellationToken.None);
        Assert.Equal(1, await Scalar<long>(url, "SELECT count(*) FROM scoring_audits WHERE contest_id = @contest AND purpose = 'standings'", new { contest }));

        // ...until the entries change: one more ACTIVE entry, one voided. The cached set is stale by version and not used.
        await InsertEntryAsync(url, contest, $"{contest}-e99", "ACTIVE", """["g09", "g08", "g07"]""");
        await Exec(url, "UPDATE entries SET status = 'VOID' WHERE id = @id", new { id = $"{contest}-e00" });
        Assert.False(cache.Holds(contest, await VersionAsync(url, contest)));
        // Before the next recompute the page already ranks the current entries, with the hash of what it shows.
        var early = await standings.PageAsync(contest, 0, 500, CancellationToken.None);
        Assert.Equal(12, early!.TotalEntries);
        Assert.Contains(early.Entries, e => e.EntryId == $"{contest}-e99");

        await standings.RecomputeAsync(contest, eventId, hash, leaderboard, CancellationToken.None);
        Assert.NotEqual(firstSetHash, await Scalar<string>(url, "SELECT entry_set_hash FROM contest_standings WHERE contest_id = @contest", new { contest }));
        Assert.Equal(2, await Scalar<long>(url, "SELECT count(*) FROM scoring_audits WHERE contest_id = @contest AND purpose = 'standings'", new { contest }));
        var page = await AssertStandingsAreTheEnginesAsync(url, s, standings, contest, leaderboard, expectedEntries: 12);
        Assert.Equal(early.OutputHash, page.OutputHash);
        Assert.DoesNotContain(page.Entries, e => e.EntryId == $"{contest}-e00");

        // A second process (another cache) reads the same standings.
        var other = new StandingsService(s.Db, s.Contests, new EntrySetCache(), new IngestionEventStore(), TimeProvider.System, NullLogger<StandingsService>.Instance);
        Assert.Equal(page, await other.PageAsync(contest, 0, 500, CancellationToken.None), new StandingsViewComparer());
    }

    /// <summary>The page equals the engine's list-form projection over the entries read fresh, and carries the recorded output hash.</summary>
    static async Task<StandingsView> AssertStandingsAreTheEnginesAsync(string url, ContestServices s, StandingsService standings, string contest, Leaderboard leaderboard, int expectedEntries)
    {
        await using var c = await TestDatabases.OpenAsync(url);
        var entries = (await c.QueryAsync<(string Id, string UserId, string Golfers)>(
                "SELECT id, user_id, golfers::text FROM entries WHERE contest_id = @contest AND status = 'ACTIVE'", new { contest }))
            .Select(e => new SettlementEntry(e.Id, e.UserId, System.Text.Json.JsonSerializer.Deserialize<List<string>>(e.Golfers)!)).ToList();
        Assert.Equal(expectedEntries, entries.Count);
        var config = await s.Contests.ActiveConfigAsync(c, contest);
        var expected = SettlementCalculator.Project(SettlementRules.FromConfig(config.Config), leaderboard, entries).Value;
        var document = SettlementResultDocument.Build(expected);
        var page = (await standings.PageAsync(contest, 0, 500, CancellationToken.None))!;
        Assert.Equal(expected.Entries.Select(e => (e.Id, e.UserId, e.Rank, e.Score, e.Prize)), page.Entries.Select(e => (e.EntryId, e.UserId, e.Rank, e.Score, e.ProjectedPrize)));
        Assert.Equal((expected.Gross, expected.Rake, expected.Net, expected.Entries.Count), (page.Gross, page.Rake, page.Net, page.TotalEntries));
        Assert.Equal(document.OutputHash, page.OutputHash);
        Assert.Equal(document.OutputHash, await c.ExecuteScalarAsync<string>("SELECT output_hash FROM contest_standings WHERE contest_id = @contest", new { contest }));
        Assert.Equal(EntrySet.From(entries).Hash, await c.ExecuteScalarAsync<string>("SELECT entry_set_hash FROM contest_standings WHERE contest_id = @contest", new { contest }));
        // Paging slices the same ranking.
        var second = (await standings.PageAsync(contest, 5, 3, CancellationToken.None))!;
        Assert.Equal(page.Entries.Skip(5).Take(3), second.Entries);
        return page;
    }

    sealed class StandingsViewComparer : IEqualityComparer<StandingsView>
    {
        public bool Equals(StandingsView? a, StandingsView? b) => a is not null && b is not null
            && (a.ContestId, a.AsOfEventId, a.ConfigVersion, a.OutputHash, a.Gross, a.Rake, a.Net, a.TotalEntries, a.Offset) == (b.ContestId, b.AsOfEventId, b.ConfigVersion, b.OutputHash, b.Gross, b.Rake, b.Net, b.TotalEntries, b.Offset)
            && a.Entries.SequenceEqual(b.Entries);
        public int GetHashCode(StandingsView v) => v.OutputHash.GetHashCode();
    }

    /// <summary>A stored, accepted leaderboard event of the contest's tournament: round 1 complete for some golfers, one CUT.</summary>
    static async Task<(long EventId, string Hash, Leaderboard Leaderboard)> StoreLeaderboardAsync(string url, string contest)
    {
        var players = string.Join(",", Enumerable.Range(1, 10).Select(i =>
            $$"""{"id":"g{{i:D2}}",{{(i == 7 ? "\"status\":\"CUT\"," : "")}}"rounds":[{"sequence":1,"strokes":{{66 + i % 5}},"thru":{{(i % 3 == 0 ? 12 : 18)}}}]}"""));
        var body = $$"""{"id":"evt","status":"inprogress","leaderboard":[{{players}}]}""";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        await using var c = await TestDatabases.OpenAsync(url);
        var tournament = await c.ExecuteScalarAsync<string>("SELECT tournament_id FROM contests WHERE id = @contest", new { contest });
        await c.ExecuteAsync("INSERT INTO ingestion_payloads (payload_hash, body, first_seen_at) VALUES (@hash, @body, now())", new { hash, body = Encoding.UTF8.GetBytes(body) });
        var eventId = await c.ExecuteScalarAsync<long>("""
            INSERT INTO ingestion_events (tournament_id, fetched_at, http_status, payload_hash, schema_version, outcome, errors, anomalies, provider_status, duration_ms)
            VALUES (@tournament, now(), 200, @hash, 1, 'accepted', '[]', '[]', 'inprogress', 1) RETURNING id
            """, new { tournament, hash });
        return (eventId, hash, LeaderboardParser.Parse(body).Value);
    }
}
