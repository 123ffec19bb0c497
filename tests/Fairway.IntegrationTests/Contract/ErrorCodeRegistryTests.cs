using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.Host.Platform.Http;
using Fairway.IntegrationTests.Hardening;
using Fairway.IntegrationTests.Infrastructure;
using FluentValidation;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Fairway.IntegrationTests.Contract;

/// <summary>
/// Issue 14 §1: one registry of error codes (<see cref="ProblemCodes"/>, <see cref="FieldCodes"/>). It is well formed and
/// holds the engine's codes; no code is written as a literal outside it; every validation rule names a registered code;
/// and a real API, driven through the error paths of every public and admin route, answers only registered codes with
/// their registered status (checked per response and by the host's own counter of unregistered codes).
/// docs/api/errors.md is generated from the registry (<see cref="Foundation.GeneratedDocumentsTests"/> keeps it current).
/// </summary>
public sealed partial class ErrorCodeRegistryTests(ITestOutputHelper output)
{
    static readonly HashSet<string> ProblemCodeNames = ErrorCodeRegistry.Problems.Select(c => c.Code).ToHashSet(StringComparer.Ordinal);
    static readonly HashSet<string> FieldCodeNames = ErrorCodeRegistry.FieldErrors.Select(c => c.Code).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void Registry_is_well_formed()
    {
        Assert.Equal(ErrorCodeRegistry.Problems.Count, ProblemCodeNames.Count);
        Assert.Equal(ErrorCodeRegistry.FieldErrors.Count, FieldCodeNames.Count);
        Assert.True(ErrorCodeRegistry.Problems.Count >= 70, $"{ErrorCodeRegistry.Problems.Count} problem codes");
        foreach (var c in ErrorCodeRegistry.Problems)
        {
            Assert.Matches("^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", c.Code);
            Assert.True(c.Status is null or (>= 400 and < 600), $"{c.Code}: status {c.Status}");
            AssertOneLine(c.Code, c.Meaning, c.ClientAction);
        }
        foreach (var c in ErrorCodeRegistry.FieldErrors)
        {
            Assert.Matches("^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", c.Code);
            AssertOneLine(c.Code, c.Meaning, c.ClientAction);
        }
        // Only the framework's catch-all has no status of its own.
        Assert.Equal([ProblemCodes.RequestFailed.Code], ErrorCodeRegistry.Problems.Where(c => c.Status is null).Select(c => c.Code));
    }

    static void AssertOneLine(string code, string meaning, string action)
    {
        foreach (var text in new[] { meaning, action })
            Assert.True(text.Length is > 5 and < 300 && !text.Contains('\n') && !text.Contains('|'), $"{code}: '{text}' is not one table-safe line");
    }

    [Fact]
    public void Every_engine_code_is_registered_by_reference()
    {
        var engine = typeof(Fairway.Engine.ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.True(engine.Count >= 35, $"{engine.Count} engine codes");
        Assert.Empty(engine.Where(c => !FieldCodeNames.Contains(c)));
    }

    // ---- no literal codes -------------------------------------------------------------------------------------------

    /// <summary>Literals the scan allows, each with its reason. Anything else that looks like a code at a call site fails.</summary>
    static readonly (string FileSuffix, string Literal, string Why)[] Allowed =
    [
        ("Ledger/LedgerExceptions.cs", "IDEMPOTENCY_CONFLICT", "the ledger function's own refusal (SQL RAISE), never a problem response"),
    ];

    static readonly Regex Literal = LiteralRegex();
    static readonly Regex CodeArgument = CodeArgumentRegex();

    /// <summary>
    /// Offences in one source file: a registered code written as a string literal, any code-shaped literal where a code is
    /// passed (validation rules, field errors), or a registry entry created outside the registry.
    /// </summary>
    static IEnumerable<string> Offences(string file, string source)
    {
        var lines = source.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith("//", StringComparison.Ordinal)) continue;
            foreach (Match m in Literal.Matches(line))
            {
                var literal = m.Groups[1].Value;
                if (!ProblemCodeNames.Contains(literal) && !FieldCodeNames.Contains(literal)) continue;
                if (Allowed.Any(a => file.EndsWith(a.FileSuffix, StringComparison.Ordinal) && a.Literal == literal)) continue;
                yield return $"{file}:{i + 1}: registered code \"{literal}\" as a literal (name it from ProblemCodes/FieldCodes)";
            }
            foreach (Match m in CodeArgument.Matches(line))
                if (!file.EndsWith("Ingestion/ProviderPayloadValidator.cs", StringComparison.Ordinal)) // provider rejection codes, recorded on ingestion events
                    yield return $"{file}:{i + 1}: code literal \"{m.Groups[1].Value}\" passed where a registered code belongs";
            if (line.Contains("new ProblemCode(", StringComparison.Ordinal) || line.Contains("new FieldCode(", StringComparison.Ordinal))
                yield return $"{file}:{i + 1}: error code created outside the registry";
        }
    }

    [Fact]
    public void No_error_code_is_written_as_a_literal_outside_the_registry()
    {
        var registry = Path.Combine("src", "Fairway.Host", "Platform", "Http", "ProblemCodes.cs");
        var engineList = Path.Combine("src", "Fairway.Engine", "ErrorCodes.cs");
        var files = new[] { "src/Fairway.Host", "src/Fairway.Engine" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .Where(f => f != registry && f != engineList).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count > 100, $"only {files.Count} source files found");
        var offences = files.SelectMany(f => Offences(f.Replace('\\', '/'), File.ReadAllText(Path.Combine(RepoPaths.Root, f)))).ToList();
        Assert.True(offences.Count == 0, string.Join("\n", offences));
    }

    [Fact]
    public void The_scan_finds_each_kind_of_literal_code()
    {
        const string source = """
            return Problems.Result(404, "CONTEST_NOT_FOUND", "No contest.");
            RuleFor(r => r.Id).NotEmpty().WithErrorCode("SOMETHING_NEW");
            errors.Add(new ProblemError("limit", "UNHEARD_OF", "limit"));
            ctx.AddFailure(new ValidationFailure("x", "y") { ErrorCode = "ANOTHER_ONE" });
            static readonly ProblemCode Mine = new ProblemCode("MINE", 400, "m", "a");
            // "CONTEST_NOT_FOUND" in a comment is prose
            """;
        var found = Offences("src/Fairway.Host/Example.cs", source).ToList();
        Assert.Equal(5, found.Count);
        Assert.Contains(found, f => f.Contains("\"CONTEST_NOT_FOUND\" as a literal"));
        Assert.Contains(found, f => f.Contains("\"SOMETHING_NEW\""));
        Assert.Contains(found, f => f.Contains("\"UNHEARD_OF\""));
        Assert.Contains(found, f => f.Contains("\"ANOTHER_ONE\""));
        Assert.Contains(found, f => f.Contains("outside the registry"));
    }

    /// <summary>A rule without its own code would answer FluentValidation's default ("NotEmptyValidator"): every rule names a registered field code.</summary>
    [Fact]
    public void Every_validation_rule_of_the_api_names_a_registered_field_code()
    {
        var validators = typeof(ProblemCodes).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(AbstractValidator<>))
            // Provider payloads are not API requests: their failures are recorded on ingestion events.
            .Where(t => t.Name != "ProviderPayloadValidator")
            .OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();
        Assert.True(validators.Count >= 20, $"{validators.Count} validators");
        var missing = new List<string>();
        var checkedComponents = 0;
        // The validators as the API resolves them (some take services), from a host built with inert settings.
        using var host = Fairway.Host.FairwayHost.Build(Fairway.Host.Platform.Documents.DocumentEmitter.InertSettings());
        foreach (var type in validators)
        {
            var model = type.BaseType!.GetGenericArguments()[0];
            var validator = (IValidator)host.Services.GetService(typeof(IValidator<>).MakeGenericType(model))!;
            Assert.True(validator?.GetType() == type, $"{type.Name} is not the registered validator of {model.Name}");
            foreach (var rule in validator.CreateDescriptor().Rules)
            foreach (var component in rule.Components)
            {
                if (component.Validator is FluentValidation.Validators.IChildValidatorAdaptor) continue;
                checkedComponents++;
                if (component.ErrorCode is not { } code || !FieldCodeNames.Contains(code))
                    missing.Add($"{type.Name}.{rule.PropertyName}: {component.Validator.Name} has code '{component.ErrorCode ?? "(none)"}'");
            }
        }
        Assert.True(checkedComponents >= 50, $"only {checkedComponents} rule components checked");
        Assert.True(missing.Count == 0, string.Join("\n", missing));
    }

    // ---- the host's own check ---------------------------------------------------------------------------------------

    [Fact]
    public async Task The_host_counts_and_reports_a_problem_with_an_unregistered_field_code()
    {
        var context = new DefaultHttpContext();
        await Problems.WriteAsync(context, ProblemCodes.ValidationFailed, "The request is invalid.",
            errors: [new ProblemError("limit", "NOT_IN_THE_REGISTRY", "limit is wrong")]);
        Assert.Equal(400, context.Response.StatusCode);
        var metrics = await InProcessMetricsAsync();
        Assert.Contains("api_problems_unregistered_total{status=\"400\",code=\"NOT_IN_THE_REGISTRY\"} 1", metrics);
        Assert.True(ErrorCodeRegistry.IsRegistered("VALIDATION_FAILED", 400));
        Assert.False(ErrorCodeRegistry.IsRegistered("VALIDATION_FAILED", 409));
        Assert.True(ErrorCodeRegistry.IsRegistered("REQUEST_FAILED", 408));
    }

    static async Task<string> InProcessMetricsAsync()
    {
        using var stream = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    // ---- a real API through its error paths -------------------------------------------------------------------------

    /// <summary>
    /// Every route of the API's own routing table (public and admin), each method, is sent: no token, a player token, and
    /// an admin token with well-formed requests about missing and existing resources (an empty body, a body with only a
    /// reason, out-of-range and unknown query values). Every error answer must carry a registered code with its registered
    /// status and registered field codes, and none may be a 500 (an exception nothing caught); afterwards the host's counter
    /// of unregistered codes has no sample.
    /// </summary>
    [Fact]
    public async Task A_real_api_driven_through_the_error_paths_of_every_route_answers_only_registered_codes()
    {
        var db = await TestDatabases.CreateMigratedAsync();
        using var api = await FairwayHostProcess.StartAsync("api", db, testClock: true);
        using var admin = api.Client(TestAuth.Admin);
        var (tournament, contest, _) = await ContestSetup.CreateViaApiAsync(admin, DateTimeOffset.UtcNow.AddDays(30));

        var routes = FuzzRoute.FromRouteTable(JsonDocument.Parse(await admin.GetStringAsync("/api/admin/routes")).RootElement);
        Assert.Contains(routes, r => r.Access == "admin");
        Assert.Contains(routes, r => r.Access == "anonymous");
        var requests = new List<(string Method, string Target, string? Token, string? Body)>();
        foreach (var route in routes.Where(r => r.Pattern != "/api/admin/routes"))
        {
            foreach (var ids in new[] { "missing", "existing" })
            {
                var path = Target(route, ids == "missing" ? "registry-missing" : contest, tournament);
                if (path is null) continue;
                // A long poll (it waits for a job, and no worker runs here) answers after one second, not its default wait.
                var target = route.QueryParameters.Any(q => q.Name == "wait_seconds") ? path + "?wait_seconds=1" : path;
                var json = route.BodyFormat == "json";
                requests.Add((route.Method, target, null, json ? "{}" : null));
                requests.Add((route.Method, target, TestAuth.Player("registry-player"), json ? "{}" : null));
                requests.Add((route.Method, target, TestAuth.Admin, json ? "{}" : null));
                if (json && route.RouteParameters.Count > 0) requests.Add((route.Method, target, TestAuth.Admin, """{"reason":"error-code registry test"}"""));
                foreach (var (name, _) in route.QueryParameters)
                {
                    var value = name is "limit" or "wait_seconds" ? "0" : name == "after" ? "%ZZ" : "NOT_A_VALUE";
                    requests.Add((route.Method, $"{path}?{name}={value}", TestAuth.Admin, json ? "{}" : null));
                }
            }
        }
        // The webhook with a bad signature, a malformed token, JSON that is not JSON, and a route that does not exist.
        requests.Add(("POST", "/webhooks/stripe", null, """{"id":"evt_1"}"""));
        requests.Add(("GET", "/api/me", "not-a-token", null));
        requests.Add(("POST", $"/api/contests/{contest}/entries", TestAuth.Player("registry-player"), "{\"golfers\": [}"));
        requests.Add(("GET", "/api/no-such-route", null, null));

        // A route without parameters gives the same request for "missing" and "existing": each is sent once.
        requests = [.. requests.Distinct()];
        using var http = new HttpClient { BaseAddress = api.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        var failures = new List<string>();
        var unanswered = new List<string>();
        var seen = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (method, target, token, body) in requests)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), target);
            if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            if (body is not null && method is not "GET" and not "HEAD") request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            HttpResponseMessage response;
            // A long poll (a job wait with no worker here) may hold the answer: it is no error answer, and not this test's subject.
            try { response = await http.SendAsync(request); }
            catch (TaskCanceledException) { unanswered.Add($"{method} {target}"); continue; }
            using var _ = response;
            var status = (int)response.StatusCode;
            if (status < 400) continue;
            var text = await response.Content.ReadAsStringAsync();
            if (response.Content.Headers.ContentType?.MediaType != Problems.ContentType) { failures.Add($"{method} {target} -> {status} is not problem+json: {Short(text)}"); continue; }
            var problem = JsonDocument.Parse(text).RootElement;
            var code = problem.GetProperty("code").GetString()!;
            seen[$"{status} {code}"] = seen.GetValueOrDefault($"{status} {code}") + 1;
            if (status >= 500) output.WriteLine($"{method} {target} (token: {token is not null}) -> {status} {code}: {Short(text)}");
            // An error path is an answer with its own code; 500 is an exception nothing caught.
            if (status == 500) failures.Add($"{method} {target} -> 500 {code}: an unhandled exception (the host logged it with the correlation id)");
            if (!ErrorCodeRegistry.IsRegistered(code, status)) failures.Add($"{method} {target} -> {status} {code}: not registered with this status");
            if (problem.TryGetProperty("errors", out var errors))
                foreach (var e in errors.EnumerateArray())
                    if (e.GetProperty("code").GetString() is { } fieldCode && !ErrorCodeRegistry.IsRegisteredFieldCode(fieldCode))
                        failures.Add($"{method} {target} -> {status} {code}: field code {fieldCode} not registered");
        }
        output.WriteLine($"no answer within 10 s (long polls): {string.Join(", ", unanswered)}");
        Assert.True(unanswered.Count <= requests.Count / 20, $"{unanswered.Count} of {requests.Count} requests got no answer: {string.Join(", ", unanswered)}");
        output.WriteLine($"{requests.Count} requests; answered problems by status and code:\n" + string.Join("\n", seen.Select(s => $"  {s.Key}: {s.Value}")));

        var metrics = await http.GetStringAsync("/metrics");
        var answered = ProblemSample().Matches(metrics).Select(m => (Status: int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Code: m.Groups[2].Value)).ToList();
        failures.AddRange(answered.Where(a => !ErrorCodeRegistry.IsRegistered(a.Code, a.Status)).Select(a => $"api_problems_total has unregistered {a.Status} {a.Code}"));
        failures.AddRange(metrics.Split('\n').Where(l => l.StartsWith("api_problems_unregistered_total{", StringComparison.Ordinal)).Select(l => "host counted: " + l));
        failures.AddRange(api.Process.Stdout.Where(l => l.Contains("not in the error-code registry", StringComparison.Ordinal)).Select(l => "host logged: " + Short(l)));

        Assert.True(failures.Count == 0, string.Join("\n", failures.Distinct().Take(60)));
        // The drive reached far beyond the input guard: many distinct codes, from both APIs.
        Assert.True(seen.Count >= 25, $"only {seen.Count} distinct answers: {string.Join(", ", seen.Keys)}");
        foreach (var expected in new[] { "401 UNAUTHENTICATED", "401 TOKEN_INVALID", "403 FORBIDDEN", "404 CONTEST_NOT_FOUND", "400 VALIDATION_FAILED", "400 WEBHOOK_INVALID", "404 NOT_FOUND", "400 MALFORMED_JSON" })
            Assert.Contains(expected, seen.Keys);
        Assert.True(answered.Count >= seen.Count, "the host's problem counter saw fewer codes than the responses carried");
    }

    /// <summary>The route's target with its parameters filled in; null for a route that cannot be addressed this way.</summary>
    static string? Target(FuzzRoute route, string id, string tournament)
    {
        var target = route.Pattern;
        foreach (var (name, type, catchAll) in route.RouteParameters)
        {
            var value = catchAll ? "x" : type is "long" or "int" ? "987654321" : name.Contains("tournament", StringComparison.OrdinalIgnoreCase) ? (id == "registry-missing" ? id : tournament) : id;
            target = Regex.Replace(target, "\\{\\*{0,2}" + Regex.Escape(name) + "(:[^}]*)?\\??\\}", value);
        }
        return target.Contains('{') ? null : target;
    }

    static string Short(string s) => s.Length <= 200 ? s : s[..200] + "…";

    [GeneratedRegex("\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})\"")]
    private static partial Regex LiteralRegex();

    [GeneratedRegex("(?:WithErrorCode\\(|new ProblemError\\([^,]+, |ErrorCode = )\"([A-Z][A-Z0-9_]*)\"")]
    private static partial Regex CodeArgumentRegex();

    [GeneratedRegex("^api_problems_total\\{status=\"(\\d+)\",code=\"([A-Z0-9_]+)\"\\} ", RegexOptions.Multiline)]
    private static partial Regex ProblemSample();
}
