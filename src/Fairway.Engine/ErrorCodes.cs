namespace Fairway.Engine;

/// <summary>Every error code the engine emits. Codes are part of the contract: hosts match on them, so never rename one.</summary>
public static class ErrorCodes
{
    // Shape of JSON input.
    public const string InvalidJson = "INVALID_JSON";
    public const string MissingField = "MISSING_FIELD";
    public const string UnknownField = "UNKNOWN_FIELD";
    public const string DuplicateField = "DUPLICATE_FIELD";
    public const string WrongType = "WRONG_TYPE";
    public const string NotAnInteger = "NOT_AN_INTEGER";
    public const string OutOfRange = "OUT_OF_RANGE";
    public const string EmptyString = "EMPTY_STRING";

    // Contest config.
    public const string InvalidDate = "INVALID_DATE";
    public const string InvalidTimestamp = "INVALID_TIMESTAMP";
    public const string InvalidUrl = "INVALID_URL";
    public const string InvalidCurrency = "INVALID_CURRENCY";
    public const string InvalidFieldSource = "INVALID_FIELD_SOURCE";
    public const string EventDatesInverted = "EVENT_DATES_INVERTED";
    public const string UnsupportedSchemaVersion = "UNSUPPORTED_SCHEMA_VERSION";
    public const string EntryLimitsInverted = "ENTRY_LIMITS_INVERTED";
    public const string MinEntriesBelowPaidPlaces = "MIN_ENTRIES_BELOW_PAID_PLACES";
    public const string RosterSizeExceedsField = "ROSTER_SIZE_EXCEEDS_FIELD";
    public const string PoolOverflow = "POOL_OVERFLOW";

    // Payout table.
    public const string PayoutTableEmpty = "PAYOUT_TABLE_EMPTY";
    public const string PayoutDuplicatePlace = "PAYOUT_DUPLICATE_PLACE";
    public const string PayoutPlacesNotContiguous = "PAYOUT_PLACES_NOT_CONTIGUOUS";
    public const string PayoutBpsSumInvalid = "PAYOUT_BPS_SUM_INVALID";

    // Field selection.
    public const string DuplicateCandidate = "DUPLICATE_CANDIDATE";
    public const string FieldOverCapacity = "FIELD_OVER_CAPACITY";

    // Rosters.
    public const string RosterWrongSize = "ROSTER_WRONG_SIZE";
    public const string RosterDuplicateGolfer = "ROSTER_DUPLICATE_GOLFER";
    public const string RosterGolferNotInField = "ROSTER_GOLFER_NOT_IN_FIELD";

    // Provider leaderboard.
    public const string UnknownTournamentStatus = "UNKNOWN_TOURNAMENT_STATUS";
    public const string UnknownPlayerStatus = "UNKNOWN_PLAYER_STATUS";
    public const string DuplicatePlayer = "DUPLICATE_PLAYER";
    public const string DuplicateRoundSequence = "DUPLICATE_ROUND_SEQUENCE";
    public const string DuplicateRoundNumber = "DUPLICATE_ROUND_NUMBER";
    public const string RoundBeyondRoundCount = "ROUND_BEYOND_ROUND_COUNT";

    // Settlement.
    public const string DuplicateEntryId = "DUPLICATE_ENTRY_ID";
    public const string EntriesBelowPaidPlaces = "ENTRIES_BELOW_PAID_PLACES";
    public const string ScoreOverflow = "SCORE_OVERFLOW";
    public const string UnsupportedBundleFormat = "UNSUPPORTED_BUNDLE_FORMAT";
}
