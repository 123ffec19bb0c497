using Dapper;
using Npgsql;

namespace Fairway.Host.Operations.Reconciliation;

/// <summary>The ledger check of corrections, run with the other ledger checks (<see cref="ReconciliationService"/>).</summary>
public static class CorrectionChecks
{
    public const string Name = "correction_matches_ledger_entry";

    /// <summary>
    /// Every correction has exactly its ledger entry (key <c>correction:&lt;kind&gt;:&lt;subject&gt;</c>, kind <c>correction.&lt;kind&gt;</c>,
    /// cause correction/&lt;id&gt;, two postings: −amount on its from account, +amount on its to account) and never touches an
    /// escrow, a winnings payable or the refunds account; every ledger entry caused by a correction is that correction's.
    /// </summary>
    public static async Task<IReadOnlyList<ReconciliationViolation>> CorrectionsMatchLedgerAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct)
    {
        var rows = await c.QueryAsync<(string Subject, string Detail)>(new CommandDefinition("""
            SELECT 'correction:' || k.id, format('correction %s (%s %s, %s %s %s → %s) has ledger entry %s (%s, kind %s, cause %s/%s) moving %s from and %s to, with %s postings',
                   k.id, k.kind, k.subject, k.amount, trim(k.currency), k.from_account, k.to_account, le.id, le.idempotency_key, le.kind, le.cause_type, le.cause_id,
                   coalesce(-pf.amount, 0), coalesce(pt.amount, 0), n.count)
              FROM ledger_corrections k
              JOIN ledger_entries le ON le.id = k.ledger_entry_id
              LEFT JOIN ledger_postings pf ON pf.entry_id = le.id AND pf.account_id = k.from_account
              LEFT JOIN ledger_postings pt ON pt.entry_id = le.id AND pt.account_id = k.to_account
              CROSS JOIN LATERAL (SELECT count(*) AS count FROM ledger_postings p WHERE p.entry_id = le.id) n
             WHERE le.idempotency_key <> 'correction:' || k.kind || ':' || k.subject OR le.kind <> 'correction.' || k.kind
                OR le.cause_type <> 'correction' OR le.cause_id <> k.id::text OR pf.amount IS DISTINCT FROM -k.amount OR pt.amount IS DISTINCT FROM k.amount
                OR n.count <> 2 OR k.from_account ~ '^(escrow|payable|refunds):' OR k.to_account ~ '^(escrow|payable|refunds):'
            UNION ALL
            SELECT le.id::text, format('ledger entry %s (%s) is caused by correction %s, which %s', le.id, le.idempotency_key, le.cause_id,
                   CASE WHEN k.id IS NULL THEN 'does not exist' ELSE format('names ledger entry %s', k.ledger_entry_id) END)
              FROM ledger_entries le LEFT JOIN ledger_corrections k ON k.id::text = le.cause_id
             WHERE le.cause_type = 'correction' AND (k.id IS NULL OR k.ledger_entry_id <> le.id)
             ORDER BY 1
             LIMIT @limit
            """, new { limit = ReconciliationService.MaxViolationsPerCheck }, tx, cancellationToken: ct));
        return rows.Select(r => new ReconciliationViolation(Name, r.Subject, r.Detail)).ToList();
    }
}
