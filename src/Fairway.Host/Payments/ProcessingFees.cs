using Dapper;
using Fairway.Host.Ledger;
using Fairway.Host.Operations.KillSwitch;
using Npgsql;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Payments;

public enum FeeBookingOutcome
{
    /// <summary>The fee was posted now.</summary>
    Booked,
    /// <summary>The fee had been posted before, with the same amount.</summary>
    AlreadyBooked,
    /// <summary>The balance transaction carries no fee, or its fee is not one Fairway books by itself (see <see cref="ProcessingFees.IsAutomatic"/>).</summary>
    NotApplicable,
    /// <summary>The kill-switch is engaged: nothing posted (the reconciliation books it once the switch is off).</summary>
    KillSwitchEngaged,
    /// <summary>A fee of another amount is already booked for this balance transaction.</summary>
    Mismatch,
}

public sealed record FeeBooking(FeeBookingOutcome Outcome, string BalanceTransactionId, long Fee, long? BookedFee = null);

/// <summary>
/// Books Stripe's fees in the ledger: once per balance transaction (key <c>stripe_fee:&lt;txn&gt;</c>, kind
/// <c>processing_fee.booked</c>, cause <c>stripe_balance_transaction/&lt;txn&gt;</c>), <c>processing_fees:&lt;ccy&gt; → clearing:&lt;ccy&gt;</c>
/// (the money Stripe kept leaves Fairway's money at Stripe). Fairway learns a fee when a payment succeeds
/// (the convergence reads the intent with its charge's balance transaction and posts the fee in its own transaction,
/// <see cref="PaymentConvergence"/>) and, as the safety net, when the reconciliation lists the balance transaction. Only fees with a known cause are booked automatically: a successful charge's and a
/// dispute's. Any other movement of the balance is a reconciliation discrepancy until an operator explains it
/// (correction <c>processing_fee_adjustment</c>).
/// </summary>
public sealed class ProcessingFees(NpgsqlDataSource db, LedgerRepository ledger, KillSwitchService killSwitch, TimeProvider clock,
    ILogger<ProcessingFees> log)
{
    public const string LedgerKind = "processing_fee.booked";
    public const string CauseType = "stripe_balance_transaction";

    public static string Key(string balanceTransactionId) => $"stripe_fee:{balanceTransactionId}";

    /// <summary>A fee Fairway books without an operator: the fee of a successful charge or of a dispute (Stripe's dispute fee).</summary>
    public static bool IsAutomatic(BalanceTransaction bt) =>
        bt.Fee != 0 && (bt.Type is "charge" or "payment" || (bt.Type == "adjustment" && bt.SourceId?.StartsWith("dp_", StringComparison.Ordinal) == true));

    /// <summary>The fee booked for a balance transaction (signed as Stripe reports it), or null when none is.</summary>
    public static Task<long?> BookedFeeAsync(NpgsqlConnection c, string balanceTransactionId, NpgsqlTransaction? tx = null) =>
        c.QuerySingleOrDefaultAsync<long?>("""
            SELECT lp.amount FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id AND lp.account_id LIKE 'clearing:%'
             WHERE le.idempotency_key = @key
            """, new { key = Key(balanceTransactionId) }, tx);

    /// <summary>The fees booked for several balance transactions (one query): balance transaction id → fee as Stripe reports it.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> BookedFeesAsync(NpgsqlConnection c, IReadOnlyCollection<string> balanceTransactionIds, NpgsqlTransaction? tx = null)
    {
        if (balanceTransactionIds.Count == 0) return new Dictionary<string, long>(StringComparer.Ordinal);
        var rows = await c.QueryAsync<(string Key, long Amount)>("""
            SELECT le.idempotency_key, lp.amount FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id AND lp.account_id LIKE 'clearing:%'
             WHERE le.idempotency_key = ANY(@keys)
            """, new { keys = balanceTransactionIds.Select(Key).ToArray() }, tx);
        return rows.ToDictionary(r => r.Key["stripe_fee:".Length..], r => r.Amount, StringComparer.Ordinal);
    }

    /// <summary>The journal entry booking the fee of <paramref name="bt"/> (only for <see cref="IsAutomatic"/> ones): Stripe kept it out of Fairway's money at Stripe.</summary>
    public static JournalEntry Entry(BalanceTransaction bt, DateTimeOffset now)
    {
        var (from, to) = bt.Fee > 0
            ? (LedgerAccountRef.ProcessingFees(bt.Currency), LedgerAccountRef.Clearing(bt.Currency))
            : (LedgerAccountRef.Clearing(bt.Currency), LedgerAccountRef.ProcessingFees(bt.Currency));
        return JournalEntry.Movement(Key(bt.Id), LedgerKind, bt.Currency, now, CauseType, bt.Id, from, to, Math.Abs(bt.Fee), $"Stripe fee of {bt.Type} {bt.SourceId}");
    }

    /// <summary>Books the fee of <paramref name="bt"/> when <see cref="IsAutomatic"/>; idempotent.</summary>
    public async Task<FeeBooking> BookAsync(BalanceTransaction bt, CancellationToken ct)
    {
        if (!IsAutomatic(bt)) return new FeeBooking(FeeBookingOutcome.NotApplicable, bt.Id, bt.Fee);
        await using var c = await db.OpenConnectionAsync(ct);
        if (await BookedFeeAsync(c, bt.Id) is { } booked)
            return new FeeBooking(booked == bt.Fee ? FeeBookingOutcome.AlreadyBooked : FeeBookingOutcome.Mismatch, bt.Id, bt.Fee, booked);
        await using var tx = await c.BeginTransactionAsync(ct);
        try { await killSwitch.EnsureDisengagedAsync(tx, ct); }
        catch (KillSwitchEngagedException) { return new FeeBooking(FeeBookingOutcome.KillSwitchEngaged, bt.Id, bt.Fee); }
        var posted = await ledger.PostAsync(tx, Entry(bt, clock.GetUtcNow()), ct);
        await tx.CommitAsync(ct);
        if (posted.Created)
            log.LogInformation("Stripe fee {Fee} {Currency} of {Type} {Source} booked ({BalanceTransaction})", bt.Fee, bt.Currency, bt.Type, bt.SourceId, bt.Id);
        return new FeeBooking(posted.Created ? FeeBookingOutcome.Booked : FeeBookingOutcome.AlreadyBooked, bt.Id, bt.Fee, bt.Fee);
    }
}
