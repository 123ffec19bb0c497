using Dapper;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// The money invariants of seed 002 (W1–W6, E1–E6) as plain SQL over a test database, independent of the
/// product's own reconciliation code, and, where <see cref="AuditTrail"/> is installed, that every state change
/// made by Fairway's processes has its audit row. Call <see cref="AssertHoldAsync"/> at the end of every money test.
/// </summary>
public static class MoneyInvariants
{
    static readonly (string Name, string Sql)[] Checks =
    [
        ("every journal entry balances (≥ 2 postings, sum 0)", """
            SELECT format('entry %s (%s): %s postings, sum %s', e.id, e.idempotency_key, count(p.id), coalesce(sum(p.amount), 0))
              FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id
             GROUP BY e.id HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0
            """),
        ("every account balance equals the sum of its postings", """
            SELECT format('account %s: balance %s, postings %s', a.id, a.balance, coalesce(s.total, 0))
              FROM ledger_accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_postings GROUP BY account_id) s ON s.account_id = a.id
             WHERE a.balance <> coalesce(s.total, 0)
            """),
        ("no escrow below zero", """
            SELECT format('escrow %s: balance %s', a.id, a.balance) FROM ledger_accounts a WHERE a.kind = 'contest_escrow' AND a.balance < 0
            """),
        ("the ledger sums to zero", """
            SELECT format('sum of all postings is %s', sum(amount)) FROM ledger_postings HAVING coalesce(sum(amount), 0) <> 0
            """),
        ("every SUCCEEDED payment has its ledger entry", """
            SELECT format('payment %s (%s) has no entry moving %s into escrow:%s', p.payment_intent_id, p.entry_id, p.amount, e.contest_id)
              FROM payments p JOIN entries e ON e.id = p.entry_id
             WHERE p.status = 'SUCCEEDED' AND NOT EXISTS (
                   SELECT 1 FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id
                    WHERE le.idempotency_key = 'payment:' || p.payment_intent_id || ':succeeded' AND lp.account_id = 'escrow:' || e.contest_id AND lp.amount = p.amount)
            """),
        ("every refund has its decision entry, and a SUCCEEDED refund its settlement entry", """
            SELECT format('refund %s (%s, %s from %s) of entry %s: decision %s, settlement %s', r.id, r.status, r.amount, r.funded_from, r.entry_id,
                   coalesce(d.amount::text, 'missing'), coalesce(s.amount::text, 'missing'))
              FROM refunds r JOIN entries e ON e.id = r.entry_id
              LEFT JOIN LATERAL (SELECT lp.amount FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id
                                  WHERE le.idempotency_key = 'refund:' || r.id || ':decided'
                                    AND lp.account_id = CASE r.funded_from WHEN 'house' THEN 'revenue:' || trim(r.currency) ELSE 'escrow:' || e.contest_id END) d ON true
              LEFT JOIN LATERAL (SELECT lp.amount FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id
                                  WHERE le.idempotency_key = 'refund:' || r.stripe_refund_id || ':succeeded' AND lp.account_id = 'refunds:' || trim(r.currency)) s ON true
             WHERE d.amount IS DISTINCT FROM -r.amount OR (r.status = 'SUCCEEDED' AND s.amount IS DISTINCT FROM -r.amount)
            """),
        ("refunds owed == refunds decided and not yet paid", """
            SELECT format('%s: balance %s, open refunds %s', coalesce(a.id, o.account_id), coalesce(a.balance, 0), coalesce(o.v, 0))
              FROM (SELECT id, balance FROM ledger_accounts WHERE kind = 'refunds') a
              FULL JOIN (SELECT 'refunds:' || trim(currency) AS account_id, sum(amount) AS v FROM refunds WHERE status IN ('REQUESTED', 'SUBMITTED', 'FAILED') GROUP BY 1) o
                ON o.account_id = a.id
             WHERE coalesce(a.balance, 0) <> coalesce(o.v, 0)
            """),
        ("no payment or refund ledger entry without its record", """
            SELECT format('ledger entry %s (%s) has no %s %s', le.id, le.idempotency_key, le.cause_type, le.cause_id) FROM ledger_entries le
             WHERE (le.cause_type = 'payment' AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.payment_intent_id = le.cause_id AND p.status = 'SUCCEEDED'))
                OR (le.cause_type = 'refund' AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.stripe_refund_id = le.cause_id AND r.status = 'SUCCEEDED')
                                             AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.id = le.cause_id))
            """),
        ("escrow == payments − refunds decided from escrow − disputes lost from escrow − releases", """
            SELECT format('contest %s: escrow %s, payments %s, refunds %s, disputes %s, releases %s', k.id, held, paid, refunded, lost, released)
              FROM contests k
              CROSS JOIN LATERAL (SELECT coalesce(sum(lp.amount), 0) AS held FROM ledger_postings lp WHERE lp.account_id = 'escrow:' || k.id) h
              CROSS JOIN LATERAL (SELECT coalesce(sum(p.amount), 0) AS paid FROM payments p JOIN entries e ON e.id = p.entry_id WHERE e.contest_id = k.id AND p.status = 'SUCCEEDED') pa
              CROSS JOIN LATERAL (SELECT coalesce(sum(r.amount), 0) AS refunded FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = k.id AND r.funded_from = 'escrow') rf
              CROSS JOIN LATERAL (SELECT coalesce(sum(LEAST(d.amount, p.amount)), 0) AS lost FROM disputes d JOIN entries e ON e.id = d.entry_id JOIN payments p ON p.entry_id = d.entry_id
                                   WHERE e.contest_id = k.id AND d.loss_ledger = 'posted') dl
              CROSS JOIN LATERAL (SELECT coalesce(-sum(lp.amount), 0) AS released FROM ledger_postings lp JOIN ledger_entries le ON le.id = lp.entry_id
                                   WHERE lp.account_id = 'escrow:' || k.id AND le.kind = 'settlement_release') rl
             WHERE held <> paid - refunded - lost - released
            """),
        ("an ACTIVE entry has a SUCCEEDED payment", """
            SELECT format('entry %s is ACTIVE with payment %s', e.id, coalesce(p.status, 'none')) FROM entries e LEFT JOIN payments p ON p.entry_id = e.id
             WHERE e.status = 'ACTIVE' AND e.entry_fee IS NOT NULL AND p.status IS DISTINCT FROM 'SUCCEEDED'
            """),
        ("a REFUNDED entry has a SUCCEEDED refund", """
            SELECT format('entry %s is REFUNDED with refund %s', e.id, coalesce(r.status, 'none')) FROM entries e LEFT JOIN refunds r ON r.entry_id = e.id
             WHERE e.status = 'REFUNDED' AND r.status IS DISTINCT FROM 'SUCCEEDED'
            """),
    ];

    public static async Task<IReadOnlyList<string>> ViolationsAsync(string databaseUrl)
    {
        await using var c = await TestDatabases.OpenAsync(databaseUrl);
        var found = new List<string>();
        foreach (var (name, sql) in Checks)
            foreach (var row in await c.QueryAsync<string>(sql))
                found.Add($"{name}: {row}");
        // Where the audit recorder is installed (the payments and money-out worlds), every state change has its audit row.
        if (await AuditTrail.IsInstalledAsync(databaseUrl))
            found.AddRange((await AuditTrail.UnauditedAsync(databaseUrl)).Select(v => "every state change has an audit row: " + v));
        return found;
    }

    public static async Task AssertHoldAsync(string databaseUrl)
    {
        var found = await ViolationsAsync(databaseUrl);
        Assert.True(found.Count == 0, "money invariants violated:\n" + string.Join('\n', found));
    }
}
