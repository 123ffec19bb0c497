using Fairway.Engine.Golf;
using FluentValidation;

namespace Fairway.Host.Ingestion;

/// <summary>A fetched body with what it must match: the tournament it was fetched for and the contest configs' round count.</summary>
public sealed record ProviderPayload(byte[] Body, string ExpectedEventId, int RoundCount)
{
    /// <summary>Set by the validator when the body parses; only then is it usable.</summary>
    public Leaderboard? Parsed { get; set; }
}

/// <summary>
/// FluentValidation rules for a schema-version-1 leaderboard: the engine's strict parser (types,
/// ranges, required fields, duplicates, statuses — every error listed) plus the checks that depend on
/// what was asked for (the event id) and on the contests' configuration (round count).
/// </summary>
public sealed class ProviderPayloadValidator : AbstractValidator<ProviderPayload>
{
    public ProviderPayloadValidator()
    {
        RuleFor(p => p).Custom((payload, ctx) =>
        {
            string text;
            try { text = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(payload.Body); }
            catch (System.Text.DecoderFallbackException) { ctx.AddFailure(new FluentValidation.Results.ValidationFailure("$", "body is not valid UTF-8") { ErrorCode = "INVALID_ENCODING" }); return; }
            var parsed = LeaderboardParser.Parse(text);
            if (!parsed.IsSuccess)
            {
                foreach (var e in parsed.Errors) ctx.AddFailure(new FluentValidation.Results.ValidationFailure(e.Path, e.Message) { ErrorCode = e.Code });
                return;
            }
            if (parsed.Value.EventId != payload.ExpectedEventId)
                ctx.AddFailure(new FluentValidation.Results.ValidationFailure("id", $"payload is for '{parsed.Value.EventId}', expected '{payload.ExpectedEventId}'") { ErrorCode = "WRONG_TOURNAMENT" });
            foreach (var e in LeaderboardRules.CheckAgainstConfig(parsed.Value, payload.RoundCount))
                ctx.AddFailure(new FluentValidation.Results.ValidationFailure(e.Path, e.Message) { ErrorCode = e.Code });
            payload.Parsed = parsed.Value;
        });
    }
}
