using Fairway.Host.Platform.Http;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.Engine.Golf;
using Fairway.Engine.Settlement;
using Fairway.Host.Contests;
using Fairway.Host.Ingestion;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Fairway.Host.Platform.Telemetry;
using Npgsql;
using NpgsqlTypes;

namespace Fairway.Host.Settlement;

/// <summary>
/// Settles one COMPLETE contest whose hold is over, in ONE transaction: the settlement row (config version,
/// leaderboard event and hash, entry-set hash, output hash, timings), every entry's result with the roster it
/// was settled on, and the ledger release (escrow → winnings payable per winner, escrow → revenue for the
/// rake), its scoring audit, its run row and its audit row. Pure (seed 000): no Stripe call, notification or
/// lifecycle change happens here; the caller schedules the payout after commit.
/// <para>
/// One settlement per contest: the contest row, held FOR UPDATE for the whole run, serialises concurrent runs, and the UNIQUE
/// contest_id is the database's guarantee. A run that finds the contest settled returns the stored result and
/// writes nothing. A failed run writes nothing of the settlement; the failure is recorded in its own
/// transaction (settlement_runs with error_json, audit row), logged with context, counted, and rethrown so the
/// job system retries it.
/// </para>
/// </summary>
public sealed class SettlementService(
    NpgsqlDataSource db, ContestRepository contests, SettlementRepository settlements, IngestionEventStore events, EntrySetCache entrySets, LedgerRepository ledger,
    KillSwitch killSwitch, AuditWriter audit, ContestLifecycleService lifecycle, Platform.Configuration.FairwaySettings settings, TimeProvider clock,
    ILogger<SettlementService> log)
{
    public const string SystemActor = "system:settlement";
    public const string LedgerKind = "settlement_release";

    /// <summary>Crash point after every write of the settlement and before its commit.</summary>
    public const string CrashBeforeCommit = "settlement.before_commit";

    public static string PayableKey(string contestId, string userId) => $"settlement:{contestId}:payable:{userId}";
    public static string RakeKey(string contestId) => $"settlement:{contestId}:rake";

    /// <summary>Null when the contest may be settled now; otherwise why not (a refusal, not a failure).</summary>
    public async Task<SettlementRefusedException?> CheckDueAsync(string contestId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        try
        {
            await DueAsync(c, null, contestId);
            return null;
        }
        catch (SettlementRefusedException e) { return e; }
    }

    /// <summary>The contest row, its active config and its COMPLETE transition, when the hold is over; otherwise a refusal.</summary>
    async Task<(ContestRow Contest, ActiveConfig Config, DateTimeOffset CompletedAt, long CompleteEventId)> DueAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string contestId)
    {
        var contest = await contests.GetAsync(c, contestId, tx) ?? throw new SettlementRefusedException(ProblemCodes.ContestNotFound, $"no contest '{contestId}'");
        if (contest.State != "COMPLETE")
            throw new SettlementRefusedException(ProblemCodes.ContestNotComplete, $"contest {contestId} is {contest.State}; only a COMPLETE contest is settled");
        var config = await contests.ActiveConfigAsync(c, contestId, tx);
        var complete = await settlements.CompleteTransitionAsync(c, contestId, tx)
            ?? throw new SettlementRefusedException(ProblemCodes.CompleteEvidenceMissing, $"contest {contestId} is COMPLETE but its transition carries no ingestion event");
        var due = complete.At.AddSeconds(config.Config.Rules.SettlementHoldSeconds);
        var now = clock.GetUtcNow();
        if (now < due)
            throw new SettlementRefusedException(ProblemCodes.SettlementHoldNotOver, $"contest {contestId} completed at {complete.At:O}; its settlement hold of {config.Config.Rules.SettlementHoldSeconds} s ends at {due:O}; it is {now:O}");
        return (contest, config, complete.At, complete.EventId);
    }

    public async Task<SettleResult> SettleAsync(string contestId, string triggeredBy, CancellationToken ct = default)
    {
        var startedAt = clock.GetUtcNow();
        var total = Stopwatch.StartNew();
        var stage = "start";
        try
        {
            await using var c = await db.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            // The contest row, FOR UPDATE, for the whole settlement: concurrent runs are serialised, and every money path that
            // checks the contest's state (refunds, late payments, disputes: FOR SHARE) waits for this settlement or is seen by it.
            await contests.GetForUpdateAsync(tx, contestId);
            if (await settlements.ByContestAsync(c, contestId, tx) is { } existing)
                return new SettleResult(SettleOutcome.AlreadySettled, existing);

            stage = "load";
            var (_, config, _, completeEventId) = await DueAsync(c, tx, contestId);
            var contest = (await contests.GetAsync(c, contestId, tx))!;
            // The latest accepted leaderboard at or after the COMPLETE evidence: a correction accepted during the
            // hold is absorbed (that is what the hold is for). Accepted events after `closed` are `closed` too (a
            // regression is an anomaly and rejected); it is checked again below.
            var basis = await c.QuerySingleOrDefaultAsync<(long Id, string Hash)?>(new CommandDefinition("""
                SELECT id, payload_hash FROM ingestion_events
                 WHERE tournament_id = @tournamentId AND outcome = 'accepted' AND id >= @completeEventId
                 ORDER BY id DESC LIMIT 1
                """, new { tournamentId = contest.TournamentId, completeEventId }, tx, cancellationToken: ct))
                ?? throw Fail(SettlementCodes.CompleteEvidenceMissing, $"the COMPLETE evidence event {completeEventId} of contest {contestId} is not an accepted event of tournament {contest.TournamentId}");
            var body = await events.BodyAsync(c, basis.Hash, tx) ?? throw Fail(SettlementCodes.CompleteEvidenceMissing, $"payload {basis.Hash} is missing");
            var leaderboardJson = Encoding.UTF8.GetString(body);
            var parsed = LeaderboardParser.Parse(leaderboardJson);
            if (!parsed.IsSuccess) throw Fail(SettlementCodes.LeaderboardNotFinal, $"stored leaderboard {basis.Id} no longer parses", parsed.Errors);
            if (!LifecycleSignals.IsFinal(parsed.Value, config.Config.RoundCount))
                throw Fail(SettlementCodes.LeaderboardNotFinal, $"leaderboard event {basis.Id} (status {parsed.Value.Status}) is not final");
            // The ACTIVE entries as of this transaction (the contest row lock keeps them still): the set the live standings
            // kept in memory when its version is still current (triggers on entries change the version with any change to
            // the set), otherwise read in one pass. Both carry the fees the entries recorded. As a guard, the set must have
            // as many entries as the database counts now.
            var (_, entries, fee) = await entrySets.ActiveAsync(c, contestId, tx, ct);
            var counted = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM entries WHERE contest_id = @contestId AND status = 'ACTIVE'", new { contestId }, tx, cancellationToken: ct));
            if (counted != entries.Count)
                throw new InvalidOperationException($"the entry set of contest {contestId} has {entries.Count} entries, the database counts {counted} ACTIVE entries");
            var entrySetHash = entries.Hash;
            var loadMs = (int)total.ElapsedMilliseconds;

            stage = "compute";
            var computeWatch = Stopwatch.StartNew();
            // Gross comes from what the players paid: every ACTIVE entry's own recorded fee and currency (frozen once the
            // contest had an entry, so they agree with the config; if they ever did not, the entries win and the settlement
            // records them, so the offline replay uses the same rules).
            if (fee.Unpriced > 0 || fee.DistinctFees > 1 || fee.DistinctCurrencies > 1)
                throw Fail(SettlementCodes.EntryFeeMismatch, $"the ACTIVE entries of contest {contestId} do not share one recorded fee and currency ({fee.DistinctFees} fees, {fee.DistinctCurrencies} currencies, {fee.Unpriced} without a fee)",
                    new { entries = fee.Entries, distinct_fees = fee.DistinctFees, distinct_currencies = fee.DistinctCurrencies, unpriced = fee.Unpriced });
            var rules = SettlementRules.FromConfig(config.Config);
            if (fee.Fee is { } paid && fee.Currency is { } ccy) rules = rules with { EntryFee = paid, Currency = ccy };
            var settled = SettlementCalculator.Settle(rules, parsed.Value, entries);
            if (!settled.IsSuccess) throw Fail(SettlementCodes.EngineRejected, $"the engine refused to settle contest {contestId}", settled.Errors);
            var result = settled.Value;
            var computeMs = (int)computeWatch.ElapsedMilliseconds;

            stage = "persist";
            var persistWatch = Stopwatch.StartNew();
            await killSwitch.EnsureDisengagedAsync(tx, ct);
            var escrow = LedgerAccountRef.Escrow(contestId);
            var escrowBalance = await c.ExecuteScalarAsync<long?>(new CommandDefinition(
                "SELECT balance FROM ledger_accounts WHERE id = @id FOR UPDATE", new { id = escrow.Id }, tx, cancellationToken: ct)) ?? 0;
            if (escrowBalance != result.Gross)
                throw Fail(SettlementCodes.EscrowMismatch,
                    $"escrow {escrow.Id} holds {escrowBalance} but {entries.Count} ACTIVE entries × entry fee {rules.EntryFee} = gross {result.Gross}; refusing to release",
                    new { escrow_balance = escrowBalance, gross = result.Gross, active_entries = entries.Count, entry_fee = rules.EntryFee });

            var settlementId = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT nextval('settlements_id_seq')", transaction: tx, cancellationToken: ct));
            await using (var writer = await c.BeginBinaryImportAsync(
                "COPY settlement_results (settlement_id, entry_id, user_id, golfers, rank, score, prize) FROM STDIN (FORMAT BINARY)", ct))
            {
                var roster = new char[256];
                for (var p = 0; p < result.Count; p++)
                {
                    var entry = result.EntryIndexAt(p);
                    if (entries.RosterJsonLength(entry) > roster.Length) roster = new char[entries.RosterJsonLength(entry)];
                    await writer.StartRowAsync(ct);
                    await writer.WriteAsync(settlementId, NpgsqlDbType.Bigint, ct);
                    await writer.WriteAsync(result.IdAt(p), NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(result.UserIdAt(p), NpgsqlDbType.Text, ct);
                    // The roster as it was settled on, written from the set's golfer table without a string per row.
                    await writer.WriteAsync(new ReadOnlyMemory<char>(roster, 0, entries.WriteRosterJson(entry, roster)), NpgsqlDbType.Jsonb, ct);
                    await writer.WriteAsync(result.RankAt(p), NpgsqlDbType.Integer, ct);
                    await writer.WriteAsync(result.ScoreAt(p), NpgsqlDbType.Bigint, ct);
                    await writer.WriteAsync(result.PrizeAt(p), NpgsqlDbType.Bigint, ct);
                }
                await writer.CompleteAsync(ct);
            }

            // The output hash streams the whole result document through SHA-256 while PostgreSQL posts the ledger entries (the
            // process has nothing else to do then; during the COPY it would take CPU from PostgreSQL).
            var hashing = Task.Run(() => SettlementResultDocument.OutputHash(result), ct);
            var now = clock.GetUtcNow();
            var winnings = Winnings(result);
            // One journal entry per winning user, as always, sent to the ledger function in batches (one round trip per batch).
            var releases = winnings.Select(w => JournalEntry.Movement(PayableKey(contestId, w.UserId), LedgerKind, rules.Currency, now, "settlement", contestId,
                escrow, LedgerAccountRef.Payable(w.UserId, rules.Currency), w.Amount, $"winnings of {w.UserId} in contest {contestId}")).ToList();
            if (result.Rake > 0)
                releases.Add(JournalEntry.Movement(RakeKey(contestId), LedgerKind, rules.Currency, now, "settlement", contestId,
                    escrow, LedgerAccountRef.Revenue(rules.Currency), result.Rake, $"rake of contest {contestId}"));
            await ledger.PostManyAsync(tx, releases, ct);
            var outputHash = await hashing;

            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO scoring_audits (contest_id, config_version, purpose, leaderboard_event_id, leaderboard_hash, entry_set_hash, output_hash, computed_at)
                VALUES (@contestId, @version, 'settlement', @eventId, @hash, @entrySetHash, @outputHash, @now)
                """, new { contestId, version = config.Version, eventId = basis.Id, hash = basis.Hash, entrySetHash, outputHash = outputHash, now }, tx, cancellationToken: ct));

            var persistMs = (int)persistWatch.ElapsedMilliseconds;
            var view = new SettlementView
            {
                Id = settlementId, ContestId = contestId, ConfigVersion = config.Version, ConfigHash = config.Hash, LeaderboardEventId = basis.Id,
                LeaderboardHash = basis.Hash, CompleteEventId = completeEventId, EntrySetHash = entrySetHash, EntryCount = entries.Count,
                OutputHash = outputHash, Gross = result.Gross, Rake = result.Rake, Net = result.Net, Currency = rules.Currency,
                Winners = winnings.Count, StartedAt = startedAt, CommittedAt = now, LoadMs = loadMs, ComputeMs = computeMs, PersistMs = persistMs,
                SettledBy = triggeredBy, CorrelationId = Correlation.Current,
            };
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO settlements (id, contest_id, config_version, config_hash, leaderboard_event_id, leaderboard_hash, complete_event_id, entry_set_hash,
                    entry_count, output_hash, gross, rake, net, currency, winners, started_at, committed_at, load_ms, compute_ms, persist_ms, settled_by, correlation_id)
                VALUES (@Id, @ContestId, @ConfigVersion, @ConfigHash, @LeaderboardEventId, @LeaderboardHash, @CompleteEventId, @EntrySetHash,
                    @EntryCount, @OutputHash, @Gross, @Rake, @Net, @Currency, @Winners, @StartedAt, @CommittedAt, @LoadMs, @ComputeMs, @PersistMs, @SettledBy, @CorrelationId)
                """, view, tx, cancellationToken: ct));
            await c.ExecuteAsync(new CommandDefinition("""
                INSERT INTO settlement_runs (contest_id, started_at, finished_at, outcome, settlement_id, triggered_by, correlation_id)
                VALUES (@contestId, @startedAt, @now, 'settled', @settlementId, @triggeredBy, @correlation)
                """, new { contestId, startedAt, now, settlementId, triggeredBy, correlation = Correlation.Current }, tx, cancellationToken: ct));
            await audit.WriteAsync(tx, new AuditEntry(triggeredBy, "settlement.committed", "settlement", contestId,
                $"contest settled: {entries.Count} entries, gross {result.Gross}, rake {result.Rake}, {winnings.Count} winner(s)",
                After: new { settlement_id = settlementId, output_hash = outputHash, gross = result.Gross, rake = result.Rake, net = result.Net, winners = winnings.Count },
                Evidence: new
                {
                    config_version = config.Version, config_hash = config.Hash, leaderboard_event_id = basis.Id, leaderboard_hash = basis.Hash,
                    complete_event_id = completeEventId, entry_set_hash = entrySetHash, entry_count = entries.Count,
                }), ct);
            CrashPoints.Hit(CrashBeforeCommit);
            await tx.CommitAsync(ct);

            SettlementMetrics.Duration.Observe(total.Elapsed.TotalSeconds);
            SettlementMetrics.Runs.WithLabels("settled").Inc();
            SettlementMetrics.LastRunStatus.Set(1);
            log.LogInformation("Contest {ContestId} settled: settlement {SettlementId}, {EntryCount} entries, gross {Gross}, rake {Rake}, {Winners} winner(s), output {OutputHash} (load {LoadMs} ms, compute {ComputeMs} ms, persist {PersistMs} ms)",
                contestId, settlementId, entries.Count, result.Gross, result.Rake, winnings.Count, outputHash, loadMs, computeMs, persistMs);
            return new SettleResult(SettleOutcome.Settled, view);
        }
        catch (SettlementRefusedException) { throw; }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "settlements_contest_id_key")
        {
            // Belt and braces behind the contest row lock: another run committed first; its result stands.
            await using var c = await db.OpenConnectionAsync(ct);
            return new SettleResult(SettleOutcome.AlreadySettled, (await settlements.ByContestAsync(c, contestId))!);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            var failure = e as SettlementFailedException ?? e switch
            {
                KillSwitchEngagedException k => new SettlementFailedException(contestId, SettlementCodes.KillSwitchActive, k.Message, k),
                LedgerException l => new SettlementFailedException(contestId, l.Code, l.Message, l),
                NpgsqlException { IsTransient: true } or TimeoutException => new SettlementFailedException(contestId, SettlementCodes.Transient, $"{e.GetType().Name}: {e.Message}", e),
                _ => new SettlementFailedException(contestId, SettlementCodes.Unexpected, $"{e.GetType().Name}: {e.Message}", e),
            };
            await RecordFailureAsync(contestId, startedAt, stage, triggeredBy, failure, total.Elapsed);
            await EscalateIfUnresolvableAsync(contestId, failure);
            throw failure;
        }

        SettlementFailedException Fail(string code, string message, object? detail = null) =>
            new(contestId, code, message, detail is null ? null : new SettlementDetailException(JsonSerializer.Serialize(detail)));
    }

    async Task RecordFailureAsync(string contestId, DateTimeOffset startedAt, string stage, string triggeredBy, SettlementFailedException failure, TimeSpan elapsed)
    {
        SettlementMetrics.Runs.WithLabels("failed").Inc();
        SettlementMetrics.LastRunStatus.Set(0);
        SettlementMetrics.Duration.Observe(elapsed.TotalSeconds);
        log.LogError(failure.InnerException is SettlementDetailException ? null : failure.InnerException,
            "Settlement of contest {ContestId} FAILED at stage {Stage} ({Code}): {Message}. Nothing was written; the job system retries it", contestId, stage, failure.Code, failure.Message);
        var errorJson = JsonSerializer.Serialize(new
        {
            code = failure.Code,
            message = failure.Message,
            stage,
            detail = failure.InnerException is SettlementDetailException d ? JsonDocument.Parse(d.Json).RootElement : (JsonElement?)null,
            exception = failure.InnerException is { } inner and not SettlementDetailException ? inner.GetType().FullName : null,
        });
        try
        {
            await using var c = await db.OpenConnectionAsync();
            await using var tx = await c.BeginTransactionAsync();
            var finishedAt = clock.GetUtcNow();
            await c.ExecuteAsync("""
                INSERT INTO settlement_runs (contest_id, started_at, finished_at, outcome, error_code, error_json, triggered_by, correlation_id)
                VALUES (@contestId, @startedAt, @finishedAt, 'failed', @code, @errorJson::jsonb, @triggeredBy, @correlation)
                """, new { contestId, startedAt, finishedAt, code = failure.Code, errorJson, triggeredBy, correlation = Correlation.Current }, tx);
            await audit.WriteAsync(tx, new AuditEntry(triggeredBy, "settlement.failed", "settlement", contestId,
                $"settlement failed ({failure.Code}): {Truncate(failure.Message, 1500)}", Evidence: JsonDocument.Parse(errorJson).RootElement));
            await tx.CommitAsync();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The database may be what failed; the log line above already carries the failure.
            log.LogError(e, "Recording the failed settlement of contest {ContestId} failed too", contestId);
        }
    }

    /// <summary>
    /// After SETTLEMENT_MAX_FAILED_ATTEMPTS failed runs for causes Fairway cannot resolve (<see cref="SettlementCodes.Unresolvable"/>),
    /// counted since the contest last became COMPLETE, the contest moves to ERROR (audited with the failures as evidence,
    /// <c>contests_in_error</c>): it stops being retried and waits for an admin's <c>fairway contests resolve</c>.
    /// </summary>
    async Task EscalateIfUnresolvableAsync(string contestId, SettlementFailedException failure)
    {
        if (!SettlementCodes.Unresolvable.Contains(failure.Code)) return;
        try
        {
            await using var c = await db.OpenConnectionAsync();
            var failures = (await c.QueryAsync<(long Id, string Code)>("""
                SELECT r.id, r.error_code FROM settlement_runs r
                 WHERE r.contest_id = @contestId AND r.outcome = 'failed' AND r.error_code = ANY(@codes)
                   AND r.id > coalesce((SELECT (a.evidence->>'last_settlement_run_id')::bigint FROM audit_events a
                                         WHERE a.entity_type = 'contest' AND a.entity_id = @contestId AND a.action = 'contest.transition'
                                           AND a.after_state->>'state' = 'COMPLETE'
                                         ORDER BY a.id DESC LIMIT 1), 0)
                 ORDER BY r.id
                """, new { contestId, codes = SettlementCodes.Unresolvable.ToArray() })).ToList();
            if (failures.Count < settings.SettlementMaxFailedAttempts) return;
            var result = await lifecycle.MarkErrorAsync(contestId, $"settlement_failed:{failure.Code}", SystemActor, new
            {
                cause = "settlement_failed",
                failed_runs = failures.Count,
                max_failed_attempts = settings.SettlementMaxFailedAttempts,
                last_error_code = failure.Code,
                last_error = Truncate(failure.Message, 1000),
                run_ids = failures.Select(f => f.Id).ToArray(),
                runbook = "docs/runbooks/contest-error.md",
            });
            if (result.Outcome == TransitionOutcome.Moved)
                log.LogError("Contest {ContestId} moved to ERROR after {Failures} failed settlement runs (last {Code}: {Message}); it waits for `fairway contests resolve`",
                    contestId, failures.Count, failure.Code, failure.Message);
        }
        catch (Exception e) when (e is NpgsqlException or ContestTransitionException or InvalidOperationException)
        {
            // The next failed run escalates again; the failure itself is recorded and alerted already.
            log.LogError(e, "Contest {ContestId}: moving it to ERROR after repeated settlement failures failed", contestId);
        }
    }

    static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    /// <summary>Prizes summed per winning user, in user id order (ordinal): one ledger release each.</summary>
    static List<(string UserId, long Amount)> Winnings(RankedSettlement result)
    {
        var byUser = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var p = 0; p < result.Count; p++)
            if (result.PrizeAt(p) > 0)
                byUser[result.UserIdAt(p)] = byUser.GetValueOrDefault(result.UserIdAt(p)) + result.PrizeAt(p);
        return byUser.Select(kv => (kv.Key, kv.Value)).OrderBy(w => w.Key, StringComparer.Ordinal).ToList();
    }
}

/// <summary>Structured detail of a settlement failure (engine errors, escrow figures), carried to error_json.</summary>
sealed class SettlementDetailException(string json) : Exception("settlement failure detail")
{
    public string Json { get; } = json;
}
