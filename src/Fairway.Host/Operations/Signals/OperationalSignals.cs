using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Configuration;
using Npgsql;
using Prometheus;

namespace Fairway.Host.Operations.Signals;

/// <summary>
/// The signals the alert rules (infra/monitoring/alerts.yml) and runbooks need that no single capability owns,
/// computed from the database at every scrape, so any process's /metrics tells the deployment-wide truth
/// (whichever worker did the work) and a signal keeps growing even when the job that should act has stopped.
/// One bounded query per scrape (3 s timeout). When it fails, <c>database_up</c> is 0 and the other gauges keep
/// their last value: the DatabaseUnavailable alert inhibits the alerts derived from them (Alertmanager).
/// </summary>
public static class OperationalMetrics
{
    public static readonly Gauge DatabaseUp = Metrics.CreateGauge("database_up",
        "1 when this process's last scrape-time query reached PostgreSQL, 0 when it failed (unreachable, timeout).");

    public static readonly Gauge EscrowHeldOverdue = Metrics.CreateGauge("escrow_held_overdue_contests",
        "Contests whose escrow still holds money ESCROW_RELEASE_GRACE_SECONDS after it should have been released: COMPLETE past its settlement hold, or CANCELLED (seed 002 'escrow stuck in HELD').");

    public static readonly Gauge ContestsLockOverdue = Metrics.CreateGauge("contests_lock_overdue",
        "SCHEDULED contests whose lock time passed more than 5 minutes ago (the lock did not happen: seed 001 'contest lock failed').");

    public static readonly Gauge WebhooksUnprocessed = Metrics.CreateGauge("stripe_webhooks_unprocessed",
        "Stripe webhook events stored but not processed yet (received in the last 7 days).");

    public static readonly Gauge OldestUnprocessedWebhookAge = Metrics.CreateGauge("stripe_webhook_oldest_unprocessed_age_seconds",
        "Age of the oldest Stripe webhook event stored but not processed (0 when none), by the deployment clock.");

    public static readonly Gauge PaymentsPendingOverdue = Metrics.CreateGauge("payments_pending_overdue",
        "Entry payments still PENDING twice PAYMENT_SWEEPER_PENDING_AGE_SECONDS after creation (orphaned PaymentIntents the sweeper did not resolve), except those Stripe reported waiting for the player (checkout not finished) at a sweep that is not overdue itself.");

    public static readonly Gauge TransfersFailedTerminal = Metrics.CreateGauge("payout_transfers_failed_terminal",
        "Payout transfers in failed_terminal that need ops (their money stays in winnings payable until an admin retry); those waiting for the winner's Stripe account are counted by payout_transfers_awaiting_winner_account instead.");

    public static readonly Gauge TransfersAwaitingWinnerAccount = Metrics.CreateGauge("payout_transfers_awaiting_winner_account",
        "Payout transfers in failed_terminal because the winner has no usable Stripe account (never onboarded, or Stripe refused the destination): the money stays payable and the transfer is re-queued by itself when Stripe reports the account usable (account.updated).");

    public static readonly Gauge BackupAge = Metrics.CreateGauge("database_backup_age_seconds",
        "Seconds (real time, also under a test clock) since the last successful database backup (fairway db backup or the database-backup job) finished; +Inf when there was none.");

    public static readonly Gauge BackupLastSuccess = Metrics.CreateGauge("database_backup_last_success_timestamp_seconds",
        "Unix time at which the last successful database backup finished; 0 when there was none.");

    public static readonly Gauge ReconciliationViolations = Metrics.CreateGauge("reconciliation_violations",
        "Ledger invariant violations found by the latest reconciliation run, by check (every check of that run is listed, 0 when clean).", "check");

    public static readonly Gauge ReconciliationAge = Metrics.CreateGauge("reconciliation_last_run_age_seconds",
        "Seconds since the latest reconciliation run finished; +Inf when none ran yet.");

    /// <summary>Grace of <see cref="ContestsLockOverdue"/>: the lifecycle clock runs every minute.</summary>
    public static readonly TimeSpan LockGrace = TimeSpan.FromMinutes(5);
}

/// <summary>The predicates of the contest signals, shared by the gauges and the lists of the contests they count.</summary>
public static class ContestSignals
{
    /// <summary>
    /// What <c>escrow_held_overdue_contests</c> counts (a FROM … WHERE over <c>contests k</c>, its escrow account <c>a</c> and
    /// active config <c>v</c>; parameters <c>@now</c> and <c>@grace</c>): the escrow still holds money <c>@grace</c> after a
    /// COMPLETE contest's settlement hold ended, or after the contest was CANCELLED.
    /// </summary>
    public const string EscrowHeldOverdueSql = """
        contests k
          JOIN ledger_accounts a ON a.id = 'escrow:' || k.id AND a.balance > 0
          JOIN contest_config_versions v ON v.contest_id = k.id AND v.version = k.active_config_version
         WHERE (k.state = 'COMPLETE' AND k.state_changed_at
                  + make_interval(secs => coalesce((v.config_text::jsonb -> 'rules' ->> 'settlement_hold_seconds')::bigint, 0) + @grace) < @now)
            OR (k.state = 'CANCELLED' AND k.state_changed_at + make_interval(secs => @grace) < @now)
        """;

    sealed record EscrowHeldRow(string ContestId, string State, DateTime StateChangedAt, long Balance);

    /// <summary>
    /// <c>GET /api/admin/signals/escrow_held_overdue_contests?limit=</c>: what alert EscrowHeldOverdue counts, one contest
    /// per row, the longest overdue first (state change, then id): the page names no contest, this list is how the
    /// on-call finds it.
    /// </summary>
    public static void MapContestSignals(this RouteGroupBuilder admin)
    {
        admin.MapGet("/signals/escrow_held_overdue_contests", async (int? limit, NpgsqlDataSource db, FairwaySettings settings, TimeProvider clock, CancellationToken ct) =>
        {
            if (Platform.Http.Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            var args = new { now = clock.GetUtcNow(), grace = (long)settings.EscrowReleaseGrace.TotalSeconds, limit = limit ?? 50 };
            await using var c = await db.OpenConnectionAsync(ct);
            var count = await c.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT count(*) FROM {EscrowHeldOverdueSql}", args, cancellationToken: ct));
            var rows = await c.QueryAsync<EscrowHeldRow>(new CommandDefinition($"""
                SELECT k.id AS ContestId, k.state AS State, k.state_changed_at AS StateChangedAt, a.balance AS Balance
                  FROM {EscrowHeldOverdueSql}
                 ORDER BY k.state_changed_at, k.id COLLATE "C" LIMIT @limit
                """, args, cancellationToken: ct));
            return Results.Ok(new
            {
                signal = "escrow_held_overdue_contests", count,
                contests = rows.Select(r => new
                {
                    contest_id = r.ContestId, state = r.State, state_changed_at = new DateTimeOffset(DateTime.SpecifyKind(r.StateChangedAt, DateTimeKind.Utc)),
                    escrow_balance = r.Balance,
                }),
            });
        });
    }
}

/// <summary>Registers the scrape-time computation of <see cref="OperationalMetrics"/> (and refreshes kill_switch_engaged from the database).</summary>
public sealed class OperationalSignalsCollector(
    NpgsqlDataSource db, FairwaySettings settings, TimeProvider clock, KillSwitch.KillSwitch killSwitch, ILogger<OperationalSignalsCollector> log) : IHostedService
{
    sealed record Row(long EscrowOverdue, long LockOverdue, long WebhooksUnprocessed, DateTime? OldestUnprocessed, long PaymentsPendingOverdue,
        long TransfersFailedTerminal, long TransfersAwaitingAccount, DateTime? LastBackup, DateTime? ReconciledAt, string? ReconciliationChecks, string? ReconciliationViolations);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                await CollectAsync(timeout.Token);
                OperationalMetrics.DatabaseUp.Set(1);
            }
            catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
            {
                OperationalMetrics.DatabaseUp.Set(0);
                log.LogWarning("Operational signals not computed for this scrape (database_up 0): {Error}", e.Message);
            }
        });
        return Task.CompletedTask;
    }

    async Task CollectAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var c = await db.OpenConnectionAsync(ct);
        var overdue = Payments.PaymentStore.OverdueCutoffs.At(now, settings.PaymentSweeperPendingAge);
        var r = await c.QuerySingleAsync<Row>(new CommandDefinition($$"""
            SELECT
              (SELECT count(*) FROM {{ContestSignals.EscrowHeldOverdueSql}}) AS escrowoverdue,
              (SELECT count(*) FROM contests WHERE state = 'SCHEDULED' AND lock_time + make_interval(secs => @lockGrace) < @now) AS lockoverdue,
              (SELECT count(*) FROM stripe_webhook_events e WHERE e.received_at > @webhookWindow
                  AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)) AS webhooksunprocessed,
              (SELECT min(e.received_at) FROM stripe_webhook_events e WHERE e.received_at > @webhookWindow
                  AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)) AS oldestunprocessed,
              (SELECT count(*) FROM payments p WHERE {{Payments.PaymentStore.OverduePaymentSql}}) AS paymentspendingoverdue,
              (SELECT count(*) FROM payout_transfers WHERE status = 'failed_terminal'
                  AND NOT (failure_reason = ANY(@accountReasons) AND stripe_transfer_id IS NULL)) AS transfersfailedterminal,
              (SELECT count(*) FROM payout_transfers WHERE status = 'failed_terminal'
                  AND failure_reason = ANY(@accountReasons) AND stripe_transfer_id IS NULL) AS transfersawaitingaccount,
              (SELECT max(finished_at) FROM database_backups WHERE outcome = 'succeeded') AS lastbackup,
              latest.finished_at AS reconciledat, latest.checks_json AS reconciliationchecks, latest.violations_json AS reconciliationviolations
            FROM (SELECT 1) one
            LEFT JOIN LATERAL (SELECT finished_at, to_jsonb(checks)::text AS checks_json, violations::text AS violations_json
                                 FROM reconciliation_runs ORDER BY id DESC LIMIT 1) latest ON true
            """, new
        {
            now,
            grace = (long)settings.EscrowReleaseGrace.TotalSeconds,
            lockGrace = (long)OperationalMetrics.LockGrace.TotalSeconds,
            webhookWindow = now - TimeSpan.FromDays(7),
            pendingCutoff = overdue.PendingCutoff,
            awaitingPlayer = overdue.AwaitingPlayer,
            sweepLateCutoff = overdue.SweepLateCutoff,
            // The failures the winner fixes (Payouts re-queues them by itself on account.updated): not an ops page.
            accountReasons = Payouts.PayoutFailureReasons.WinnerAccount,
        }, cancellationToken: ct));

        OperationalMetrics.EscrowHeldOverdue.Set(r.EscrowOverdue);
        OperationalMetrics.ContestsLockOverdue.Set(r.LockOverdue);
        OperationalMetrics.WebhooksUnprocessed.Set(r.WebhooksUnprocessed);
        OperationalMetrics.OldestUnprocessedWebhookAge.Set(r.OldestUnprocessed is { } oldest ? Math.Max(0, (now - Utc(oldest)).TotalSeconds) : 0);
        OperationalMetrics.PaymentsPendingOverdue.Set(r.PaymentsPendingOverdue);
        OperationalMetrics.TransfersFailedTerminal.Set(r.TransfersFailedTerminal);
        OperationalMetrics.TransfersAwaitingWinnerAccount.Set(r.TransfersAwaitingAccount);
        // Backups are real-world files timestamped in real time (database_backups), so their age is real time too.
        var realNow = TimeProvider.System.GetUtcNow();
        OperationalMetrics.BackupAge.Set(r.LastBackup is { } b ? Math.Max(0, (realNow - Utc(b)).TotalSeconds) : double.PositiveInfinity);
        OperationalMetrics.BackupLastSuccess.Set(r.LastBackup is { } b2 ? Utc(b2).ToUnixTimeMilliseconds() / 1000.0 : 0);
        OperationalMetrics.ReconciliationAge.Set(r.ReconciledAt is { } at ? Math.Max(0, (now - Utc(at)).TotalSeconds) : double.PositiveInfinity);
        if (r.ReconciliationChecks is not null)
        {
            var counts = JsonSerializer.Deserialize<string[]>(r.ReconciliationChecks)!.ToDictionary(name => name, _ => 0, StringComparer.Ordinal);
            foreach (var v in JsonDocument.Parse(r.ReconciliationViolations!).RootElement.EnumerateArray())
                if (v.TryGetProperty("check", out var check) && check.GetString() is { } name) counts[name] = counts.GetValueOrDefault(name) + 1;
            foreach (var (check, count) in counts) OperationalMetrics.ReconciliationViolations.WithLabels(check).Set(count);
        }
        // The kill-switch gauge is otherwise "as last read by this process"; refresh it from the database.
        await killSwitch.ReadAsync(ct);
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
