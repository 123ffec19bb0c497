using Dapper;
using Fairway.Host.Platform.Configuration;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Payouts;

public sealed record PayoutStatusCount(string Status, long Count, long Amount);

public sealed record PayoutStatusReport(
    IReadOnlyList<PayoutStatusCount> Transfers,
    IReadOnlyList<PayoutStatusCount> Jobs,
    long StuckCount,
    long StuckThresholdSeconds,
    IReadOnlyList<PayoutTransferView> Stuck,
    IReadOnlyList<PayoutJobView> HeldJobs,
    PayoutSchedulerRunView? LastRun,
    IReadOnlyList<PayoutSchedulerRunView> RecentRuns,
    bool KillSwitchEngaged);

/// <summary>One transfer the next payout run would attempt, and what it would do: send it to Stripe, or fail it (no usable account).</summary>
public sealed record PayoutDryRunTransfer(long TransferId, string ContestId, string UserId, long Amount, string Currency, int Attempt,
    string? Destination, string WouldDo, DateTimeOffset NextAttemptAt);

/// <summary>The next payout run, computed without moving money: nothing while the kill-switch is engaged.</summary>
public sealed record PayoutDryRun(DateTimeOffset At, bool KillSwitchEngaged, int BatchSize, long DueCount,
    IReadOnlyList<PayoutDryRunTransfer> Transfers, IReadOnlyList<PayoutCurrencyTotal> StripeTransfersByCurrency);

public sealed record PayoutCurrencyTotal(string Currency, long Count, long Amount);

public sealed record PayoutContestReport(PayoutJobView Job, IReadOnlyList<PayoutTransferView> Transfers);

public sealed record PayoutTransferReport(PayoutTransferView Transfer, IReadOnlyList<PayoutAttemptView> Attempts);

/// <summary>Read-only views for ops: summary by status, stuck transfers, held jobs, scheduler runs.</summary>
public sealed class PayoutDiagnostics(NpgsqlDataSource db, FairwaySettings settings, TimeProvider clock)
{
    const string StuckWhere = """
        t.status NOT IN ('completed', 'failed_terminal') AND t.created_at < @cutoff
        AND EXISTS (SELECT 1 FROM payout_jobs j WHERE j.id = t.payout_job_id AND j.status <> 'held')
        """;

    public async Task<PayoutStatusReport> StatusAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var cutoff = clock.GetUtcNow() - settings.PayoutStuckThreshold;
        var transfers = (await c.QueryAsync<PayoutStatusCount>(new CommandDefinition(
            "SELECT status AS Status, count(*) AS Count, coalesce(sum(amount), 0)::bigint AS Amount FROM payout_transfers GROUP BY status ORDER BY status", cancellationToken: ct))).ToList();
        var jobs = (await c.QueryAsync<PayoutStatusCount>(new CommandDefinition(
            "SELECT status AS Status, count(*) AS Count, coalesce(sum(total_amount), 0)::bigint AS Amount FROM payout_jobs GROUP BY status ORDER BY status", cancellationToken: ct))).ToList();
        var stuckCount = await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM payout_transfers t WHERE {StuckWhere}", new { cutoff }, cancellationToken: ct));
        var stuck = (await c.QueryAsync<PayoutTransferView>(new CommandDefinition(
            $"SELECT {PayoutSql.TransferColumns} FROM payout_transfers t WHERE {StuckWhere} ORDER BY t.created_at, t.id LIMIT 100", new { cutoff }, cancellationToken: ct))).ToList();
        var held = (await c.QueryAsync<PayoutJobView>(new CommandDefinition(
            $"SELECT {PayoutSql.JobColumns} FROM payout_jobs WHERE status = 'held' ORDER BY id LIMIT 100", cancellationToken: ct))).ToList();
        var runs = (await c.QueryAsync<PayoutSchedulerRunView>(new CommandDefinition(
            $"SELECT {PayoutSql.RunColumns} FROM payout_scheduler_runs ORDER BY id DESC LIMIT 10", cancellationToken: ct))).ToList();
        var ks = await c.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT engaged FROM kill_switch WHERE id = 1", cancellationToken: ct));
        return new PayoutStatusReport(transfers, jobs, stuckCount, (long)settings.PayoutStuckThreshold.TotalSeconds, stuck, held, runs.FirstOrDefault(), runs, ks);
    }

    /// <summary>
    /// The transfers the next payout run would attempt, in its order and within its batch bound, and what each would do
    /// (the run's own selection, <see cref="PayoutSql.DueTransfers"/>). Read-only: nothing is claimed and Stripe is not called.
    /// </summary>
    public async Task<PayoutDryRun> DryRunAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        await using var c = await db.OpenConnectionAsync(ct);
        var engaged = await c.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT engaged FROM kill_switch WHERE id = 1", cancellationToken: ct));
        var due = await c.ExecuteScalarAsync<long>(new CommandDefinition($"""
            SELECT count(*) FROM payout_transfers t JOIN payout_jobs j ON j.id = t.payout_job_id WHERE {PayoutSql.DueTransfers}
            """, new { now }, cancellationToken: ct));
        var rows = engaged ? [] : (await c.QueryAsync<(long Id, string ContestId, string UserId, long Amount, string Currency, int AttemptCount, DateTime NextAttemptAt, string? Account, bool? PayoutsEnabled, bool SentBefore)>(
            new CommandDefinition($"""
                SELECT t.id, t.contest_id, t.user_id, t.amount, trim(t.currency), t.attempt_count, t.next_attempt_at, a.stripe_account_id, a.payouts_enabled,
                       EXISTS (SELECT 1 FROM payout_transfer_sends s WHERE s.transfer_id = t.id)
                  FROM payout_transfers t JOIN payout_jobs j ON j.id = t.payout_job_id
                  LEFT JOIN user_stripe_accounts a ON a.user_id = t.user_id
                 WHERE {PayoutSql.DueTransfers}
                 ORDER BY {PayoutSql.DueOrder}
                 LIMIT @limit
                """, new { now, limit = settings.PayoutBatchSize }, cancellationToken: ct))).ToList();
        var transfers = rows.Select(r => new PayoutDryRunTransfer(r.Id, r.ContestId, r.UserId, r.Amount, r.Currency, r.AttemptCount + 1, r.Account,
            r.PayoutsEnabled != true ? "fail_no_payout_account"
                : r.SentBefore ? "look_up_then_transfer" : "stripe_transfer",   // a marked earlier send is looked up at Stripe first
            new DateTimeOffset(DateTime.SpecifyKind(r.NextAttemptAt, DateTimeKind.Utc)))).ToList();
        var totals = transfers.Where(t => t.WouldDo != "fail_no_payout_account").GroupBy(t => t.Currency).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new PayoutCurrencyTotal(g.Key, g.Count(), g.Sum(t => t.Amount))).ToList();
        return new PayoutDryRun(now, engaged, settings.PayoutBatchSize, due, transfers, totals);
    }

    public async Task<PayoutContestReport?> ContestAsync(string contestId, int limit, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var job = await c.QuerySingleOrDefaultAsync<PayoutJobView>(new CommandDefinition(
            $"SELECT {PayoutSql.JobColumns} FROM payout_jobs WHERE contest_id = @contestId", new { contestId }, cancellationToken: ct));
        if (job is null) return null;
        var transfers = (await c.QueryAsync<PayoutTransferView>(new CommandDefinition(
            $"SELECT {PayoutSql.TransferColumns} FROM payout_transfers WHERE payout_job_id = @id ORDER BY id LIMIT @limit", new { id = job.Id, limit }, cancellationToken: ct))).ToList();
        return new PayoutContestReport(job, transfers);
    }

    public async Task<PayoutTransferReport?> TransferAsync(long transferId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var t = await c.QuerySingleOrDefaultAsync<PayoutTransferView>(new CommandDefinition(
            $"SELECT {PayoutSql.TransferColumns} FROM payout_transfers WHERE id = @transferId", new { transferId }, cancellationToken: ct));
        if (t is null) return null;
        var attempts = (await c.QueryAsync<PayoutAttemptView>(new CommandDefinition(
            $"SELECT {PayoutSql.AttemptColumns} FROM payout_transfer_attempts WHERE transfer_id = @transferId ORDER BY attempt", new { transferId }, cancellationToken: ct))).ToList();
        return new PayoutTransferReport(t, attempts);
    }

    /// <summary>Transfers of one status (or all), newest first, paged backwards by id.</summary>
    /// <param name="needsOps">Leave out failed transfers waiting for the winner's own Stripe account (<see cref="PayoutFailureReasons.WinnerAccount"/>),
    /// as payout_transfers_failed_terminal does.</param>
    public async Task<IReadOnlyList<PayoutTransferView>> TransfersAsync(string? status, int limit, long? beforeId, bool needsOps = false, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<PayoutTransferView>(new CommandDefinition(
            $"""
            SELECT {PayoutSql.TransferColumns} FROM payout_transfers
            WHERE (@status::text IS NULL OR status = @status) AND (@beforeId::bigint IS NULL OR id < @beforeId)
              AND NOT (@needsOps AND status = 'failed_terminal' AND failure_reason = ANY(@winnerAccount))
            ORDER BY id DESC LIMIT @limit
            """,
            new { status, beforeId, needsOps, winnerAccount = PayoutFailureReasons.WinnerAccount, limit }, cancellationToken: ct))).ToList();
    }

    /// <summary>For payout_transfers_stuck at scrape time.</summary>
    public async Task<long> StuckCountAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM payout_transfers t WHERE {StuckWhere}",
            new { cutoff = clock.GetUtcNow() - settings.PayoutStuckThreshold }, cancellationToken: ct));
    }
}

/// <summary>Payout metrics (seed 001 / issue 6).</summary>
public static class PayoutMetrics
{
    public static readonly Counter Transfers = Metrics.CreateCounter("payout_transfers_total",
        "Payout transfer attempts executed by this process, by outcome (completed, retryable, failed_terminal, internal_error).", "outcome");

    public static readonly Gauge Stuck = Metrics.CreateGauge("payout_transfers_stuck",
        "Payout transfers not terminal longer than PAYOUT_STUCK_THRESHOLD_SECONDS after creation, outside held jobs (computed at scrape time).");
}

/// <summary>Computes payout_transfers_stuck at scrape time.</summary>
public sealed class PayoutStuckCollector(PayoutDiagnostics diagnostics, ILogger<PayoutStuckCollector> log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Platform.Telemetry.ScrapeTimeMetrics.Register(log, "payout_transfers_stuck", async ct => PayoutMetrics.Stuck.Set(await diagnostics.StuckCountAsync(ct)));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
