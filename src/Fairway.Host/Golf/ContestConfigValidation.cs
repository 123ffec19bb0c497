using System.Text.Json;
using Fairway.Engine.Config;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;

namespace Fairway.Host.Golf;

/// <summary>
/// A contest config is valid when the engine accepts it (every rule, every error listed) and it
/// belongs where it is published: its ids match the contest and tournament, and its ingestion
/// endpoint is the one this deployment polls (INGESTION_ENDPOINT_URL is environment-scoped).
/// </summary>
public sealed class ContestConfigValidation(FairwaySettings settings)
{
    public string ExpectedIngestionEndpoint(string providerEventId) =>
        $"{settings.IngestionEndpoint.ToString().TrimEnd('/')}/tournaments/{providerEventId}/leaderboard.json";

    public (ContestConfig? Config, IReadOnlyList<ProblemError> Errors) Validate(JsonElement json, string contestId, Tournament tournament)
    {
        var result = ContestConfigValidator.Validate(json);
        if (!result.IsSuccess)
            return (null, result.Errors.Select(e => new ProblemError("config." + e.Path, e.Code, e.Message)).ToList());
        var config = result.Value;
        var errors = new List<ProblemError>();
        if (config.ContestId != contestId)
            errors.Add(new("config.contest_id", FieldCodes.ConfigMismatch, $"contest_id '{config.ContestId}' is not this contest ('{contestId}')"));
        if (config.Id != tournament.Id)
            errors.Add(new("config.id", FieldCodes.ConfigMismatch, $"id '{config.Id}' is not the tournament's id ('{tournament.Id}')"));
        if (config.ProviderEventId != tournament.ProviderEventId)
            errors.Add(new("config.provider_event_id", FieldCodes.ConfigMismatch, $"provider_event_id '{config.ProviderEventId}' is not the tournament's ('{tournament.ProviderEventId}')"));
        var expected = ExpectedIngestionEndpoint(tournament.ProviderEventId);
        if (config.IngestionEndpointText != expected)
            errors.Add(new("config.ingestion_endpoint", FieldCodes.ConfigEndpointMismatch, $"this deployment polls '{expected}'"));
        return errors.Count == 0 ? (config, errors) : (null, errors);
    }
}
