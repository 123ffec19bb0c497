using Fairway.Host.Platform.Http;
using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Operations.KillSwitch;

public sealed record KillSwitchState(bool Engaged, DateTimeOffset ChangedAt, string ChangedBy, string Reason);

/// <summary>The outcome of a set: the state now, and whether this call changed it (false: it already had that value; nothing was written).</summary>
public sealed record KillSwitchChange(KillSwitchState State, bool Changed);

/// <summary>A money mutation was refused because the kill-switch is engaged (HTTP 409 KILL_SWITCH_ACTIVE).</summary>
public sealed class KillSwitchEngagedException(KillSwitchState state)
    : Exception($"kill-switch engaged since {state.ChangedAt:O} by {state.ChangedBy}: {state.Reason}")
{
    public static readonly ProblemCode Code = ProblemCodes.KillSwitchActive;
    public KillSwitchState State { get; } = state;
}

/// <summary>
/// The one switch that stops every money mutation (new ledger entries, refunds, settlement postings,
/// payouts). Every money path calls <see cref="EnsureDisengagedAsync"/> inside its own transaction,
/// before writing: the row is read <c>FOR SHARE</c>, so engaging the switch (<c>FOR UPDATE</c>) waits for
/// money transactions already past the check to finish, and no money transaction that checks after the
/// switch is engaged can commit. Every change is audited in the same transaction.
/// </summary>
public sealed class KillSwitch(NpgsqlDataSource db, AuditWriter audit, TimeProvider clock, ILogger<KillSwitch> log)
{
    /// <summary>Crash point between the switch's update (with its audit row) and the commit.</summary>
    public const string CrashAfterUpdateBeforeCommit = "killswitch.after_update_before_commit";

    static readonly Gauge EngagedGauge = Metrics.CreateGauge("kill_switch_engaged",
        "1 when the kill-switch is engaged (every money mutation refused), 0 when not; as last read or changed by this process.",
        new GaugeConfiguration { SuppressInitialValue = true });

    const string Select = "SELECT engaged, changed_at, changed_by, reason FROM kill_switch WHERE id = 1";

    public async Task<KillSwitchState> ReadAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return Observe(await ReadRowAsync(c, null, "", ct));
    }

    /// <summary>Throws <see cref="KillSwitchEngagedException"/> when engaged. Call it in the money mutation's own transaction, before writing.</summary>
    public async Task EnsureDisengagedAsync(NpgsqlTransaction tx, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var state = Observe(await ReadRowAsync(tx.Connection!, tx, " FOR SHARE", ct));
        if (state.Engaged) throw new KillSwitchEngagedException(state);
    }

    /// <summary>Sets the switch in its own transaction (audited). Setting the current value again writes nothing.</summary>
    public async Task<KillSwitchChange> SetAsync(bool engaged, string actor, string reason, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var change = await SetAsync(tx, engaged, actor, reason, ct);
        if (change.Changed) CrashPoints.Hit(CrashAfterUpdateBeforeCommit);
        await tx.CommitAsync(ct);
        Observe(change.State);
        if (change.Changed)
            log.LogWarning("Kill-switch {Transition} by {Actor}: {Reason}", engaged ? "ENGAGED" : "disengaged", actor, reason);
        return change;
    }

    /// <summary>Sets the switch inside the caller's transaction, with its audit row in the same transaction.</summary>
    public async Task<KillSwitchChange> SetAsync(NpgsqlTransaction tx, bool engaged, string actor, string reason, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var before = await ReadRowAsync(tx.Connection!, tx, " FOR UPDATE", ct);
        if (before.Engaged == engaged) return new KillSwitchChange(before, false);
        var at = clock.GetUtcNow();
        await tx.Connection!.ExecuteAsync(new CommandDefinition(
            "UPDATE kill_switch SET engaged = @engaged, changed_at = @at, changed_by = @actor, reason = @reason WHERE id = 1",
            new { engaged, at, actor, reason }, tx, cancellationToken: ct));
        var after = new KillSwitchState(engaged, at, actor, reason);
        await audit.WriteAsync(tx, new AuditEntry(actor, engaged ? "kill_switch.engaged" : "kill_switch.disengaged", "kill_switch", "1", reason,
            Before: new { before.Engaged, before.ChangedAt, before.ChangedBy, before.Reason },
            After: new { after.Engaged, after.ChangedAt, after.ChangedBy, after.Reason }), ct);
        return new KillSwitchChange(after, true);
    }

    static async Task<KillSwitchState> ReadRowAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string locking, CancellationToken ct)
    {
        var row = await c.QuerySingleOrDefaultAsync<(bool Engaged, DateTime ChangedAt, string ChangedBy, string Reason)?>(
            new CommandDefinition(Select + locking, transaction: tx, cancellationToken: ct));
        // The migration inserts the row and a trigger refuses its deletion; a missing row means a broken schema: fail closed.
        if (row is not { } r) throw new InvalidOperationException("kill_switch row is missing: refusing money mutations");
        return new KillSwitchState(r.Engaged, new DateTimeOffset(DateTime.SpecifyKind(r.ChangedAt, DateTimeKind.Utc)), r.ChangedBy, r.Reason);
    }

    static KillSwitchState Observe(KillSwitchState s)
    {
        EngagedGauge.Set(s.Engaged ? 1 : 0);
        return s;
    }
}
