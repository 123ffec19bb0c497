using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using FluentValidation;
using Npgsql;

namespace Fairway.Host.Payments;

public sealed record CreateEntryRequest(IReadOnlyList<string>? Golfers);

public sealed class CreateEntryRequestValidator : AbstractValidator<CreateEntryRequest>
{
    public CreateEntryRequestValidator()
    {
        RuleFor(r => r.Golfers).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Golfers!.Count).InclusiveBetween(1, 100).WithErrorCode(FieldCodes.OutOfRange).When(r => r.Golfers is not null).OverridePropertyName("golfers");
        RuleForEach(r => r.Golfers).NotEmpty().WithErrorCode(FieldCodes.Required).MaximumLength(100).WithErrorCode(FieldCodes.TooLong);
    }
}

public sealed record RefundView(string Id, string EntryId, string PaymentIntentId, long Amount, string Currency, string Reason, string Status,
    string? StripeRefundId, string? FailureReason, string RequestedBy, DateTimeOffset RequestedAt, DateTimeOffset UpdatedAt, string FundedFrom, int Attempts,
    int MaxAttempts, DateTimeOffset? NextAttemptAt)
{
    public static RefundView Of(RefundRow r) => new(r.Id, r.EntryId, r.PaymentIntentId, r.Amount, r.Currency, r.Reason, r.Status, r.StripeRefundId,
        r.FailureReason, r.RequestedBy, PaymentStore.Utc(r.RequestedAt), PaymentStore.Utc(r.UpdatedAt), r.FundedFrom, r.AttemptCount, r.MaxAttempts,
        r.NextAttemptAt is { } n ? PaymentStore.Utc(n) : null);
}

public sealed record GoodwillRefundRequest(long? Amount, string? Reason);

public sealed class GoodwillRefundRequestValidator : AbstractValidator<GoodwillRefundRequest>
{
    public GoodwillRefundRequestValidator()
    {
        RuleFor(r => r.Amount).GreaterThan(0).WithErrorCode(FieldCodes.OutOfRange).When(r => r.Amount is not null);
        RuleFor(r => r.Reason).NotEmpty().WithErrorCode(FieldCodes.Required).Length(3, 500).WithErrorCode(FieldCodes.OutOfRange);
    }
}

public sealed record WebhookEventView(string EventId, string Type, string? ApiVersion, long StripeCreated, DateTimeOffset ReceivedAt,
    DateTimeOffset? ProcessedAt, string? Outcome, string? Detail);

/// <summary>A recent webhook event for the console: its processing outcome, its failed attempts, and whether it is parked (a dead letter).</summary>
public sealed record RecentWebhookEventView(string EventId, string Type, string? ApiVersion, long StripeCreated, DateTimeOffset ReceivedAt,
    DateTimeOffset? ProcessedAt, string? Outcome, string? Detail, long FailedAttempts, bool Parked);

/// <summary>Routes of the payments capability (player routes under /api, admin routes under /api/admin).</summary>
public static class PaymentEndpoints
{
    public const string IdempotencyHeader = "Idempotency-Key";
    public const int MaxIdempotencyKeyLength = 100;

    public static void MapPlayerPayments(this RouteGroupBuilder api)
    {
        api.MapPost("/contests/{id}/entries", async (string id, CreateEntryRequest body, HttpContext http, EntryService entries, CancellationToken ct) =>
        {
            string? key = null;
            if (http.Request.Headers.TryGetValue(IdempotencyHeader, out var values))
            {
                key = values.ToString();
                if (values.Count != 1 || key.Length is 0 or > MaxIdempotencyKeyLength || key.Any(ch => ch < 0x21 || ch > 0x7e))
                    return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.",
                        errors: [new ProblemError(IdempotencyHeader, FieldCodes.Invalid, $"{IdempotencyHeader} must be one value of 1 to {MaxIdempotencyKeyLength} printable ASCII characters")]);
            }
            var sub = Subject(http);
            var r = await entries.CreateAsync(sub, Actors.Of(http.User), id, body.Golfers!, key, ct);
            return r.Body is not null ? Results.Json(r.Body, statusCode: r.Status) : Problems.Result(r.Code!, r.Title!, r.Detail, r.Errors);
        }).Validate<CreateEntryRequest>().WithName("CreateEntry").WithTags("Entries")
          .OptionalHeader(IdempotencyHeader, "Makes the request safe to retry: the same key with the same body returns the same entry and payment intent (200); with another body, 409 IDEMPOTENCY_CONFLICT.", MaxIdempotencyKeyLength)
          .Produces<EntryCreated>(201).Produces<EntryCreated>(200)
          .Errors(ProblemCodes.ValidationFailed).Errors(ProblemCodes.ContestNotFound)
          .Errors(ProblemCodes.ContestNotOpen, ProblemCodes.ContestFull, ProblemCodes.IdempotencyConflict, KillSwitchEngagedException.Code)
          .Errors(ProblemCodes.RosterInvalid).Errors(ProblemCodes.PaymentProviderError).Errors(ProblemCodes.PaymentProviderUnavailable)
          .RequestExample(PaymentExamples.CreateEntry).ResponseExample(201, PaymentExamples.EntryCreated);

        api.MapGet("/me/entries", async (int? limit, string? after, HttpContext http, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 100) is { } badLimit) return badLimit;
            var n = limit ?? 20;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await PaymentStore.EntriesOfUserAsync(c, Subject(http), after, n + 1);
            var payments = await PaymentStore.PaymentsOfEntriesAsync(c, rows.Select(r => r.Id).ToList());
            var views = rows.Select(r => EntryService.ToView(r, payments.GetValueOrDefault(r.Id))).ToList();
            return Results.Ok(Page.Of(views, n, v => v.Id));
        }).WithName("ListMyEntries").WithTags("Entries").Produces<Page<EntryView>>().Errors(ProblemCodes.ValidationFailed)
          .ResponseExample(200, PaymentExamples.MyEntries);

        api.MapPost("/contests/{id}/entries/{entry}/refund", async (string id, string entry, HttpContext http, RefundService refunds, CancellationToken ct) =>
            RefundResult(await refunds.RequestAsync(entry, "requested by the player", Actors.Of(http.User), ownerUserId: Subject(http), contestId: id, ct)))
            .WithName("RequestEntryRefund").WithTags("Entries").Produces<RefundView>(202).Produces<RefundView>(200)
            .Errors(ProblemCodes.EntryNotFound).Errors(ProblemCodes.RefundNotAllowed, ProblemCodes.PaymentNotSucceeded, KillSwitchEngagedException.Code)
            .ResponseExample(202, PaymentExamples.RefundRequested);

        api.MapPost("/me/payout-account", async (HttpContext http, PayoutAccountService accounts, ILoggerFactory logs, CancellationToken ct) =>
        {
            try
            {
                var (view, created) = await accounts.EnsureWithOnboardingLinkAsync(Subject(http), Actors.Of(http.User), ct);
                return Results.Json(view, statusCode: created ? 201 : 200);
            }
            // Stripe down or refusing is Stripe's answer, not Fairway's fault: the player is told whether to retry (the
            // account is created with a key per player, so a retry never makes a second one).
            catch (Exception e) when (StripeGateway.IsStripeFailure(e, ct))
            {
                var code = StripeGateway.FailureProblem(e);
                var transient = code == ProblemCodes.PaymentProviderUnavailable;
                logs.CreateLogger("Fairway.Payouts.Onboarding").Log(transient ? LogLevel.Warning : LogLevel.Error, e,
                    "Payout onboarding of {UserId}: Stripe {Kind}", Subject(http), transient ? "could not be reached" : "refused");
                return transient
                    ? Problems.Result(code, "Stripe could not be reached; retry the onboarding request.")
                    : Problems.Result(code, "Stripe refused to create the payout account or its onboarding link.", e.Message);
            }
        }).WithName("StartPayoutOnboarding").WithTags("Payouts").Produces<PayoutAccountView>(201).Produces<PayoutAccountView>(200)
          .Errors(ProblemCodes.PaymentProviderError).Errors(ProblemCodes.PaymentProviderUnavailable)
          .ResponseExample(201, PaymentExamples.PayoutAccountCreated);

        api.MapGet("/me/payout-account", async (HttpContext http, PayoutAccountService accounts, CancellationToken ct) =>
            await accounts.GetAsync(Subject(http), ct) is { } view ? Results.Ok(view)
                : Problems.Result(ProblemCodes.PayoutAccountNotFound, "No payout account yet.", "POST /api/me/payout-account starts onboarding"))
            .WithName("GetPayoutAccount").WithTags("Payouts").Produces<PayoutAccountView>().Errors(ProblemCodes.PayoutAccountNotFound);
    }

    public static void MapAdminPayments(this RouteGroupBuilder admin)
    {
        admin.MapPost("/entries/{entry}/refund", async (string entry, ReasonRequest body, HttpContext http, RefundService refunds, CancellationToken ct) =>
            RefundResult(await refunds.RequestAsync(entry, body.Reason!.Trim(), Actors.Of(http.User), ownerUserId: null, contestId: null, ct)))
            .Validate<ReasonRequest>();

        // Once the contest is locked: a refund the house pays (revenue → refunds owed); the entry and the escrow are untouched.
        admin.MapPost("/entries/{entry}/goodwill-refund", async (string entry, GoodwillRefundRequest body, HttpContext http, RefundService refunds, CancellationToken ct) =>
            RefundResult(await refunds.GoodwillAsync(entry, body.Amount, body.Reason!.Trim(), Actors.Of(http.User), ct)))
            .Validate<GoodwillRefundRequest>();

        // Refunds owed: a FAILED refund gets a fresh send budget and is due now.
        admin.MapPost("/entries/{entry}/refund/retry", async (string entry, ReasonRequest body, HttpContext http, RefundService refunds, CancellationToken ct) =>
            RefundResult(await refunds.RetryAsync(entry, body.Reason!.Trim(), Actors.Of(http.User), ct)))
            .Validate<ReasonRequest>();

        admin.MapGet("/stripe/webhooks/dead-letters", async (int? limit, string? after, WebhookDeadLetters deadLetters, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, WebhookDeadLetters.MaxPage) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            var rows = await deadLetters.ListAsync(n + 1, after, ct);
            return Results.Ok(Page.Of(rows.ToList(), n, v => v.EventId));
        });

        admin.MapPost("/stripe/webhooks/{eventId}/replay", async (string eventId, ReasonRequest body, HttpContext http, WebhookDeadLetters deadLetters, CancellationToken ct) =>
        {
            var (status, code, message, jobId) = await deadLetters.ReplayAsync(eventId, Actors.Of(http.User), body.Reason!.Trim(), ct);
            return code is null ? Results.Json(new { event_id = eventId, replayed = true, job_id = jobId }, statusCode: status)
                : Problems.Result(code, status == 404 ? "No such webhook event." : "The replay was refused.", message);
        }).Validate<ReasonRequest>();

        // What PaymentsPendingOverdue counts, one payment per row, oldest first: the on-call engineer's list of orphaned
        // payments (the alert names no entry).
        admin.MapGet("/payments/overdue", async (int? limit, NpgsqlDataSource db, FairwaySettings settings, TimeProvider clock, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var (count, rows) = await PaymentStore.OverduePaymentsAsync(c, PaymentStore.OverdueCutoffs.At(clock.GetUtcNow(), settings.PaymentSweeperPendingAge), limit ?? 50, ct);
            return Results.Ok(new
            {
                count,
                payments = rows.Select(r => new
                {
                    entry_id = r.EntryId, contest_id = r.ContestId, payment_intent_id = r.PaymentIntentId, amount = r.Amount, currency = r.Currency,
                    created_at = PaymentStore.Utc(r.CreatedAt), stripe_status = r.StripeStatus, sweep_count = r.SweepCount,
                    next_sweep_at = r.NextSweepAt is { } n ? PaymentStore.Utc(n) : (DateTimeOffset?)null,
                }),
            });
        });

        // The disputes Stripe has not closed yet, oldest first: what alert StripeDisputeOpened is about (the page names no
        // entry; this list is how the on-call finds it).
        admin.MapGet("/payments/disputes", async (int? limit, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var (count, rows) = await DisputeService.OpenDisputesAsync(c, limit ?? 50, ct);
            return Results.Ok(new
            {
                count,
                disputes = rows.Select(d => new
                {
                    dispute_id = d.Id, entry_id = d.EntryId, payment_intent_id = d.PaymentIntentId, status = d.Status, amount = d.Amount, currency = d.Currency,
                    reason = d.Reason, created_at = PaymentStore.Utc(d.CreatedAt),
                }),
            });
        });

        admin.MapGet("/payments/{entry}", async (string entry, NpgsqlDataSource db, LedgerRepository ledger, FairwaySettings settings, TimeProvider clock, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var e = await PaymentStore.EntryAsync(c, entry);
            if (e is null) return Problems.Result(ProblemCodes.EntryNotFound, $"No entry '{entry}'.");
            var p = await PaymentStore.PaymentOfEntryAsync(c, entry);
            var sweep = p is null ? null : await PaymentStore.SweepOfEntryAsync(c, entry, PaymentStore.OverdueCutoffs.At(clock.GetUtcNow(), settings.PaymentSweeperPendingAge), ct);
            var r = await PaymentStore.RefundOfEntryAsync(c, entry);
            var disputes = await c.QueryAsync<(string Id, string Status, long Amount, string? LossLedger)>(
                "SELECT id, status, amount, loss_ledger FROM disputes WHERE entry_id = @entry ORDER BY id", new { entry });
            var ledgerEntries = new List<LedgerEntryView>();
            if (p is not null) ledgerEntries.AddRange(await ledger.EntriesByCauseAsync("payment", p.PaymentIntentId, ct: ct));
            if (r?.StripeRefundId is { } re) ledgerEntries.AddRange(await ledger.EntriesByCauseAsync("refund", re, ct: ct));
            foreach (var d in disputes) ledgerEntries.AddRange(await ledger.EntriesByCauseAsync("dispute", d.Id, ct: ct));
            return Results.Ok(new
            {
                entry = EntryService.ToView(e, p),
                // The payment sweeper's view of the payment: what it last read at Stripe, its next look, and whether
                // the payment counts as overdue (alert PaymentsPendingOverdue).
                sweeper = sweep is null ? null : new
                {
                    stripe_status = sweep.StripeStatus, sweep_count = sweep.SweepCount,
                    next_sweep_at = sweep.NextSweepAt is { } n ? PaymentStore.Utc(n) : (DateTimeOffset?)null, overdue = sweep.Overdue,
                },
                refund = r is null ? null : RefundView.Of(r),
                disputes = disputes.Select(d => new { id = d.Id, status = d.Status, amount = d.Amount, loss_ledger = d.LossLedger }),
                ledger_entries = ledgerEntries,
            });
        });

        admin.MapPost("/payments/{entry}/converge", async (string entry, HttpContext http, NpgsqlDataSource db, PaymentConvergence convergence, CancellationToken ct) =>
        {
            PaymentRow? p;
            await using (var c = await db.OpenConnectionAsync(ct)) p = await PaymentStore.PaymentOfEntryAsync(c, entry);
            if (p is null) return Problems.Result(ProblemCodes.PaymentNotFound, $"Entry '{entry}' has no payment intent.");
            var r = await convergence.ConvergeAsync(p.PaymentIntentId, Actors.Of(http.User), ct: ct);
            return Results.Ok(new { payment_intent_id = r.PaymentIntentId, outcome = r.Outcome, detail = r.Detail });
        });

        admin.MapGet("/refunds", async (string? status, string? contest_id, int? limit, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (status is not null && status is not (RefundStatuses.Requested or RefundStatuses.Submitted or RefundStatuses.Succeeded or RefundStatuses.Failed or RefundStatuses.Canceled))
                return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: [new ProblemError("status", FieldCodes.InvalidStatus, "one of REQUESTED, SUBMITTED, SUCCEEDED, FAILED, CANCELED")]);
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            return Results.Ok(new { refunds = (await PaymentStore.RefundsAsync(c, status, contest_id, limit ?? 50)).Select(RefundView.Of) });
        });

        // Refunds owed (what refunds_owed and refunds_owed_amount export): the FAILED refunds awaiting a retry, per currency.
        admin.MapGet("/refunds/owed", async (NpgsqlDataSource db, CancellationToken ct) =>
        {
            await using var c = await db.OpenConnectionAsync(ct);
            var owed = await PaymentStore.RefundsOwedAsync(c, ct);
            return Results.Ok(new { count = owed.Sum(o => o.Count), by_currency = owed });
        });

        // Newest first (received_at, then event id), with how many are still unprocessed and since when.
        admin.MapGet("/stripe/webhooks/recent", async (int? limit, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = await c.QueryAsync<(string EventId, string Type, string? ApiVersion, long StripeCreated, DateTime ReceivedAt, DateTime? ProcessedAt, string? Outcome, string? Detail,
                long FailedAttempts, bool Parked)>($"""
                SELECT e.event_id, e.type, e.api_version, e.stripe_created, e.received_at, p.processed_at, p.outcome, p.detail,
                       (SELECT count(*) FROM stripe_webhook_attempt_log l WHERE l.event_id = e.event_id AND l.kind = 'failed'),
                       p.event_id IS NULL AND coalesce({WebhookProcessor.ParkedSql}, false)
                  FROM stripe_webhook_events e LEFT JOIN stripe_webhook_processing p ON p.event_id = e.event_id
                 ORDER BY e.received_at DESC, e.event_id DESC LIMIT @limit
                """, new { limit = limit ?? 50 });
            var backlog = await c.QuerySingleAsync<(long Count, DateTime? Oldest)>("""
                SELECT count(*), min(e.received_at) FROM stripe_webhook_events e
                 WHERE NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)
                """);
            return Results.Ok(new
            {
                events = rows.Select(r => new RecentWebhookEventView(r.EventId, r.Type, r.ApiVersion, r.StripeCreated, PaymentStore.Utc(r.ReceivedAt),
                    r.ProcessedAt is { } at ? PaymentStore.Utc(at) : null, r.Outcome, r.Detail, r.FailedAttempts, r.Parked)),
                unprocessed_count = backlog.Count,
                oldest_unprocessed_received_at = backlog.Oldest is { } o ? PaymentStore.Utc(o) : (DateTimeOffset?)null,
            });
        });

        admin.MapGet("/stripe/webhooks", async (bool? unprocessed, int? limit, string? after, NpgsqlDataSource db, CancellationToken ct) =>
        {
            if (Problems.PageLimitError(limit, 200) is { } badLimit) return badLimit;
            var n = limit ?? 50;
            await using var c = await db.OpenConnectionAsync(ct);
            var rows = (await c.QueryAsync<(string EventId, string Type, string? ApiVersion, long StripeCreated, DateTime ReceivedAt, DateTime? ProcessedAt, string? Outcome, string? Detail)>("""
                SELECT e.event_id, e.type, e.api_version, e.stripe_created, e.received_at, p.processed_at, p.outcome, p.detail
                  FROM stripe_webhook_events e LEFT JOIN stripe_webhook_processing p ON p.event_id = e.event_id
                 WHERE (@unprocessed IS NOT TRUE OR p.event_id IS NULL) AND (@after::text IS NULL OR e.event_id > @after)
                 ORDER BY e.event_id LIMIT @limit
                """, new { unprocessed, after, limit = n + 1 })).ToList();
            var views = rows.Select(r => new WebhookEventView(r.EventId, r.Type, r.ApiVersion, r.StripeCreated, PaymentStore.Utc(r.ReceivedAt),
                r.ProcessedAt is { } at ? PaymentStore.Utc(at) : null, r.Outcome, r.Detail)).ToList();
            return Results.Ok(Page.Of(views, n, v => v.EventId));
        });
    }

    static IResult RefundResult(RefundOutcome r) => r.Refund is not null
        ? Results.Json(RefundView.Of(r.Refund), statusCode: r.Status)
        : Problems.Result(r.Code!, r.Status == 404 ? "Not found." : "The refund was refused.", r.Message);

    static string Subject(HttpContext http) => http.User.FindFirst("sub")?.Value is { Length: > 0 } s ? s
        : throw new InvalidOperationException("authenticated request without a subject");
}
