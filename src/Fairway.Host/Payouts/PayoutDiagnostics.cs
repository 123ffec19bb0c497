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
    public async Task<IReadOnlyList<PayoutTransferView>> TransfersAsync(string? status, int limit, long? beforeId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<PayoutTransferView>(new CommandDefinition(
            $"SELECT {PayoutSql.TransferColumns} FROM payout_transfers WHERE (@status::text IS NULL OR status = @status) AND (@beforeId::bigint IS NULL OR id < @beforeId) ORDER BY id DESC LIMIT @limit",
            new { status, beforeId, limit }, cancellationToken: ct))).ToList();
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
