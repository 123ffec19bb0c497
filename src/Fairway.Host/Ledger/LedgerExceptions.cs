using Npgsql;

namespace Fairway.Host.Ledger;

/// <summary>
/// A posting refused by the database. The caller's transaction is aborted when one of these is thrown:
/// roll it back. <see cref="Code"/> is the stable code at the start of the database message.
/// </summary>
public class LedgerException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;

    /// <summary>Maps a PostgreSQL error raised by the ledger's function or triggers (SQLSTATE class FWL) to its typed exception; null for anything else.</summary>
    public static LedgerException? From(PostgresException e) => e.SqlState switch
    {
        Migrations.Versions.M202611230005_Ledger.ImbalanceSqlState => new LedgerImbalanceException(e.MessageText, e),
        Migrations.Versions.M202611230005_Ledger.EscrowNegativeSqlState => new EscrowNegativeException(e.MessageText, e),
        Migrations.Versions.M202611230005_Ledger.IdempotencyConflictSqlState => new LedgerIdempotencyConflictException(e.MessageText, e),
        Migrations.Versions.M202611230005_Ledger.AccountMismatchSqlState => new LedgerException("LEDGER_ACCOUNT_MISMATCH", e.MessageText, e),
        Migrations.Versions.M202611230005_Ledger.InvalidSqlState => new LedgerException("LEDGER_INVALID", e.MessageText, e),
        _ => null,
    };
}

/// <summary>The postings of an entry do not sum to zero (or an entry has fewer than two postings).</summary>
public sealed class LedgerImbalanceException(string message, Exception? inner = null) : LedgerException("LEDGER_IMBALANCE", message, inner);

/// <summary>The entry would take a contest escrow below zero; nothing was written.</summary>
public sealed class EscrowNegativeException(string message, Exception? inner = null) : LedgerException("ESCROW_NEGATIVE", message, inner);

/// <summary>The idempotency key already names an entry with different content; nothing was written.</summary>
public sealed class LedgerIdempotencyConflictException(string message, Exception? inner = null) : LedgerException("IDEMPOTENCY_CONFLICT", message, inner);
