using System.Text.Json;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Host.Contests;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Fairway.IntegrationTests.Contests;

/// <summary>The contest state machine over a real database, with the clock under the test's control.</summary>
public sealed class LifecycleServiceTests
{
    static readonly DateTimeOffset LockTime = new(2027, 4, 8, 12, 0, 0, TimeSpan.Zero);

    static async Task<(ContestServices S, FakeTimeProvider Clock)> SetupAsync()
    {
        var clock = new FakeTimeProvider(LockTime.AddDays(-7));
        return (new ContestServices(await TestDatabases.CreateMigratedAsync(), clock), clock);
    }

    [Fact]
    public async Task Lock_happens_at_lock_time_and_not_a_second_before()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime, minEntries: 2);
        await ContestSetup.InsertActiveEntriesAsync(s.DatabaseUrl, id, 2);

        clock.SetUtcNow(LockTime.AddSeconds(-1));
        Assert.Empty(await s.Lifecycle.LockDueContestsAsync());
        Assert.Equal("SCHEDULED", await s.StateAsync(id));
        Assert.Equal(0, await s.AuditCountAsync(id));

        clock.SetUtcNow(LockTime);
        var moved = Assert.Single(await s.Lifecycle.LockDueContestsAsync());
        Assert.Equal((ContestState.Scheduled, ContestState.Locked, TransitionOutcome.Moved), (moved.From, moved.To, moved.Outcome));
        Assert.Equal("LOCKED", await s.StateAsync(id));
        Assert.Equal(1, await s.AuditCountAsync(id));
    }

    [Fact]
    public async Task Under_filled_at_lock_is_cancelled_with_the_counts_as_evidence()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime, minEntries: 3);
        await ContestSetup.InsertActiveEntriesAsync(s.DatabaseUrl, id, 2);
        clock.SetUtcNow(LockTime.AddMinutes(1));
        var r = Assert.Single(await s.Lifecycle.LockDueContestsAsync());
        Assert.Equal(ContestState.Cancelled, r.To);
        await using var c = await s.Db.OpenConnectionAsync();
        var (actor, reason, evidence) = await c.QuerySingleAsync<(string, string, string)>(
            "SELECT actor, reason, evidence::text FROM audit_events WHERE entity_id = @id AND action = 'contest.transition'", new { id });
        Assert.Equal(ContestLifecycleService.SystemClockActor, actor);
        Assert.Contains("2 paid entries < min_entries 3", reason);
        var ev = JsonDocument.Parse(evidence).RootElement;
        Assert.Equal(2, ev.GetProperty("paid_entries").GetInt64());
        Assert.Equal(3, ev.GetProperty("min_entries").GetInt32());
    }

    [Fact]
    public async Task Replaying_a_transition_is_a_no_op_and_writes_nothing()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime);
        await ContestSetup.InsertActiveEntriesAsync(s.DatabaseUrl, id, 2);
        clock.SetUtcNow(LockTime);
        Assert.Equal(TransitionOutcome.Moved, (await s.Lifecycle.LockAsync(id, "test", "", force: false)).Outcome);
        Assert.Equal(TransitionOutcome.AlreadyThere, (await s.Lifecycle.LockAsync(id, "test", "", force: false)).Outcome);
        Assert.Equal(TransitionOutcome.Moved, (await s.Lifecycle.MarkLiveAsync(id, 1, "inprogress")).Outcome);
        Assert.Equal(TransitionOutcome.AlreadyThere, (await s.Lifecycle.MarkLiveAsync(id, 2, "inprogress")).Outcome);
        Assert.Equal(2, await s.AuditCountAsync(id));
    }

    [Fact]
    public async Task Concurrent_double_lock_produces_exactly_one_transition()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime);
        await ContestSetup.InsertActiveEntriesAsync(s.DatabaseUrl, id, 2);
        clock.SetUtcNow(LockTime);
        // Twelve at once: all twelve were blocked together behind the contest row before they raced.
        var (results, together) = await LockWaits.RaceAsync(s.DatabaseUrl, "SELECT 1 FROM contests WHERE id = @id FOR UPDATE", new { id }, 12,
            _ => s.Lifecycle.LockAsync(id, "test", "", force: false));
        Assert.True(together >= 12, $"{together} calls overlapped");
        Assert.Single(results, r => r.Outcome == TransitionOutcome.Moved);
        Assert.Equal(11, results.Count(r => r.Outcome == TransitionOutcome.AlreadyThere));
        Assert.Equal(1, await s.AuditCountAsync(id));
    }

    [Fact]
    public async Task Illegal_transitions_are_refused_with_a_code_and_write_nothing()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime);
        // SCHEDULED cannot go LIVE (play must be preceded by lock).
        var e = await Assert.ThrowsAsync<ContestTransitionException>(() => s.Lifecycle.MarkLiveAsync(id, 1, "inprogress"));
        Assert.Equal("CONTEST_TRANSITION_INVALID", e.Code);
        // Early lock without force is refused.
        var early = await Assert.ThrowsAsync<ContestTransitionException>(() => s.Lifecycle.LockAsync(id, "test", "", force: false));
        Assert.Equal("LOCK_TIME_NOT_REACHED", early.Code);
        Assert.Equal("SCHEDULED", await s.StateAsync(id));
        Assert.Equal(0, await s.AuditCountAsync(id));

        // From a terminal state nothing moves.
        await s.Lifecycle.CancelAsync(id, "test", "cancelled by test", new { });
        var fromTerminal = await Assert.ThrowsAsync<ContestTransitionException>(() => s.Lifecycle.MarkErrorAsync(id, "x", "test", new { }));
        Assert.Equal("CONTEST_TRANSITION_INVALID", fromTerminal.Code);
        Assert.Equal(1, await s.AuditCountAsync(id));
    }

    [Fact]
    public async Task Complete_demands_terminal_evidence_and_records_it()
    {
        var (s, clock) = await SetupAsync();
        await using var _ = s;
        var id = await s.CreateContestAsync(LockTime);
        await ContestSetup.InsertActiveEntriesAsync(s.DatabaseUrl, id, 2);
        clock.SetUtcNow(LockTime);
        await s.Lifecycle.LockAsync(id, "test", "", force: false);
        await s.Lifecycle.MarkLiveAsync(id, 10, "inprogress");

        var complete = LeaderboardParser.Parse("""{"id":"t","status":"complete","rounds":[{"number":1,"status":"closed"}],"leaderboard":[{"id":"a","rounds":[{"sequence":1,"strokes":70,"thru":18}]}]}""").Value;
        Assert.Null(TerminalEvidence.FromLeaderboard(11, new string('a', 64), complete, roundCount: 4));

        var closed = LeaderboardParser.Parse("""{"id":"t","status":"closed","rounds":[],"leaderboard":[]}""").Value;
        var evidence = TerminalEvidence.FromLeaderboard(12, new string('b', 64), closed, roundCount: 4)!;
        Assert.Equal(TransitionOutcome.Moved, (await s.Lifecycle.CompleteAsync(id, evidence)).Outcome);
        Assert.Equal("COMPLETE", await s.StateAsync(id));
        await using var c = await s.Db.OpenConnectionAsync();
        var ev = await c.QuerySingleAsync<string>("SELECT evidence::text FROM audit_events WHERE entity_id = @id AND after_state->>'state' = 'COMPLETE'", new { id });
        Assert.Equal(12, JsonDocument.Parse(ev).RootElement.GetProperty("ingestion_event_id").GetInt64());
    }
}
