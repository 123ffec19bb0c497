using Dapper;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Http;
using FluentValidation;
using Npgsql;

namespace Fairway.Host.Platform.Time;

public sealed record SetTestClockRequest(DateTimeOffset? Now);
public sealed record AdvanceTestClockRequest(long? Seconds);
public sealed record TestClockResponse(DateTimeOffset Now);

public sealed class SetTestClockValidator : AbstractValidator<SetTestClockRequest>
{
    public SetTestClockValidator()
    {
        // One condition per rule: a When() guards every check before it in its chain (chained, a missing `now` passed
        // NotNull and failed in the handler with a 500).
        RuleFor(r => r.Now).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Now).Must(n => n!.Value.Offset == TimeSpan.Zero).When(r => r.Now is not null).WithErrorCode(FieldCodes.NotUtc).WithMessage("now must be a UTC instant ending in Z");
    }
}

public sealed class AdvanceTestClockValidator : AbstractValidator<AdvanceTestClockRequest>
{
    // Bounded: one call moves the clock by at most 60 days.
    public AdvanceTestClockValidator() =>
        RuleFor(r => r.Seconds).NotNull().WithErrorCode(FieldCodes.Required).InclusiveBetween(1, 60L * 86400).WithErrorCode(FieldCodes.OutOfRange);
}

/// <summary>Admin routes of the test clock; mapped only when FAIRWAY_TEST_CLOCK_ENABLED=true.</summary>
public static class TestClockEndpoints
{
    public static void MapTestClock(this RouteGroupBuilder admin)
    {
        var group = admin.MapGroup("/test-clock");
        group.MapGet("", (TimeProvider clock) => Results.Ok(new TestClockResponse(clock.GetUtcNow())));
        group.MapPut("", async (SetTestClockRequest body, HttpContext http, NpgsqlDataSource db, AuditWriter audit, TimeProvider clock, CancellationToken ct) =>
                await MoveAsync(db, audit, clock, http, _ => body.Now!.Value, ct))
            .Validate<SetTestClockRequest>();
        group.MapPost("/advance", async (AdvanceTestClockRequest body, HttpContext http, NpgsqlDataSource db, AuditWriter audit, TimeProvider clock, CancellationToken ct) =>
                await MoveAsync(db, audit, clock, http, now => now.AddSeconds(body.Seconds!.Value), ct))
            .Validate<AdvanceTestClockRequest>();
    }

    static async Task<IResult> MoveAsync(NpgsqlDataSource db, AuditWriter audit, TimeProvider clock, HttpContext http, Func<DateTimeOffset, DateTimeOffset> next, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var before = await connection.ExecuteScalarAsync<DateTime>("SELECT now_utc FROM test_clock WHERE id = 1 FOR UPDATE", transaction: tx);
        var beforeUtc = new DateTimeOffset(DateTime.SpecifyKind(before, DateTimeKind.Utc));
        var after = next(beforeUtc);
        // The clock never runs backwards: jobs and audit rows rely on time being monotonic.
        if (after < beforeUtc)
            return Problems.Result(ProblemCodes.ClockBackwards, "The test clock cannot move backwards.", $"it is {beforeUtc:O}; requested {after:O}");
        await connection.ExecuteAsync("UPDATE test_clock SET now_utc = @after WHERE id = 1", new { after }, tx);
        await audit.WriteAsync(tx, new AuditEntry(Actors.Of(http.User), "test_clock.moved", "test_clock", "1",
            "test clock moved through the admin API", new { now = beforeUtc }, new { now = after }), ct);
        await tx.CommitAsync(ct);
        return Results.Ok(new TestClockResponse(after));
    }
}
