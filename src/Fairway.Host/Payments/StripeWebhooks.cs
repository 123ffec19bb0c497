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
/// one is stored raw (append-only, once per event id) and its processing job is enqueued; the answer is 200
/// at once, duplicates included.
/// </summary>
public static class StripeWebhookEndpoint
{
    public const int MaxBodyBytes = 256 * 1024;
    /// <summary>Crash point: the event is stored, its processing job not yet enqueued (the drain job heals it).</summary>
    public const string CrashAfterStoreBeforeEnqueue = "webhooks.after_store_before_enqueue";

    public static void MapStripeWebhook(this WebApplication app) =>
        app.MapPost("/webhooks/stripe", HandleAsync).AllowAnonymous().ExcludeFromDescription().WithMetadata(RequestBodyClass.StripeWebhook);

    static async Task<IResult> HandleAsync(HttpContext http, FairwaySettings settings, NpgsqlDataSource db, IBackgroundJobClient jobs, TimeProvider clock, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Fairway.Payments.Webhooks");
        var body = await ReadBoundedAsync(http.Request, MaxBodyBytes, http.RequestAborted);
        if (body is null) return Invalid(log, "body larger than 256 KiB");
        var signature = http.Request.Headers["Stripe-Signature"].ToString();
        Event evt;
        try
        {
            evt = EventUtility.ConstructEvent(body, signature, settings.StripeWebhookSecret,
                tolerance: (long)settings.StripeWebhookTolerance.TotalSeconds, throwOnApiVersionMismatch: false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Invalid(log, e.Message);
        }
        if (string.IsNullOrEmpty(evt.Id) || !evt.Id.StartsWith("evt_", StringComparison.Ordinal) || string.IsNullOrEmpty(evt.Type))
            return Invalid(log, "verified payload is not a Stripe event");

        bool inserted;
        await using (var c = await db.OpenConnectionAsync(http.RequestAborted))
        {
            inserted = await c.ExecuteAsync("""
                INSERT INTO stripe_webhook_events (event_id, type, api_version, stripe_created, livemode, payload, received_at)
                VALUES (@Id, @Type, @ApiVersion, @created, @Livemode, @body, @now)
                ON CONFLICT (event_id) DO NOTHING
                """, new { evt.Id, evt.Type, evt.ApiVersion, created = new DateTimeOffset(DateTime.SpecifyKind(evt.Created, DateTimeKind.Utc)).ToUnixTimeSeconds(), evt.Livemode, body, now = clock.GetUtcNow() }) == 1;
            CrashPoints.Hit(CrashAfterStoreBeforeEnqueue);
            var processed = !inserted && await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM stripe_webhook_processing WHERE event_id = @Id)", new { evt.Id });
            if (!processed) jobs.Enqueue<WebhookProcessingJob>(j => j.RunAsync(evt.Id, CancellationToken.None));
        }
        PaymentMetrics.WebhookReceived.WithLabels(inserted ? "false" : "true").Inc();
        log.LogInformation("Stripe webhook {EventId} ({EventType}) received{Duplicate}", evt.Id, evt.Type, inserted ? "" : " again (duplicate)");
        return Results.Ok(new { received = true, event_id = evt.Id, duplicate = !inserted });
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
/// Processes one stored webhook event, idempotently by event id: already processed → nothing; kill-switch
/// engaged → nothing (the event stays unprocessed and the drain job processes it once the switch is off);
/// otherwise dispatched by type, and the processing row is written in the same transaction as the effects.
/// </summary>
public sealed class WebhookProcessor(
    NpgsqlDataSource db, PaymentConvergence convergence, DisputeService disputes, PayoutAccountService accounts, KillSwitchService killSwitch,
    FairwaySettings settings, TimeProvider clock, ILogger<WebhookProcessor> log)
{
    public const int DrainBatch = 200;
    /// <summary>The outcome returned (not written as a processing row) when a failure parks the event.</summary>
    public const string DeadLettered = "dead_lettered";

    /// <summary>An event is parked when the latest of its 'parked'/'replayed' log rows is 'parked'.</summary>
    public const string ParkedSql = """
        (SELECT l.kind FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind IN ('parked', 'replayed') ORDER BY l.id DESC LIMIT 1) = 'parked'
        """;

    /// <summary>Returns the outcome written, or null when nothing was written (already processed, or deferred by the kill-switch).</summary>
    public async Task<string?> ProcessAsync(string eventId, CancellationToken ct)
    {
        (string Type, string Payload, bool Processed)? row;
        await using (var c = await db.OpenConnectionAsync(ct))
            row = await c.QuerySingleOrDefaultAsync<(string, string, bool)?>("""
                SELECT e.type, e.payload, p.event_id IS NOT NULL FROM stripe_webhook_events e
                  LEFT JOIN stripe_webhook_processing p ON p.event_id = e.event_id WHERE e.event_id = @eventId
                """, new { eventId });
        if (row is not { } r) { log.LogWarning("Webhook event {EventId} is not stored; nothing to process", eventId); return null; }
        if (r.Processed) return null;
        if (await IsParkedAsync(eventId, ct))
        {
            log.LogWarning("Webhook {EventId} ({EventType}) is parked as a dead letter; not processed until replayed (fairway webhooks replay)", eventId, r.Type);
            return null;
        }
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            Deferred(eventId, r.Type);
            return null;
        }

        var evt = EventUtility.ParseEvent(r.Payload, throwOnApiVersionMismatch: false);
        var actor = $"stripe:{eventId}";
        try
        {
            switch (r.Type)
            {
                case var t when t.StartsWith("payment_intent.", StringComparison.Ordinal) && evt.Data.Object is PaymentIntent pi:
                    return await ConvergeAsync(eventId, r.Type, pi.Id, actor, ct);
                case "charge.refunded" when evt.Data.Object is Charge { PaymentIntentId: { Length: > 0 } chargePi }:
                    return await ConvergeAsync(eventId, r.Type, chargePi, actor, ct);
                case var t when t.StartsWith("refund.", StringComparison.Ordinal) && evt.Data.Object is Stripe.Refund { PaymentIntentId: { Length: > 0 } refundPi }:
                    return await ConvergeAsync(eventId, r.Type, refundPi, actor, ct);
                case var t when t.StartsWith("charge.dispute.", StringComparison.Ordinal) && evt.Data.Object is Dispute dp:
                {
                    var result = await disputes.ConvergeAsync(dp.Id, actor, (tx, outcome, detail) => MarkProcessedAsync(tx, eventId, outcome, detail), ct);
                    return Count(r.Type, result.Outcome);
                }
                case "account.updated" when evt.Data.Object is Account account:
                {
                    var created = new DateTimeOffset(DateTime.SpecifyKind(evt.Created, DateTimeKind.Utc)).ToUnixTimeSeconds();
                    var outcome = await accounts.ApplyAccountUpdatedAsync(account, created, actor, (tx, o, d) => MarkProcessedAsync(tx, eventId, o, d), ct);
                    return Count(r.Type, outcome);
                }
                case var t when t.StartsWith("transfer.", StringComparison.Ordinal):
                    log.LogInformation("Webhook {EventId} ({EventType}) stored and ignored for now: transfers are handled by payouts", eventId, r.Type);
                    return await MarkIgnoredAsync(eventId, r.Type, "transfer events are handled by payouts", ct);
                default:
                    log.LogInformation("Webhook {EventId} ({EventType}) stored and ignored: Fairway does not act on this event type", eventId, r.Type);
                    return await MarkIgnoredAsync(eventId, r.Type, "event type not handled", ct);
            }
        }
        catch (KillSwitchEngagedException)
        {
            Deferred(eventId, r.Type);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Every failed attempt is on the record; after STRIPE_WEBHOOK_MAX_ATTEMPTS the event is parked and stops being retried.
            if (await RecordFailureAsync(eventId, r.Type, e)) return DeadLettered;
            throw;
        }
    }

    async Task<bool> IsParkedAsync(string eventId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>($"SELECT coalesce({ParkedSql}, false) FROM stripe_webhook_events e WHERE e.event_id = @eventId", new { eventId });
    }

    /// <summary>Records one failed attempt; parks the event when the failures since its last replay reach the limit. True when parked now.</summary>
    async Task<bool> RecordFailureAsync(string eventId, string type, Exception error)
    {
        try
        {
            await using var c = await db.OpenConnectionAsync();
            await using var tx = await c.BeginTransactionAsync();
            // One writer at a time per event, so two workers failing at once park it once.
            await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('webhook:' || @eventId))", new { eventId }, tx);
            var now = clock.GetUtcNow();
            var detail = PaymentStore.Truncate($"{error.GetType().Name}: {error.Message}", 2000);
            await c.ExecuteAsync("""
                INSERT INTO stripe_webhook_attempt_log (event_id, kind, at, actor, detail, correlation_id) VALUES (@eventId, 'failed', @now, 'system:webhooks', @detail, @correlation)
                """, new { eventId, now, detail, correlation = Platform.Telemetry.Correlation.Current }, tx);
            var (failures, parked) = await c.QuerySingleAsync<(long, bool)>($"""
                SELECT count(*) FILTER (WHERE l.kind = 'failed' AND l.id > coalesce((SELECT max(r.id) FROM stripe_webhook_attempt_log r WHERE r.event_id = @eventId AND r.kind = 'replayed'), 0)),
                       coalesce((SELECT {ParkedSql} FROM stripe_webhook_events e WHERE e.event_id = @eventId), false)
                  FROM stripe_webhook_attempt_log l WHERE l.event_id = @eventId
                """, new { eventId }, tx);
            var parkNow = !parked && failures >= settings.StripeWebhookMaxAttempts;
            if (parkNow)
                await c.ExecuteAsync("""
                    INSERT INTO stripe_webhook_attempt_log (event_id, kind, at, actor, detail, correlation_id)
                    VALUES (@eventId, 'parked', @now, 'system:webhooks', @detail, @correlation)
                    """, new { eventId, now, detail = PaymentStore.Truncate($"parked after {failures} failed attempts; last: {detail}", 2000), correlation = Platform.Telemetry.Correlation.Current }, tx);
            await tx.CommitAsync();
            PaymentMetrics.WebhookFailures.WithLabels(type).Inc();
            if (parkNow)
            {
                PaymentMetrics.WebhookEvents.WithLabels(type, DeadLettered).Inc();
                log.LogError(error, "Webhook {EventId} ({EventType}) PARKED as a dead letter after {Failures} failed attempts; replay it with `fairway webhooks replay {EventId} --reason …` once the cause is fixed",
                    eventId, type, failures, eventId);
            }
            return parkNow || parked;
        }
        catch (NpgsqlException e)
        {
            log.LogError(e, "Webhook {EventId}: its failed attempt could not be recorded", eventId);
            return false;
        }
    }

    async Task<string> ConvergeAsync(string eventId, string type, string paymentIntentId, string actor, CancellationToken ct)
    {
        var result = await convergence.ConvergeAsync(paymentIntentId, actor,
            (tx, res) => MarkProcessedAsync(tx, eventId, res.Outcome, $"{res.PaymentIntentId}: {res.Detail}"), ct);
        return Count(type, result.Outcome);
    }

    /// <summary>The processing row; in the caller's transaction (with the effects). A concurrent duplicate run inserts nothing.</summary>
    public async Task MarkProcessedAsync(NpgsqlTransaction tx, string eventId, string outcome, string detail) =>
        await tx.Connection!.ExecuteAsync("""
            INSERT INTO stripe_webhook_processing (event_id, processed_at, outcome, detail) VALUES (@eventId, @now, @outcome, @detail)
            ON CONFLICT (event_id) DO NOTHING
            """, new { eventId, now = clock.GetUtcNow(), outcome, detail = PaymentStore.Truncate(detail, 2000) }, tx);

    async Task<string> MarkIgnoredAsync(string eventId, string type, string detail, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await killSwitch.EnsureDisengagedAsync(tx, ct);
        await MarkProcessedAsync(tx, eventId, ConvergenceOutcomes.Ignored, detail);
        await tx.CommitAsync(ct);
        return Count(type, ConvergenceOutcomes.Ignored);
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

    /// <summary>Processes stored events that have no processing row, oldest first (bounded). Returns how many were processed now.</summary>
    public async Task<int> DrainAsync(CancellationToken ct)
    {
        if ((await killSwitch.ReadAsync(ct)).Engaged)
        {
            log.LogWarning("Webhook drain skipped: the kill-switch is engaged");
            return 0;
        }
        List<string> ids;
        await using (var c = await db.OpenConnectionAsync(ct))
            ids = (await c.QueryAsync<string>($"""
                SELECT e.event_id FROM stripe_webhook_events e
                 WHERE NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
                   AND coalesce({ParkedSql}, false) = false
                 ORDER BY e.received_at, e.event_id LIMIT @limit
                """, new { limit = DrainBatch })).ToList();
        var done = 0;
        foreach (var id in ids)
        {
            try { if (await ProcessAsync(id, ct) is { } outcome && outcome != DeadLettered) done++; }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogError(e, "Webhook drain: event {EventId} failed; it stays unprocessed and is retried by the next run", id);
            }
        }
        if (ids.Count > 0) log.LogInformation("Webhook drain: {Processed} of {Found} unprocessed events processed", done, ids.Count);
        return done;
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

/// <summary>Hangfire job: processes one stored webhook event. Stripe errors throw and are retried with backoff (bounded).</summary>
public sealed class WebhookProcessingJob(WebhookProcessor processor)
{
    [AutomaticRetry(Attempts = 8)]
    public Task RunAsync(string eventId, CancellationToken ct) => processor.ProcessAsync(eventId, ct);
}

/// <summary>Recurring (every minute): processes events left unprocessed (kill-switch was on, a job was lost in a crash, …).</summary>
public sealed class WebhookDrainJob(WebhookProcessor processor)
{
    public const string RecurringId = "stripe-webhook-drain";
    public const string Cron = "* * * * *";

    [DisableConcurrentExecution(timeoutInSeconds: 120)]
    [AutomaticRetry(Attempts = 0)] // the next minute's run is the retry
    public Task RunAsync(CancellationToken ct) => processor.DrainAsync(ct);
}
