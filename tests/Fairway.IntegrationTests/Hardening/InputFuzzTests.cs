using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payouts;
using Fairway.IntegrationTests.Settlement;
using Xunit.Abstractions;

namespace Fairway.IntegrationTests.Hardening;

/// <summary>
/// Issue 10 §1: the project's own fuzz test. A real API process over a world holding money (a contest settled
/// and paid out, a paid entry, a refunded entry, an open contest) is sent at least 10,000 seeded malformed
/// requests — bodies, headers, query and path values — across every route of its own routing table
/// (<c>GET /api/admin/routes</c>, so a new route is covered without touching this test), plus raw protocol
/// malformations over TCP. It asserts: no 5xx; every refusal Fairway answers is problem+json with a stable
/// code and is logged exactly once, at warning level; Kestrel's own protocol refusals happen only for the
/// inputs that cannot reach an application; no error or unhandled exception in the host log; and the money
/// state (ledger, payments, refunds, transfers, …) and the audit trail are unchanged afterwards.
/// The seed is FAIRWAY_FUZZ_SEED (default below); the output names the seed, the request count, the wall time
/// and the count per input class.
/// </summary>
public sealed class InputFuzzTests(ITestOutputHelper output)
{
    const int DefaultSeed = 20261130;
    const int RequestCount = 10_600;
    const int Parallelism = 8;
    /// <summary>The run's bound (not a speed assertion): a hang fails the test instead of eating the CI budget.</summary>
    static readonly TimeSpan Bound = TimeSpan.FromMinutes(10);

    /// <summary>The state a refused request must never touch. Each table is hashed row by row.</summary>
    static readonly string[] StateTables =
    [
        "ledger_accounts", "ledger_entries", "ledger_postings", "payments", "refunds", "disputes", "payout_jobs", "payout_transfers",
        "payout_transfer_attempts", "settlements", "entries", "contests", "tournaments", "contest_fields", "contest_config_versions",
        "kill_switch", "test_clock", "recurring_job_pauses", "reconciliation_runs", "stripe_webhook_events", "stripe_webhook_processing",
        "user_stripe_accounts", "audit_events",
    ];

    [Fact]
    public async Task Ten_thousand_malformed_requests_across_every_route_get_no_5xx_are_logged_once_and_change_nothing()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FAIRWAY_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        await using var w = await MoneyOutWorld.StartAsync();
        var world = await BuildMoneyStateAsync(w);
        w.StopWorkers(); // nothing moves in the background while the state is compared

        var routeTable = await w.GetAsync("/api/admin/routes");
        var routes = FuzzRoute.FromRouteTable(routeTable);
        Assert.Contains(routes, r => r.Pattern == "/api/admin/routes");
        Assert.Contains(routes, r => r.Pattern == "/webhooks/stripe");
        var fuzzer = new InputFuzzer(seed, await RealIdsAsync(w), TestAuth.Admin, TestAuth.Player(world.Player));
        var requests = fuzzer.Generate(routes, RequestCount);

        var before = await StateAsync(w);
        var logStart = w.Api.Process.Stdout.Count;
        using var http = FuzzClient(w.Api.BaseUrl);
        using var bound = new CancellationTokenSource(Bound);
        var results = new ConcurrentBag<(FuzzRequest Request, int Status, string? ContentType, string? Correlation, string Body)>();
        var queue = new ConcurrentQueue<FuzzRequest>(requests);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Parallelism).Select(_ => Task.Run(async () =>
        {
            while (queue.TryDequeue(out var r))
                results.Add(r.Raw is not null ? await SendRawAsync(w.Api.BaseUrl, r, bound.Token) : await SendAsync(http, r, bound.Token));
        })));
        clock.Stop();

        var all = results.ToList();
        // One line per distinct failure (kind, class, route, status), with an example.
        var failures = new List<string>();
        var seen = new HashSet<string>();
        void Fail(string kind, FuzzRequest r, int status, string example)
        {
            if (seen.Add($"{kind}|{r.Class}|{r.Route?.Pattern ?? r.Target}|{r.Method}|{status}"))
                failures.Add($"{kind}: {r.Class} {r.Method} {Short(r.Target)} -> {status} {example}");
        }
        foreach (var (r, status, contentType, correlation, body) in all)
        {
            if (status >= 500) Fail("5xx", r, status, Short(body));
            else if (status is < 100) Fail("no answer", r, status, Short(body, 300));
            else if (r.Expect == FuzzExpect.App)
            {
                if (correlation is null) Fail("refused before reaching Fairway", r, status, Short(body));
                else if (status >= 400 && (contentType is null || !contentType.StartsWith("application/problem+json", StringComparison.Ordinal) || !HasCode(body)))
                    Fail("not problem+json with a code", r, status, $"{contentType} {Short(body)}");
                else if (r.Route is { Safe: false } && status < 400) Fail("a malformed write was accepted", r, status, Short(body));
                else if (status >= 400 && Code(body) == Fairway.Host.Platform.Http.ProblemCodes.RequestFailed.Code) Fail("refused without a named code", r, status, Short(body));
                else if (status >= 400 && !Fairway.Host.Platform.Http.ErrorCodeRegistry.IsRegistered(Code(body), status)) Fail("code not in the error-code registry with this status", r, status, Short(body));
            }
            else if (status is < 400 or >= 500) Fail("protocol malformation not refused", r, status, "");
        }

        // Every refusal Fairway answered is logged exactly once at warning level; nothing at error level.
        var refused = all.Where(x => x.Correlation is not null && x.Status is >= 400 and < 500).Select(x => x.Correlation!).ToHashSet();
        var warnings = await WaitForLogLinesAsync(w.Api.Process, logStart, refused);
        var errors = w.Api.Process.Stdout.Skip(logStart).Where(l => l.Contains("\"@l\":\"Error\"") || l.Contains("\"@l\":\"Fatal\"")).ToList();
        failures.InsertRange(0, errors.Where(e => e.Contains("\"@x\"")).Select(ErrorLine).Distinct().Take(20).Select(e => "host logged an error: " + e));
        failures.AddRange(refused.Where(c => warnings.GetValueOrDefault(c) != 1).Take(20)
            .Select(c => $"refusal {c} logged {warnings.GetValueOrDefault(c)} times at warning level: {all.First(x => x.Correlation == c).Request.Class}"));

        // The host's own check of the error-code registry (issue 14): no problem it answered carried an unregistered code.
        using (var metricsClient = new HttpClient { BaseAddress = w.Api.BaseUrl })
            failures.AddRange((await metricsClient.GetStringAsync("/metrics")).Split('\n')
                .Where(l => l.StartsWith("api_problems_unregistered_total{", StringComparison.Ordinal)).Select(l => "unregistered error code answered: " + l));

        var after = await StateAsync(w);
        failures.AddRange(StateTables.Where(t => before[t] != after[t]).Select(t => $"state changed: {t}"));

        var summary = Summary(seed, all, clock.Elapsed, routes);
        output.WriteLine(summary);
        Directory.CreateDirectory(Path.Combine(RepoPaths.Root, "artifacts"));
        await File.WriteAllTextAsync(Path.Combine(RepoPaths.Root, "artifacts", "input-fuzz-summary.txt"), summary);
        Assert.True(failures.Count == 0, $"{failures.Count} failures (first 40):\n{string.Join('\n', failures.Take(40))}\n\n{summary}");
        Assert.True(all.Count >= 10_000);
        Assert.Empty(errors);
        // Fairway's refusals, not Kestrel's, answered all but the protocol-level inputs.
        Assert.True(all.Count(x => x.Request.Expect == FuzzExpect.App) >= 10_000);
    }

    sealed record MoneyWorld(string Player, string PaidEntry, string RefundedEntry, string OpenContest, string SettledContest);

    /// <summary>
    /// Money in every table the fuzz must not touch: a contest seeded to COMPLETE, settled and paid out (transfers
    /// completed), and an open contest with one entry paid and one paid and refunded, both through the real API,
    /// the Stripe sandbox and its webhooks.
    /// </summary>
    static async Task<MoneyWorld> BuildMoneyStateAsync(MoneyOutWorld w)
    {
        var settled = await w.SeedCompleteContestAsync(entries: 3, holdSeconds: 0, tie: true);
        await w.ConnectAccountsAsync(settled.Users);
        await w.SettleNowAsync(settled.ContestId);
        await w.RunPayoutSchedulerAsync();
        await w.AssertPaidOutAsync(settled.ContestId);

        await w.Stripe.PointWebhooksAtAsync(w.Api.BaseUrl);
        var (_, open, _) = await ContestSetup.CreateViaApiAsync(w.Admin, w.Now.AddDays(30));
        var field = new { participants = Enumerable.Range(1, 12).Select(i => new { id = $"g{i:00}", name = $"Golfer {i}", world_rank = i }).ToArray() };
        (await w.Admin.PutAsJsonAsync($"/api/admin/contests/{open}/field", field)).EnsureSuccessStatusCode();
        var player = "fuzz-player-" + Guid.NewGuid().ToString("N")[..6];
        var paid = await PaidEntryAsync(w, open, player);
        var refunded = await PaidEntryAsync(w, open, "fuzz-refunded-" + Guid.NewGuid().ToString("N")[..6]);
        var r = await w.Admin.PostAsJsonAsync($"/api/admin/entries/{refunded}/refund", new { reason = "fuzz world: a refunded entry" });
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        await WaitUntilAsync(async () => await w.ScalarAsync<string?>("SELECT status FROM refunds WHERE entry_id = @refunded", new { refunded }) == "SUCCEEDED", "refund SUCCEEDED");
        await WaitUntilAsync(async () => await w.ScalarAsync<string?>("SELECT status FROM entries WHERE id = @refunded", new { refunded }) == "REFUNDED", "entry REFUNDED");
        // Quiescent: every delivered event processed, no job left to run.
        await w.Stripe.WaitIdleAsync();
        await WaitUntilAsync(async () => await w.ScalarAsync<long>(
            "SELECT count(*) FROM stripe_webhook_events e WHERE NOT EXISTS (SELECT 1 FROM stripe_webhook_processing p WHERE p.event_id = e.event_id)") == 0, "every webhook processed");
        await MoneyInvariants.AssertHoldAsync(w.DatabaseUrl);
        return new MoneyWorld(player, paid, refunded, open, settled.ContestId);
    }

    static async Task<string> PaidEntryAsync(MoneyOutWorld w, string contest, string player)
    {
        using var http = w.Api.Client(TestAuth.Player(player));
        var r = await http.PostAsJsonAsync($"/api/contests/{contest}/entries", new { golfers = new[] { "g01", "g02", "g03" } });
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.Created, text);
        var body = JsonDocument.Parse(text).RootElement;
        var entry = body.GetProperty("entry").GetProperty("id").GetString()!;
        await w.Stripe.SucceedAsync(body.GetProperty("payment").GetProperty("payment_intent_id").GetString()!);
        await WaitUntilAsync(async () => await w.ScalarAsync<string?>("SELECT status FROM entries WHERE id = @entry", new { entry }) == "ACTIVE", $"entry {entry} ACTIVE");
        return entry;
    }

    /// <summary>Real identifiers, so malformed requests also reach routes about existing contests, entries and transfers.</summary>
    static async Task<Dictionary<string, IReadOnlyList<string>>> RealIdsAsync(MoneyOutWorld w) => new()
    {
        ["id"] = await w.QueryAsync<string>("SELECT id FROM contests UNION ALL SELECT id FROM tournaments UNION ALL SELECT id FROM entries ORDER BY 1"),
        ["integer"] = (await w.QueryAsync<long>("SELECT id FROM payout_transfers ORDER BY id")).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(),
        ["documentName"] = ["v1"],
        ["recurring"] = ["payment-sweeper", "payout-scheduler", "ledger-reconciliation", "settlement-scheduler"],
    };

    static async Task<Dictionary<string, string>> StateAsync(MoneyOutWorld w)
    {
        var state = new Dictionary<string, string>();
        foreach (var t in StateTables)
            state[t] = await w.ScalarAsync<string>($"SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM {t} x");
        return state;
    }

    static HttpClient FuzzClient(Uri baseUrl) => new(new SocketsHttpHandler
    {
        // Header bytes above 0x7F go out as they are (Latin-1), as a hostile client would send them.
        RequestHeaderEncodingSelector = (_, _) => Encoding.Latin1,
        AllowAutoRedirect = false,
        UseCookies = false,
        MaxConnectionsPerServer = Parallelism,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };

    static async Task<(FuzzRequest, int, string?, string?, string)> SendAsync(HttpClient http, FuzzRequest r, CancellationToken ct)
    {
        using var req = new HttpRequestMessage(new HttpMethod(r.Method), r.Target);
        if (r.Token is not null) req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + r.Token);
        foreach (var (name, value) in r.Headers)
            if (!req.Headers.TryAddWithoutValidation(name, value)) throw new InvalidOperationException($"header {name} not sendable");
        if (r.ExpectContinue) req.Headers.ExpectContinue = true;
        if (r.Body is not null)
        {
            req.Content = new ByteArrayContent(r.Body);
            if (r.ContentType is not null) req.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        HttpResponseMessage resp;
        try { resp = await http.SendAsync(req, timeout.Token); }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (r, 0, null, null, $"{e.GetType().Name}: {e.Message} {e.InnerException?.Message}");
        }
        using var _ = resp;
        var body = await resp.Content.ReadAsStringAsync(ct);
        var correlation = resp.Headers.TryGetValues("X-Correlation-Id", out var v) ? v.FirstOrDefault() : null;
        return (r, (int)resp.StatusCode, resp.Content.Headers.ContentType?.ToString(), correlation, body);
    }

    /// <summary>Writes the raw bytes to a fresh TCP connection and reads the status line (Kestrel closes the connection after a protocol refusal).</summary>
    static async Task<(FuzzRequest, int, string?, string?, string)> SendRawAsync(Uri baseUrl, FuzzRequest r, CancellationToken ct)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseUrl.Host, baseUrl.Port, ct);
        var stream = tcp.GetStream();
        try { await stream.WriteAsync(r.Raw, ct); }
        catch (IOException) { /* the server may refuse before the whole request is written */ }
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            int n;
            while (!text.ToString().Contains("\r\n\r\n") && (n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
                text.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
        catch (IOException) { }
        var head = text.ToString();
        var status = head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(head.AsSpan(9, 3), out var code) ? code : 0;
        string? Header(string name) => head.Split("\r\n").FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?.Split(':', 2)[1].Trim();
        // Requests that reach Fairway ask for Connection: close, so the rest of the answer is the body.
        if (Header("X-Correlation-Id") is not null)
        {
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0) text.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
            catch (IOException) { }
            head = text.ToString();
        }
        var bodyStart = head.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var body = bodyStart < 0 ? "" : Dechunk(head[(bodyStart + 4)..], Header("Transfer-Encoding"));
        return (r, status, Header("Content-Type"), Header("X-Correlation-Id"), body);
    }

    static string Dechunk(string body, string? transferEncoding)
    {
        if (transferEncoding is null || !transferEncoding.Contains("chunked", StringComparison.OrdinalIgnoreCase)) return body;
        var sb = new StringBuilder();
        var i = 0;
        while (i < body.Length)
        {
            var eol = body.IndexOf("\r\n", i, StringComparison.Ordinal);
            if (eol < 0 || !int.TryParse(body.AsSpan(i, eol - i), System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0) break;
            sb.Append(body.AsSpan(eol + 2, Math.Min(size, body.Length - eol - 2)));
            i = eol + 2 + size + 2;
        }
        return sb.ToString();
    }

    /// <summary>Counts the warning lines per correlation id, waiting (bounded) until each refusal's log line has arrived.</summary>
    static async Task<Dictionary<string, int>> WaitForLogLinesAsync(ManagedProcess api, int from, HashSet<string> correlations)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var counts = new Dictionary<string, int>();
            foreach (var line in api.Stdout.Skip(from))
            {
                if (!line.Contains("\"@l\":\"Warning\"")) continue;
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("CorrelationId", out var c) && c.GetString() is { } id)
                    counts[id] = counts.GetValueOrDefault(id) + 1;
            }
            if (correlations.All(counts.ContainsKey) || sw.Elapsed > TimeSpan.FromSeconds(30)) return counts;
            await Task.Delay(200);
        }
    }

    /// <summary>The message and the first line of the exception of an error log line.</summary>
    static string ErrorLine(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var x = doc.RootElement.TryGetProperty("@x", out var ex) ? ex.GetString()!.Split('\n')[0] : "";
        var at = doc.RootElement.TryGetProperty("@x", out var ex2) ? ex2.GetString()!.Split('\n').Skip(1).FirstOrDefault(l => l.Contains("Fairway")) ?? "" : "";
        return $"{doc.RootElement.GetProperty("@m").GetString()} | {x} | {at.Trim()}";
    }

    static bool HasCode(string body)
    {
        try { return JsonDocument.Parse(body).RootElement.TryGetProperty("code", out var c) && c.GetString() is { Length: > 0 }; }
        catch (JsonException) { return false; }
    }

    static string Summary(int seed, List<(FuzzRequest Request, int Status, string? ContentType, string? Correlation, string Body)> all, TimeSpan wall, IReadOnlyList<FuzzRoute> routes)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"input fuzz: seed {seed}, {all.Count} requests ({all.Count(x => x.Request.Expect == FuzzExpect.App)} answered by Fairway, " +
            $"{all.Count(x => x.Request.Expect == FuzzExpect.Protocol)} protocol-level refused by Kestrel; {all.Count(x => x.Request.Raw is not null)} raw over TCP) against {routes.Count} route/method pairs " +
            $"({routes.Select(r => r.Pattern).Distinct().Count()} routes from GET /api/admin/routes), wall time {wall.TotalSeconds:F1} s, {Parallelism} in parallel");
        sb.AppendLine("statuses: " + string.Join(", ", all.GroupBy(x => x.Status).OrderBy(g => g.Key).Select(g => $"{g.Key}={g.Count()}")));
        sb.AppendLine("input classes:");
        foreach (var g in all.GroupBy(x => x.Request.Class).OrderBy(g => g.Key, StringComparer.Ordinal))
            sb.AppendLine($"  {g.Key,-24} {g.Count(),6}  (" + string.Join(", ", g.GroupBy(x => x.Status).OrderBy(s => s.Key).Select(s => $"{s.Key}={s.Count()}")) + ")");
        sb.AppendLine("problem codes: " + string.Join(", ", all.Where(x => x.Status >= 400 && x.Correlation is not null).Select(x => Code(x.Body)).GroupBy(c => c)
            .OrderByDescending(g => g.Count()).Select(g => $"{g.Key}={g.Count()}")));
        return sb.ToString();
    }

    static string Code(string body)
    {
        try { return JsonDocument.Parse(body).RootElement.GetProperty("code").GetString() ?? "?"; }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException) { return "?"; }
    }

    static string Short(string s, int max = 160) => s.Length <= max ? s : s[..max] + "…";

    static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not reached within {seconds}s: {what}");
            await Task.Delay(100);
        }
    }
}
