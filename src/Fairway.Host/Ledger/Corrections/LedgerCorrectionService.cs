using Fairway.Host.Platform.Http;
using System.Text.Json;
using Dapper;
using Fairway.Host.Payments;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Telemetry;
using Npgsql;
using Prometheus;
using Stripe;
using KillSwitchService = Fairway.Host.Operations.KillSwitch.KillSwitch;

namespace Fairway.Host.Ledger.Corrections;

public sealed record LedgerCorrectionView(long Id, string Kind, string Subject, string Currency, long Amount, string FromAccount, string ToAccount,
    long LedgerEntryId, string Reason, string RequestedBy, JsonElement Evidence, DateTimeOffset CreatedAt);

/// <summary>The outcome of a correction request: the correction (created now or before) or a refusal with its stable code.</summary>
public sealed record CorrectionOutcome(int Status, LedgerCorrectionView? Correction, ProblemCode? Code = null, string? Detail = null)
{
    public static CorrectionOutcome Fail(ProblemCode code, string detail) => new(code.Status!.Value, null, code, detail);
}

/// <summary>
/// Ledger corrections: typed, audited admin postings of a closed list of kinds (<see cref="CorrectionKind"/>).
/// One request = one transaction: kill-switch check, the kind's locks and preconditions, the ledger entry
/// (key <c>correction:&lt;kind&gt;:&lt;subject&gt;</c>, kind <c>correction.&lt;kind&gt;</c>, cause <c>correction/&lt;id&gt;</c>), the append-only
/// <c>ledger_corrections</c> row and its audit row. Idempotent per kind and subject: asking again returns the
/// correction made the first time.
/// </summary>
public sealed class LedgerCorrectionService
{
    public const string CauseType = "correction";
    public const string LedgerKindPrefix = "correction.";

    static readonly Counter Posted = Metrics.CreateCounter("ledger_corrections_total", "Ledger corrections posted by this process, by kind.",
        new CounterConfiguration { LabelNames = ["kind"] });

    readonly NpgsqlDataSource db;
    readonly LedgerRepository ledger;
    readonly KillSwitchService killSwitch;
    readonly AuditWriter audit;
    readonly TimeProvider clock;
    readonly ILogger<LedgerCorrectionService> log;

    public IReadOnlyDictionary<string, CorrectionKind> Kinds { get; }

    public LedgerCorrectionService(IEnumerable<CorrectionKind> kinds, NpgsqlDataSource db, LedgerRepository ledger, KillSwitchService killSwitch, AuditWriter audit,
        TimeProvider clock, ILogger<LedgerCorrectionService> log)
    {
        Kinds = kinds.ToDictionary(k => k.Name, StringComparer.Ordinal);
        var closedList = Migrations.Versions.M202611300050_CorrectionsAndStripeReconciliation.CorrectionKinds;
        if (!Kinds.Keys.Order(StringComparer.Ordinal).SequenceEqual(closedList.Order(StringComparer.Ordinal)))
            throw new InvalidOperationException($"correction kinds registered ({string.Join(", ", Kinds.Keys)}) differ from the database's closed list ({string.Join(", ", closedList)})");
        this.db = db; this.ledger = ledger; this.killSwitch = killSwitch; this.audit = audit; this.clock = clock; this.log = log;
    }

    public static string LedgerKey(string kind, string subject) => $"correction:{kind}:{subject}";

    public async Task<CorrectionOutcome> RequestAsync(string kindName, string subject, long? amount, string reason, string actor, CancellationToken ct)
    {
        var kind = Kinds[kindName];
        await using (var c = await db.OpenConnectionAsync(ct))
            if (await FindAsync(c, kindName, subject) is { } existing)
                return Existing(existing, amount);

        object? facts;
        try { facts = await kind.FetchAsync(subject, ct); }
        catch (Exception e) when (StripeGateway.IsStripeFailure(e, ct))
        {
            var code = StripeGateway.FailureProblem(e);
            log.LogWarning(e, "Correction {Kind} {Subject}: Stripe look-up failed ({Error})", kindName, subject, e.Message);
            return CorrectionOutcome.Fail(code, $"Stripe could not be asked about {subject}: {e.Message}" + (code == ProblemCodes.PaymentProviderUnavailable ? "; retry" : ""));
        }

        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await killSwitch.EnsureDisengagedAsync(tx, ct);
        // Two requests for one subject: the second waits here and then finds the first one's correction.
        await conn.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext(@key))", new { key = LedgerKey(kindName, subject) }, tx);
        if (await FindAsync(conn, kindName, subject, tx) is { } raced) return Existing(raced, amount);

        CorrectionPlan plan;
        try { plan = await kind.PlanAsync(tx, subject, facts, ct); }
        catch (CorrectionRefusedException e)
        {
            log.LogWarning("Correction {Kind} {Subject} refused ({Code}): {Detail}", kindName, subject, e.Code, e.Message);
            return CorrectionOutcome.Fail(e.Code, e.Message);
        }
        if (amount is { } confirmed && confirmed != plan.Amount)
            return CorrectionOutcome.Fail(ProblemCodes.CorrectionAmountMismatch,
                $"{kindName} {subject} moves {plan.Amount} {plan.Currency} ({kind.AmountRule}); --amount {confirmed} does not confirm it");

        var id = await conn.ExecuteScalarAsync<long>("SELECT nextval(pg_get_serial_sequence('ledger_corrections', 'id'))", transaction: tx);
        var now = clock.GetUtcNow();
        var posted = await ledger.PostAsync(tx, JournalEntry.Movement(LedgerKey(kindName, subject), LedgerKindPrefix + kindName, plan.Currency, now,
            CauseType, id.ToString(System.Globalization.CultureInfo.InvariantCulture), plan.From, plan.To, plan.Amount, $"{plan.Description}: {reason}"), ct);
        var evidence = JsonSerializer.Serialize(plan.Evidence, EvidenceJson);
        await conn.ExecuteAsync("""
            INSERT INTO ledger_corrections (id, kind, subject, currency, amount, from_account, to_account, ledger_entry_id, reason, requested_by, evidence, created_at, correlation_id)
            VALUES (@id, @kindName, @subject, @Currency, @Amount, @from, @to, @entry, @reason, @actor, @evidence::jsonb, @now, @correlation)
            """, new { id, kindName, subject, plan.Currency, plan.Amount, from = plan.From.Id, to = plan.To.Id, entry = posted.EntryId, reason, actor, evidence, now, correlation = Correlation.Current }, tx);
        await audit.WriteAsync(tx, new AuditEntry(actor, "ledger.correction_posted", "ledger_correction", id.ToString(System.Globalization.CultureInfo.InvariantCulture), reason,
            After: new { kind = kindName, subject, amount = plan.Amount, currency = plan.Currency, from = plan.From.Id, to = plan.To.Id, ledger_entry_id = posted.EntryId },
            Evidence: plan.Evidence), ct);
        await tx.CommitAsync(ct);
        Posted.WithLabels(kindName).Inc();
        log.LogWarning("Ledger correction {CorrectionId} {Kind} {Subject} posted by {Actor}: {Amount} {Currency} {From} → {To} ({Reason})",
            id, kindName, subject, actor, plan.Amount, plan.Currency, plan.From.Id, plan.To.Id, reason);
        await using var r = await db.OpenConnectionAsync(ct);
        return new CorrectionOutcome(201, (await FindAsync(r, kindName, subject))!);
    }

    static CorrectionOutcome Existing(LedgerCorrectionView existing, long? amount) =>
        amount is { } a && a != existing.Amount
            ? CorrectionOutcome.Fail(ProblemCodes.CorrectionAmountMismatch,
                $"{existing.Kind} {existing.Subject} was corrected already (correction {existing.Id}) with {existing.Amount} {existing.Currency}, not {a}")
            : new CorrectionOutcome(200, existing);

    const string Columns = """
        id AS Id, kind AS Kind, subject AS Subject, trim(currency) AS Currency, amount AS Amount, from_account AS FromAccount, to_account AS ToAccount,
        ledger_entry_id AS LedgerEntryId, reason AS Reason, requested_by AS RequestedBy, evidence::text AS Evidence, created_at AS CreatedAt
        """;

    /// <summary>The correction of a kind for a subject, if one was made (what reconciliation treats as explained).</summary>
    public static async Task<LedgerCorrectionView?> FindAsync(NpgsqlConnection c, string kind, string subject, NpgsqlTransaction? tx = null) =>
        (await c.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM ledger_corrections WHERE kind = @kind AND subject = @subject", new { kind, subject }, tx))?.ToView();

    /// <summary>Every correction of a subject (any kind).</summary>
    public static async Task<IReadOnlyList<LedgerCorrectionView>> OfSubjectAsync(NpgsqlConnection c, string subject, NpgsqlTransaction? tx = null) =>
        (await c.QueryAsync<Row>($"SELECT {Columns} FROM ledger_corrections WHERE subject = @subject ORDER BY id", new { subject }, tx)).Select(r => r.ToView()).ToList();

    /// <summary>Corrections, newest first, keyset-paged by id.</summary>
    public async Task<IReadOnlyList<LedgerCorrectionView>> ListAsync(string? kind, long? before, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM ledger_corrections
             WHERE (@kind::text IS NULL OR kind = @kind) AND (@before::bigint IS NULL OR id < @before)
             ORDER BY id DESC LIMIT @limit
            """, new { kind, before, limit }, cancellationToken: ct))).Select(r => r.ToView()).ToList();
    }

    static readonly JsonSerializerOptions EvidenceJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    sealed record Row(long Id, string Kind, string Subject, string Currency, long Amount, string FromAccount, string ToAccount, long LedgerEntryId,
        string Reason, string RequestedBy, string Evidence, DateTime CreatedAt)
    {
        public LedgerCorrectionView ToView() => new(Id, Kind, Subject, Currency, Amount, FromAccount, ToAccount, LedgerEntryId, Reason, RequestedBy,
            JsonDocument.Parse(Evidence).RootElement.Clone(), new DateTimeOffset(DateTime.SpecifyKind(CreatedAt, DateTimeKind.Utc)));
    }
}
