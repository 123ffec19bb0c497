using System.Text.Json;
using Dapper;
using Fairway.Host.Payments;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Telemetry;
using Npgsql;
using Prometheus;
using Stripe;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>How far one run got in one stream.</summary>
public sealed record StripeStreamScan(string Stream, long From, long Before, int Pages, int Objects, bool Complete, long Watermark);

/// <summary>Fairway's money at Stripe by the ledger (−clearing) next to Stripe's balance, per currency (informational).</summary>
public sealed record StripeBalanceComparison(string Currency, long StripeBalance, long LedgerClearing, long Difference);

public sealed record StripeReconciliationRunResult(
    long Id, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string TriggeredBy, string Outcome, IReadOnlyList<StripeStreamScan> Streams,
    int Examined, int Rechecked, int FeesBooked, int Awaiting, int ViolationCount, IReadOnlyList<ReconciliationViolation> Violations,
    IReadOnlyList<StripeBalanceComparison> Balances, bool KillSwitchEngagedByThisRun, string? Error);

public sealed record StripeReconciliationItem(string Subject, string Status, string? Discrepancy, string Detail, DateTimeOffset FirstSeenAt,
    DateTimeOffset StatusSince, DateTimeOffset LastCheckedAt, long? LastRunId, string? Resolution);

/// <summary>A run is already in progress (another worker, or the API): this one did nothing.</summary>
public sealed class StripeReconciliationBusyException() : Exception("a Stripe reconciliation run is already in progress");

/// <summary>
/// Reconciliation against Stripe (issue 9 §6). Each run: lists Stripe's payment intents, refunds, transfers
/// and balance transactions created since each stream's watermark (windows end STRIPE_RECONCILIATION_LAG
/// ago; pages of 100, at most STRIPE_RECONCILIATION_MAX_PAGES per stream, the rest continues next run),
/// reads Fairway's recorded successes since the last ledger entry examined, and re-checks the subjects still
/// open from earlier runs (bounded). Every subject is judged by <see cref="StripeObjectJudge"/>: in both
/// directions, with ledger corrections counting as explanations. Subjects in flight are watched
/// (<c>stripe_reconciliation_items</c>); one waiting for Fairway longer than STRIPE_RECONCILIATION_GRACE becomes
/// a discrepancy. Every open discrepancy is a violation: <c>ledger_invariant_violation_total{check}</c>, an error
/// log line, an audit row when it opens, the kill-switch engaged by <c>reconciler</c>, and the run's row in
/// <c>stripe_reconciliation_runs</c>. It books Stripe's automatic fees it finds unbooked, and repairs nothing.
/// </summary>
public sealed class StripeReconciliationService(
    NpgsqlDataSource db, StripeGateway stripe, ProcessingFees fees, KillSwitch.KillSwitch killSwitch, AuditWriter audit, FairwaySettings settings,
    TimeProvider clock, ILogger<StripeReconciliationService> log)
{
    public const string LocalStream = "local_successes";
    public const int MaxRechecksPerRun = 500;
    public const int MaxReportedViolations = 1000;
    /// <summary>The session advisory lock that keeps runs from overlapping (any process).</summary>
    const long RunLock = 0x46_57_53_52_45_43; // "FWSREC"

    static readonly Counter Violations = Metrics.CreateCounter("ledger_invariant_violation_total",
        "Ledger invariant violations found by reconciliation runs of this process, by check.",
        new CounterConfiguration { LabelNames = ["check"] });

    public static readonly Gauge OpenItems = Metrics.CreateGauge("stripe_reconciliation_open_items",
        "Subjects of the reconciliation against Stripe still open, by status (discrepancy, awaiting_stripe, awaiting_fairway; computed at scrape time).",
        new GaugeConfiguration { LabelNames = ["status"] });

    static readonly string[] LocalSuccessKinds = ["entry_fee.captured", "refund.settled", "payout.transfer_paid"];

    public async Task<StripeReconciliationRunResult> RunAsync(string triggeredBy, CancellationToken ct = default)
    {
        await using var lockConnection = await db.OpenConnectionAsync(ct);
        if (!await lockConnection.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@RunLock)", new { RunLock }))
            throw new StripeReconciliationBusyException();
        try { return await RunLockedAsync(triggeredBy, ct); }
        finally
        {
            // Pooled connections are not reset (PooledConnections): one whose unlock failed is never used again.
            try { await lockConnection.ExecuteAsync("SELECT pg_advisory_unlock(@RunLock)", new { RunLock }); }
            catch (NpgsqlException) { NpgsqlConnection.ClearPool(lockConnection); throw; }
        }
    }

    async Task<StripeReconciliationRunResult> RunLockedAsync(string triggeredBy, CancellationToken ct)
    {
        var startedAt = clock.GetUtcNow();
        await using var c = await db.OpenConnectionAsync(ct);
        var runId = await c.ExecuteScalarAsync<long>("SELECT nextval(pg_get_serial_sequence('stripe_reconciliation_runs', 'id'))");
        var judge = new StripeObjectJudge(stripe, fees, c);
        var run = await OpenSubjects.ReadAsync(c, runId);
        var scans = new List<StripeStreamScan>();
        var runViolations = new List<ReconciliationViolation>();
        var examined = 0;
        var rechecked = 0;
        string? error = null;
        try
        {
            // Windows end LAG before the earlier of Fairway's and Stripe's clocks (Stripe's by its Date header): a
            // watermark past Stripe's own "now" would skip objects Stripe creates later with an earlier `created`.
            var stripeNow = StripeDate((await stripe.GetBalanceAsync(ct)).StripeResponse?.Date) ?? startedAt;
            var cutoff = Math.Min(startedAt.ToUnixTimeSeconds(), stripeNow.ToUnixTimeSeconds()) - (long)settings.StripeReconciliationLag.TotalSeconds;
            foreach (var stream in StripeGateway.ListedStreams)
            {
                var (scan, count, overflow) = await ScanStreamAsync(c, judge, run, stream, cutoff, ct);
                scans.Add(scan);
                examined += count;
                if (overflow is not null) runViolations.Add(overflow);
            }
            var (localScan, localCount) = await ScanLocalSuccessesAsync(c, judge, run, ct);
            scans.Add(localScan);
            examined += localCount;
            rechecked = await RecheckOpenItemsAsync(c, judge, run, ct);
        }
        catch (Exception e) when (e is StripeException || StripeGateway.IsTransient(e))
        {
            // Cursors only moved past what was examined; the next run continues from there.
            error = $"{e.GetType().Name}: {e.Message}";
            log.LogError(e, "Stripe reconciliation run {RunId} stopped: Stripe could not be read ({Error})", runId, e.Message);
        }

        var open = await c.QueryAsync<(string Subject, string Discrepancy, string Detail)>("""
            SELECT subject, discrepancy, detail FROM stripe_reconciliation_items WHERE status = 'discrepancy' ORDER BY first_seen_at, subject LIMIT @max
            """, new { max = MaxReportedViolations });
        var violations = runViolations.Concat(open.Select(o => new ReconciliationViolation(o.Discrepancy, o.Subject, o.Detail))).ToList();
        var awaiting = await c.ExecuteScalarAsync<int>("SELECT count(*) FROM stripe_reconciliation_items WHERE status IN ('awaiting_stripe', 'awaiting_fairway')");
        foreach (var v in violations)
        {
            Violations.WithLabels(v.Check).Inc();
            log.LogError("Stripe reconciliation violation: {Check}, subject {SubjectId}: {Detail}", v.Check, v.SubjectId, v.Detail);
        }
        var engagedNow = false;
        if (violations.Count > 0)
        {
            var names = violations.Select(v => v.Check).Distinct().Order(StringComparer.Ordinal).ToList();
            var change = await killSwitch.SetAsync(true, ReconciliationService.Actor,
                $"reconciliation against Stripe found {violations.Count} violation(s): {string.Join(", ", names)} (fairway reconciliation stripe)", ct);
            engagedNow = change.Changed;
        }
        IReadOnlyList<StripeBalanceComparison> balances = [];
        if (error is null)
        {
            try { balances = await CompareBalancesAsync(c, ct); }
            catch (Exception e) when (e is StripeException || StripeGateway.IsTransient(e)) { error = $"balance not read: {e.Message}"; }
        }

        var finishedAt = clock.GetUtcNow();
        var outcome = error is null ? "completed" : "failed";
        await c.ExecuteAsync("""
            INSERT INTO stripe_reconciliation_runs (id, started_at, finished_at, triggered_by, outcome, streams, examined, rechecked, fees_booked, awaiting,
                violation_count, violations, balances, kill_switch_engaged_by_run, error, correlation_id)
            VALUES (@runId, @startedAt, @finishedAt, @triggeredBy, @outcome, @streams::jsonb, @examined, @rechecked, @feesBooked, @awaiting,
                @count, @violations::jsonb, @balances::jsonb, @engagedNow, @error, @correlation)
            """, new
        {
            runId, startedAt, finishedAt, triggeredBy, outcome, streams = JsonSerializer.Serialize(scans, Json), examined, rechecked, feesBooked = judge.FeesBooked, awaiting,
            count = violations.Count, violations = JsonSerializer.Serialize(violations.Select(v => new { check = v.Check, subject_id = v.SubjectId, detail = v.Detail })),
            balances = JsonSerializer.Serialize(balances, Json), engagedNow, error = error is null ? null : Truncate(error), correlation = Correlation.Current,
        });
        log.Log(violations.Count > 0 || error is not null ? LogLevel.Error : LogLevel.Information,
            "Stripe reconciliation run {RunId} {Outcome}: {Examined} examined, {Rechecked} re-checked, {FeesBooked} fees booked, {Awaiting} awaiting, {ViolationCount} violation(s)",
            runId, outcome, examined, rechecked, judge.FeesBooked, awaiting, violations.Count);
        return new StripeReconciliationRunResult(runId, startedAt, finishedAt, triggeredBy, outcome, scans, examined, rechecked, judge.FeesBooked, awaiting,
            violations.Count, violations, balances, engagedNow, error);
    }

    // ---- streams ---------------------------------------------------------------------------------

    sealed record Cursor(string Stream, long Watermark, long? ScanCeiling, long? ScanTarget);

    static async Task<Cursor> CursorAsync(NpgsqlConnection c, string stream) =>
        await c.QuerySingleOrDefaultAsync<Cursor>("SELECT stream AS Stream, watermark AS Watermark, scan_ceiling AS ScanCeiling, scan_target AS ScanTarget " +
            "FROM stripe_reconciliation_cursors WHERE stream = @stream", new { stream }) ?? new Cursor(stream, 0, null, null);

    async Task SaveCursorAsync(NpgsqlConnection c, Cursor cursor) =>
        await c.ExecuteAsync("""
            INSERT INTO stripe_reconciliation_cursors (stream, watermark, scan_ceiling, scan_target, updated_at) VALUES (@Stream, @Watermark, @ScanCeiling, @ScanTarget, @now)
            ON CONFLICT (stream) DO UPDATE SET watermark = excluded.watermark, scan_ceiling = excluded.scan_ceiling, scan_target = excluded.scan_target, updated_at = excluded.updated_at
            """, new { cursor.Stream, cursor.Watermark, cursor.ScanCeiling, cursor.ScanTarget, now = clock.GetUtcNow() });

    /// <summary>
    /// Lists [watermark, ceiling) newest first. A complete listing moves the watermark to the window's end; a
    /// listing cut by the page limit lowers the ceiling to just above the oldest object seen, so the next run
    /// lists the older rest (objects of that one second are seen again, harmlessly) before the watermark moves.
    /// </summary>
    async Task<(StripeStreamScan, int, ReconciliationViolation?)> ScanStreamAsync(NpgsqlConnection c, StripeObjectJudge judge, OpenSubjects run, string stream, long cutoff, CancellationToken ct)
    {
        var cursor = await CursorAsync(c, stream);
        var from = cursor.Watermark;
        var target = cursor.ScanTarget ?? Math.Max(cursor.Watermark, cutoff);
        var ceiling = cursor.ScanCeiling ?? target;
        var objects = 0;
        var pages = 0;
        string? after = null;
        long? oldest = null;
        var complete = ceiling <= cursor.Watermark;
        while (!complete && pages < settings.StripeReconciliationMaxPages)
        {
            var page = await stripe.ListCreatedPageAsync(stream, cursor.Watermark, ceiling, after, ct);
            pages++;
            foreach (var o in page.Data)
            {
                judge.Remember(o.Id, o.Object);
                await ApplyAsync(c, run, await judge.JudgeAsync(o.Id, ct));
                objects++;
                oldest = o.Created;
                after = o.Id;
            }
            complete = !page.HasMore || page.Data.Count == 0;
        }
        ReconciliationViolation? overflow = null;
        if (complete) cursor = cursor with { Watermark = target, ScanCeiling = null, ScanTarget = null };
        else if (oldest is { } o2 && o2 + 1 < ceiling) cursor = cursor with { ScanCeiling = o2 + 1, ScanTarget = target };
        else
        {
            overflow = new ReconciliationViolation(StripeDiscrepancies.StripeListingOverflow, stream,
                $"more than {settings.StripeReconciliationMaxPages} pages of {stream} created in the second {oldest}: raise STRIPE_RECONCILIATION_MAX_PAGES");
            cursor = cursor with { ScanCeiling = ceiling, ScanTarget = target };
        }
        await SaveCursorAsync(c, cursor);
        return (new StripeStreamScan(stream, from, ceiling, pages, objects, complete, cursor.Watermark), objects, overflow);
    }

    /// <summary>Fairway's successes (payments captured, refunds settled, payout transfers paid) posted since the last run, checked at Stripe by id.</summary>
    async Task<(StripeStreamScan, int)> ScanLocalSuccessesAsync(NpgsqlConnection c, StripeObjectJudge judge, OpenSubjects run, CancellationToken ct)
    {
        var cursor = await CursorAsync(c, LocalStream);
        var batch = settings.StripeReconciliationMaxPages * StripeGateway.ListPageSize;
        var rows = (await c.QueryAsync<(long Id, string CauseType, string CauseId, string? StripeTransferId)>("""
            SELECT le.id, le.cause_type, le.cause_id, t.stripe_transfer_id
              FROM ledger_entries le
              LEFT JOIN payout_transfers t ON le.cause_type = 'payout_transfer' AND t.id::text = le.cause_id
             WHERE le.id > @watermark AND le.kind = ANY(@kinds)
             ORDER BY le.id LIMIT @batch
            """, new { watermark = cursor.Watermark, kinds = LocalSuccessKinds, batch })).ToList();
        foreach (var r in rows)
        {
            var subject = r.CauseType == "payout_transfer" ? r.StripeTransferId : r.CauseId;
            if (subject is not null) await ApplyAsync(c, run, await judge.JudgeAsync(subject, ct));
        }
        var from = cursor.Watermark;
        if (rows.Count > 0) await SaveCursorAsync(c, cursor with { Watermark = rows[^1].Id });
        var complete = rows.Count < batch;
        return (new StripeStreamScan(LocalStream, from, rows.Count > 0 ? rows[^1].Id + 1 : from + 1, 1, rows.Count, complete, rows.Count > 0 ? rows[^1].Id : from), rows.Count);
    }

    /// <summary>The open subjects not looked at by this run, least recently checked first (bounded).</summary>
    async Task<int> RecheckOpenItemsAsync(NpgsqlConnection c, StripeObjectJudge judge, OpenSubjects run, CancellationToken ct)
    {
        var subjects = (await c.QueryAsync<string>("""
            SELECT subject FROM stripe_reconciliation_items
             WHERE status IN ('awaiting_stripe', 'awaiting_fairway', 'discrepancy') AND last_run_id IS DISTINCT FROM @runId
             ORDER BY last_checked_at, subject LIMIT @max
            """, new { runId = run.RunId, max = MaxRechecksPerRun })).ToList();
        foreach (var subject in subjects)
        {
            var verdicts = await judge.JudgeAsync(subject, ct);
            // A balance transaction's verdicts may name other subjects; this subject's own verdict decides its item.
            if (!verdicts.Any(v => v.Subject == subject)) verdicts = [.. verdicts, StripeVerdict.Ok(subject, "nothing left to explain")];
            await ApplyAsync(c, run, verdicts);
        }
        return subjects.Count;
    }

    // ---- items -----------------------------------------------------------------------------------

    /// <summary>
    /// The subjects with an open item (awaiting Stripe, awaiting Fairway, discrepancy), read when a run starts and kept up
    /// to date by the run's own verdicts: only a run opens an item, and runs never overlap (<see cref="RunLock"/>), so an
    /// "ok" verdict about a subject outside the set has nothing to record. Bounded: past <see cref="MaxKnown"/> open items
    /// the set is not kept and every verdict takes the locked path.
    /// </summary>
    sealed class OpenSubjects(long runId, HashSet<string>? open)
    {
        const int MaxKnown = 100_000;
        public long RunId { get; } = runId;

        public static async Task<OpenSubjects> ReadAsync(NpgsqlConnection c, long runId)
        {
            var subjects = (await c.QueryAsync<string>(
                "SELECT subject FROM stripe_reconciliation_items WHERE status IN ('awaiting_stripe', 'awaiting_fairway', 'discrepancy') LIMIT @limit",
                new { limit = MaxKnown + 1 })).ToHashSet(StringComparer.Ordinal);
            return new OpenSubjects(runId, subjects.Count > MaxKnown ? null : subjects);
        }

        public bool SurelyNotOpen(string subject) => open is not null && !open.Contains(subject);

        public void Recorded(string subject, string status)
        {
            if (status is StripeVerdict.AwaitingStripe or StripeVerdict.AwaitingFairway or StripeVerdict.DiscrepancyStatus) open?.Add(subject);
            else open?.Remove(subject);
        }
    }

    sealed record ItemRow(string Subject, string Status, string? Discrepancy, string Detail, DateTime StatusSince);

    async Task ApplyAsync(NpgsqlConnection c, OpenSubjects run, IReadOnlyList<StripeVerdict> verdicts)
    {
        foreach (var v in verdicts) await ApplyAsync(c, run, v);
    }

    /// <summary>Records one verdict: opens, updates, escalates or resolves the subject's item. Moves into and out of discrepancy are audited.</summary>
    async Task ApplyAsync(NpgsqlConnection c, OpenSubjects run, StripeVerdict v)
    {
        // Most verdicts are "ok" about a subject with no open item: nothing to record (the locked path below returns too).
        if (v.Status == StripeVerdict.OkStatus && run.SurelyNotOpen(v.Subject)) return;
        var runId = run.RunId;
        var now = clock.GetUtcNow();
        await using var tx = await c.BeginTransactionAsync();
        var item = await c.QuerySingleOrDefaultAsync<ItemRow>("SELECT subject AS Subject, status AS Status, discrepancy AS Discrepancy, detail AS Detail, " +
            "status_since AS StatusSince FROM stripe_reconciliation_items WHERE subject = @Subject FOR UPDATE", new { v.Subject }, tx);
        var open = item?.Status is StripeVerdict.AwaitingStripe or StripeVerdict.AwaitingFairway or StripeVerdict.DiscrepancyStatus;
        string status, detail = Truncate(v.Detail);
        string? kind = v.Discrepancy;
        if (v.Status == StripeVerdict.OkStatus)
        {
            if (!open) { await tx.CommitAsync(); return; }
            status = "resolved";
            kind = null;
        }
        else if (item?.Status == "dismissed" && item.Discrepancy == v.Discrepancy) { await tx.CommitAsync(); return; }
        else
        {
            status = v.Status;
            if (v.Status == StripeVerdict.AwaitingFairway && item?.Status == StripeVerdict.DiscrepancyStatus && item.Discrepancy == v.Discrepancy)
            {
                // Escalated before and still not recorded: it stays a discrepancy.
                status = StripeVerdict.DiscrepancyStatus;
                detail = item.Detail;
            }
            else if (v.Status == StripeVerdict.AwaitingFairway)
            {
                var since = item?.Status == StripeVerdict.AwaitingFairway ? new DateTimeOffset(DateTime.SpecifyKind(item.StatusSince, DateTimeKind.Utc)) : now;
                if (now - since >= settings.StripeReconciliationGrace)
                {
                    status = StripeVerdict.DiscrepancyStatus;
                    detail = Truncate($"{v.Detail} — still not recorded by Fairway after {(long)(now - since).TotalSeconds} s (grace {(long)settings.StripeReconciliationGrace.TotalSeconds} s)");
                }
                else kind = null;
            }
            else if (v.Status == StripeVerdict.AwaitingStripe) kind = null;
        }
        var statusChanged = item is null || item.Status != status || item.Discrepancy != kind;
        await c.ExecuteAsync("""
            INSERT INTO stripe_reconciliation_items (subject, status, discrepancy, detail, first_seen_at, status_since, last_checked_at, last_run_id, resolution)
            VALUES (@Subject, @status, @kind, @detail, @now, @now, @now, @runId, @resolution)
            ON CONFLICT (subject) DO UPDATE SET status = excluded.status, discrepancy = excluded.discrepancy, detail = excluded.detail,
                status_since = CASE WHEN @statusChanged THEN excluded.status_since ELSE stripe_reconciliation_items.status_since END,
                last_checked_at = excluded.last_checked_at, last_run_id = excluded.last_run_id, resolution = excluded.resolution
            """, new { v.Subject, status, kind, detail, now, runId, statusChanged, resolution = status == "resolved" ? detail : null }, tx);
        if (statusChanged && (status == StripeVerdict.DiscrepancyStatus || item?.Status == StripeVerdict.DiscrepancyStatus))
        {
            var action = status == StripeVerdict.DiscrepancyStatus ? "reconciliation.discrepancy_opened" : "reconciliation.discrepancy_closed";
            await audit.WriteAsync(tx, new AuditEntry(ReconciliationService.Actor, action, "stripe_object", v.Subject, detail,
                Before: item is null ? null : new { status = item.Status, discrepancy = item.Discrepancy, detail = item.Detail },
                After: new { status, discrepancy = kind, run_id = runId }));
        }
        await tx.CommitAsync();
        run.Recorded(v.Subject, status);
        if (statusChanged)
            log.Log(status == StripeVerdict.DiscrepancyStatus ? LogLevel.Error : LogLevel.Information,
                "Stripe reconciliation: {Subject} {Before} → {Status} {Discrepancy}: {Detail}", v.Subject, item?.Status ?? "new", status, kind, detail);
    }

    /// <summary>An operator closes a discrepancy without a ledger change (audited, reason required): it is never reported again for that cause.</summary>
    public async Task<StripeReconciliationItem?> DismissAsync(string subject, string actor, string reason, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var item = await c.QuerySingleOrDefaultAsync<ItemRow>("SELECT subject AS Subject, status AS Status, discrepancy AS Discrepancy, detail AS Detail, " +
            "status_since AS StatusSince FROM stripe_reconciliation_items WHERE subject = @subject FOR UPDATE", new { subject }, tx);
        if (item is null || item.Status != StripeVerdict.DiscrepancyStatus) return null;
        var now = clock.GetUtcNow();
        await c.ExecuteAsync("""
            UPDATE stripe_reconciliation_items SET status = 'dismissed', status_since = @now, resolution = @resolution WHERE subject = @subject
            """, new { subject, now, resolution = Truncate($"dismissed by {actor}: {reason}") }, tx);
        await audit.WriteAsync(tx, new AuditEntry(actor, "reconciliation.discrepancy_dismissed", "stripe_object", subject, reason,
            Before: new { status = item.Status, discrepancy = item.Discrepancy, detail = item.Detail }, After: new { status = "dismissed" }), ct);
        await tx.CommitAsync(ct);
        log.LogWarning("Stripe reconciliation discrepancy {Subject} ({Discrepancy}) dismissed by {Actor}: {Reason}", subject, item.Discrepancy, actor, reason);
        return (await ItemsAsync(null, subject, 1, ct)).Single();
    }

    // ---- reads -----------------------------------------------------------------------------------

    public async Task<IReadOnlyList<StripeReconciliationItem>> ItemsAsync(string? status, string? subject, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<(string Subject, string Status, string? Discrepancy, string Detail, DateTime FirstSeenAt, DateTime StatusSince, DateTime LastCheckedAt, long? LastRunId, string? Resolution)>(
            new CommandDefinition("""
                SELECT subject, status, discrepancy, detail, first_seen_at, status_since, last_checked_at, last_run_id, resolution FROM stripe_reconciliation_items
                 WHERE (@status::text IS NULL OR status = @status) AND (@subject::text IS NULL OR subject = @subject)
                 ORDER BY first_seen_at, subject LIMIT @limit
                """, new { status, subject, limit = Math.Clamp(limit, 1, 1000) }, cancellationToken: ct));
        return rows.Select(r => new StripeReconciliationItem(r.Subject, r.Status, r.Discrepancy, r.Detail, Utc(r.FirstSeenAt), Utc(r.StatusSince), Utc(r.LastCheckedAt),
            r.LastRunId, r.Resolution)).ToList();
    }

    public async Task<IReadOnlyList<JsonElement>> RecentRunsAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<string>(new CommandDefinition("""
            SELECT jsonb_build_object('id', id, 'started_at', started_at, 'finished_at', finished_at, 'triggered_by', triggered_by, 'outcome', outcome,
                   'streams', streams, 'examined', examined, 'rechecked', rechecked, 'fees_booked', fees_booked, 'awaiting', awaiting,
                   'violation_count', violation_count, 'violations', violations, 'balances', balances,
                   'kill_switch_engaged_by_this_run', kill_switch_engaged_by_run, 'error', error)::text
              FROM stripe_reconciliation_runs ORDER BY id DESC LIMIT @limit
            """, new { limit = Math.Clamp(limit, 1, 200) }, cancellationToken: ct));
        return rows.Select(r => JsonDocument.Parse(r).RootElement.Clone()).ToList();
    }

    public async Task<IReadOnlyList<object>> CursorsAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(string Stream, long Watermark, long? ScanCeiling, long? ScanTarget, DateTime UpdatedAt)>(new CommandDefinition(
                "SELECT stream, watermark, scan_ceiling, scan_target, updated_at FROM stripe_reconciliation_cursors ORDER BY stream", cancellationToken: ct)))
            .Select(r => (object)new { stream = r.Stream, watermark = r.Watermark, scan_ceiling = r.ScanCeiling, scan_target = r.ScanTarget, updated_at = Utc(r.UpdatedAt) }).ToList();
    }

    public async Task<IReadOnlyDictionary<string, long>> OpenCountsAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(string Status, long Count)>(new CommandDefinition("""
            SELECT status, count(*) FROM stripe_reconciliation_items WHERE status IN ('awaiting_stripe', 'awaiting_fairway', 'discrepancy') GROUP BY status
            """, cancellationToken: ct))).ToDictionary(r => r.Status, r => r.Count);
    }

    async Task<IReadOnlyList<StripeBalanceComparison>> CompareBalancesAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var balance = await stripe.GetBalanceAsync(ct);
        var atStripe = balance.Available.Concat(balance.Pending).GroupBy(b => b.Currency).ToDictionary(g => g.Key, g => g.Sum(b => b.Amount));
        var ledger = (await c.QueryAsync<(string Currency, long Balance)>("SELECT trim(currency), balance FROM ledger_accounts WHERE kind = 'stripe_clearing'"))
            .ToDictionary(r => r.Currency, r => -r.Balance);
        return atStripe.Keys.Union(ledger.Keys).Order(StringComparer.Ordinal)
            .Select(ccy => new StripeBalanceComparison(ccy, atStripe.GetValueOrDefault(ccy), ledger.GetValueOrDefault(ccy), atStripe.GetValueOrDefault(ccy) - ledger.GetValueOrDefault(ccy)))
            .ToList();
    }

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    static string Truncate(string s) => s.Length <= 2000 ? s : s[..2000];

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    static DateTimeOffset? StripeDate(object? date) => date switch
    {
        DateTimeOffset o => o,
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind)),
        _ => null,
    };
}
