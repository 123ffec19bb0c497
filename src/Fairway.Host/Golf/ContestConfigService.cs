using System.Text.Json;
using Fairway.Engine.Config;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Http;
using Npgsql;

namespace Fairway.Host.Golf;

/// <summary>Outcome of a config operation; errors carry stable codes for problem+json.</summary>
public sealed record ConfigOutcome(int Status, ProblemCode? Code, string? Message, IReadOnlyList<ProblemError> Errors, ConfigVersionRow? Version, ContestRow? Contest)
{
    public static ConfigOutcome Fail(ProblemCode code, string message, IReadOnlyList<ProblemError>? errors = null) => new(code.Status!.Value, code, message, errors ?? [], null, null);
}

/// <summary>
/// The money rules of a contest: what a player agrees to when paying (fee, currency, roster size, rake, payout table). Frozen
/// once the contest has any entry; the other fields (dates, lock time, hold, field settings) may still change, audited.
/// </summary>
public static class FrozenMoneyRules
{
    public static IReadOnlyList<ProblemError> Changed(Fairway.Engine.Config.ContestRules before, Fairway.Engine.Config.ContestRules after)
    {
        var changed = new List<ProblemError>();
        void Check(string field, object a, object b)
        {
            if (!Equals(a, b)) changed.Add(new ProblemError($"rules.{field}", FieldCodes.Frozen, $"{field} is {a} and cannot change to {b} once the contest has entries"));
        }
        Check("entry_fee", before.EntryFee, after.EntryFee);
        Check("currency", before.Currency, after.Currency);
        Check("roster_size", before.RosterSize, after.RosterSize);
        Check("rake_bps", before.RakeBps, after.RakeBps);
        static string Table(Fairway.Engine.Config.ContestRules r) => string.Join(",", r.PayoutTable.Select(p => $"{p.Place}:{p.Bps}"));
        Check("payout_table", Table(before), Table(after));
        return changed;
    }
}

/// <summary>
/// Creates contests and publishes their config versions. Every publish is a new immutable, hashed
/// version; publishing is allowed only while the contest is SCHEDULED (otherwise 409
/// CONFIG_IMMUTABLE and nothing is written), and once it has an entry its money rules are frozen (409
/// CONFIG_MONEY_RULES_FROZEN, one error per field).
/// </summary>
public sealed class ContestConfigService(NpgsqlDataSource db, ContestRepository contests, TournamentRepository tournaments, ContestConfigValidation validation, AuditWriter audit, TimeProvider clock)
{
    public async Task<(ContestConfig? Config, IReadOnlyList<ProblemError> Errors)> ValidateAsync(string contestId, string tournamentId, JsonElement config, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var t = await tournaments.GetAsync(c, tournamentId);
        if (t is null) return (null, [new ProblemError("tournament_id", ProblemCodes.TournamentNotFound, $"no tournament '{tournamentId}'")]);
        return validation.Validate(config, contestId, t);
    }

    public async Task<ConfigOutcome> CreateContestAsync(string contestId, string tournamentId, string name, JsonElement configJson, string actor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var t = await tournaments.GetAsync(c, tournamentId, tx);
        if (t is null) return ConfigOutcome.Fail(ProblemCodes.TournamentNotFound, $"no tournament '{tournamentId}'");
        var (config, errors) = validation.Validate(configJson, contestId, t);
        if (config is null) return ConfigOutcome.Fail(ProblemCodes.ConfigInvalid, "The contest config is invalid.", errors);

        var now = clock.GetUtcNow();
        var row = new ContestRow(contestId, tournamentId, name, ContestStates.Name(ContestState.Scheduled), 1, config.Rules.LockTime, now, now);
        if (!await contests.TryInsertAsync(tx, row))
        {
            await tx.RollbackAsync(ct);
            // Idempotent retry: the same contest with the same config is returned as it is.
            var existing = await contests.GetAsync(c, contestId);
            var versions = await contests.VersionsAsync(c, contestId);
            return existing is not null && existing.TournamentId == tournamentId && existing.Name == name && versions.Any(v => v.Hash == config.Hash())
                ? new ConfigOutcome(200, null, null, [], versions.First(v => v.Hash == config.Hash()), existing)
                : ConfigOutcome.Fail(ProblemCodes.ContestExists, $"a different contest '{contestId}' exists");
        }
        var version = new ConfigVersionRow(contestId, 1, config.ToCanonicalJson(), config.Hash(), now, now, actor);
        await contests.InsertVersionAsync(tx, version);
        await audit.WriteAsync(tx, new AuditEntry(actor, "contest.created", "contest", contestId, "created through the admin API",
            After: new { state = row.State, tournament_id = tournamentId, config_version = 1, config_hash = version.Hash }), ct);
        await tx.CommitAsync(ct);
        return new ConfigOutcome(201, null, null, [], version, row);
    }

    public async Task<ConfigOutcome> PublishAsync(string contestId, JsonElement configJson, string actor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var row = await contests.GetForUpdateAsync(tx, contestId);
        if (row is null) return ConfigOutcome.Fail(ProblemCodes.ContestNotFound, $"no contest '{contestId}'");
        if (row.State != ContestStates.Name(ContestState.Scheduled))
            return ConfigOutcome.Fail(ProblemCodes.ConfigImmutable, $"contest {contestId} is {row.State}; its config can change only while SCHEDULED");
        var t = (await tournaments.GetAsync(c, row.TournamentId, tx))!;
        var (config, errors) = validation.Validate(configJson, contestId, t);
        if (config is null) return ConfigOutcome.Fail(ProblemCodes.ConfigInvalid, "The contest config is invalid.", errors);

        var versions = await contests.VersionsAsync(c, contestId);
        var active = versions.Single(v => v.Version == row.ActiveConfigVersion);
        if (active.Hash == config.Hash())
            return new ConfigOutcome(200, null, null, [], active, row);
        // The rules players paid under cannot change: once the contest has any entry (paid or pending), the money rules are frozen.
        if (await contests.HasEntriesAsync(c, contestId, tx))
        {
            var frozen = FrozenMoneyRules.Changed((await contests.ActiveConfigAsync(c, contestId, tx)).Config.Rules, config.Rules);
            if (frozen.Count > 0)
                return ConfigOutcome.Fail(ProblemCodes.ConfigMoneyRulesFrozen,
                    $"contest {contestId} has entries: its {string.Join(", ", frozen.Select(f => f.Field))} can no longer change (players paid under them)", frozen);
        }
        var now = clock.GetUtcNow();
        var next = new ConfigVersionRow(contestId, versions.Max(v => v.Version) + 1, config.ToCanonicalJson(), config.Hash(), now, now, actor);
        await contests.InsertVersionAsync(tx, next);
        await contests.ActivateVersionAsync(tx, contestId, next.Version, config.Rules.LockTime);
        await audit.WriteAsync(tx, new AuditEntry(actor, "contest.config_published", "contest", contestId, $"config version {next.Version} published",
            Before: new { config_version = active.Version, config_hash = active.Hash }, After: new { config_version = next.Version, config_hash = next.Hash }), ct);
        await tx.CommitAsync(ct);
        return new ConfigOutcome(201, null, null, [], next, row with { ActiveConfigVersion = next.Version, LockTime = config.Rules.LockTime });
    }
}
