using System.Text.Json;
using Dapper;
using Fairway.Host.Platform.Faults;
using Npgsql;

namespace Fairway.Host.Ledger;

public sealed record PostResult(long EntryId, bool Created);

public sealed record LedgerAccountView(string Id, string Kind, string? ContestId, string? UserId, string Currency, long Balance, DateTimeOffset CreatedAt);

public sealed record LedgerPostingView(long PostingId, long EntryId, string AccountId, long Amount, string EntryKind, DateTimeOffset OccurredAt,
    string CauseType, string CauseId, string IdempotencyKey);

public sealed record LedgerEntryView(long Id, string IdempotencyKey, string Kind, string Currency, DateTimeOffset OccurredAt, string CauseType, string CauseId,
    string? Description, string? CorrelationId, string ContentHash, IReadOnlyList<LedgerEntryPostingView> Postings);

public sealed record LedgerEntryPostingView(long PostingId, string AccountId, long Amount);

/// <summary>Filter of <see cref="LedgerRepository.AccountsAsync"/>; null members do not filter. Keyset paging by id.</summary>
public sealed record LedgerKindTotal(string Kind, string Currency, long Accounts, long NonZeroAccounts, long Balance);

public sealed record LedgerAccountFilter(string? Kind = null, string? ContestId = null, string? UserId = null, string? AfterId = null, int Limit = 50);

/// <summary>
/// The ledger's only C# entry point. Writes go through the database function
/// <c>fairway_post_journal_entry</c> inside the CALLER's transaction, so a business state change and its
/// ledger entry commit together or not at all. This class does not consult the kill-switch: every money
/// path must call <c>KillSwitch.EnsureDisengagedAsync(tx)</c> in the same transaction before posting.
/// </summary>
public sealed class LedgerRepository(NpgsqlDataSource db)
{
    /// <summary>Crash point between the postings being written and the caller's commit (crash-recovery tests).</summary>
    public const string CrashAfterPostingsBeforeCommit = "ledger.after_postings_before_commit";

    public const int MaxPageSize = 200;

    /// <summary>
    /// Posts <paramref name="entry"/> in <paramref name="tx"/>. Returns the entry id and whether it was
    /// created now (false: the same key with the same content was already posted; nothing was written).
    /// Throws <see cref="LedgerImbalanceException"/>, <see cref="EscrowNegativeException"/>,
    /// <see cref="LedgerIdempotencyConflictException"/> or <see cref="LedgerException"/>; the transaction is
    /// then aborted and must be rolled back.
    /// </summary>
    public async Task<PostResult> PostAsync(NpgsqlTransaction tx, JournalEntry entry, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return (await PostManyAsync(tx, [entry], ct))[0];
    }

    /// <summary>Most journal entries posted by one call of the batch writer (<see cref="PostManyAsync"/> splits larger lists).</summary>
    public const int MaxBatch = 1000;

    /// <summary>
    /// Posts several entries in <paramref name="tx"/>, in order, through <c>fairway_post_journal_entries</c>: the same checks,
    /// content hashes and idempotency as that many single posts, one round trip and one balance update per account per
    /// batch of <see cref="MaxBatch"/>. The first failure aborts the transaction and is thrown as its typed exception.
    /// Returns one result per entry, in order.
    /// </summary>
    public async Task<IReadOnlyList<PostResult>> PostManyAsync(NpgsqlTransaction tx, IReadOnlyList<JournalEntry> entries, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tx);
        ArgumentNullException.ThrowIfNull(entries);
        var results = new List<PostResult>(entries.Count);
        try
        {
            foreach (var chunk in entries.Chunk(MaxBatch))
            {
                var batch = JsonSerializer.Serialize(chunk.Select(e => new
                {
                    idempotency_key = e.IdempotencyKey,
                    kind = e.Kind,
                    currency = e.Currency,
                    // Microseconds, truncated, as Npgsql sends a timestamptz parameter (JSON would carry 100 ns ticks, which PostgreSQL rounds).
                    occurred_at = e.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                    cause_type = e.CauseType,
                    cause_id = e.CauseId,
                    description = e.Description,
                    correlation_id = e.CorrelationId,
                    postings = e.Postings.Select(p => new { account = p.Account.Id, kind = p.Account.Kind, contest_id = p.Account.ContestId, user_id = p.Account.UserId, amount = p.Amount }),
                }));
                results.AddRange(await tx.Connection!.QueryAsync<PostResult>(new CommandDefinition(
                    "SELECT entry_id AS EntryId, created AS Created FROM fairway_post_journal_entries(@batch::jsonb)", new { batch }, tx, cancellationToken: ct)));
            }
        }
        catch (PostgresException e) when (LedgerException.From(e) is { } mapped)
        {
            throw mapped;
        }
        if (results.Count != entries.Count) throw new InvalidOperationException($"the ledger posted {results.Count} of {entries.Count} entries");
        if (results.Any(r => r.Created)) CrashPoints.Hit(CrashAfterPostingsBeforeCommit);
        return results;
    }

    /// <summary>The stored balance of an account; null when the account does not exist (nothing ever posted to it).</summary>
    public async Task<long?> BalanceAsync(string accountId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition("SELECT balance FROM ledger_accounts WHERE id = @accountId", new { accountId }, cancellationToken: ct));
    }

    /// <summary>The sum of every posting of an account (what its stored balance must equal).</summary>
    public async Task<long> PostingsSumAsync(string accountId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT coalesce(sum(amount), 0)::bigint FROM ledger_postings WHERE account_id = @accountId", new { accountId }, cancellationToken: ct));
    }

    public async Task<LedgerAccountView?> AccountAsync(string accountId, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(AccountSelect + " WHERE id = @accountId", new { accountId }, cancellationToken: ct));
        return row?.ToView();
    }

    public async Task<IReadOnlyList<LedgerAccountView>> AccountsAsync(LedgerAccountFilter filter, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<AccountRow>(new CommandDefinition(AccountSelect + """
             WHERE (@Kind::text IS NULL OR kind = @Kind)
               AND (@ContestId::text IS NULL OR contest_id = @ContestId)
               AND (@UserId::text IS NULL OR user_id = @UserId)
               AND (@AfterId::text IS NULL OR id > @AfterId)
             ORDER BY id
             LIMIT @Limit
            """, new { filter.Kind, filter.ContestId, filter.UserId, filter.AfterId, Limit = Math.Clamp(filter.Limit, 1, MaxPageSize) }, cancellationToken: ct));
        return rows.Select(r => r.ToView()).ToList();
    }

    /// <summary>Totals per account kind and currency (ordered by kind, currency): e.g. the money held in escrow right now.</summary>
    public async Task<IReadOnlyList<LedgerKindTotal>> TotalsByKindAsync(CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<LedgerKindTotal>(new CommandDefinition("""
            SELECT kind AS Kind, trim(currency) AS Currency, count(*) AS Accounts, count(*) FILTER (WHERE balance <> 0) AS NonZeroAccounts,
                   coalesce(sum(balance), 0)::bigint AS Balance
              FROM ledger_accounts GROUP BY kind, currency ORDER BY kind, currency
            """, cancellationToken: ct))).ToList();
    }

    /// <summary>The postings of an account, newest first; <paramref name="beforeId"/> pages backwards.</summary>
    public async Task<IReadOnlyList<LedgerPostingView>> PostingsAsync(string accountId, int limit, long? beforeId = null, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<PostingRow>(new CommandDefinition("""
            SELECT p.id AS PostingId, p.entry_id AS EntryId, p.account_id AS AccountId, p.amount AS Amount, e.kind AS EntryKind,
                   e.occurred_at AS OccurredAt, e.cause_type AS CauseType, e.cause_id AS CauseId, e.idempotency_key AS IdempotencyKey
              FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
             WHERE p.account_id = @accountId AND (@beforeId::bigint IS NULL OR p.id < @beforeId)
             ORDER BY p.id DESC
             LIMIT @limit
            """, new { accountId, beforeId, limit = Math.Clamp(limit, 1, MaxPageSize) }, cancellationToken: ct));
        return rows.Select(r => new LedgerPostingView(r.PostingId, r.EntryId, r.AccountId, r.Amount, r.EntryKind, Utc(r.OccurredAt), r.CauseType, r.CauseId, r.IdempotencyKey)).ToList();
    }

    /// <summary>Entries caused by one business object (e.g. cause_type "payment", cause_id "pi_123"), oldest first, with their postings.</summary>
    public async Task<IReadOnlyList<LedgerEntryView>> EntriesByCauseAsync(string causeType, string? causeId, int limit = MaxPageSize, long? afterId = null, CancellationToken ct = default)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var entries = (await c.QueryAsync<EntryRow>(new CommandDefinition("""
            SELECT id, idempotency_key AS IdempotencyKey, kind, currency, occurred_at AS OccurredAt, cause_type AS CauseType, cause_id AS CauseId,
                   description, correlation_id AS CorrelationId, content_hash AS ContentHash
              FROM ledger_entries
             WHERE cause_type = @causeType AND (@causeId::text IS NULL OR cause_id = @causeId) AND (@afterId::bigint IS NULL OR id > @afterId)
             ORDER BY id
             LIMIT @limit
            """, new { causeType, causeId, afterId, limit = Math.Clamp(limit, 1, MaxPageSize) }, cancellationToken: ct))).ToList();
        if (entries.Count == 0) return [];
        var postings = (await c.QueryAsync<(long EntryId, long PostingId, string AccountId, long Amount)>(new CommandDefinition(
            "SELECT entry_id, id, account_id, amount FROM ledger_postings WHERE entry_id = ANY(@ids) ORDER BY entry_id, account_id",
            new { ids = entries.Select(e => e.Id).ToArray() }, cancellationToken: ct))).ToLookup(p => p.EntryId);
        return entries.Select(e => new LedgerEntryView(e.Id, e.IdempotencyKey, e.Kind, e.Currency.Trim(), Utc(e.OccurredAt), e.CauseType, e.CauseId,
            e.Description, e.CorrelationId, e.ContentHash,
            postings[e.Id].Select(p => new LedgerEntryPostingView(p.PostingId, p.AccountId, p.Amount)).ToList())).ToList();
    }

    const string AccountSelect = "SELECT id, kind, contest_id AS ContestId, user_id AS UserId, currency, balance, created_at AS CreatedAt FROM ledger_accounts";

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));

    sealed record AccountRow(string Id, string Kind, string? ContestId, string? UserId, string Currency, long Balance, DateTime CreatedAt)
    {
        public LedgerAccountView ToView() => new(Id, Kind, ContestId, UserId, Currency.Trim(), Balance, Utc(CreatedAt));
    }

    sealed record PostingRow(long PostingId, long EntryId, string AccountId, long Amount, string EntryKind, DateTime OccurredAt, string CauseType, string CauseId, string IdempotencyKey);

    sealed record EntryRow(long Id, string IdempotencyKey, string Kind, string Currency, DateTime OccurredAt, string CauseType, string CauseId,
        string? Description, string? CorrelationId, string ContentHash);
}
