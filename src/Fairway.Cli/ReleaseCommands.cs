using System.CommandLine;
using System.Text.Json;
using Fairway.Contract;
using Fairway.Host.Platform.Configuration;
using Fairway.Migrations;
using Npgsql;

namespace Fairway.Cli;

/// <summary>
/// `fairway release check --env-file F`: the gate before the kill-switch may be turned off on a new release
/// (infra/deploy/PROMOTION.md). Each check prints one line; every failed one is also one line on stderr, and the exit
/// code is 1 when any failed. Nothing is changed except what a reconciliation run records (its run row, and the
/// kill-switch if it finds a violation) and no money moves.
/// </summary>
public static class ReleaseCommands
{
    sealed record Outcome(string Name, bool Ok, string Detail);

    public static Command Build()
    {
        var envFile = new Option<string>("--env-file") { Description = "The deployment's env file (e.g. /etc/fairway/fairway.env): validated for both roles; its DATABASE_URL is checked.", Required = true };
        var check = new Command("check", "Promotion gate of a running release: config valid, schema at this build's version, API ready, contract gate, public API smoke test, "
            + "reconciliation clean, Stripe and provider connections (read-only), payout dry run. Needs FAIRWAY_API_URL and FAIRWAY_API_TOKEN (admin). Exit 1 when any check fails.") { envFile };
        check.SetAction(p => RunAsync(p.GetValue(envFile)!));
        return new Command("release", "Promotion of a release.") { check };
    }

    static async Task<int> RunAsync(string envFile)
    {
        if (!File.Exists(envFile) && envFile != "/dev/stdin") return CliOutput.Error(CliOutput.Usage, $"--env-file: {envFile} does not exist");
        var outcomes = new List<Outcome>();
        void Add(string name, bool ok, string detail)
        {
            outcomes.Add(new Outcome(name, ok, detail));
            Console.WriteLine($"{(ok ? "ok  " : "FAIL")}  {name}: {detail}");
        }

        var (values, readProblems) = EnvFile.Read(envFile);   // read once: the file may be /dev/stdin
        var problems = EnvFile.Check(values, readProblems, [HostRole.Api, HostRole.Worker]);
        Add("config", problems.Count == 0, problems.Count == 0 ? $"{envFile} is valid for api and worker" : string.Join("; ", problems));
        Add("schema", SchemaAt(values.GetValueOrDefault(EnvironmentSchema.DatabaseUrl), out var schema), schema);

        using var api = AdminApiClient.FromEnvironment(out var error);
        if (api is null)
        {
            Add("api", false, error!);
            return Finish(outcomes);
        }
        var (readyStatus, ready) = await api.RequestAsync(HttpMethod.Get, "/readyz", anonymous: true);
        Add("api ready", readyStatus == 200, $"GET /readyz -> {readyStatus} {ready.Trim()}");

        var (docStatus, doc) = await api.RequestAsync(HttpMethod.Get, "/openapi/v1.json", anonymous: true);
        if (docStatus == 200) Add("contract", Gate(doc, out var gate), gate);
        else Add("contract", false, $"GET /openapi/v1.json -> {docStatus}");

        var (publicStatus, contests) = await api.RequestAsync(HttpMethod.Get, "/api/contests?limit=1", anonymous: true);
        Add("public api", publicStatus == 200 && Json(contests)?.TryGetProperty("data", out _) == true,
            $"GET /api/contests?limit=1 (anonymous) -> {publicStatus}");

        var (recStatus, rec) = await api.RequestAsync(HttpMethod.Post, "/api/admin/reconciliation/run");
        var violations = Json(rec) is { } r && r.TryGetProperty("violation_count", out var v) ? v.GetInt32() : -1;
        Add("reconciliation", recStatus == 200 && violations == 0,
            recStatus == 200 ? $"run {Json(rec)!.Value.GetProperty("id")}: {violations} violation(s)" : $"POST /api/admin/reconciliation/run -> {recStatus} {rec.Trim()}");

        var (smokeStatus, smoke) = await api.RequestAsync(HttpMethod.Post, "/api/admin/release/smoke");
        if (smokeStatus == 200 && Json(smoke) is { } s)
            foreach (var c in s.GetProperty("checks").EnumerateArray())
                Add($"connection {c.GetProperty("name").GetString()}", c.GetProperty("ok").GetBoolean(), c.GetProperty("detail").GetString() ?? "");
        else Add("connections", false, $"POST /api/admin/release/smoke -> {smokeStatus} {smoke.Trim()}");

        var (dryStatus, dry) = await api.RequestAsync(HttpMethod.Get, "/api/admin/payouts/dry-run");
        Add("payout dry run", dryStatus == 200, dryStatus == 200 ? DryRunSummary(Json(dry)!.Value) : $"GET /api/admin/payouts/dry-run -> {dryStatus} {dry.Trim()}");

        var (ksStatus, ks) = await api.RequestAsync(HttpMethod.Get, "/api/admin/kill-switch");
        if (ksStatus == 200 && Json(ks) is { } k)
            Console.WriteLine($"info  kill-switch: {(k.GetProperty("engaged").GetBoolean() ? "ENGAGED" : "off")} (changed by {k.GetProperty("changed_by")}: {k.GetProperty("reason")})");
        return Finish(outcomes);
    }

    static int Finish(List<Outcome> outcomes)
    {
        var failed = outcomes.Where(o => !o.Ok).ToList();
        foreach (var f in failed) Console.Error.WriteLine($"fairway: release check failed: {f.Name}: {f.Detail}");
        Console.WriteLine(failed.Count == 0 ? $"release check passed ({outcomes.Count} checks)" : $"release check FAILED ({failed.Count} of {outcomes.Count} checks)");
        return failed.Count == 0 ? CliOutput.Ok : CliOutput.Failed;
    }

    static bool SchemaAt(string? databaseUrl, out string detail)
    {
        if (!DatabaseUrl.TryParse(databaseUrl, out var cs, out var parseError)) { detail = $"DATABASE_URL: {parseError}"; return false; }
        try
        {
            using var c = new NpgsqlConnection(cs);
            c.Open();
            var current = SchemaMigrator.CurrentVersion(c);
            var jobs = SchemaMigrator.JobStorageInstalled(c);
            detail = $"{DatabaseUrl.Describe(cs)} at {current}, this build expects {SchemaMigrator.ExpectedVersion}; job storage {(jobs ? "installed" : "missing")}";
            return current == SchemaMigrator.ExpectedVersion && jobs;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException) { detail = $"{DatabaseUrl.Describe(cs)} unreachable: {e.Message}"; return false; }
    }

    /// <summary>The running API's document against the frozen baseline, and the gate recorded in this artifact's manifest (when run from an artifact).</summary>
    static bool Gate(string liveDocument, out string detail)
    {
        GateResult result;
        try { result = ContractGate.Check(ContractGate.BaselineV1Json(), liveDocument); }
        catch (InvalidDataException e) { detail = e.Message; return false; }
        var manifest = Path.Combine(AppContext.BaseDirectory, "..", "manifest.json");
        var built = "";
        var manifestOk = true;
        if (File.Exists(manifest))
        {
            var m = JsonDocument.Parse(File.ReadAllText(manifest)).RootElement;
            var recorded = m.GetProperty("contract_gate").GetProperty("result").GetString();
            manifestOk = recorded == "passed";
            built = $"; build {m.GetProperty("version")} ({m.GetProperty("commit")}) recorded gate {recorded}";
        }
        detail = result.Breaking.Count == 0
            ? $"the running API's document has no breaking change against {result.BaselineVersion}{built}"
            : $"{result.Breaking.Count} breaking change(s) against {result.BaselineVersion} (document {result.CurrentVersion}{(result.VersionRaised ? ", version raised" : "")}): {string.Join("; ", result.Breaking.Take(5))}{built}";
        return result.Passed && manifestOk;
    }

    static string DryRunSummary(JsonElement d)
    {
        var transfers = d.GetProperty("transfers").EnumerateArray().ToList();
        if (d.GetProperty("kill_switch_engaged").GetBoolean())
            return $"the kill-switch is engaged, so the next run would make no transfer ({d.GetProperty("due_count")} due)";
        var lines = transfers.Select(t => $"\n        transfer {t.GetProperty("transfer_id")}  contest {t.GetProperty("contest_id")}  user {t.GetProperty("user_id")}  "
            + $"{t.GetProperty("amount")} {t.GetProperty("currency")}  attempt {t.GetProperty("attempt")}  -> {t.GetProperty("destination").GetString() ?? "(no account)"}  {t.GetProperty("would_do")}");
        var totals = string.Join(", ", d.GetProperty("stripe_transfers_by_currency").EnumerateArray().Select(x => $"{x.GetProperty("count")} transfer(s) of {x.GetProperty("amount")} {x.GetProperty("currency")}"));
        return $"the next run would attempt {transfers.Count} of {d.GetProperty("due_count")} due transfer(s) (batch {d.GetProperty("batch_size")})"
            + (totals.Length > 0 ? $": Stripe {totals}" : "") + string.Concat(lines);
    }

    static JsonElement? Json(string text)
    {
        try { return JsonDocument.Parse(text).RootElement; }
        catch (JsonException) { return null; }
    }
}
