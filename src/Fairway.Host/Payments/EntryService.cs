using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.Engine.Contests;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Faults;
using Fairway.Host.Platform.Http;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public sealed record EntryView(string Id, string ContestId, string UserId, IReadOnlyList<string> Golfers, string Status, long? EntryFee, string? Currency,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, PaymentSummary? Payment = null);

public sealed record PaymentSummary(string PaymentIntentId, string Status, long Amount, string Currency, string? LastError);

public sealed record PaymentView(string PaymentIntentId, string? ClientSecret, string Status, string StripeStatus, long Amount, string Currency);

public sealed record EntryCreated(EntryView Entry, PaymentView Payment);

public sealed record EntryOutcome(int Status, EntryCreated? Body, ProblemCode? Code = null, string? Title = null, string? Detail = null, IReadOnlyList<ProblemError>? Errors = null);

/// <summary>
/// Entries: insert PENDING_PAYMENT (kill-switch, contest SCHEDULED, roster valid against the current field,
/// max_entries), commit, THEN create the PaymentIntent with the key <c>entry:&lt;entry_id&gt;:payment</c> and record it.
/// With a client <c>Idempotency-Key</c> the entry id is derived from (user, contest, key), so a retried
/// request finds its entry and reads (or re-creates, idempotently) the same PaymentIntent.
/// </summary>
public sealed class EntryService(
    NpgsqlDataSource db, ContestRepository contests, ContestFieldService fields, KillSwitchService killSwitch, AuditWriter audit,
    StripeGateway stripe, TimeProvider clock, ILogger<EntryService> log)
{
    /// <summary>Crash point: the entry is committed, no PaymentIntent exists yet (the sweeper or a retried request heals it).</summary>
    public const string CrashAfterEntryInsertBeforeIntent = "payments.after_entry_insert_before_intent";

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string EntryIdFor(string userId, string contestId, string? idempotencyKey) =>
        "ent_" + (idempotencyKey is null
            ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12))
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{userId}\n{contestId}\n{idempotencyKey}")))[..24]);

    public async Task<EntryOutcome> CreateAsync(string userId, string actor, string contestId, IReadOnlyList<string> golfers, string? idempotencyKey, CancellationToken ct)
    {
        var entryId = EntryIdFor(userId, contestId, idempotencyKey);
        var golfersJson = JsonSerializer.Serialize(golfers);
        var requestHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(contestId + "\n" + golfersJson)));
        EntryRow entry;
        bool created;
        await using (var c = await db.OpenConnectionAsync(ct))
        await using (var tx = await c.BeginTransactionAsync(ct))
        {
            await killSwitch.EnsureDisengagedAsync(tx, ct);
            // The contest row held FOR SHARE: its state, config and field cannot change until this commits (lifecycle
            // transitions, config publication and field updates take it FOR UPDATE), while entries of the same contest are
            // created side by side: nothing here needs them one at a time. max_entries counts paid entries only, and a
            // payment becomes paid under the contest's seat lock, which re-checks it; so the check below is a courtesy.
            var contest = await contests.GetForShareAsync(tx, contestId);
            if (contest is null) return Problem(ProblemCodes.ContestNotFound, $"No contest '{contestId}'.", null);
            // Requests with one Idempotency-Key name one entry id: they go one at a time, so the second finds the first's entry.
            if (idempotencyKey is not null)
                await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('entry:' || @entryId))", new { entryId }, tx);
            var replay = idempotencyKey is null ? null : await PaymentStore.EntryByClientKeyAsync(c, userId, idempotencyKey, tx);
            if (replay is not null)
            {
                if (replay.ContestId != contestId || replay.RequestHash != requestHash)
                    return Problem(ProblemCodes.IdempotencyConflict, "This Idempotency-Key was used with a different request.",
                        $"key already names entry {replay.Id} (contest {replay.ContestId}) with other golfers; use a new key for a new entry");
                entry = replay;
                created = false;
            }
            else
            {
                if (contest.State != ContestStates.Name(ContestState.Scheduled))
                    return Problem(ProblemCodes.ContestNotOpen, "The contest does not accept entries.", $"contest {contestId} is {contest.State}; entries are accepted only while SCHEDULED");
                var config = (await contests.ActiveConfigAsync(c, contestId, tx)).Config;
                var field = await fields.CurrentAsync(c, contestId, tx);
                if (field is null)
                    return Problem(ProblemCodes.ContestNotOpen, "The contest does not accept entries.", $"contest {contestId} has no field yet");
                var roster = ContestRulesValidator.ValidateRoster(golfers, config.Rules.RosterSize, field.Primary.Select(g => g.Id).ToList());
                if (!roster.IsSuccess)
                    return Problem(ProblemCodes.RosterInvalid, "The roster is invalid.", null,
                        roster.Errors.Select(e => new ProblemError(e.Path, e.Code, e.Message)).ToList());
                var active = await contests.CountEntriesAsync(c, contestId, EntryStatuses.Active, tx);
                if (active >= config.Rules.MaxEntries)
                    return Problem(ProblemCodes.ContestFull, "The contest is full.", $"{active} paid entries = max_entries {config.Rules.MaxEntries}");
                var now = clock.GetUtcNow();
                var currency = config.Rules.Currency.ToLowerInvariant();
                try
                {
                    await c.ExecuteAsync("""
                        INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency, client_idempotency_key, request_hash)
                        VALUES (@entryId, @contestId, @userId, @golfersJson::jsonb, 'PENDING_PAYMENT', @now, @now, @fee, @currency, @idempotencyKey, @requestHash)
                        """, new { entryId, contestId, userId, golfersJson, now, fee = config.Rules.EntryFee, currency, idempotencyKey, requestHash }, tx);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    // The same key raced in on another contest (another entry id, so another lock): one of them wins.
                    return Problem(ProblemCodes.IdempotencyConflict, "This Idempotency-Key was used with a different request.", $"key already names another entry ({e.ConstraintName})");
                }
                await audit.WriteAsync(tx, new AuditEntry(actor, "entry.created", "entry", entryId, "player entered the contest",
                    After: new { status = EntryStatuses.PendingPayment, contest_id = contestId, golfers, entry_fee = config.Rules.EntryFee, currency }), ct);
                entry = (await PaymentStore.EntryAsync(c, entryId, tx))!;
                created = true;
            }
            await tx.CommitAsync(ct);
        }
        if (created) CrashPoints.Hit(CrashAfterEntryInsertBeforeIntent);

        PaymentView payment;
        try { payment = await EnsurePaymentIntentAsync(entry, ct); }
        catch (Exception e) when (StripeGateway.IsStripeFailure(e, ct))
        {
            var code = StripeGateway.FailureProblem(e);
            var transient = code == ProblemCodes.PaymentProviderUnavailable;
            log.Log(transient ? LogLevel.Warning : LogLevel.Error, e, "Entry {EntryId}: PaymentIntent could not be created ({Kind})", entry.Id, transient ? "transient" : "refused");
            return transient
                ? Problem(code, "The payment provider is unavailable; retry with the same Idempotency-Key.",
                    $"entry {entry.Id} is recorded (PENDING_PAYMENT); its payment intent will be created on retry or by the payment sweeper")
                : Problem(code, "The payment provider refused the payment intent.", e.Message);
        }
        var status = created ? 201 : 200;
        return new EntryOutcome(status, new EntryCreated(ToView(entry, null), payment));
    }

    /// <summary>
    /// The entry's PaymentIntent: read when recorded; otherwise created with the entry's deterministic key (a
    /// replay after a crash returns the same object) and recorded. Used by requests and by the sweeper.
    /// </summary>
    public async Task<PaymentView> EnsurePaymentIntentAsync(EntryRow entry, CancellationToken ct)
    {
        PaymentRow? recorded;
        await using (var c = await db.OpenConnectionAsync(ct)) recorded = await PaymentStore.PaymentOfEntryAsync(c, entry.Id);
        PaymentIntent pi;
        if (recorded is not null) pi = await stripe.GetPaymentIntentAsync(recorded.PaymentIntentId, ct);
        else
        {
            if (entry.EntryFee is not { } fee || entry.Currency is not { } currency)
                throw new InvalidOperationException($"entry {entry.Id} has no recorded fee; it cannot be paid");
            pi = await stripe.CreatePaymentIntentAsync(entry.Id, entry.ContestId, entry.UserId, fee, currency, ct);
            PaymentMetrics.PaymentIntentsCreated.Inc();
            await using var c = await db.OpenConnectionAsync(ct);
            await using var tx = await c.BeginTransactionAsync(ct);
            // The lock order of every money path (contest FOR SHARE → entry → payment): the intent's own webhook may be
            // converging this entry right now, and it records the payment too (whoever is second finds it recorded).
            await PaymentStore.ContestStateForShareAsync(tx, entry.ContestId);
            await PaymentStore.EntryAsync(c, entry.Id, tx, forUpdate: true);
            recorded = await PaymentStore.InsertPaymentAsync(tx, audit, PaymentConvergence.Actor, entry.Id, pi.Id, fee, currency, clock.GetUtcNow(), ct);
            await tx.CommitAsync(ct);
            if (recorded.PaymentIntentId != pi.Id)
                log.LogError("Entry {EntryId} is recorded with {Recorded} but Stripe answered {PaymentIntentId} for its key", entry.Id, recorded.PaymentIntentId, pi.Id);
        }
        return new PaymentView(pi.Id, pi.ClientSecret, recorded.Status, pi.Status, recorded.Amount, recorded.Currency);
    }

    public static EntryView ToView(EntryRow e, PaymentRow? p) => new(e.Id, e.ContestId, e.UserId,
        JsonSerializer.Deserialize<List<string>>(e.Golfers) ?? [], e.Status, e.EntryFee, e.Currency,
        PaymentStore.Utc(e.CreatedAt), PaymentStore.Utc(e.UpdatedAt),
        p is null ? null : new PaymentSummary(p.PaymentIntentId, p.Status, p.Amount, p.Currency, p.LastError));

    static EntryOutcome Problem(ProblemCode code, string title, string? detail, IReadOnlyList<ProblemError>? errors = null) =>
        new(code.Status!.Value, null, code, title, detail, errors);
}
