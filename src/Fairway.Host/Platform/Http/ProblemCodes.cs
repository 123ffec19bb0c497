using System.Reflection;

namespace Fairway.Host.Platform.Http;

/// <summary>
/// A stable error code of a problem+json response (its top-level <c>code</c>), with the one HTTP status it is
/// answered with. Created only in <see cref="ProblemCodes"/>: a call site names a registered code, never a string.
/// </summary>
public sealed class ProblemCode
{
    internal ProblemCode(string code, int? status, string meaning, string clientAction)
    {
        Code = code;
        Status = status;
        Meaning = meaning;
        ClientAction = clientAction;
    }

    public string Code { get; }
    /// <summary>The HTTP status this code is answered with; null only for <see cref="ProblemCodes.RequestFailed"/> (the status the framework chose).</summary>
    public int? Status { get; }
    public string Meaning { get; }
    public string ClientAction { get; }

    public override string ToString() => Code;
    public static implicit operator string(ProblemCode code) => code.Code;
}

/// <summary>A stable code of one field error inside a problem (<c>errors[].code</c>); the problem's own code carries the status.</summary>
public sealed class FieldCode
{
    internal FieldCode(string code, string meaning, string clientAction)
    {
        Code = code;
        Meaning = meaning;
        ClientAction = clientAction;
    }

    public string Code { get; }
    public string Meaning { get; }
    public string ClientAction { get; }

    public override string ToString() => Code;
    public static implicit operator string(FieldCode code) => code.Code;
}

/// <summary>
/// The registry of every code a problem response of the public or admin API can carry: the code, its HTTP status, a
/// one-line meaning and what the client should do. docs/api/errors.md is generated from it (./scripts/docs). Codes are
/// contract: never rename or remove one, never change its status (add a new code instead). The host checks every
/// problem it answers against this registry (<see cref="ErrorCodeRegistry"/>), and a test scans the sources for
/// code literals outside it.
/// </summary>
public static class ProblemCodes
{
    const string Retry = "Retry the same request later (with the same Idempotency-Key where the route takes one).";

    // ---- Request shape (the input guard and validation) ----------------------------------------------------------
    public static readonly ProblemCode ValidationFailed = new("VALIDATION_FAILED", 400, "One or more fields or query values are invalid; `errors` lists each with its own field code.", "Fix the fields named in `errors` and send the request again.");
    public static readonly ProblemCode MalformedRequest = new("MALFORMED_REQUEST", 400, "The request could not be read: a value of the wrong type, an unknown member, an unparsable query or route value, or no JSON body.", "Fix the request against the OpenAPI document; do not retry it unchanged.");
    public static readonly ProblemCode BodyRequired = new("BODY_REQUIRED", 400, "The route needs a JSON body and none (or JSON null) was sent.", "Send the JSON body the route documents.");
    public static readonly ProblemCode BodyTooLarge = new("BODY_TOO_LARGE", 413, "The body is larger than the route accepts, or the route takes no body.", "Send a smaller body (or none); do not retry it unchanged.");
    public static readonly ProblemCode UnsupportedMediaType = new("UNSUPPORTED_MEDIA_TYPE", 415, "The Content-Type (or its charset) is not what the route reads.", "Send application/json in UTF-8 (a form for the jobs dashboard).");
    public static readonly ProblemCode InvalidText = new("INVALID_TEXT", 400, "The path, the query or a body string is not valid text (bad percent-encoding or UTF-8, control characters, NUL, unpaired surrogates).", "Send valid UTF-8 text without control characters.");
    public static readonly ProblemCode InvalidHeader = new("INVALID_HEADER", 400, "A header value is not visible ASCII.", "Send header values as printable ASCII.");
    public static readonly ProblemCode MalformedJson = new("MALFORMED_JSON", 400, "The body is not well-formed JSON (syntax, depth, duplicate member names).", "Send well-formed JSON with unique member names.");
    public static readonly ProblemCode NumberOutOfRange = new("NUMBER_OUT_OF_RANGE", 400, "A JSON number is not finite or is longer than any number Fairway reads.", "Send integers in minor units within the documented range.");
    public static readonly ProblemCode NotFound = new("NOT_FOUND", 404, "No route or resource at this URL.", "Check the URL against the OpenAPI document.");
    public static readonly ProblemCode MethodNotAllowed = new("METHOD_NOT_ALLOWED", 405, "The route exists but not with this HTTP method.", "Use the method the route documents.");
    public static readonly ProblemCode RequestNotApplied = new("REQUEST_NOT_APPLIED", 422, "The jobs dashboard understood a command but could not apply it.", "Reload the dashboard and check the job's current state.");
    public static readonly ProblemCode RequestFailed = new("REQUEST_FAILED", null, "The framework refused the request with a status Fairway has no more specific code for (the response's status tells which).", "Read the status and detail; fix the request or retry later for a 5xx.");

    // ---- Authentication ------------------------------------------------------------------------------------------
    public static readonly ProblemCode Unauthenticated = new("UNAUTHENTICATED", 401, "The route needs a bearer token and none was sent.", "Sign in and send `Authorization: Bearer <token>`.");
    public static readonly ProblemCode TokenInvalid = new("TOKEN_INVALID", 401, "The bearer token was rejected (signature, issuer, audience or expiry).", "Get a fresh token and retry.");
    public static readonly ProblemCode Forbidden = new("FORBIDDEN", 403, "The token is valid but lacks the role this route needs (admin).", "Do not retry; use an account with the admin role.");
    public static readonly ProblemCode AuthServiceUnavailable = new("AUTH_SERVICE_UNAVAILABLE", 503, "The identity provider could not be reached to validate the token.", Retry);

    // ---- Server ----------------------------------------------------------------------------------------------------
    public static readonly ProblemCode InternalError = new("INTERNAL_ERROR", 500, "An unexpected error; it is logged with the response's correlation id.", "Retry later; report the correlation_id if it persists.");
    public static readonly ProblemCode DatabaseUnavailable = new("DATABASE_UNAVAILABLE", 503, "The database was briefly unavailable; nothing was written.", Retry);
    public static readonly ProblemCode KillSwitchActive = new("KILL_SWITCH_ACTIVE", 409, "Money movements are stopped by the kill-switch; nothing was written.", "Retry after the kill-switch is released (ops: `fairway killswitch`).");

    // ---- Tournaments, contests, config and field -----------------------------------------------------------------
    public static readonly ProblemCode TournamentNotFound = new("TOURNAMENT_NOT_FOUND", 404, "No tournament with this id.", "Check the tournament id.");
    public static readonly ProblemCode TournamentExists = new("TOURNAMENT_EXISTS", 409, "A different tournament with this id or provider event id exists.", "Use another id, or the existing tournament.");
    public static readonly ProblemCode ContestNotFound = new("CONTEST_NOT_FOUND", 404, "No contest with this id.", "Check the contest id (GET /api/contests lists them).");
    public static readonly ProblemCode ContestExists = new("CONTEST_EXISTS", 409, "A different contest with this id exists.", "Use another id, or the existing contest.");
    public static readonly ProblemCode ConfigInvalid = new("CONFIG_INVALID", 422, "The contest config is invalid; `errors` lists each problem.", "Fix the config fields named in `errors`.");
    public static readonly ProblemCode ConfigImmutable = new("CONFIG_IMMUTABLE", 409, "The contest is past SCHEDULED; its config can no longer change.", "Do not retry; cancel and recreate the contest if it is wrong.");
    public static readonly ProblemCode ConfigMoneyRulesFrozen = new("CONFIG_MONEY_RULES_FROZEN", 409, "The contest has entries; its money rules (fee, currency, roster size, rake, payout table) are frozen.", "Change only the other fields, or cancel and recreate the contest.");
    public static readonly ProblemCode FieldLocked = new("FIELD_LOCKED", 409, "The contest is past SCHEDULED; its field can no longer change.", "Do not retry.");
    public static readonly ProblemCode FieldInvalid = new("FIELD_INVALID", 422, "The field (participants) is invalid for the contest config; `errors` lists why.", "Fix the participants named in `errors`.");
    public static readonly ProblemCode ContestTransitionInvalid = new("CONTEST_TRANSITION_INVALID", 409, "The contest cannot move from its current state to the requested one.", "Read the contest's state; do not retry unchanged.");
    public static readonly ProblemCode LockTimeNotReached = new("LOCK_TIME_NOT_REACHED", 409, "The contest's lock time has not come yet.", "Wait for the lock time, or lock with force (admin).");
    public static readonly ProblemCode ContestNotSettleable = new("CONTEST_NOT_SETTLEABLE", 409, "The contest in ERROR never became COMPLETE with terminal evidence, so it cannot be retried into settlement.", "Resolve it with cancel_and_refund instead.");
    public static readonly ProblemCode ContestNotInError = new("CONTEST_NOT_IN_ERROR", 409, "Only a contest in ERROR is resolved, and this one is not.", "Read the contest's state; nothing to resolve.");
    public static readonly ProblemCode StandingsNotAvailable = new("STANDINGS_NOT_AVAILABLE", 404, "The contest has no standings yet (no accepted leaderboard).", "Retry after the tournament has started.");
    public static readonly ProblemCode LeaderboardNotAvailable = new("LEADERBOARD_NOT_AVAILABLE", 404, "The tournament has no accepted leaderboard yet.", "Retry after the tournament has started.");

    // ---- Entries and payments --------------------------------------------------------------------------------------
    public static readonly ProblemCode ContestNotOpen = new("CONTEST_NOT_OPEN", 409, "The contest does not accept entries (not SCHEDULED, or no field yet).", "Do not retry; pick an open contest.");
    public static readonly ProblemCode ContestFull = new("CONTEST_FULL", 409, "The contest has reached max_entries paid entries.", "Do not retry; pick another contest.");
    public static readonly ProblemCode RosterInvalid = new("ROSTER_INVALID", 422, "The roster breaks the contest's roster rules; `errors` lists why.", "Fix the golfers named in `errors` and send again.");
    public static readonly ProblemCode IdempotencyConflict = new("IDEMPOTENCY_CONFLICT", 409, "This Idempotency-Key was used with a different request.", "Use a new Idempotency-Key for a different request.");
    public static readonly ProblemCode PaymentProviderError = new("PAYMENT_PROVIDER_ERROR", 502, "Stripe refused the request.", "Do not retry unchanged; contact support with the correlation_id.");
    public static readonly ProblemCode PaymentProviderUnavailable = new("PAYMENT_PROVIDER_UNAVAILABLE", 503, "Stripe could not be reached; the request may be retried safely.", Retry);
    public static readonly ProblemCode EntryNotFound = new("ENTRY_NOT_FOUND", 404, "No entry with this id (of yours, on player routes).", "Check the entry id (GET /api/me/entries lists yours).");
    public static readonly ProblemCode PaymentNotFound = new("PAYMENT_NOT_FOUND", 404, "The entry has no payment intent.", "Check the entry id.");
    public static readonly ProblemCode PayoutAccountNotFound = new("PAYOUT_ACCOUNT_NOT_FOUND", 404, "The player has no payout account yet.", "POST /api/me/payout-account to start onboarding.");
    public static readonly ProblemCode WebhookInvalid = new("WEBHOOK_INVALID", 400, "The Stripe webhook's signature or timestamp did not verify.", "Stripe: check the endpoint's signing secret; the event is redelivered.");
    public static readonly ProblemCode WebhookEventNotFound = new("WEBHOOK_EVENT_NOT_FOUND", 404, "No stored webhook event with this id.", "Check the event id (`fairway webhooks dead-letters`).");
    public static readonly ProblemCode WebhookEventProcessed = new("WEBHOOK_EVENT_PROCESSED", 409, "The webhook event is processed already; a replay is not needed.", "Do not retry.");
    public static readonly ProblemCode WebhookEventNotParked = new("WEBHOOK_EVENT_NOT_PARKED", 409, "The webhook event is not parked; the drain retries it by itself.", "Wait for the drain; do not replay.");

    // ---- Refunds -------------------------------------------------------------------------------------------------
    public static readonly ProblemCode RefundNotAllowed = new("REFUND_NOT_ALLOWED", 409, "The entry cannot be refunded by its player now (contest locked or entry not ACTIVE).", "Do not retry; contact support.");
    public static readonly ProblemCode PaymentNotSucceeded = new("PAYMENT_NOT_SUCCEEDED", 409, "The entry has no succeeded payment to refund.", "Do not retry; an unpaid entry needs no refund.");
    public static readonly ProblemCode RefundExists = new("REFUND_EXISTS", 409, "The entry already has a different refund (at most one per entry).", "Read the existing refund; do not retry.");
    public static readonly ProblemCode GoodwillRefundNotAllowed = new("GOODWILL_REFUND_NOT_ALLOWED", 409, "A goodwill refund is refused in this contest state.", "Read the contest's state; use the contest's own refund path.");
    public static readonly ProblemCode RefundNotFound = new("REFUND_NOT_FOUND", 404, "The entry has no refund.", "Check the entry id.");
    public static readonly ProblemCode RefundNotFailed = new("REFUND_NOT_FAILED", 409, "Only a FAILED refund (refunds owed) can be retried, and this one is not.", "Read the refund's status; do not retry.");

    // ---- Ledger ----------------------------------------------------------------------------------------------------
    public static readonly ProblemCode LedgerAccountNotFound = new("LEDGER_ACCOUNT_NOT_FOUND", 404, "No ledger account with this id (accounts exist once something was posted to them).", "Check the account id.");
    public static readonly ProblemCode CorrectionSubjectNotFound = new("CORRECTION_SUBJECT_NOT_FOUND", 404, "The correction's subject (payment, refund, transfer, …) does not exist.", "Check the subject id.");
    public static readonly ProblemCode CorrectionNotApplicable = new("CORRECTION_NOT_APPLICABLE", 409, "The correction kind does not apply to the subject in its current state.", "Read the discrepancy again; pick the kind that fits it.");
    public static readonly ProblemCode CorrectionAmountMismatch = new("CORRECTION_AMOUNT_MISMATCH", 409, "The correction's amount is not what Stripe and the ledger show for the subject.", "Send the amount the discrepancy reports (or none).");

    // ---- Settlement ------------------------------------------------------------------------------------------------
    public static readonly ProblemCode SettlementNotFound = new("SETTLEMENT_NOT_FOUND", 404, "The contest is not settled.", "Retry after settlement.");
    public static readonly ProblemCode ContestNotComplete = new("CONTEST_NOT_COMPLETE", 409, "Only a COMPLETE contest is settled.", "Wait for the tournament's official result.");
    public static readonly ProblemCode SettlementHoldNotOver = new("SETTLEMENT_HOLD_NOT_OVER", 409, "The contest's settlement hold has not ended.", "Wait for the hold to end (the scheduler settles then).");
    public static readonly ProblemCode CompleteEvidenceMissing = new("COMPLETE_EVIDENCE_MISSING", 409, "The contest is COMPLETE but the leaderboard event that completed it is missing.", "Ops: follow the settlement runbook.");

    // ---- Payouts ---------------------------------------------------------------------------------------------------
    public static readonly ProblemCode PayoutJobNotFound = new("PAYOUT_JOB_NOT_FOUND", 404, "The contest has no payout job (not settled yet?).", "Check the contest id; retry after settlement.");
    public static readonly ProblemCode PayoutJobNotHeld = new("PAYOUT_JOB_NOT_HELD", 409, "The payout job is not held, so it cannot be released.", "Read the job's status; do not retry.");
    public static readonly ProblemCode PayoutTransferNotFound = new("PAYOUT_TRANSFER_NOT_FOUND", 404, "No payout transfer with this id.", "Check the transfer id.");
    public static readonly ProblemCode PayoutAlreadyTransferred = new("PAYOUT_ALREADY_TRANSFERRED", 409, "The payout transfer already has a Stripe transfer; retrying it is refused.", "Do not retry; the winner was paid.");
    public static readonly ProblemCode PayoutTransferNotFailed = new("PAYOUT_TRANSFER_NOT_FAILED", 409, "Only a failed_terminal transfer can be retried, and this one is not.", "Read the transfer's status; do not retry.");

    // ---- Operations ------------------------------------------------------------------------------------------------
    public static readonly ProblemCode ReconciliationRunning = new("RECONCILIATION_RUNNING", 409, "A reconciliation run is in progress.", "Retry after it has finished.");
    public static readonly ProblemCode DiscrepancyNotFound = new("DISCREPANCY_NOT_FOUND", 404, "The subject is not an open discrepancy of the reconciliation against Stripe.", "List the open discrepancies again.");
    public static readonly ProblemCode RunbookNotFound = new("RUNBOOK_NOT_FOUND", 404, "No runbook with this id in this build.", "`fairway runbook list` shows them.");
    public static readonly ProblemCode RunbookNotInBuild = new("RUNBOOK_NOT_IN_BUILD", 409, "The execution's runbook is not in this build any more.", "Finish the execution with the build that has the runbook, or start a new one.");
    public static readonly ProblemCode RunbookStepUnknown = new("RUNBOOK_STEP_UNKNOWN", 422, "The step is not a step of the execution's runbook.", "Use a step the runbook lists.");
    public static readonly ProblemCode RunbookExecutionNotFound = new("RUNBOOK_EXECUTION_NOT_FOUND", 404, "No runbook execution with this id.", "`fairway runbook executions` lists them.");
    public static readonly ProblemCode RunbookExecutionFinished = new("RUNBOOK_EXECUTION_FINISHED", 409, "The runbook execution is finished.", "Start a new execution.");
    public static readonly ProblemCode RecurringJobNotFound = new("RECURRING_JOB_NOT_FOUND", 404, "No recurring job with this id is registered.", "Check the id; workers register them at start-up.");
    public static readonly ProblemCode RecurringJobPaused = new("RECURRING_JOB_PAUSED", 409, "The recurring job is paused.", "Resume it first (`fairway jobs resume <id> --reason …`).");
    public static readonly ProblemCode RecurringJobBusy = new("RECURRING_JOB_BUSY", 409, "A scheduler holds the recurring job's lock right now (it is being scheduled or triggered); nothing was triggered.", "Retry in a few seconds.");
    public static readonly ProblemCode JobNotFound = new("JOB_NOT_FOUND", 404, "No background job with this id.", "Check the job id.");
    public static readonly ProblemCode ClockBackwards = new("CLOCK_BACKWARDS", 409, "The test clock cannot move backwards.", "Set a later instant.");
}

/// <summary>
/// Codes of the field errors inside a problem (<c>errors[].code</c>). The engine's own codes are included by reference
/// to <see cref="Engine.ErrorCodes"/>, so the engine stays pure and the registry is still the one list.
/// </summary>
public static class FieldCodes
{
    const string FixField = "Fix the named field and send again.";
    const string NotInApi = "Not in API responses: a provider leaderboard refused for it is recorded on its ingestion event (ops: ingestion runbooks).";
    const string SettlementOnly = "Not in API responses: recorded as the reason of a failed settlement attempt (ops: settlement runbook).";
    static FieldCode Engine(string code, string meaning, string action = FixField) => new(code, meaning, action);

    // ---- Host validation -------------------------------------------------------------------------------------------
    public static readonly FieldCode Required = new("REQUIRED", "The field is missing or empty.", FixField);
    public static readonly FieldCode TooLong = new("TOO_LONG", "The value is longer than the field allows.", "Send a shorter value.");
    public static readonly FieldCode TooMany = new("TOO_MANY", "The list has more items than the field allows.", "Send fewer items.");
    public static readonly FieldCode Invalid = new("INVALID", "The value is not one the field accepts (its message says which).", FixField);
    public static readonly FieldCode InvalidId = new("INVALID_ID", "The id has characters or a shape the field does not allow.", "Send an id of lowercase letters, digits and dashes (as documented).");
    public static readonly FieldCode Malformed = new("MALFORMED", "The value does not have the documented shape.", FixField);
    public static readonly FieldCode NotAllowed = new("NOT_ALLOWED", "The value is not one of the allowed values (the message lists them).", "Send one of the listed values.");
    public static readonly FieldCode NotUtc = new("NOT_UTC", "The instant is not in UTC.", "Send an ISO 8601 instant ending in Z.");
    public static readonly FieldCode InvalidState = new("INVALID_STATE", "Not a contest state.", "Send one of SCHEDULED, LOCKED, LIVE, COMPLETE, CANCELLED, ERROR.");
    public static readonly FieldCode InvalidStatus = new("INVALID_STATUS", "Not a status of this resource (the message lists them).", "Send one of the listed statuses.");
    public static readonly FieldCode UnknownStatus = new("UNKNOWN_STATUS", "Not a status of this resource (the message lists them).", "Send one of the listed statuses.");
    public static readonly FieldCode UnknownKind = new("UNKNOWN_KIND", "Not a kind of this resource (the message lists them).", "Send one of the listed kinds.");
    public static readonly FieldCode RequiresEntityType = new("REQUIRES_ENTITY_TYPE", "entity_id is only meaningful with entity_type.", "Send entity_type too.");
    public static readonly FieldCode Conflict = new("CONFLICT", "The field cannot be combined with another one sent.", "Send only one of the two.");
    public static readonly FieldCode Frozen = new("FROZEN", "A money rule cannot change once the contest has entries.", "Keep the field's current value.");
    public static readonly FieldCode ConfigMismatch = new("CONFIG_MISMATCH", "An id in the config is not the contest's or its tournament's.", "Send the ids of this contest and tournament.");
    public static readonly FieldCode ConfigEndpointMismatch = new("CONFIG_ENDPOINT_MISMATCH", "The config's ingestion endpoint is not the one this deployment polls.", "Send the deployment's ingestion endpoint.");
    public static readonly FieldCode InvalidSubject = new("INVALID_SUBJECT", "The correction subject is not a Fairway or Stripe id.", "Send the subject id the discrepancy reports.");
    public static readonly FieldCode SubjectDoesNotFitKind = new("SUBJECT_DOES_NOT_FIT_KIND", "The subject's kind of id does not fit the correction kind.", "Pick the correction kind that fits the subject.");

    // ---- The engine's codes (Fairway.Engine.ErrorCodes), by reference -------------------------------------------------
    public static readonly FieldCode InvalidJson = Engine(Fairway.Engine.ErrorCodes.InvalidJson, "The input is not valid JSON.");
    public static readonly FieldCode MissingField = Engine(Fairway.Engine.ErrorCodes.MissingField, "A required member is missing.");
    public static readonly FieldCode UnknownField = Engine(Fairway.Engine.ErrorCodes.UnknownField, "A member the schema does not know.", "Remove the member.");
    public static readonly FieldCode DuplicateField = Engine(Fairway.Engine.ErrorCodes.DuplicateField, "A member appears twice.", "Send each member once.");
    public static readonly FieldCode WrongType = Engine(Fairway.Engine.ErrorCodes.WrongType, "The value has the wrong JSON type.");
    public static readonly FieldCode NotAnInteger = Engine(Fairway.Engine.ErrorCodes.NotAnInteger, "The number is not an integer (money is in minor units).");
    public static readonly FieldCode OutOfRange = Engine(Fairway.Engine.ErrorCodes.OutOfRange, "The value is outside the field's range (the message gives it).", "Send a value within the range.");
    public static readonly FieldCode EmptyString = Engine(Fairway.Engine.ErrorCodes.EmptyString, "The string is empty.");
    public static readonly FieldCode InvalidDate = Engine(Fairway.Engine.ErrorCodes.InvalidDate, "Not a calendar date (YYYY-MM-DD).");
    public static readonly FieldCode InvalidTimestamp = Engine(Fairway.Engine.ErrorCodes.InvalidTimestamp, "Not an ISO 8601 UTC instant.");
    public static readonly FieldCode InvalidUrl = Engine(Fairway.Engine.ErrorCodes.InvalidUrl, "Not an absolute http(s) URL.");
    public static readonly FieldCode InvalidCurrency = Engine(Fairway.Engine.ErrorCodes.InvalidCurrency, "Not a currency code of 3 lowercase ASCII letters.");
    public static readonly FieldCode InvalidFieldSource = Engine(Fairway.Engine.ErrorCodes.InvalidFieldSource, "Not a supported field source.");
    public static readonly FieldCode EventDatesInverted = Engine(Fairway.Engine.ErrorCodes.EventDatesInverted, "The event ends before it starts.");
    public static readonly FieldCode UnsupportedSchemaVersion = Engine(Fairway.Engine.ErrorCodes.UnsupportedSchemaVersion, "The config's schema_version is not one this build reads.", "Send a supported schema_version.");
    public static readonly FieldCode EntryLimitsInverted = Engine(Fairway.Engine.ErrorCodes.EntryLimitsInverted, "min_entries is above max_entries.");
    public static readonly FieldCode MinEntriesBelowPaidPlaces = Engine(Fairway.Engine.ErrorCodes.MinEntriesBelowPaidPlaces, "min_entries is below the number of paid places.");
    public static readonly FieldCode RosterSizeExceedsField = Engine(Fairway.Engine.ErrorCodes.RosterSizeExceedsField, "The roster size is larger than the field.");
    public static readonly FieldCode PoolOverflow = Engine(Fairway.Engine.ErrorCodes.PoolOverflow, "entry_fee × max_entries does not fit a 64-bit amount.");
    public static readonly FieldCode PayoutTableEmpty = Engine(Fairway.Engine.ErrorCodes.PayoutTableEmpty, "The payout table has no place.");
    public static readonly FieldCode PayoutDuplicatePlace = Engine(Fairway.Engine.ErrorCodes.PayoutDuplicatePlace, "A place appears twice in the payout table.");
    public static readonly FieldCode PayoutPlacesNotContiguous = Engine(Fairway.Engine.ErrorCodes.PayoutPlacesNotContiguous, "The payout table's places are not 1..n.");
    public static readonly FieldCode PayoutBpsSumInvalid = Engine(Fairway.Engine.ErrorCodes.PayoutBpsSumInvalid, "The payout table's basis points do not sum to 10000.");
    public static readonly FieldCode DuplicateCandidate = Engine(Fairway.Engine.ErrorCodes.DuplicateCandidate, "A golfer appears twice in the field.");
    public static readonly FieldCode FieldOverCapacity = Engine(Fairway.Engine.ErrorCodes.FieldOverCapacity, "The field has more golfers than the config allows.");
    public static readonly FieldCode RosterWrongSize = Engine(Fairway.Engine.ErrorCodes.RosterWrongSize, "The roster does not have the contest's roster size.", "Pick exactly roster_size golfers.");
    public static readonly FieldCode RosterDuplicateGolfer = Engine(Fairway.Engine.ErrorCodes.RosterDuplicateGolfer, "A golfer appears twice in the roster.", "Pick each golfer once.");
    public static readonly FieldCode RosterGolferNotInField = Engine(Fairway.Engine.ErrorCodes.RosterGolferNotInField, "A golfer is not in the contest's field.", "Pick golfers from the contest's field (GET /api/contests/{id}).");
    public static readonly FieldCode UnknownTournamentStatus = Engine(Fairway.Engine.ErrorCodes.UnknownTournamentStatus, "The provider sent a tournament status Fairway does not know.", NotInApi);
    public static readonly FieldCode UnknownPlayerStatus = Engine(Fairway.Engine.ErrorCodes.UnknownPlayerStatus, "The provider sent a player status Fairway does not know.", NotInApi);
    public static readonly FieldCode DuplicatePlayer = Engine(Fairway.Engine.ErrorCodes.DuplicatePlayer, "The provider listed a player twice.", NotInApi);
    public static readonly FieldCode DuplicateRoundSequence = Engine(Fairway.Engine.ErrorCodes.DuplicateRoundSequence, "The provider listed a round sequence twice.", NotInApi);
    public static readonly FieldCode DuplicateRoundNumber = Engine(Fairway.Engine.ErrorCodes.DuplicateRoundNumber, "The provider listed a round number twice.", NotInApi);
    public static readonly FieldCode RoundBeyondRoundCount = Engine(Fairway.Engine.ErrorCodes.RoundBeyondRoundCount, "The provider sent a round beyond the tournament's round count.", NotInApi);
    public static readonly FieldCode DuplicateEntryId = Engine(Fairway.Engine.ErrorCodes.DuplicateEntryId, "Settlement input lists an entry twice.", SettlementOnly);
    public static readonly FieldCode EntriesBelowPaidPlaces = Engine(Fairway.Engine.ErrorCodes.EntriesBelowPaidPlaces, "Fewer entries than paid places.", SettlementOnly);
    public static readonly FieldCode ScoreOverflow = Engine(Fairway.Engine.ErrorCodes.ScoreOverflow, "A score does not fit the engine's integer range.", SettlementOnly);
    public static readonly FieldCode UnsupportedBundleFormat = Engine(Fairway.Engine.ErrorCodes.UnsupportedBundleFormat, "A settlement bundle of a format this build does not read.", SettlementOnly);
}

/// <summary>The registry as a whole: lookups for the host's own check of every problem it answers, and the generated docs/api/errors.md.</summary>
public static class ErrorCodeRegistry
{
    public static readonly IReadOnlyList<ProblemCode> Problems = Fields<ProblemCode>(typeof(ProblemCodes));
    public static readonly IReadOnlyList<FieldCode> FieldErrors = Fields<FieldCode>(typeof(FieldCodes));

    static readonly Dictionary<string, ProblemCode> ProblemsByCode = Problems.ToDictionary(c => c.Code, StringComparer.Ordinal);
    static readonly HashSet<string> FieldErrorCodes = FieldErrors.Select(c => c.Code).Concat(Problems.Select(c => c.Code)).ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether a problem with this code and status is registered (a code with no fixed status matches any 4xx/5xx).</summary>
    public static bool IsRegistered(string code, int status) =>
        ProblemsByCode.TryGetValue(code, out var c) && (c.Status == status || (c.Status is null && status is >= 400 and < 600));

    /// <summary>Whether a field error code is registered: a field code, or a problem code used for one field (the input guard's).</summary>
    public static bool IsRegisteredFieldCode(string code) => FieldErrorCodes.Contains(code);

    static IReadOnlyList<T> Fields<T>(Type registry) => registry.GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(T)).Select(f => (T)f.GetValue(null)!).ToList();

    /// <summary>docs/api/errors.md: every problem code by status then code, then every field code by code (ordinal: a total order).</summary>
    public static string Markdown()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("# Error codes\n\n");
        sb.Append("Generated from `src/Fairway.Host/Platform/Http/ProblemCodes.cs` by `./scripts/docs`; do not edit by hand.\n");
        sb.Append("Every error response of the public and admin API is `application/problem+json` with a stable `code` from the first\n");
        sb.Append("table; field errors (`errors[].code`) use a code of the second table (or, for the input guard, of the first).\n");
        sb.Append("Codes are contract: they are never renamed or removed and never change status; match on `code`, not on `title`.\n");
        sb.Append($"\n## Problem codes ({Problems.Count})\n\n");
        sb.Append("| code | HTTP status | meaning | what the client should do |\n| --- | --- | --- | --- |\n");
        foreach (var c in Problems.OrderBy(c => c.Status ?? 999).ThenBy(c => c.Code, StringComparer.Ordinal))
            sb.Append($"| `{c.Code}` | {(c.Status is { } s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "any 4xx/5xx")} | {c.Meaning} | {c.ClientAction} |\n");
        sb.Append($"\n## Field error codes ({FieldErrors.Count})\n\n");
        sb.Append("| code | meaning | what the client should do |\n| --- | --- | --- |\n");
        foreach (var c in FieldErrors.OrderBy(c => c.Code, StringComparer.Ordinal))
            sb.Append($"| `{c.Code}` | {c.Meaning} | {c.ClientAction} |\n");
        return sb.ToString();
    }
}
