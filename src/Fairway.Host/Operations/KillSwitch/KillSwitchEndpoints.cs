using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Health;
using Fairway.Host.Platform.Http;
using FluentValidation;

namespace Fairway.Host.Operations.KillSwitch;

public sealed record SetKillSwitchRequest(bool? Engaged, string? Reason);

public sealed record KillSwitchResponse(bool Engaged, DateTimeOffset ChangedAt, string ChangedBy, string Reason, bool? Changed = null)
{
    public static KillSwitchResponse Of(KillSwitchState s, bool? changed = null) => new(s.Engaged, s.ChangedAt, s.ChangedBy, s.Reason, changed);
}

public sealed class SetKillSwitchRequestValidator : AbstractValidator<SetKillSwitchRequest>
{
    public SetKillSwitchRequestValidator()
    {
        RuleFor(r => r.Engaged).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Reason).NotNull().WithErrorCode(FieldCodes.Required);
        RuleFor(r => r.Reason).Must(r => r!.Trim().Length is >= 3 and <= 500).When(r => r.Reason is not null)
            .WithErrorCode(FieldCodes.OutOfRange).WithMessage("reason must be 3 to 500 characters (who asked, why, ticket)");
    }
}

/// <summary>Admin routes of the kill-switch: read it, set it (audited with the caller as actor).</summary>
public static class KillSwitchEndpoints
{
    public static void MapKillSwitch(this RouteGroupBuilder admin)
    {
        admin.MapGet("/kill-switch", async (KillSwitch ks, CancellationToken ct) => Results.Ok(KillSwitchResponse.Of(await ks.ReadAsync(ct))));
        admin.MapPut("/kill-switch", async (SetKillSwitchRequest body, HttpContext http, KillSwitch ks, CancellationToken ct) =>
        {
            var change = await ks.SetAsync(body.Engaged!.Value, Actors.Of(http.User), body.Reason!.Trim(), ct);
            return Results.Ok(KillSwitchResponse.Of(change.State, change.Changed));
        }).Validate<SetKillSwitchRequest>();
    }

    /// <summary>Turns <see cref="KillSwitchEngagedException"/> from any request into 409 KILL_SWITCH_ACTIVE.</summary>
    public static void UseKillSwitchProblems(this WebApplication app) => app.UseMiddleware<KillSwitchProblemMiddleware>();
}

public sealed class KillSwitchProblemMiddleware(RequestDelegate next, ILogger<KillSwitchProblemMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try { await next(context); }
        catch (KillSwitchEngagedException e) when (!context.Response.HasStarted)
        {
            log.LogWarning("Money mutation {Method} {Path} refused: kill-switch engaged by {ChangedBy} ({Reason})",
                context.Request.Method, context.Request.Path.Value, e.State.ChangedBy, e.State.Reason);
            await Problems.WriteAsync(context, KillSwitchEngagedException.Code, "Money movements are stopped: the kill-switch is engaged.",
                $"engaged since {e.State.ChangedAt:O} by {e.State.ChangedBy}: {e.State.Reason}");
        }
    }
}

/// <summary>Adds the kill-switch to the /readyz body. An engaged switch is a safe state, not an outage: it never fails readiness.</summary>
public sealed class KillSwitchReadinessDetail(KillSwitch ks) : IReadinessDetail
{
    public string Name => "kill_switch";

    public async Task<object?> ReadAsync(CancellationToken ct)
    {
        var s = await ks.ReadAsync(ct);
        return new Dictionary<string, object?>
        {
            ["engaged"] = s.Engaged,
            ["changed_at"] = s.ChangedAt,
            ["changed_by"] = s.ChangedBy,
            ["reason"] = s.Reason,
        };
    }
}
