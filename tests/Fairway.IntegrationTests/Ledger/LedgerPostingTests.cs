using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Ledger;

/// <summary>
/// Seed 002's wallet/escrow matrix (section 1A/1B) mapped onto the ledger (PRODUCT.md §9). The seed's
/// "wallet" is a ledger account; its "ledger sum" is the sum of the account's postings; "credit the
/// wallet (top-up)" is a movement clearing → escrow; "debit" is a movement out of the escrow.
/// <list type="bullet">
/// <item>W1: clearing → escrow X: escrow balance == X == sum of its postings; the entry sums to zero.</item>
/// <item>W2: a movement that would take the escrow below zero is refused (ESCROW_NEGATIVE) and writes nothing.</item>
/// <item>W3: the same idempotency key twice, and 20 concurrent calls with one key → one entry, balance moved once;
///           the same key with other content → IDEMPOTENCY_CONFLICT.</item>
/// <item>E2/E4 analogue: a settlement-like multi-leg release empties the escrow exactly once.</item>
/// </list>
/// W4/W5 (crash and transient failure) are in <see cref="LedgerCrashAndRetryTests"/>, W6 (kill-switch) in
/// <see cref="KillSwitchGuardTests"/>. Every assertion reads the real database.
/// </summary>
public sealed class LedgerPostingTests
{
    [Fact]
    public async Task W1_clearing_to_escrow_holds_X_equal_to_the_sum_of_its_postings_and_the_entry_balances()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        var clearingBefore = await t.StoredBalanceAsync("clearing:usd") ?? 0;

        var r = await t.PostAsync(t.Fund(contest, 2500));

        Assert.True(r.Created);
        Assert.Equal(2500, await t.StoredBalanceAsync(escrow));
        Assert.Equal(2500, await t.PostingsSumAsync(escrow));
        Assert.Equal(2500, await t.Ledger.BalanceAsync(escrow));
        Assert.Equal(clearingBefore - 2500, await t.StoredBalanceAsync("clearing:usd"));
        Assert.Equal(0, await t.ScalarAsync<long>("SELECT sum(amount)::bigint FROM ledger_postings WHERE entry_id = @id", new { id = r.EntryId }));
        Assert.Equal(2, await t.ScalarAsync<long>("SELECT count(*) FROM ledger_postings WHERE entry_id = @id", new { id = r.EntryId }));
        var account = await t.Ledger.AccountAsync(escrow);
        Assert.Equal(("contest_escrow", contest, "usd"), (account!.Kind, account.ContestId, account.Currency));
    }

    [Fact]
    public async Task W2_a_posting_that_would_take_escrow_below_zero_is_refused_and_writes_nothing()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.PostAsync(t.Fund(contest, 1000));
        var (entries, postings, clearing) = (await t.EntryCountAsync(), await t.PostingCountAsync(), await t.StoredBalanceAsync("clearing:usd"));

        var refused = t.Release(contest, 1001);
        var e = await Assert.ThrowsAsync<EscrowNegativeException>(() => t.PostAsync(refused));

        Assert.Equal("ESCROW_NEGATIVE", e.Code);
        Assert.Contains(escrow, e.Message);
        Assert.Equal(0, await t.EntriesWithKeyAsync(refused.IdempotencyKey));
        Assert.Equal(entries, await t.EntryCountAsync());
        Assert.Equal(postings, await t.PostingCountAsync());
        Assert.Equal(1000, await t.StoredBalanceAsync(escrow));
        Assert.Equal(clearing, await t.StoredBalanceAsync("clearing:usd"));

        // Exactly the whole escrow may leave; it ends at zero, never below.
        Assert.True((await t.PostAsync(t.Release(contest, 1000))).Created);
        Assert.Equal(0, await t.StoredBalanceAsync(escrow));
        Assert.Equal(0, await t.PostingsSumAsync(escrow));
    }

    [Fact]
    public async Task W3_the_same_idempotency_key_twice_is_one_entry_and_the_balance_moves_once()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var entry = t.Fund(contest, 700);

        var first = await t.PostAsync(entry);
        // A redelivered message carries the same business content, a later clock reading and another correlation id.
        var second = await t.PostAsync(entry with { OccurredAt = entry.OccurredAt.AddMinutes(5), CorrelationId = "retry", Description = "redelivered" });

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.EntryId, second.EntryId);
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(700, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
        Assert.Equal(2, await t.PostingCountAsync());
    }

    [Fact]
    public async Task W3_twenty_concurrent_calls_with_one_key_from_parallel_connections_create_exactly_one_entry()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var entry = t.Fund(contest, 1234);

        // Each caller posts on its own connection and transaction; all twenty were blocked together at the journal's
        // insert (behind a lock the test holds) before they raced.
        var (results, together) = await LockWaits.RaceAsync(t.Url, "LOCK TABLE ledger_entries IN SHARE MODE", null, 20, async _ =>
        {
            await using var c = new NpgsqlConnection(t.Db.ConnectionString);
            await c.OpenAsync();
            await using var tx = await c.BeginTransactionAsync();
            var r = await t.Ledger.PostAsync(tx, entry);
            await tx.CommitAsync();
            return r;
        });
        Assert.True(together >= 20, $"{together} postings overlapped");

        Assert.Single(results, r => r.Created);
        Assert.Single(results.Select(r => r.EntryId).Distinct());
        Assert.Equal(1, await t.EntriesWithKeyAsync(entry.IdempotencyKey));
        Assert.Equal(1234, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
        Assert.Equal(1234, await t.PostingsSumAsync(LedgerAccountRef.Escrow(contest).Id));
        Assert.Equal(-1234, await t.StoredBalanceAsync("clearing:usd"));
    }

    [Fact]
    public async Task W3_the_same_key_with_a_different_amount_is_an_idempotency_conflict_and_writes_nothing()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var key = LedgerTestDatabase.Key();
        await t.PostAsync(t.Fund(contest, 500, key));

        var e = await Assert.ThrowsAsync<LedgerIdempotencyConflictException>(() => t.PostAsync(t.Fund(contest, 501, key)));

        Assert.Equal("IDEMPOTENCY_CONFLICT", e.Code);
        Assert.Equal(1, await t.EntriesWithKeyAsync(key));
        Assert.Equal(500, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
        Assert.Equal(2, await t.PostingCountAsync());
    }

    [Fact]
    public async Task Concurrent_withdrawals_from_one_escrow_never_take_it_below_zero()
    {
        // 1000 held; 20 parallel connections each try to move 100 out: exactly 10 succeed, 10 are refused.
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.PostAsync(t.Fund(contest, 1000));

        // All twenty were blocked together behind the escrow account's row before they raced.
        var (outcomes, together) = await LockWaits.RaceAsync(t.Url, "SELECT 1 FROM ledger_accounts WHERE id = @escrow FOR UPDATE", new { escrow }, 20, async _ =>
        {
            await using var c = new NpgsqlConnection(t.Db.ConnectionString);
            await c.OpenAsync();
            await using var tx = await c.BeginTransactionAsync();
            try
            {
                await t.Ledger.PostAsync(tx, t.Release(contest, 100));
                await tx.CommitAsync();
                return true;
            }
            catch (EscrowNegativeException) { return false; }
        });
        Assert.True(together >= 20, $"{together} withdrawals overlapped");

        Assert.Equal(10, outcomes.Count(o => o));
        Assert.Equal(0, await t.StoredBalanceAsync(escrow));
        Assert.Equal(0, await t.PostingsSumAsync(escrow));
        Assert.Equal(11, await t.EntryCountAsync());
    }

    [Fact]
    public async Task An_unbalanced_entry_is_refused_with_LEDGER_IMBALANCE_and_writes_nothing()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var key = LedgerTestDatabase.Key();
        var unbalanced = new JournalEntry(key, "entry_fee.captured", "usd", t.Clock.GetUtcNow(), "test_payment", "p1",
            [new LedgerPosting(LedgerAccountRef.Clearing("usd"), -1000), new LedgerPosting(LedgerAccountRef.Escrow(contest), 999)]);

        var e = await Assert.ThrowsAsync<LedgerImbalanceException>(() => t.PostAsync(unbalanced));

        Assert.Equal("LEDGER_IMBALANCE", e.Code);
        Assert.Equal(0, await t.EntryCountAsync());
        Assert.Equal(0, await t.ScalarAsync<long>("SELECT count(*) FROM ledger_accounts"));
    }

    [Fact]
    public async Task Invalid_entries_are_refused_by_the_database_with_typed_errors()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        await t.PostAsync(t.Fund(contest, 100));

        // One posting only.
        var single = new JournalEntry(LedgerTestDatabase.Key(), "x", "usd", t.Clock.GetUtcNow(), "t", "1", [new LedgerPosting(LedgerAccountRef.Clearing("usd"), 0)]);
        Assert.Equal("LEDGER_INVALID", (await Assert.ThrowsAsync<LedgerException>(() => t.PostAsync(single))).Code);
        // An existing escrow in usd cannot receive a eur entry.
        var eur = JournalEntry.Movement(LedgerTestDatabase.Key(), "x", "eur", t.Clock.GetUtcNow(), "t", "1", LedgerAccountRef.Clearing("eur"), LedgerAccountRef.Escrow(contest), 5);
        Assert.Equal("LEDGER_ACCOUNT_MISMATCH", (await Assert.ThrowsAsync<LedgerException>(() => t.PostAsync(eur))).Code);
        // An account of another currency than the entry's.
        var mixed = JournalEntry.Movement(LedgerTestDatabase.Key(), "x", "usd", t.Clock.GetUtcNow(), "t", "1", LedgerAccountRef.Clearing("eur"), LedgerAccountRef.Revenue("usd"), 5);
        Assert.Equal("LEDGER_INVALID", (await Assert.ThrowsAsync<LedgerException>(() => t.PostAsync(mixed))).Code);

        Assert.Equal(1, await t.EntryCountAsync());
        Assert.Equal(100, await t.StoredBalanceAsync(LedgerAccountRef.Escrow(contest).Id));
    }

    [Fact]
    public async Task A_settlement_like_release_empties_the_escrow_once_and_every_account_matches_its_postings()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest);
        foreach (var _ in Enumerable.Range(0, 4)) await t.PostAsync(t.Fund(contest, 2500));
        var settle = JournalEntry.Create("settlement:" + contest, "settlement.released", "usd", t.Clock.GetUtcNow(), "settlement", contest)
            .Move(escrow, LedgerAccountRef.Payable("u1", "usd"), 6000)
            .Move(escrow, LedgerAccountRef.Payable("u2", "usd"), 3000)
            .Move(escrow, LedgerAccountRef.Revenue("usd"), 1000)
            .Build();

        Assert.Equal(4, settle.Postings.Count);
        Assert.Equal(-10_000, settle.Postings.Single(p => p.Account == escrow).Amount);
        Assert.True((await t.PostAsync(settle)).Created);
        Assert.False((await t.PostAsync(settle)).Created);

        Assert.Equal(0, await t.StoredBalanceAsync(escrow.Id));
        Assert.Equal(6000, await t.StoredBalanceAsync("payable:u1:usd"));
        Assert.Equal(3000, await t.StoredBalanceAsync("payable:u2:usd"));
        Assert.Equal(1000, await t.StoredBalanceAsync("revenue:usd"));
        Assert.Equal(0, await t.ScalarAsync<long>("SELECT sum(balance)::bigint FROM ledger_accounts"));
        Assert.Equal(0, await t.ScalarAsync<long>("""
            SELECT count(*) FROM ledger_accounts a
             WHERE a.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger_postings p WHERE p.account_id = a.id)
            """));
        var byCause = await t.Ledger.EntriesByCauseAsync("settlement", contest);
        Assert.Equal(4, Assert.Single(byCause).Postings.Count);
    }

    [Fact]
    public async Task Writers_other_than_the_function_cannot_leave_an_unbalanced_entry_or_edit_postings()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var posted = await t.PostAsync(t.Fund(contest, 300));

        // A direct, unbalanced insert passes statement by statement but is refused at COMMIT by the deferred trigger.
        await using (var c = await t.Db.OpenConnectionAsync())
        {
            await using var tx = await c.BeginTransactionAsync();
            var id = await c.ExecuteScalarAsync<long>("""
                INSERT INTO ledger_entries (idempotency_key, kind, currency, occurred_at, cause_type, cause_id, content_hash)
                VALUES ('direct', 'x', 'usd', now(), 't', '1', repeat('0', 64)) RETURNING id
                """, transaction: tx);
            await c.ExecuteAsync("INSERT INTO ledger_postings (entry_id, account_id, amount) VALUES (@id, 'clearing:usd', 50)", new { id }, tx);
            var e = await Assert.ThrowsAsync<PostgresException>(() => tx.CommitAsync());
            Assert.Equal("FWL02", e.SqlState);
            Assert.IsType<LedgerImbalanceException>(LedgerException.From(e));
        }
        Assert.Equal(0, await t.EntriesWithKeyAsync("direct"));

        // Postings and entries are append-only; accounts never change identity.
        var update = await Assert.ThrowsAsync<PostgresException>(() => t.ExecAsync("UPDATE ledger_postings SET amount = amount * 2 WHERE entry_id = @id", new { id = posted.EntryId }));
        Assert.Equal("FWA01", update.SqlState);
        Assert.Equal("FWA01", (await Assert.ThrowsAsync<PostgresException>(() => t.ExecAsync("DELETE FROM ledger_entries"))).SqlState);
        Assert.Equal("FWA01", (await Assert.ThrowsAsync<PostgresException>(() => t.ExecAsync("UPDATE ledger_accounts SET kind = 'refunds' WHERE id = 'clearing:usd'"))).SqlState);
        Assert.Equal(300, await t.PostingsSumAsync(LedgerAccountRef.Escrow(contest).Id));
    }

    [Fact]
    public async Task A_batch_posts_exactly_what_the_same_entries_posted_one_by_one_would()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var (one, many) = (LedgerTestDatabase.Contest(), LedgerTestDatabase.Contest());
        await t.PostAsync(t.Fund(one, 10_000, $"fund:{one}"));
        await t.PostAsync(t.Fund(many, 10_000, $"fund:{many}"));
        JournalEntry Release(string contest, int i) => JournalEntry.Movement($"release:{contest}:{i}", "settlement_release", "usd", t.Clock.GetUtcNow(), "settlement", contest,
            LedgerAccountRef.Escrow(contest), LedgerAccountRef.Payable($"winner-{i}", "usd"), 100 + i, $"winnings {i}");
        foreach (var i in Enumerable.Range(0, 40)) await t.PostAsync(Release(one, i));

        List<PostResult> results;
        await using (var c = await t.Db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            // A key repeated in the batch (same content) is one entry, like a second single post.
            var batch = Enumerable.Range(0, 40).Select(i => Release(many, i)).Append(Release(many, 7)).ToList();
            results = (await t.Ledger.PostManyAsync(tx, batch)).ToList();
            await tx.CommitAsync();
        }
        Assert.Equal(41, results.Count);
        Assert.Equal(40, results.Count(r => r.Created));
        Assert.Equal((results[7].EntryId, false), (results[40].EntryId, results[40].Created));
        Assert.Equal(await t.StoredBalanceAsync(LedgerAccountRef.Escrow(one).Id), await t.StoredBalanceAsync(LedgerAccountRef.Escrow(many).Id));
        Assert.Equal(await t.PostingsSumAsync(LedgerAccountRef.Escrow(many).Id), await t.StoredBalanceAsync(LedgerAccountRef.Escrow(many).Id));
        // The same entries and postings as the single posts, in the same order (accounts and amounts; the contests differ).
        const string Shape = """
            SELECT string_agg(e.kind || ' ' || e.idempotency_key || ' ' || replace(p.account_id, @contest, 'C') || ' ' || p.amount, ',' ORDER BY e.id, p.id)
              FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id WHERE e.cause_id = @contest
            """;
        var single = await t.ScalarAsync<string>(Shape, new { contest = one });
        Assert.Equal(80, single.Split(',').Length);
        Assert.Equal(single.Replace(one, "C"), (await t.ScalarAsync<string>(Shape, new { contest = many })).Replace(many, "C"));
        // And the content hash is what a single post computes for the same content.
        await using (var c = await t.Db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            var again = await t.Ledger.PostAsync(tx, Release(many, 3));
            Assert.Equal((results[3].EntryId, false), (again.EntryId, again.Created));
        }
        // The ledger's own invariants hold (the payables are test money, not from a settlement row, so that check is not asked).
        var reconciled = await t.Reconciliation.RunAsync("test:batch");
        Assert.DoesNotContain(reconciled.Violations, v => v.Check is "account_balance_matches_postings" or "entry_balanced" or "escrow_not_negative" or "posting_currency_matches_entry");
    }

    [Fact]
    public async Task A_batch_that_would_take_an_escrow_below_zero_midway_is_refused_whole()
    {
        await using var t = await LedgerTestDatabase.CreateAsync();
        var contest = LedgerTestDatabase.Contest();
        var escrow = LedgerAccountRef.Escrow(contest).Id;
        await t.PostAsync(t.Fund(contest, 1000));
        var (entries, postings) = (await t.EntryCountAsync(), await t.PostingCountAsync());

        // 600 out, 600 out (now -200), 500 in: the end balance (300) is fine, the middle is not.
        var batch = new[] { t.Release(contest, 600), t.Release(contest, 600), t.Fund(contest, 500) };
        await using (var c = await t.Db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            var e = await Assert.ThrowsAsync<EscrowNegativeException>(() => t.Ledger.PostManyAsync(tx, batch));
            Assert.Contains($"escrow {escrow} holds 400, posting -600", e.Message);
        }
        Assert.Equal((entries, postings), (await t.EntryCountAsync(), await t.PostingCountAsync()));
        Assert.Equal(1000, await t.StoredBalanceAsync(escrow));

        // A conflicting key anywhere in a batch refuses the batch.
        var posted = t.Release(contest, 100);
        await t.PostAsync(posted);
        await using (var c = await t.Db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
            await Assert.ThrowsAsync<LedgerIdempotencyConflictException>(() => t.Ledger.PostManyAsync(tx, [t.Release(contest, 5), posted with { Postings = t.Release(contest, 99).Postings }]));
        Assert.Equal(900, await t.StoredBalanceAsync(escrow));
    }

    [Fact]
    public void The_builder_makes_each_movement_explicit_from_minus_to_plus_and_nets_per_account()
    {
        var a = LedgerAccountRef.Escrow("c1");
        var entry = JournalEntry.Create("k", "x", "usd", DateTimeOffset.UnixEpoch, "t", "1")
            .Move(LedgerAccountRef.Clearing("usd"), a, 100)
            .Move(a, LedgerAccountRef.Revenue("usd"), 30)
            .Build();

        Assert.Equal([("clearing:usd", -100L), ("escrow:c1", 70L), ("revenue:usd", 30L)], entry.Postings.Select(p => (p.Account.Id, p.Amount)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => JournalEntry.Create("k", "x", "usd", DateTimeOffset.UnixEpoch, "t", "1").Move(a, LedgerAccountRef.Revenue("usd"), 0));
        Assert.Throws<InvalidOperationException>(() => JournalEntry.Create("k", "x", "usd", DateTimeOffset.UnixEpoch, "t", "1")
            .Move(a, LedgerAccountRef.Revenue("usd"), 5).Move(LedgerAccountRef.Revenue("usd"), a, 5).Build());
        Assert.Equal("payable:u:1:usd", LedgerAccountRef.Payable("u:1", "usd").Id);
        Assert.Throws<ArgumentException>(() => LedgerAccountRef.Clearing("USD"));
    }
}
