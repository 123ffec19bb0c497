using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Fairway.WebhookLoad;

// The webhook load benchmark (see benchmarks/webhooks/README.md). Normally started by ./scripts/bench-webhooks,
// which provides a fresh, migrated database on a throwaway cluster and the Release builds.
//   Fairway.WebhookLoad --root <repo> --database-url <url> --pgbench <path> [--deliveries N] [--concurrency C]
//     [--duplicates-percent P] [--workers W] [--pgbench-seconds S] [--run-dir DIR] [--seed S]
// Exit: 0 valid run; 1 invalid run (a loss, a duplicate effect, an error answer, a timeout); 2 bad arguments; 3 set-up failed.

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

Options o;
try { o = Options.Parse(args); }
catch (ArgumentException e) { Console.Error.WriteLine("bench-webhooks: " + e.Message); Console.Error.WriteLine(Options.Usage); return 2; }

var clock = Stopwatch.StartNew();
void Say(string s) => Console.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1}s] {s}");
Directory.CreateDirectory(o.RunDir);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

await using var db = new Db(o.DatabaseUrl);
Deployment? d = null;
SetupResult setup;
try
{
    Say($"starting the Stripe sandbox, an API process and a worker process (FAIRWAY_WORKER_COUNT={o.Workers}); logs in {o.RunDir}");
    d = await Deployment.StartAsync(o.Root, o.DatabaseUrl, o.RunDir, o.Workers, o.HostEnv);
    Say($"API {d.ApiUrl}, sandbox {d.StripeUrl}: ready");
    setup = await Setup.RunAsync(d, db, o.Deliveries, o.Concurrency, Say, stop.Token);
}
catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
{
    Console.Error.WriteLine($"bench-webhooks: set-up failed: {e}");
    if (d is not null) await d.DisposeAsync();
    return 3;
}

var n = o.Deliveries;
var plan = Load.Plan(setup.Intents, o.DuplicatesPercent, o.Seed);
var dupsSent = plan.Count(p => p.IsDuplicate);
var sandboxGetsBefore = await SandboxCountAsync(d, "GET /v1/payment_intents/{id}");
var sandboxChargeGetsBefore = await SandboxCountAsync(d, "GET /v1/charges/{id}");

// ---- load (timed) + drain (watched from the start of the load)
Say($"load: {plan.Count} deliveries ({n} events + {dupsSent} duplicates), {o.Concurrency} concurrent connections, {(o.Rate is { } offered ? $"offered at {offered:F0} deliveries/s (open loop)" : "as fast as they answer (closed loop)")}, time limit {o.LoadLimit.TotalSeconds:F0} s");
var progress = new List<(double Seconds, long Processed)>();
var drainStarted = Stopwatch.StartNew();
using var drainStop = new CancellationTokenSource();
var watcher = Task.Run(async () =>
{
    var deadline = o.LoadLimit + o.DrainLimit;
    while (!drainStop.IsCancellationRequested && drainStarted.Elapsed < deadline)
    {
        var count = await db.ProcessedCountAsync("payment_intent.succeeded");
        lock (progress) progress.Add((drainStarted.Elapsed.TotalSeconds, count));
        if (count >= n) return;
        try { await Task.Delay(100, drainStop.Token); } catch (OperationCanceledException) { return; }
    }
});
var loadavgBefore = LoadAvg();
var load = await Load.RunAsync(d.ApiUrl, Deployment.WebhookSecret, plan, o.Concurrency, o.LoadLimit, o.Rate);
var loadEndSeconds = drainStarted.Elapsed.TotalSeconds;
var loadavgAfter = LoadAvg();
long processedAtLoadEnd;
lock (progress) processedAtLoadEnd = progress.Count == 0 ? 0 : progress[^1].Processed;
Say($"load done in {load.Wall.TotalSeconds:F2} s; {processedAtLoadEnd}/{n} events processed at that moment; waiting for the rest (limit {o.DrainLimit.TotalSeconds:F0} s)");
await watcher;
(double Seconds, long Processed) last;
lock (progress) last = progress.Count == 0 ? (0, 0) : progress[^1];
var drained = last.Processed >= n;
Say(drained ? $"all {n} events processed {last.Seconds:F2} s after the first delivery" : $"NOT drained: {last.Processed}/{n} processed after {last.Seconds:F1} s");
var sandboxGetsAfter = await SandboxCountAsync(d, "GET /v1/payment_intents/{id}");
var sandboxChargeGetsAfter = await SandboxCountAsync(d, "GET /v1/charges/{id}");
// Every charge of the run has the same amount, so the same Stripe fee: the first one's, read from the sandbox.
var stripeFee = (await d.StripeAsync(HttpMethod.Get, $"/v1/payment_intents/{setup.Intents[0].PaymentIntentId}?expand[]=latest_charge.balance_transaction"))
    .GetProperty("latest_charge").GetProperty("balance_transaction").GetProperty("fee").GetInt64();

// ---- verification (SQL on the same database)
var eventIds = setup.Intents.Select(i => i.EventId).ToArray();
var pis = setup.Intents.Select(i => i.PaymentIntentId).ToArray();
var keys = pis.Select(p => $"payment:{p}:succeeded").ToArray();
var v = new Verification
{
    StoredOurs = await db.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_events WHERE event_id = ANY(@eventIds)", new { eventIds }),
    StoredOursDistinct = await db.ScalarAsync<long>("SELECT count(DISTINCT event_id) FROM stripe_webhook_events WHERE event_id = ANY(@eventIds)", new { eventIds }),
    StoredSucceededTotal = await db.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded'"),
    ProcessedOurs = await db.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_processing WHERE event_id = ANY(@eventIds)", new { eventIds }),
    Outcomes = (await db.QueryAsync<(string, long)>("SELECT outcome, count(*) FROM stripe_webhook_processing WHERE event_id = ANY(@eventIds) GROUP BY outcome ORDER BY outcome", new { eventIds }))
        .ToDictionary(x => x.Item1, x => x.Item2),
    LedgerOurs = await db.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = ANY(@keys)", new { keys }),
    LedgerOursDistinct = await db.ScalarAsync<long>("SELECT count(DISTINCT idempotency_key) FROM ledger_entries WHERE idempotency_key = ANY(@keys)", new { keys }),
    LedgerPaymentTotal = await db.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key LIKE 'payment:%:succeeded'"),
    PaymentsSucceeded = await db.ScalarAsync<long>("SELECT count(*) FROM payments WHERE payment_intent_id = ANY(@pis) AND status = 'SUCCEEDED'", new { pis }),
    EntriesActive = await db.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @c AND status = 'ACTIVE'", new { c = setup.ContestId }),
    EntriesTotal = await db.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @c", new { c = setup.ContestId }),
    AuditSucceeded = await db.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'payment.succeeded' AND entity_id = ANY(@pis)", new { pis }),
    Escrow = await db.ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = 'escrow:' || @c), 0)", new { c = setup.ContestId }),
    FeeEntries = await db.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'processing_fee.booked'"),
    FeeEntriesDistinct = await db.ScalarAsync<long>("SELECT count(DISTINCT idempotency_key) FROM ledger_entries WHERE kind = 'processing_fee.booked'"),
    ProcessingFees = await db.ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = 'processing_fees:usd'), 0)"),
    HangfireRetries = await db.ScalarAsync<long>("SELECT count(*) FROM hangfire.jobparameter WHERE name = 'RetryCount'"),
    HangfireFailed = await db.ScalarAsync<long>("SELECT count(*) FROM hangfire.job WHERE statename = 'Failed'"),
    DbSpanSeconds = await db.ScalarAsync<double?>("""
        SELECT EXTRACT(EPOCH FROM (max(p.processed_at) - min(e.received_at)))::float8
          FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id WHERE e.event_id = ANY(@eventIds)
        """, new { eventIds }) ?? double.NaN,
    EffectLatencyMs = (await db.QueryAsync<double>("""
        SELECT EXTRACT(EPOCH FROM (p.processed_at - e.received_at))::float8 * 1000
          FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id WHERE e.event_id = ANY(@eventIds)
        """, new { eventIds })).OrderBy(x => x).ToList(),
    DbReceiveSpanSeconds = await db.ScalarAsync<double?>("SELECT EXTRACT(EPOCH FROM (max(received_at) - min(received_at)))::float8 FROM stripe_webhook_events WHERE event_id = ANY(@eventIds)", new { eventIds }) ?? double.NaN,
};
var pgVersion = await db.ScalarAsync<string>("SHOW server_version");
var pgSettings = string.Join(", ", await db.QueryAsync<string>("SELECT name || '=' || setting FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','max_connections','shared_buffers') ORDER BY name"));

// ---- stop the hosts (SIGTERM: graceful), so the baseline gets the machine the webhook phase had minus Fairway
var (apiExit, workerExit) = await d.StopHostsAsync();
var logIssues = CountLogLevels(d.Api.LogPath, d.Api) + "; " + CountLogLevels(d.Worker.LogPath, d.Worker);
await d.DisposeAsync();
Say($"API and worker stopped with SIGTERM: exit {apiExit} / {workerExit}");

// ---- baseline (same run, same PostgreSQL)
Say($"baseline: pgbench, one single-row INSERT per transaction, {o.Concurrency} clients, {o.PgbenchSeconds} s");
BaselineResult baseline;
try { baseline = await Baseline.RunAsync(o.Pgbench, o.DatabaseUrl, o.RunDir, o.Concurrency, o.PgbenchSeconds); }
catch (Exception e) { Console.Error.WriteLine("bench-webhooks: baseline failed: " + e.Message); return 3; }

// ---- report
var ok = load.Samples.Where(s => s.Status == 200 && s.Error is null).ToList();
var errors = load.Samples.Where(s => s.Status != 200 || s.Error is not null).ToList();
var lat = ok.Select(s => s.LatencyMs).OrderBy(x => x).ToList();
var latFirst = ok.Where(s => !s.IsDuplicate).Select(s => s.LatencyMs).OrderBy(x => x).ToList();
var latDup = ok.Where(s => s.IsDuplicate).Select(s => s.LatencyMs).OrderBy(x => x).ToList();
var answersNew = ok.Count(s => s.DuplicateAnswer == false);
var answersDup = ok.Count(s => s.DuplicateAnswer == true);
var newPerEvent = ok.Where(s => s.DuplicateAnswer == false).GroupBy(s => plan[s.Index].Intent.EventId).Select(g => g.Count()).ToList();
var eventsWithTwoNew = newPerEvent.Count(c => c > 1);
var rps = ok.Count / load.Wall.TotalSeconds;
var drainRate = drained ? n / last.Seconds : double.NaN;
double Reached(double fraction)
{
    lock (progress) return progress.FirstOrDefault(p => p.Processed >= Math.Ceiling(fraction * n), (double.NaN, 0)).Seconds;
}
var (t50, t99) = (Reached(0.5), Reached(0.99));
var afterLoad = drained ? Math.Max(0, last.Seconds - loadEndSeconds) : double.NaN;

var checks = new List<(string Name, bool Ok, string Detail)>
{
    ("every delivery answered 200 within the time limit", errors.Count == 0 && !load.TimedOut, $"{ok.Count}/{plan.Count} answered 200; {errors.Count} errors{(load.TimedOut ? "; load time limit reached" : "")}"),
    ("every event acknowledged as new exactly once", answersNew == n && eventsWithTwoNew == 0 && answersDup == dupsSent, $"{answersNew} answered new (expected {n}), {answersDup} answered duplicate (expected {dupsSent})"),
    ("stored: each event exactly once (no loss, no duplicate row)", v.StoredOurs == n && v.StoredSucceededTotal == n, $"{v.StoredOurs} of the {n} event ids stored; {v.StoredSucceededTotal} payment_intent.succeeded rows in total"),
    ("processed: every event has its processing row", drained && v.ProcessedOurs == n, $"{v.ProcessedOurs}/{n}"),
    ("every event applied by its own webhook processing", v.Outcomes.GetValueOrDefault("applied") == n, string.Join(", ", v.Outcomes.Select(kv => $"{kv.Key} {kv.Value}"))),
    ("ledger: exactly one payment:<pi>:succeeded entry per event", v.LedgerOurs == n && v.LedgerOursDistinct == n && v.LedgerPaymentTotal == n, $"{v.LedgerOurs} entries, {v.LedgerOursDistinct} distinct keys, {v.LedgerPaymentTotal} payment entries in the whole ledger"),
    ("payments SUCCEEDED and entries ACTIVE", v.PaymentsSucceeded == n && v.EntriesActive == n && v.EntriesTotal == n, $"{v.PaymentsSucceeded} payments SUCCEEDED, {v.EntriesActive}/{v.EntriesTotal} entries ACTIVE"),
    ("audit: one payment.succeeded row per payment", v.AuditSucceeded == n, $"{v.AuditSucceeded}"),
    ("escrow == N × fee", v.Escrow == n * setup.Fee, $"{v.Escrow} == {n} × {setup.Fee} = {n * setup.Fee}"),
    ("Stripe fees: one processing_fee.booked entry per charge, processing_fees == −N × Stripe's fee",
        v.FeeEntries == n && v.FeeEntriesDistinct == n && v.ProcessingFees == -n * stripeFee,
        $"{v.FeeEntries} entries, {v.FeeEntriesDistinct} distinct keys; processing_fees:usd {v.ProcessingFees} == −{n} × {stripeFee} = {-n * stripeFee}"),
};
var valid = checks.All(c => c.Ok);

var r = new StringBuilder();
void L(string s = "") => r.AppendLine(s);
string F(double x) => double.IsNaN(x) ? "n/a" : x.ToString("F2", CultureInfo.InvariantCulture);
string Lat(IReadOnlyList<double> s) => $"{Stats.Percentile(s, 50),8:F2} {Stats.Percentile(s, 95),8:F2} {Stats.Percentile(s, 99),8:F2} {(s.Count == 0 ? double.NaN : s[^1]),8:F2} {(s.Count == 0 ? double.NaN : s.Average()),8:F2}";
L();
L("== Fairway webhook load benchmark");
L($"date {DateTimeOffset.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'}; {Environment.ProcessorCount} cores ({CpuModel()}), {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.OSArchitecture}; {RuntimeInformation.FrameworkDescription}; PostgreSQL {pgVersion} ({pgSettings})");
L($"machine load average (1/5/15 min) at the start of the load {loadavgBefore}, at its end {loadavgAfter} (anything else running on the machine shares the 2 cores)");
if (o.HostEnv.Count > 0) L($"DIAGNOSTIC extra host environment: {string.Join(' ', o.HostEnv.Select(kv => kv.Key + "=" + kv.Value))}");
L($"deliveries {plan.Count} = {n} distinct payment_intent.succeeded events + {dupsSent} duplicates ({o.DuplicatesPercent} %); concurrency {o.Concurrency}; worker process: FAIRWAY_WORKER_COUNT={o.Workers}; seed {o.Seed}");
L(o.Rate is { } offeredRate
    ? $"offered load: {offeredRate:F0} deliveries/s, open loop (= {offeredRate * n / plan.Count:F0} new events/s); deliveries sent late (the client's connections all busy): {ok.Count(s => s.LagMs > 10)}, max lag {(ok.Count == 0 ? 0 : ok.Max(s => s.LagMs)):F0} ms"
    : "offered load: closed loop (each connection sends its next delivery as soon as the previous one is answered)");
L($"set-up (untimed): {n} entries via the API {F(setup.EntriesTime.TotalSeconds)} s; their payment_intent.created webhooks processed {F(setup.CreatedProcessingTime.TotalSeconds)} s; intents succeeded + events collected {F(setup.SucceedTime.TotalSeconds)} s");
L();
L("-- POST /webhooks/stripe (verified: Stripe.net ValidateSignature, envelope read, store + backlog, wake-up flag, batch job enqueued only by the delivery that raises it), sustained");
L($"requests/s           {rps,10:F1}   ({ok.Count} answered 200 in {F(load.Wall.TotalSeconds)} s wall)");
L($"latency ms              p50      p95      p99      max     mean");
L($"  all deliveries   {Lat(lat)}");
L($"  first deliveries {Lat(latFirst)}");
L($"  duplicates       {Lat(latDup)}");
L();
L("-- processing (Hangfire WebhookBatchJob in the worker: claim up to 64 events, read each PaymentIntent with its charge's fee from the sandbox, converge, one ledger call incl. the fees, audit, one commit)");
L($"drain: all {n} processed {F(last.Seconds)} s after the first delivery = {F(drainRate)} events/s end to end; {processedAtLoadEnd} were processed when the load ended, the rest {F(afterLoad)} s later");
L($"  sustained while the load ran: {processedAtLoadEnd} events processed in the {F(loadEndSeconds)} s of load = {F(processedAtLoadEnd / loadEndSeconds)} events/s (events offered: {F(n / loadEndSeconds)}/s)");
L($"  50 % processed at {F(t50)} s, 99 % at {F(t99)} s, 100 % at {F(last.Seconds)} s (polled every 100 ms); rate to 99 %: {F(0.99 * n / t99)} events/s");
L($"  per event, stored -> processed (received_at -> processed_at), ms: p50 {Stats.Percentile(v.EffectLatencyMs, 50):F0}, p99 {Stats.Percentile(v.EffectLatencyMs, 99):F0}, max {(v.EffectLatencyMs.Count == 0 ? double.NaN : v.EffectLatencyMs[^1]):F0}");
L($"  from the database: first received -> last processed {F(v.DbSpanSeconds)} s = {F(n / v.DbSpanSeconds)} events/s; receive span {F(v.DbReceiveSpanSeconds)} s");
L($"  sandbox during load+drain: GET /v1/payment_intents/{{id}} {sandboxGetsAfter - sandboxGetsBefore}, GET /v1/charges/{{id}} {sandboxChargeGetsAfter - sandboxChargeGetsBefore}; Hangfire: {v.HangfireRetries} jobs retried, {v.HangfireFailed} failed");
L($"  host logs: {logIssues}; SIGTERM exit codes api {apiExit}, worker {workerExit}");
L();
L("-- baseline: pgbench, single-row INSERT transactions, same PostgreSQL");
L($"  {baseline.Command}");
L($"tps                  {baseline.Tps,10:F1}   ({baseline.Transactions} transactions in {baseline.Seconds} s, {baseline.Clients} clients, {baseline.Threads} threads)");
L($"latency ms              p50      p95      p99      max     mean");
L($"  insert           {Lat(baseline.LatenciesMs)}");
L();
L("-- ratio");
L($"webhook requests/s / pgbench tps = {rps:F1} / {baseline.Tps:F1} = {rps / baseline.Tps:F3}  (1 : {baseline.Tps / rps:F1})");
L($"webhook p99 / insert p99 = {Stats.Percentile(lat, 99):F2} / {Stats.Percentile(baseline.LatenciesMs, 99):F2} ms = {Stats.Percentile(lat, 99) / Stats.Percentile(baseline.LatenciesMs, 99):F1}x");
L($"drain events/s / pgbench tps = {F(drainRate)} / {baseline.Tps:F1} = {(drainRate / baseline.Tps):F4}");
L();
L("-- zero duplicates, zero losses");
var dupStored = (v.StoredOurs - v.StoredOursDistinct) + (v.StoredSucceededTotal - v.StoredOurs);
var dupEffects = (v.FeeEntries - v.FeeEntriesDistinct) + (v.LedgerOurs - v.LedgerOursDistinct) + (v.LedgerPaymentTotal - v.LedgerOurs) + Math.Max(0, v.AuditSucceeded - n) + Math.Max(0, v.ProcessedOurs - n);
L($"duplicates sent {dupsSent}; duplicates stored {dupStored}; duplicate effects (ledger incl. fees, audit, processing) {dupEffects}; losses: {n - v.StoredOursDistinct} not stored, {n - v.ProcessedOurs} not processed, {n - v.LedgerOursDistinct} without ledger entry");
foreach (var c in checks) L($"  [{(c.Ok ? "ok" : "FAIL")}] {c.Name}: {c.Detail}");
foreach (var e in errors.Take(5)) L($"  error: delivery {e.Index} status {e.Status}: {e.Error}");
L();
L(valid ? "RESULT: valid run" : "RESULT: INVALID run");
Console.Write(r.ToString());
await File.WriteAllTextAsync(Path.Combine(o.RunDir, "report.txt"), r.ToString());
return valid ? 0 : 1;

static async Task<long> SandboxCountAsync(Deployment d, string endpoint)
{
    var stats = await d.StripeAsync(HttpMethod.Get, "/_sandbox/stats");
    return stats.GetProperty("requests_by_endpoint").TryGetProperty(endpoint, out var v) ? v.GetInt64() : 0;
}

static string CountLogLevels(string path, ChildProcess p)
{
    p.FlushLog();
    if (!File.Exists(path)) return $"{Path.GetFileName(path)}: none";
    long warn = 0, err = 0;
    foreach (var line in File.ReadLines(path))
    {
        if (line.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal)) warn++;
        else if (line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal)) err++;
    }
    return $"{Path.GetFileNameWithoutExtension(path)} {err} errors, {warn} warnings";
}

static string LoadAvg()
{
    try { return string.Join('/', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
    catch (IOException) { return "?"; }
}

static string CpuModel()
{
    try { return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"; }
    catch (IOException) { return "?"; }
}

sealed class Verification
{
    public long StoredOurs, StoredOursDistinct, StoredSucceededTotal, ProcessedOurs, LedgerOurs, LedgerOursDistinct, LedgerPaymentTotal, PaymentsSucceeded, EntriesActive, EntriesTotal, AuditSucceeded, Escrow, HangfireRetries, HangfireFailed, FeeEntries, FeeEntriesDistinct, ProcessingFees;
    public double DbSpanSeconds, DbReceiveSpanSeconds;
    public List<double> EffectLatencyMs = [];
    public Dictionary<string, long> Outcomes = [];
}

sealed record Options(string Root, string DatabaseUrl, string Pgbench, int Deliveries, int Concurrency, int DuplicatesPercent, int Workers, int PgbenchSeconds, string RunDir, int Seed,
    TimeSpan LoadLimit, TimeSpan DrainLimit, IReadOnlyDictionary<string, string> HostEnv, double? Rate)
{
    public const string Usage = "usage: Fairway.WebhookLoad --root DIR --database-url URL --pgbench PATH [--deliveries N (10..10000, 5000)] [--concurrency C (1..256, 16)] " +
        "[--duplicates-percent P (0..100, 10)] [--workers W (1..64, 2)] [--pgbench-seconds S (5..120, 20)] [--run-dir DIR] [--seed S] [--rate R (deliveries/s, open loop; default closed loop)]";

    public static Options Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var hostEnv = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) throw new ArgumentException($"unexpected argument '{args[i]}'");
            if (args[i] == "--host-env")
            {
                // Diagnostics only (never by default): an extra environment variable for the API and worker processes.
                var kv = args[++i].Split('=', 2);
                if (kv.Length != 2 || kv[0].Length == 0) throw new ArgumentException("--host-env needs KEY=VALUE");
                hostEnv[kv[0]] = kv[1];
                continue;
            }
            map[args[i][2..]] = args[++i];
        }
        string Req(string k) => map.Remove(k, out var v) ? v : throw new ArgumentException($"--{k} is required");
        int Int(string k, int def, int min, int max)
        {
            if (!map.Remove(k, out var s)) return def;
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max) throw new ArgumentException($"--{k} must be an integer in {min}..{max}");
            return v;
        }
        var o = new Options(Req("root"), Req("database-url"), Req("pgbench"), Int("deliveries", 5000, 10, 10000), Int("concurrency", 16, 1, 256),
            Int("duplicates-percent", 10, 0, 100), Int("workers", 2, 1, 64), Int("pgbench-seconds", 20, 5, 120),
            map.Remove("run-dir", out var dir) ? dir : Path.Combine(Path.GetTempPath(), "fairway-bench-webhooks-" + Environment.ProcessId), Int("seed", 42, 0, int.MaxValue),
            TimeSpan.FromSeconds(180), TimeSpan.FromSeconds(180), hostEnv, Int("rate", 0, 0, 5000) is var rate and > 0 ? rate : null);
        if (map.Count > 0) throw new ArgumentException($"unknown option --{map.Keys.First()}");
        return o;
    }
}
