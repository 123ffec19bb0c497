using Fairway.Host.Platform.Jobs;
using System.Text;
using Dapper;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Faults;
using Fairway.Host.Platform.Http;
using Hangfire;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

/// <summary>
/// <c>POST /webhooks/stripe</c> (anonymous, outside /api): the signature and timestamp are verified FIRST with
/// Stripe.net's verifier; an invalid delivery is refused (400 WEBHOOK_INVALID) and nothing is stored. A valid
/// one is stored raw (append-only, once per event id) and added to the backlog in the same statement; then a batch job
/// is enqueued unless one is already on its way (<c>stripe_webhook_wakeup</c>). The answer is 200 at once, duplicates included.
/// </summary>
public static class StripeWebhookEndpoint
{
    public const int MaxBodyBytes = 256 * 1024;
    /// <summary>Crash point: the event is stored (and in the backlog), no job enqueued for it (the next batch job or the drain takes it).</summary>
    public const string CrashAfterStoreBeforeEnqueue = "webhooks.after_store_before_enqueue";

    public static void MapStripeWebhook(this WebApplication app) =>
        app.MapPost("/webhooks/stripe", HandleAsync).AllowAnonymous().ExcludeFromDescription().WithMetadata(RequestBodyClass.StripeWebhook);

    static async Task<IResult> HandleAsync(HttpContext http, FairwaySettings settings, NpgsqlDataSource db, IBackgroundJobClient jobs, TimeProvider clock, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Fairway.Payments.Webhooks");
        var body = await ReadBoundedAsync(http.Request, MaxBodyBytes, http.RequestAborted);
        if (body is null) return Invalid(log, "body larger than 256 KiB");
        var signature = http.Request.Headers["Stripe-Signature"].ToString();
        try
        {
            EventUtility.ValidateSignature(body, signature, settings.StripeWebhookSecret, tolerance: (long)settings.StripeWebhookTolerance.TotalSeconds);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Invalid(log, e.Message);
        }
        // Only the envelope is read here: the processor parses the whole event with Stripe.net, the request needs no more
        // than the fields stored beside the raw payload (deserialising the event's object on every delivery was CPU spent twice).
        if (EventEnvelope.Read(body) is not { } evt)
            return Invalid(log, "verified payload is not a Stripe event");

        bool inserted, wake;
        await using (var c = await db.OpenConnectionAsync(http.RequestAborted))
        {
            // Stored and added to the backlog in one statement: a stored event is always pending, processed or parked.
            inserted = await c.ExecuteScalarAsync<long>("""
                WITH stored AS (
                    INSERT INTO stripe_webhook_events (event_id, type, api_version, stripe_created, livemode, payload, received_at)
                    VALUES (@Id, @Type, @ApiVersion, @created, @Livemode, @body, @now)
                    ON CONFLICT (event_id) DO NOTHING
                    RETURNING event_id, received_at),
                pending AS (INSERT INTO stripe_webhook_pending (event_id, received_at) SELECT event_id, received_at FROM stored RETURNING 1)
                SELECT count(*) FROM pending
                """, new { evt.Id, evt.Type, evt.ApiVersion, created = evt.Created, evt.Livemode, body, now = clock.GetUtcNow() }) == 1;
            CrashPoints.Hit(CrashAfterStoreBeforeEnqueue);
            // A batch job is enqueued only by the delivery that raises the flag (a job lowers it when it starts); a redelivery
            // of an event still pending raises it too.
            wake = await c.ExecuteAsync("""
                UPDATE stripe_webhook_wakeup SET requested = true
                 WHERE id = 1 AND NOT requested AND EXISTS (SELECT 1 FROM stripe_webhook_pending WHERE event_id = @Id)
                """, new { evt.Id }) == 1;
        }
        if (wake) jobs.Enqueue<WebhookBatchJob>(j => j.RunAsync(CancellationToken.None));
        PaymentMetrics.WebhookReceived.WithLabels(inserted ? "false" : "true").Inc();
        log.LogInformation("Stripe webhook {EventId} ({EventType}) received{Duplicate}", evt.Id, evt.Type, inserted ? "" : " again (duplicate)");
        return Results.Ok(new { received = true, event_id = evt.Id, duplicate = !inserted });
    }

    /// <summary>The fields of a verified event that are stored beside its raw payload; null when it is not a Stripe event.</summary>
    sealed record EventEnvelope(string Id, string Type, string? ApiVersion, long Created, bool Livemode)
    {
        public static EventEnvelope? Read(string body)
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(body);
                var root = doc.RootElement;
                if (root.ValueKind != System.Text.Json.JsonValueKind.Object) return null;
                string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString() : null;
                var id = Text("id");
                var type = Text("type");
                if (id is null || !id.StartsWith("evt_", StringComparison.Ordinal) || string.IsNullOrEmpty(type)) return null;
                if (!root.TryGetProperty("created", out var created) || !created.TryGetInt64(out var createdAt)) return null;
                var livemode = root.TryGetProperty("livemode", out var lm) && lm.ValueKind == System.Text.Json.JsonValueKind.True;
                return new EventEnvelope(id, type, Text("api_version"), createdAt, livemode);
            }
            catch (System.Text.Json.JsonException) { return null; }
        }
    }

    static IResult Invalid(ILogger log, string why)
    {
        PaymentMetrics.WebhookInvalid.Inc();
        // The request log line is the refusal's one warning (it carries this reason as the problem's detail).
        log.LogDebug("Stripe webhook refused (WEBHOOK_INVALID): {Reason}", why);
        return Problems.Result(ProblemCodes.WebhookInvalid, "The webhook signature or timestamp did not verify.", why);
    }

    static async Task<string?> ReadBoundedAsync(HttpRequest request, int max, CancellationToken ct)
    {
        if (request.ContentLength > max) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max) return null;
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

/// <summary>
/// Processes stored webhook events from the backlog (<c>stripe_webhook_pending</c>), idempotently by event id: claimed
/// <c>FOR UPDATE SKIP LOCKED</c> (so two jobs never process one event at once), kill-switch engaged → nothing (the events
/// stay pending; the next batch job or the drain takes them once the switch is off), otherwise dispatched by type, with the
/// processing row written and the pending row deleted in the same transaction as the effects.
/// <para>
/// Payment events (and types Fairway ignores) go in BATCHES (<see cref="WebhookBatchJob"/>): up to <see cref="MaxBatch"/>
/// pending events in one transaction, their payment intents read from Stripe once each and concurrently, their rows locked
/// together, then converged one after the other with their ledger entries and audit rows written together at the end. A
/// failure undoes the batch and its events are processed one by one. An event that fails is recorded (attempt log) and
/// handed to its own <see cref="WebhookProcessingJob"/>, so Hangfire retries it with its backoff, as the drain does every
/// minute; after STRIPE_WEBHOOK_MAX_ATTEMPTS failures it is parked. Disputes and account updates run one at a time through
/// their own services.
/// </para>
/// </summary>
public sealed class WebhookProcessor(
    NpgsqlDataSource db, PaymentConvergence convergence, DisputeService disputes, PayoutAccountService accounts, KillSwitchService killSwitch,
    FairwaySettings settings, TimeProvider clock, IBackgroundJobClient jobs, ILogger<WebhookProcessor> log)
{
    /// <summary>Most events converged in one transaction.</summary>
    public const int MaxBatch = 64;
    /// <summary>Most Stripe reads in flight for one batch.</summary>
    public const int StripeReadConcurrency = 8;
    /// <summary>Most events one drain run or one batch job claims (a batch job that reaches it enqueues the next).</summary>
    public const int DrainLimit = 2000;
    /// <summary>When a failed event's own job first runs (Hangfire's retries then space out the next attempts).</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(15);
    /// <summary>The outcome returned (not written as a processing row) when a failure parks the event.</summary>
    public const string DeadLettered = "dead_lettered";

    /// <summary>An event is parked when the latest of its 'parked'/'replayed' log rows is 'parked'.</summary>
    public const string ParkedSql = """
        (SELECT l.kind FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind IN ('parked', 'replayed') ORDER BY l.id DESC LIMIT 1) = 'parked'
        """;

    /// <summary>Types processed one at a time through their own services (they read other Stripe objects and commit themselves).</summary>
    const string SingleTypesSql = "(e.type LIKE 'charge.dispute.%' OR e.type = 'account.updated')";

    static readonly string Worker = $"{Environment.MachineName}:{Environment.ProcessId}";

    sealed record Claimed(string EventId, string Type, string Payload, int Attempts, bool Processed);

    public sealed record BatchOutcome(int Claimed, int Processed, bool Deferred, IReadOnlyDictionary<string, string> Outcomes, IReadOnlySet<string> Failed)
    {
        public static readonly BatchOutcome None = new(0, 0, false, new Dictionary<string, string>(), new HashSet<string>());
    }

    /// <summary>
    /// Processes one pending event now (its own job: after a failure in a batch, or an admin replay). Returns the outcome
    /// written, or null when nothing was written (not pending, claimed by another job, or deferred by the kill-switch).
    /// Throws when this attempt failed and the event is not parked, so Hangfire retries it with its backoff.
    /// </summary>
    public async Task<string?> ProcessAsync(string eventId, CancellationToken ct)
    {
        var r = await RunAsync(single: null, eventId, freshOnly: false, ct);
        if (r.Failed.Contains(eventId)) throw new WebhookProcessingFailedException(eventId);
        return r.Outcomes.GetValueOrDefault(eventId);
    }

    /// <summary>Processes every pending event (failed ones too), oldest first, each at most once, up to <see cref="DrainLimit"/>. Returns how many were processed.</summary>
    public async Task<int> DrainAsync(CancellationToken ct)
    {
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Webhook drain skipped: the kill-switch is engaged");
            return 0;
        }
        await LowerWakeupAsync(ct);
        var (claimed, done, _, _) = await RunManyAsync(freshOnly: false, ct);
        if (claimed > 0) log.LogInformation("Webhook drain: {Processed} of {Found} pending events processed", done, claimed);
        return done;
    }

    /// <summary>
    /// A batch job: processes the pending events that have not failed yet, in batches, until none is left, keeping the
    /// wake-up flag raised meanwhile, so the deliveries that arrive while it works enqueue no other batch job: their events
    /// go into this job's next batch (bigger batches, and no second job queueing behind this one's seat locks). When the
    /// backlog is empty it hands the flag back (<see cref="HandBackWakeupAsync"/>). Bounded: once it has claimed
    /// <see cref="DrainLimit"/> events (a steady stream never empties the backlog) it enqueues the next batch job, which
    /// inherits the raised flag.
    /// </summary>
    public async Task<int> RunBatchesAsync(CancellationToken ct)
    {
        int done = 0, claimedInAll = 0, idleRounds = 0;
        try
        {
            while (true)
            {
                var (claimed, processed, full, deferred) = await RunManyAsync(freshOnly: true, ct);
                done += processed;
                claimedInAll += claimed;
                if (full || claimedInAll >= DrainLimit)
                {
                    jobs.Enqueue<WebhookBatchJob>(j => j.RunAsync(CancellationToken.None));
                    return done;
                }
                // Kill-switch on: the events wait for the drain once it is off. Twice nothing to claim while events are
                // pending: another job holds them (the drain, a single event's job) and processes them.
                idleRounds = claimed == 0 ? idleRounds + 1 : 0;
                if (deferred || idleRounds == 2)
                {
                    await LowerWakeupAsync(ct);
                    return done;
                }
                if (!await HandBackWakeupAsync(ct)) return done;
            }
        }
        catch
        {
            // A failed run must not keep the flag: the next delivery then enqueues a new job (and the drain takes the rest).
            await LowerWakeupAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Lowers the wake-up flag, then raises it again when fresh events are pending and no delivery has raised it since:
    /// true means this job keeps the backlog. A delivery that stored its event before the flag came down saw it raised
    /// and enqueued nothing, so that event is this job's; one that raised it after enqueued its own job, which takes it.
    /// </summary>
    async Task<bool> HandBackWakeupAsync(CancellationToken ct)
    {
        await LowerWakeupAsync(ct);
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE stripe_webhook_wakeup SET requested = true WHERE id = 1 AND NOT requested AND EXISTS (SELECT 1 FROM stripe_webhook_pending WHERE attempts = 0)",
            cancellationToken: ct)) == 1;
    }

    async Task LowerWakeupAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition("UPDATE stripe_webhook_wakeup SET requested = false WHERE id = 1 AND requested", cancellationToken: ct));
    }

    async Task<(int Claimed, int Processed, bool Full, bool Deferred)> RunManyAsync(bool freshOnly, CancellationToken ct)
    {
        int claimed = 0, done = 0;
        // One attempt per event per run: an event that failed now is not claimed again by this run.
        var attempted = new HashSet<string>(StringComparer.Ordinal);
        while (claimed < DrainLimit)
        {
            var batch = await RunAsync(single: false, null, freshOnly, ct, attempted);
            var one = batch.Deferred ? BatchOutcome.None : await RunAsync(single: true, null, freshOnly, ct, attempted);
            claimed += batch.Claimed + one.Claimed;
            done += batch.Processed + one.Processed;
            if (batch.Deferred || one.Deferred || batch.Claimed + one.Claimed == 0) return (claimed, done, false, batch.Deferred || one.Deferred);
        }
        return (claimed, done, true, false);
    }

    /// <summary>
    /// Claims queued events (a batch of payment events when <paramref name="single"/> is false, one dispute/account event
    /// when true, either for a given <paramref name="onlyEventId"/> when null) and processes them in one transaction.
    /// </summary>
    async Task<BatchOutcome> RunAsync(bool? single, string? onlyEventId, bool freshOnly, CancellationToken ct, HashSet<string>? attempted = null)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var now = clock.GetUtcNow();
        var claimed = (await c.QueryAsync<Claimed>(new CommandDefinition($"""
            SELECT q.event_id AS EventId, e.type AS Type, e.payload AS Payload, q.attempts AS Attempts,
                   EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = q.event_id) AS Processed
              FROM stripe_webhook_pending q JOIN stripe_webhook_events e ON e.event_id = q.event_id
             WHERE (@onlyEventId::text IS NULL OR q.event_id = @onlyEventId)
               AND (@single::boolean IS NULL OR {SingleTypesSql} = @single)
               AND (NOT @freshOnly OR q.attempts = 0)
               AND NOT (q.event_id = ANY(@attempted))
             ORDER BY q.received_at, q.event_id
             LIMIT @limit
               FOR UPDATE OF q SKIP LOCKED
            """, new { onlyEventId, single, freshOnly, limit = single == true ? 1 : MaxBatch, attempted = attempted?.ToArray() ?? [] }, tx, cancellationToken: ct))).ToList();
        if (claimed.Count == 0) return BatchOutcome.None;
        attempted?.UnionWith(claimed.Select(e => e.EventId));

        // Processed already (its effects committed, its dequeue did not): only the queue row goes.
        foreach (var done in claimed.Where(e => e.Processed)) await DequeueAsync(tx, done.EventId);
        var work = claimed.Where(e => !e.Processed).ToList();
        if (work.Count > 0 && (await killSwitch.ReadAsync(ct)).Engaged)
        {
            foreach (var e in work) Deferred(e.EventId, e.Type);
            await tx.CommitAsync(CancellationToken.None);
            return new BatchOutcome(claimed.Count, 0, true, new Dictionary<string, string>(), new HashSet<string>());
        }
        var outcomes = new Dictionary<string, string>(StringComparer.Ordinal);
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var after = new AfterCommitSteps();
        try
        {
            if (work.Count > 0 && single == true || (single is null && work.Count == 1 && IsSingle(work[0].Type)))
                await ProcessOneAsync(tx, work[0], now, outcomes, failed, after, ct);
            else if (work.Count > 0)
                await ProcessBatchAsync(tx, work, now, outcomes, failed, after, ct);
        }
        catch (KillSwitchEngagedException)
        {
            foreach (var e in work) Deferred(e.EventId, e.Type);
            return new BatchOutcome(claimed.Count, 0, true, new Dictionary<string, string>(), new HashSet<string>());
        }
        catch (BatchFailedException undone)
        {
            log.LogWarning(undone.InnerException, "Webhook batch of {Events} events undone: event {EventId} failed; processing them one by one", work.Count, undone.EventId);
            await tx.RollbackAsync(CancellationToken.None);
            var one = new Dictionary<string, string>(StringComparer.Ordinal);
            var oneFailed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var e in work)
            {
                var r = await RunAsync(single: null, e.EventId, freshOnly: false, ct);
                if (r.Outcomes.TryGetValue(e.EventId, out var o)) one[e.EventId] = o;
                oneFailed.UnionWith(r.Failed);
            }
            return new BatchOutcome(claimed.Count, one.Values.Count(o => o != DeadLettered), false, one, oneFailed);
        }
        await tx.CommitAsync(CancellationToken.None);
        after.Run();
        return new BatchOutcome(claimed.Count, outcomes.Values.Count(o => o != DeadLettered), false, outcomes, failed);
    }

    static bool IsSingle(string type) => type.StartsWith("charge.dispute.", StringComparison.Ordinal) || type == "account.updated";

    /// <summary>What a batch event asks for: converging a payment intent, or being recorded as ignored.</summary>
    sealed record Target(string? PaymentIntentId, string? IgnoredBecause, Exception? Unreadable = null);

    Target TryTarget(Claimed e)
    {
        try { return TargetOf(e.Type, e.Payload, log, e.EventId); }
        catch (Exception ex) when (ex is not OperationCanceledException) { return new Target(null, null, ex); }
    }

    static Target TargetOf(string type, string payload, ILogger log, string eventId)
    {
        var evt = EventUtility.ParseEvent(payload, throwOnApiVersionMismatch: false);
        switch (type)
        {
            case var t when t.StartsWith("payment_intent.", StringComparison.Ordinal) && evt.Data.Object is PaymentIntent pi:
                return new Target(pi.Id, null);
            case "charge.refunded" when evt.Data.Object is Charge { PaymentIntentId: { Length: > 0 } chargePi }:
                return new Target(chargePi, null);
            case var t when t.StartsWith("refund.", StringComparison.Ordinal) && evt.Data.Object is Stripe.Refund { PaymentIntentId: { Length: > 0 } refundPi }:
                return new Target(refundPi, null);
            case var t when t.StartsWith("transfer.", StringComparison.Ordinal):
                log.LogInformation("Webhook {EventId} ({EventType}) stored and ignored for now: transfers are handled by payouts", eventId, type);
                return new Target(null, "transfer events are handled by payouts");
            default:
                log.LogInformation("Webhook {EventId} ({EventType}) stored and ignored: Fairway does not act on this event type", eventId, type);
                return new Target(null, "event type not handled");
        }
    }

    async Task ProcessBatchAsync(NpgsqlTransaction tx, List<Claimed> work, DateTimeOffset now, Dictionary<string, string> outcomes, HashSet<string> failed, AfterCommitSteps after, CancellationToken ct)
    {
        var c = tx.Connection!;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var targets = work.Select(e => (Event: e, Target: TryTarget(e))).ToList();
        // Each payment intent is read from Stripe once for the whole batch, several at a time.
        using var gate = new SemaphoreSlim(StripeReadConcurrency);
        var reads = targets.Select(t => t.Target.PaymentIntentId).OfType<string>().Distinct(StringComparer.Ordinal)
            .ToDictionary(pi => pi, pi => ReadGatedAsync(pi, gate, ct), StringComparer.Ordinal);
        try { await Task.WhenAll(reads.Values); } catch (Exception) when (!ct.IsCancellationRequested) { /* per event below */ }
        ct.ThrowIfCancellationRequested();
        var readMs = watch.Elapsed.TotalMilliseconds;

        await killSwitch.EnsureDisengagedAsync(tx, ct);
        var alone = targets.Count == 1;
        var batch = new ConvergenceBatch(deferWrites: !alone);
        // A batch writes its processing rows (and removes their queue rows) in one statement at the end, with its ledger and audit rows.
        var processed = new List<ProcessedRow>();
        Task Processed(NpgsqlTransaction t, string eventId, string outcome, string detail)
        {
            if (!batch.DefersWrites) return MarkProcessedAsync(t, eventId, outcome, detail, dequeue: true);
            processed.Add(new ProcessedRow(eventId, clock.GetUtcNow(), outcome, PaymentStore.Truncate(detail, 2000)));
            return Task.CompletedTask;
        }
        await batch.LockAsync(tx, reads.Values.Where(r => r.IsCompletedSuccessfully).Select(r => r.Result.PaymentIntent).ToList());

        // Several events: no savepoint each (two round trips per event); a database failure of any of them undoes the batch and
        // the events are then processed one by one, each under its own savepoint (RunAsync). One event: its savepoint here.
        foreach (var (e, target) in targets)
        {
            var actor = $"stripe:{e.EventId}";
            Exception? unusable = target.Unreadable is { } unreadable
                ? new InvalidOperationException($"the stored payload of {e.EventId} cannot be read: {unreadable.Message}", unreadable)
                : target.PaymentIntentId is { } failedPi && reads[failedPi] is { IsCompletedSuccessfully: false } failedRead
                    ? failedRead.Exception?.GetBaseException() ?? new TimeoutException($"reading {failedPi} from Stripe was cancelled (timeout)")
                    : null;
            if (unusable is not null)
            {
                // Nothing of it touched the database: the failure is recorded and the batch goes on.
                if (await RecordFailureAsync(tx, e, unusable, now, after)) outcomes[e.EventId] = DeadLettered; else failed.Add(e.EventId);
                continue;
            }
            if (alone) await tx.SaveAsync("event", CancellationToken.None);
            try
            {
                string outcome;
                if (target.PaymentIntentId is { } piId)
                {
                    var view = reads[piId].Result;
                    var result = await convergence.ApplyAsync(tx, view, actor,
                        (t, r) => Processed(t, e.EventId, r.Outcome, $"{r.PaymentIntentId}: {r.Detail}"), batch, CancellationToken.None);
                    after.Add(() => convergence.AfterCommit(result, actor));
                    outcome = result.Outcome;
                }
                else
                {
                    await Processed(tx, e.EventId, ConvergenceOutcomes.Ignored, target.IgnoredBecause!);
                    outcome = ConvergenceOutcomes.Ignored;
                }
                if (alone) await tx.ReleaseAsync("event", CancellationToken.None);
                outcomes[e.EventId] = outcome;
                after.Add(() => Count(e.Type, outcome));
            }
            catch (Exception ex) when (ex is not KillSwitchEngagedException && !(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                if (!alone) throw new BatchFailedException(e.EventId, ex);
                await tx.RollbackAsync("event", CancellationToken.None);
                if (await RecordFailureAsync(tx, e, ex, now, after)) outcomes[e.EventId] = DeadLettered; else failed.Add(e.EventId);
            }
        }
        if (batch.DefersWrites)
        {
            try
            {
                await convergence.FlushAsync(tx, batch, CancellationToken.None);
                await MarkProcessedManyAsync(tx, processed);
            }
            catch (Exception ex) when (ex is not OperationCanceledException) { throw new BatchFailedException(targets[0].Event.EventId, ex); }
            if (outcomes.Values.Contains(ConvergenceOutcomes.Applied)) CrashPoints.Hit(PaymentConvergence.CrashAfterLedgerBeforeCommit);
        }
        var applyMs = watch.Elapsed.TotalMilliseconds - readMs;
        after.Add(() => log.LogInformation("Webhook batch of {Events} event(s): {Processed} processed; Stripe reads {ReadMs:F0} ms ({Intents} intents), convergence {ApplyMs:F0} ms",
            work.Count, outcomes.Count, readMs, reads.Count, applyMs));
    }

    async Task<StripePaymentView> ReadGatedAsync(string paymentIntentId, SemaphoreSlim gate, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try { return await convergence.ReadAsync(paymentIntentId, ct); }
        finally { gate.Release(); }
    }

    /// <summary>A dispute or account event: its service converges and commits on its own connection (with the processing row);
    /// this transaction holds the event's queue row meanwhile and removes it after.</summary>
    async Task ProcessOneAsync(NpgsqlTransaction tx, Claimed e, DateTimeOffset now, Dictionary<string, string> outcomes, HashSet<string> failed, AfterCommitSteps after, CancellationToken ct)
    {
        var actor = $"stripe:{e.EventId}";
        try
        {
            var evt = EventUtility.ParseEvent(e.Payload, throwOnApiVersionMismatch: false);
            string outcome;
            switch (e.Type)
            {
                case var t when t.StartsWith("charge.dispute.", StringComparison.Ordinal) && evt.Data.Object is Dispute dp:
                    outcome = (await disputes.ConvergeAsync(dp.Id, actor, (t2, o, d) => MarkProcessedAsync(t2, e.EventId, o, d), ct)).Outcome;
                    break;
                case "account.updated" when evt.Data.Object is Account account:
                    var created = new DateTimeOffset(DateTime.SpecifyKind(evt.Created, DateTimeKind.Utc)).ToUnixTimeSeconds();
                    outcome = await accounts.ApplyAccountUpdatedAsync(account, created, actor, (t2, o, d) => MarkProcessedAsync(t2, e.EventId, o, d), ct);
                    break;
                default:
                    log.LogInformation("Webhook {EventId} ({EventType}) stored and ignored: Fairway does not act on this event type", e.EventId, e.Type);
                    await killSwitch.EnsureDisengagedAsync(tx, ct);
                    await MarkProcessedAsync(tx, e.EventId, ConvergenceOutcomes.Ignored, "event type not handled");
                    outcome = ConvergenceOutcomes.Ignored;
                    break;
            }
            await DequeueAsync(tx, e.EventId);
            outcomes[e.EventId] = outcome;
            after.Add(() => Count(e.Type, outcome));
        }
        catch (Exception ex) when (ex is not KillSwitchEngagedException && !(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            if (await RecordFailureAsync(tx, e, ex, now, after)) outcomes[e.EventId] = DeadLettered; else failed.Add(e.EventId);
        }
    }

    /// <summary>
    /// Records one failed attempt in the claiming transaction; parks the event (out of the backlog) when the failures since
    /// its last replay reach the limit, otherwise counts it and, after commit, hands it to its own job (retried by Hangfire
    /// with backoff; batch jobs leave it alone from now on). True when parked (now or before).
    /// </summary>
    async Task<bool> RecordFailureAsync(NpgsqlTransaction tx, Claimed e, Exception error, DateTimeOffset now, AfterCommitSteps after)
    {
        var c = tx.Connection!;
        // One writer at a time per event, so two workers failing at once park it once.
        await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('webhook:' || @eventId))", new { eventId = e.EventId }, tx);
        var detail = PaymentStore.Truncate($"{error.GetType().Name}: {error.Message}", 2000);
        await c.ExecuteAsync("""
            INSERT INTO stripe_webhook_attempt_log (event_id, kind, at, actor, detail, correlation_id) VALUES (@eventId, 'failed', @now, 'system:webhooks', @detail, @correlation)
            """, new { eventId = e.EventId, now, detail, correlation = Platform.Telemetry.Correlation.Current }, tx);
        var (failures, parked) = await c.QuerySingleAsync<(long, bool)>($"""
            SELECT count(*) FILTER (WHERE l.kind = 'failed' AND l.id > coalesce((SELECT max(r.id) FROM stripe_webhook_attempt_log r WHERE r.event_id = @eventId AND r.kind = 'replayed'), 0)),
                   coalesce((SELECT {ParkedSql} FROM stripe_webhook_events e WHERE e.event_id = @eventId), false)
              FROM stripe_webhook_attempt_log l WHERE l.event_id = @eventId
            """, new { eventId = e.EventId }, tx);
        var parkNow = !parked && failures >= settings.StripeWebhookMaxAttempts;
        if (parkNow || parked)
        {
            if (parkNow)
                await c.ExecuteAsync("""
                    INSERT INTO stripe_webhook_attempt_log (event_id, kind, at, actor, detail, correlation_id)
                    VALUES (@eventId, 'parked', @now, 'system:webhooks', @detail, @correlation)
                    """, new { eventId = e.EventId, now, detail = PaymentStore.Truncate($"parked after {failures} failed attempts; last: {detail}", 2000), correlation = Platform.Telemetry.Correlation.Current }, tx);
            await DequeueAsync(tx, e.EventId);
        }
        else
        {
            await c.ExecuteAsync("UPDATE stripe_webhook_pending SET attempts = attempts + 1 WHERE event_id = @eventId", new { eventId = e.EventId }, tx);
            // Its first own try is scheduled (an immediate one would just fail again); a run of that job that is itself this
            // attempt (attempts already > 0) is retried by Hangfire instead.
            if (e.Attempts == 0) after.Add(() => jobs.Schedule<WebhookProcessingJob>(j => j.RunAsync(e.EventId, CancellationToken.None), FirstRetryDelay));
        }
        after.Add(() =>
        {
            PaymentMetrics.WebhookFailures.WithLabels(e.Type).Inc();
            if (parkNow)
            {
                PaymentMetrics.WebhookEvents.WithLabels(e.Type, DeadLettered).Inc();
                log.LogError(error, "Webhook {EventId} ({EventType}) PARKED as a dead letter after {Failures} failed attempts; replay it with `fairway webhooks replay {EventId} --reason …` once the cause is fixed",
                    e.EventId, e.Type, failures, e.EventId);
            }
            else
                log.LogError(error, "Webhook {EventId} ({EventType}) failed (attempt {Failures} of {Max}); it stays queued and is tried again", e.EventId, e.Type, failures, settings.StripeWebhookMaxAttempts);
        });
        return parkNow || parked;
    }

    static Task DequeueAsync(NpgsqlTransaction tx, string eventId) =>
        tx.Connection!.ExecuteAsync("DELETE FROM stripe_webhook_pending WHERE event_id = @eventId", new { eventId }, tx);

    /// <summary>The processing row; in the caller's transaction (with the effects). A concurrent duplicate run inserts nothing.
    /// Who wrote it and when (database clock) are diagnostics: which worker and batch processed the event. With
    /// <paramref name="dequeue"/> (the claiming transaction itself) the queue row goes in the same statement.</summary>
    public async Task MarkProcessedAsync(NpgsqlTransaction tx, string eventId, string outcome, string detail, bool dequeue = false) =>
        await tx.Connection!.ExecuteAsync($"""
            {(dequeue ? "WITH dequeued AS (DELETE FROM stripe_webhook_pending WHERE event_id = @eventId)" : "")}
            INSERT INTO stripe_webhook_processing (event_id, processed_at, outcome, detail, processed_by, batch_started_at, written_at)
            VALUES (@eventId, @now, @outcome, @detail, @worker, transaction_timestamp(), clock_timestamp())
            ON CONFLICT (event_id) DO NOTHING
            """, new { eventId, now = clock.GetUtcNow(), outcome, detail = PaymentStore.Truncate(detail, 2000), worker = Worker }, tx);

    sealed record ProcessedRow(string EventId, DateTimeOffset At, string Outcome, string Detail);

    /// <summary>The processing rows of a batch and the removal of their queue rows, in one statement (as <see cref="MarkProcessedAsync"/> each).</summary>
    Task MarkProcessedManyAsync(NpgsqlTransaction tx, IReadOnlyList<ProcessedRow> rows) =>
        rows.Count == 0 ? Task.CompletedTask : tx.Connection!.ExecuteAsync("""
            WITH r AS (SELECT * FROM unnest(@ids::text[], @ats::timestamptz[], @outcomes::text[], @details::text[]) AS r(event_id, processed_at, outcome, detail)),
            dequeued AS (DELETE FROM stripe_webhook_pending q USING r WHERE q.event_id = r.event_id)
            INSERT INTO stripe_webhook_processing (event_id, processed_at, outcome, detail, processed_by, batch_started_at, written_at)
            SELECT event_id, processed_at, outcome, detail, @worker, transaction_timestamp(), clock_timestamp() FROM r
            ON CONFLICT (event_id) DO NOTHING
            """, new
            {
                ids = rows.Select(r => r.EventId).ToArray(),
                ats = rows.Select(r => r.At.UtcDateTime).ToArray(),
                outcomes = rows.Select(r => r.Outcome).ToArray(),
                details = rows.Select(r => r.Detail).ToArray(),
                worker = Worker,
            }, tx);

    /// <summary>A database failure inside a batch of several events: the batch is undone and its events processed one by one.</summary>
    sealed class BatchFailedException(string eventId, Exception inner) : Exception($"webhook {eventId} failed inside a batch", inner)
    {
        public string EventId { get; } = eventId;
    }

    static string Count(string type, string outcome)
    {
        PaymentMetrics.WebhookEvents.WithLabels(type, outcome).Inc();
        return outcome;
    }

    void Deferred(string eventId, string type)
    {
        PaymentMetrics.WebhookEvents.WithLabels(type, "deferred_kill_switch").Inc();
        log.LogWarning("Webhook {EventId} ({EventType}) stored but not processed: the kill-switch is engaged (processed by the drain job once it is off)", eventId, type);
    }
}

public sealed record DeadLetterView(string EventId, string Type, DateTimeOffset ReceivedAt, DateTimeOffset ParkedAt, long Failures, string? LastError);

/// <summary>The dead letters: events parked after too many failed attempts, and their replay (admin, audited).</summary>
public sealed class WebhookDeadLetters(NpgsqlDataSource db, AuditWriter audit, TimeProvider clock, IBackgroundJobClient jobs, ILogger<WebhookDeadLetters> log)
{
    public const int MaxPage = 200;

    public async Task<IReadOnlyList<DeadLetterView>> ListAsync(int limit, string? after, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<(string EventId, string Type, DateTime ReceivedAt, DateTime ParkedAt, long Failures, string? LastError)>(new CommandDefinition($"""
            SELECT e.event_id, e.type, e.received_at,
                   (SELECT max(l.at) FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind = 'parked'),
                   (SELECT count(*) FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind = 'failed'),
                   (SELECT l.detail FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind = 'failed' ORDER BY l.id DESC LIMIT 1)
              FROM stripe_webhook_events e
             WHERE {WebhookProcessor.ParkedSql} AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
               AND (@after::text IS NULL OR e.event_id > @after)
             ORDER BY e.event_id LIMIT @limit
            """, new { after, limit = Math.Clamp(limit, 1, MaxPage) }, cancellationToken: ct));
        return rows.Select(r => new DeadLetterView(r.EventId, r.Type, PaymentStore.Utc(r.ReceivedAt), PaymentStore.Utc(r.ParkedAt), r.Failures, r.LastError)).ToList();
    }

    /// <summary>Takes a parked event out of the dead letters (audited) and processes it again; its failure count starts from zero.</summary>
    public async Task<(int Status, ProblemCode? Code, string Message, string? JobId)> ReplayAsync(string eventId, string actor, string reason, CancellationToken ct)
    {
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('webhook:' || @eventId))", new { eventId }, tx);
            var state = await c.QuerySingleOrDefaultAsync<(bool Processed, bool Parked)?>($"""
                SELECT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id), coalesce({WebhookProcessor.ParkedSql}, false)
                  FROM stripe_webhook_events e WHERE e.event_id = @eventId
                """, new { eventId }, tx);
            if (state is null) return (404, ProblemCodes.WebhookEventNotFound, $"no stored webhook event '{eventId}'", null);
            if (state.Value.Processed) return (409, ProblemCodes.WebhookEventProcessed, $"event {eventId} is processed already", null);
            if (!state.Value.Parked) return (409, ProblemCodes.WebhookEventNotParked, $"event {eventId} is not parked; it is retried by the drain", null);
            var now = clock.GetUtcNow();
            await c.ExecuteAsync("""
                INSERT INTO stripe_webhook_attempt_log (event_id, kind, at, actor, detail, correlation_id) VALUES (@eventId, 'replayed', @now, @actor, @reason, @correlation)
                """, new { eventId, now, actor, reason, correlation = Platform.Telemetry.Correlation.Current }, tx);
            await audit.WriteAsync(tx, new AuditEntry(actor, "webhook.replayed", "stripe_webhook_event", eventId, reason,
                Before: new { parked = true }, After: new { parked = false }), ct);
            // Back in the backlog with a fresh attempt count; its job (below) processes it.
            await c.ExecuteAsync("""
                INSERT INTO stripe_webhook_pending (event_id, received_at) SELECT event_id, received_at FROM stripe_webhook_events WHERE event_id = @eventId
                ON CONFLICT (event_id) DO UPDATE SET attempts = 0
                """, new { eventId }, tx);
            await tx.CommitAsync(ct);
        }
        var jobId = jobs.Enqueue<WebhookProcessingJob>(j => j.RunAsync(eventId, CancellationToken.None));
        log.LogWarning("Webhook {EventId} taken out of the dead letters by {Actor} and processed again (job {JobId}): {Reason}", eventId, actor, jobId, reason);
        return (202, null, $"event {eventId} replayed", jobId);
    }

    /// <summary>For stripe_webhook_dead_letters at scrape time.</summary>
    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>(new CommandDefinition($"""
            SELECT count(*) FROM stripe_webhook_events e
             WHERE e.event_id IN (SELECT DISTINCT event_id FROM stripe_webhook_attempt_log WHERE kind = 'parked')
               AND {WebhookProcessor.ParkedSql} AND NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
            """, cancellationToken: ct));
    }
}

/// <summary>
/// Hangfire job: processes one stored webhook event (an event that failed in a batch, an admin replay; jobs enqueued per
/// delivery before batches still run). A failed attempt throws, so Hangfire retries it with its backoff (bounded).
/// </summary>
public sealed class WebhookProcessingJob(WebhookProcessor processor)
{
    [AutomaticRetry(Attempts = 8)]
    public Task RunAsync(string eventId, CancellationToken ct) => processor.ProcessAsync(eventId, ct);
}

/// <summary>
/// Hangfire job: processes the pending webhook events in batches (enqueued by the delivery that raises the wake-up flag,
/// by a batch job that reached its limit). Several may run at once, on any workers: they split the backlog.
/// </summary>
public sealed class WebhookBatchJob(WebhookProcessor processor)
{
    [AutomaticRetry(Attempts = 3)]
    public Task RunAsync(CancellationToken ct) => processor.RunBatchesAsync(ct);
}

/// <summary>One processing attempt of a webhook event failed (recorded in its attempt log); Hangfire retries the job.</summary>
public sealed class WebhookProcessingFailedException(string eventId) : Exception($"processing webhook {eventId} failed; the failure is recorded and the job is retried")
{
    public string EventId { get; } = eventId;
}

/// <summary>Recurring (every minute): processes every pending event once, failed ones too (kill-switch was on, a job was lost in a crash, …).</summary>
public sealed class WebhookDrainJob(WebhookProcessor processor)
{
    public const string RecurringId = "stripe-webhook-drain";
    public const string Cron = "* * * * *";

    [SingleInstance(timeoutInSeconds: 120)]
    [AutomaticRetry(Attempts = 0)] // the next minute's run is the retry
    public Task RunAsync(CancellationToken ct) => processor.DrainAsync(ct);
}

/// <summary>
/// What a webhook transaction does once it has committed, in order: log lines, metrics, job hand-offs (refund sends). The
/// charges' fees are no step of their own any more: convergence books them in the transaction.
/// </summary>
sealed class AfterCommitSteps
{
    readonly List<Action> actions = [];

    public void Add(Action action) => actions.Add(action);

    public void Run()
    {
        foreach (var a in actions) a();
    }
}
