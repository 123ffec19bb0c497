using Fairway.Host.Platform.Http;
using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Telemetry;
using Npgsql;

namespace Fairway.Host.Operations.Runbooks;

public static class RunbookOutcomes
{
    public const string Started = "started";
    public static readonly IReadOnlyList<string> Step = ["succeeded", "failed"];
    public static readonly IReadOnlyList<string> Finish = ["succeeded", "failed", "escalated", "rolled_back"];
    /// <summary>Outcomes that must say what happened (seed 001: failed steps are logged and escalated, never silent).</summary>
    public static bool NeedsNotes(string outcome) => outcome is "failed" or "escalated" or "rolled_back";
}

public sealed record RunbookStepRecord(long Id, string Step, string Section, string Outcome, DateTimeOffset RecordedAt, string RecordedBy, string Notes);

public sealed record RunbookExecutionView(
    long Id, string Runbook, string Title, string RunbookVersion, DateTimeOffset StartedAt, string StartedBy, string Reason, string? Incident,
    string State, string? Outcome, DateTimeOffset? FinishedAt, string? FinishedBy, string? FinishNotes,
    IReadOnlyList<RunbookStepRecord> Steps, IReadOnlyList<string> RemainingSteps);

public sealed record RunbookExecutionSummary(
    long Id, string Runbook, DateTimeOffset StartedAt, string StartedBy, string Reason, string? Incident, string State, string? Outcome,
    DateTimeOffset? FinishedAt, int StepsRecorded);

/// <summary>A refusal with its HTTP status and stable code.</summary>
public sealed class RunbookExecutionException(ProblemCode code, string message) : Exception(message)
{
    public ProblemCode Code { get; } = code;
}

/// <summary>
/// Runbook executions on the record (seed 001: who ran which runbook, which step, with what result, when). Append-only
/// rows of <c>runbook_executions</c>: one <c>start</c>, the steps as they are done, one <c>finish</c>; each write also has
/// its audit row, in the same transaction. Writes to one execution are serialised by a transaction-scoped advisory lock,
/// so no step is recorded after its execution finished.
/// </summary>
public sealed class RunbookExecutionService(NpgsqlDataSource db, RunbookCatalog catalog, AuditWriter audit, TimeProvider clock)
{
    public const int MaxListLimit = 200;

    sealed record Row(long Id, long ExecutionId, DateTime RecordedAt, string Operator, string Runbook, string Step, string Outcome, string Notes, string? Reason, string? Incident);

    public async Task<RunbookExecutionView> StartAsync(string runbook, string reason, string? incident, string actor, CancellationToken ct)
    {
        var doc = catalog.Find(runbook) ?? throw new RunbookExecutionException(ProblemCodes.RunbookNotFound, $"no runbook '{runbook}' in this build; `fairway runbook list` shows them");
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var id = await c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT nextval('runbook_execution_ids')", transaction: tx, cancellationToken: ct));
        await InsertAsync(tx, id, actor, doc.Id, "start", RunbookOutcomes.Started, $"runbook version {doc.Version}", reason, incident, ct);
        await audit.WriteAsync(tx, new AuditEntry(actor, "runbook.execution_started", "runbook_execution", id.ToString(), reason,
            After: new { runbook = doc.Id, version = doc.Version, incident }), ct);
        await tx.CommitAsync(ct);
        return (await ShowAsync(id, ct))!;
    }

    public async Task<RunbookExecutionView> RecordStepAsync(long executionId, string step, string outcome, string notes, string actor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var rows = await LockedRowsAsync(tx, executionId, ct);
        var doc = DocumentOf(rows);
        if (doc.Steps.All(s => s.Id != step))
            throw new RunbookExecutionException(ProblemCodes.RunbookStepUnknown,
                $"runbook {doc.Id} has no step '{step}'; its steps: {string.Join(", ", doc.Steps.Select(s => s.Id))}");
        await InsertAsync(tx, executionId, actor, doc.Id, step, outcome, notes, null, null, ct);
        await audit.WriteAsync(tx, new AuditEntry(actor, "runbook.step_recorded", "runbook_execution", executionId.ToString(),
            $"runbook {doc.Id} step {step} {outcome}", After: new { runbook = doc.Id, step, outcome, notes }), ct);
        await tx.CommitAsync(ct);
        return (await ShowAsync(executionId, ct))!;
    }

    public async Task<RunbookExecutionView> FinishAsync(long executionId, string outcome, string notes, string actor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var doc = DocumentOf(await LockedRowsAsync(tx, executionId, ct));
        await InsertAsync(tx, executionId, actor, doc.Id, "finish", outcome, notes, null, null, ct);
        await audit.WriteAsync(tx, new AuditEntry(actor, "runbook.execution_finished", "runbook_execution", executionId.ToString(),
            $"runbook {doc.Id} finished: {outcome}", After: new { runbook = doc.Id, outcome, notes }), ct);
        await tx.CommitAsync(ct);
        return (await ShowAsync(executionId, ct))!;
    }

    public async Task<RunbookExecutionView?> ShowAsync(long executionId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = (await c.QueryAsync<Row>(new CommandDefinition(Select + " WHERE execution_id = @executionId ORDER BY id", new { executionId }, cancellationToken: ct))).ToList();
        return rows.Count == 0 ? null : View(rows);
    }

    /// <summary>Newest first; <paramref name="before"/> is the cursor (an execution id).</summary>
    public async Task<IReadOnlyList<RunbookExecutionSummary>> ListAsync(string? runbook, string? state, int limit, long? before, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<(long Id, string Runbook, DateTime StartedAt, string StartedBy, string Reason, string? Incident, string? Outcome, DateTime? FinishedAt, int Steps)>(
            new CommandDefinition("""
                SELECT s.execution_id, s.runbook, s.recorded_at, s.operator, s.reason, s.incident, f.outcome, f.recorded_at,
                       (SELECT count(*)::int FROM runbook_executions x WHERE x.execution_id = s.execution_id AND x.step NOT IN ('start', 'finish'))
                  FROM runbook_executions s
                  LEFT JOIN runbook_executions f ON f.execution_id = s.execution_id AND f.step = 'finish'
                 WHERE s.step = 'start' AND s.execution_id IS NOT NULL
                   AND (@runbook::text IS NULL OR s.runbook = @runbook)
                   AND (@state::text IS NULL OR (@state = 'finished') = (f.id IS NOT NULL))
                   AND (@before::bigint IS NULL OR s.execution_id < @before)
                 ORDER BY s.execution_id DESC
                 LIMIT @limit
                """, new { runbook, state, before, limit }, cancellationToken: ct));
        return rows.Select(r => new RunbookExecutionSummary(r.Id, r.Runbook, Utc(r.StartedAt), r.StartedBy, r.Reason, r.Incident,
            r.Outcome is null ? "in_progress" : "finished", r.Outcome, r.FinishedAt is { } f ? Utc(f) : null, r.Steps)).ToList();
    }

    const string Select = """
        SELECT id, execution_id AS executionid, recorded_at AS recordedat, operator, runbook, step, outcome, notes, reason, incident
          FROM runbook_executions
        """;

    async Task<List<Row>> LockedRowsAsync(NpgsqlTransaction tx, long executionId, CancellationToken ct)
    {
        var c = tx.Connection!;
        await c.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended('runbook_execution:' || @executionId, 0))",
            new { executionId }, tx, cancellationToken: ct));
        var rows = (await c.QueryAsync<Row>(new CommandDefinition(Select + " WHERE execution_id = @executionId ORDER BY id", new { executionId }, tx, cancellationToken: ct))).ToList();
        if (rows.Count == 0) throw new RunbookExecutionException(ProblemCodes.RunbookExecutionNotFound, $"no runbook execution {executionId}");
        if (rows.Any(r => r.Step == "finish"))
            throw new RunbookExecutionException(ProblemCodes.RunbookExecutionFinished, $"runbook execution {executionId} is finished ({rows.First(r => r.Step == "finish").Outcome}); start a new one");
        return rows;
    }

    RunbookDocument DocumentOf(List<Row> rows) =>
        catalog.Find(rows[0].Runbook) ?? throw new RunbookExecutionException(ProblemCodes.RunbookNotInBuild, $"runbook {rows[0].Runbook} is not in this build any more");

    Task InsertAsync(NpgsqlTransaction tx, long executionId, string actor, string runbook, string step, string outcome, string notes, string? reason, string? incident, CancellationToken ct) =>
        tx.Connection!.ExecuteAsync(new CommandDefinition("""
            INSERT INTO runbook_executions (recorded_at, operator, runbook, step, outcome, notes, correlation_id, execution_id, reason, incident)
            VALUES (@at, @actor, @runbook, @step, @outcome, @notes, @correlation, @executionId, @reason, @incident)
            """, new { at = clock.GetUtcNow(), actor, runbook, step, outcome, notes, correlation = Correlation.Current, executionId, reason, incident }, tx, cancellationToken: ct));

    RunbookExecutionView View(List<Row> rows)
    {
        var start = rows.First(r => r.Step == "start");
        var finish = rows.FirstOrDefault(r => r.Step == "finish");
        var doc = catalog.Find(start.Runbook);
        var sectionOf = doc?.Steps.ToDictionary(s => s.Id, s => s.Section) ?? [];
        var steps = rows.Where(r => r.Step is not ("start" or "finish"))
            .Select(r => new RunbookStepRecord(r.Id, r.Step, sectionOf.GetValueOrDefault(r.Step, "?"), r.Outcome, Utc(r.RecordedAt), r.Operator, r.Notes)).ToList();
        var done = steps.Select(s => s.Step).ToHashSet(StringComparer.Ordinal);
        return new RunbookExecutionView(start.ExecutionId, start.Runbook, doc?.Title ?? start.Runbook, start.Notes.Replace("runbook version ", ""),
            Utc(start.RecordedAt), start.Operator, start.Reason ?? "", start.Incident,
            finish is null ? "in_progress" : "finished", finish?.Outcome, finish is null ? null : Utc(finish.RecordedAt), finish?.Operator, finish?.Notes,
            steps, doc is null ? [] : doc.Steps.Select(s => s.Id).Where(id => !done.Contains(id)).ToList());
    }

    static DateTimeOffset Utc(DateTime d) => new(DateTime.SpecifyKind(d, DateTimeKind.Utc));
}
