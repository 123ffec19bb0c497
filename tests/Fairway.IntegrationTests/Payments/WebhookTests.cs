using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Fairway.Host.Payments;
using Fairway.Host.Platform.Jobs;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// The Stripe webhook endpoint and its processing: verification first (forged signature, expired timestamp →
/// 400 WEBHOOK_INVALID, nothing stored), idempotency by event id (seed 002 W3/W5: duplicates and concurrent
/// deliveries have one effect), atomicity under a crash (W4: the worker killed after the ledger posting and
/// before commit → nothing, then everything once after restart), any order (refund before success), and a lost
/// webhook healed by the sweeper.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class WebhookTests(PaymentsFixture f)
{
    async Task<HttpResponseMessage> DeliverAsync(string body, string signature)
    {
        using var http = f.Api.Client();
        using var req = new HttpRequestMessage(HttpMethod.Post, "/webhooks/stripe") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        req.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        return await http.SendAsync(req);
    }

    async Task<double> InvalidCounterAsync()
    {
        using var http = f.Api.Client();
        var line = (await http.GetStringAsync("/metrics")).Split('\n').FirstOrDefault(l => l.StartsWith("stripe_webhook_invalid_total "));
        return line is null ? 0 : double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_forged_signature_is_refused_with_400_WEBHOOK_INVALID_and_nothing_is_stored()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.Stripe.PostAsync("/_sandbox/webhooks/pause");
        try
        {
            await f.Stripe.SucceedAsync(pi);
            var evt = await f.Stripe.EventAsync("payment_intent.succeeded", pi);
            var body = evt.ToJsonString();
            var invalidBefore = await InvalidCounterAsync();

            var forged = await DeliverAsync(body, StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow, "whsec_forged"));
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            Assert.Equal("WEBHOOK_INVALID", JsonDocument.Parse(await forged.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
            var tampered = await DeliverAsync(body.Replace("\"succeeded\"", "\"canceled\""), StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow));
            Assert.Equal(HttpStatusCode.BadRequest, tampered.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync(body, "")).StatusCode);

            Assert.Equal(0, await f.StoredEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
            Assert.True(await InvalidCounterAsync() >= invalidBefore + 3);
        }
        finally { await f.Stripe.PostAsync("/_sandbox/webhooks/resume"); }
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "genuine delivery applied");
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task An_expired_timestamp_is_refused_and_nothing_is_stored_and_the_sweeper_still_converges()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        // One attempt only, signed by a sandbox clock 10 minutes behind (tolerance 300 s).
        await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 1, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
        await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { offset_seconds = -600 });
        try
        {
            await f.Stripe.SucceedAsync(pi);
            await f.Stripe.WaitIdleAsync();
            var deliveries = await f.Stripe.GetAsync("/_sandbox/webhooks/deliveries?limit=100");
            var evt = await f.Stripe.EventAsync("payment_intent.succeeded", pi);
            var attempts = deliveries["data"]!.AsArray().Where(d => (string?)d!["event_id"] == (string?)evt["id"]).ToList();
            Assert.NotEmpty(attempts);
            Assert.All(attempts, a => Assert.Equal(400, (int)a!["status_code"]!));
            Assert.Equal(0, await f.StoredEventsAsync("payment_intent.succeeded", pi));

            // Our own delivery of the same body signed 10 minutes ago: refused as well.
            var body = evt.ToJsonString();
            Assert.Equal(HttpStatusCode.BadRequest, (await DeliverAsync(body, StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow.AddMinutes(-10)))).StatusCode);
            Assert.Equal(0, await f.StoredEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
        }
        finally
        {
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/clock", new { real = true });
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 8, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
        }
        await f.SweepWhenDueAsync(entry);
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    /// <summary>The newest webhook batch job so far (0: none): later deliveries' jobs are the ones with larger ids.</summary>
    async Task<long> LastBatchJobAsync() => (await HangfireJobs.OfAsync(f.DatabaseUrl, "WebhookBatchJob", "")).Select(j => j.Id).DefaultIfEmpty(0).Max();

    [Fact]
    public async Task W3_W5_the_same_event_delivered_concurrently_and_again_is_stored_once_processed_once_and_posted_once()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        var jobsBefore = await LastBatchJobAsync();
        await f.Stripe.PostAsync("/_sandbox/webhooks/pause");
        string body;
        try
        {
            await f.Stripe.SucceedAsync(pi);
            body = (await f.Stripe.EventAsync("payment_intent.succeeded", pi)).ToJsonString();
            // Eight at once: all eight were blocked together at the insert of the event before they raced.
            var (responses, together) = await LockWaits.RaceAsync(f.DatabaseUrl, "LOCK TABLE stripe_webhook_events IN SHARE MODE", null, 8,
                _ => DeliverAsync(body, StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow)));
            Assert.True(together >= 8, $"{together} deliveries overlapped");
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var duplicates = 0;
            foreach (var r in responses)
                if (JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicate").GetBoolean()) duplicates++;
            Assert.Equal(7, duplicates);
        }
        finally { await f.Stripe.PostAsync("/_sandbox/webhooks/resume"); }
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");
        await f.Stripe.WaitIdleAsync();
        // And once more, after processing.
        var last = await DeliverAsync(body, StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.True(JsonDocument.Parse(await last.Content.ReadAsStringAsync()).RootElement.GetProperty("duplicate").GetBoolean());
        // Every batch job the deliveries enqueued (the one whose delivery raised the wake-up flag, at least) has run and
        // recorded its outcome, and the event left the backlog.
        var eventId = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var jobs = (await HangfireJobs.WaitUntilAsync(f.DatabaseUrl, "WebhookBatchJob", "", j => j.Any(x => x.Id > jobsBefore) && j.Where(x => x.Id > jobsBefore).All(x => x.Finished),
            "every webhook batch job of these deliveries finished")).Where(x => x.Id > jobsBefore).ToList();
        Assert.All(jobs, j => Assert.Equal("Succeeded", j.State));
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_pending WHERE event_id = @eventId", new { eventId }));

        Assert.Equal(1, await f.StoredEventsAsync("payment_intent.succeeded", pi));
        Assert.Equal(1, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = @pi AND action = 'payment.succeeded'", new { pi }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W4_a_worker_killed_after_the_ledger_posting_and_before_commit_leaves_nothing_and_after_restart_everything_happens_once()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.RestartWorkerAsync(crashPoints: "payments.after_ledger_before_commit");
        try
        {
            await f.Stripe.SucceedAsync(pi);
            await f.Worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(f.Worker.Process.Stderr, l => l.Contains("payments.after_ledger_before_commit"));

            // None of the step: no payment change, no entry change, no ledger entry, no processing row; the event itself is stored.
            Assert.Equal(1, await f.StoredEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal(0, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
            Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
            Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(entry));
            Assert.Equal(0, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
            Assert.Equal(0, await f.EscrowAsync(contest));
            await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
        }
        finally { await f.RestartWorkerAsync(); }

        // A fresh worker: the drain job processes the stored event; retrying it (the sandbox redelivers) changes nothing.
        await f.TriggerAsync("stripe-webhook-drain");
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE after restart");
        var evt = await f.Stripe.EventAsync("payment_intent.succeeded", pi);
        await f.Stripe.PostAsync($"/_sandbox/events/{(string?)evt["id"]}/redeliver");
        await f.Stripe.WaitIdleAsync();
        await f.TriggerAsync("stripe-webhook-drain");

        Assert.Equal("SUCCEEDED", await f.PaymentStatusAsync(entry));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(1, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task An_API_killed_after_storing_a_webhook_and_before_enqueueing_its_job_loses_nothing()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.RestartApiAsync(crashPoints: "webhooks.after_store_before_enqueue");
        // One attempt per delivery: the events after the first are lost while the API is down, whatever its restart takes.
        await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 1, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
        string stored;
        try
        {
            await f.Stripe.SucceedAsync(pi);
            await f.Api.Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(f.Api.Process.Stderr, l => l.Contains("webhooks.after_store_before_enqueue"));
            // The first verified event was stored (all of that step) and never enqueued (none of the next).
            stored = await f.ScalarAsync<string>("SELECT event_id FROM stripe_webhook_events e WHERE e.payload LIKE '%' || @pi || '%' AND e.type <> 'payment_intent.created'", new { pi });
            Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_processing WHERE event_id = @stored", new { stored }));
            Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
        }
        finally
        {
            await f.Stripe.WaitIdleAsync();
            await f.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 8, initial_backoff_ms = 100, max_backoff_ms = 1000, timeout_ms = 10000 });
            await f.RestartApiAsync();
        }
        Assert.Equal(0, await f.StoredEventsAsync("payment_intent.succeeded", pi));
        // The drain processes the stored event; the sweeper covers the deliveries Stripe gave up on while the API was down.
        await f.TriggerAsync("stripe-webhook-drain");
        await f.SweepWhenDueAsync(entry);
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_processing WHERE event_id = @stored", new { stored }));
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Queued_events_are_converged_in_one_batch_and_one_whose_intent_cannot_be_read_is_retried_without_holding_back_the_others()
    {
        var contest = await f.CreateContestAsync();
        var paid = new List<(string Entry, string Pi)>();
        foreach (var _ in Enumerable.Range(0, 6)) paid.Add(await f.NewEntryAsync(contest));
        var unreadable = paid[^1];
        var bodies = new List<string>();
        await f.Stripe.PostAsync("/_sandbox/webhooks/pause");
        try
        {
            foreach (var (_, pi) in paid)
            {
                await f.Stripe.SucceedAsync(pi);
                bodies.Add((await f.Stripe.EventAsync("payment_intent.succeeded", pi)).ToJsonString());
            }
            // The events pile up while the kill-switch is on (stored, not processed); Stripe cannot be read for the last intent.
            await f.SetKillSwitchAsync(true, "test: let the queue fill");
            var jobsBefore = await LastBatchJobAsync();
            try
            {
                foreach (var body in bodies) Assert.Equal(HttpStatusCode.OK, (await DeliverAsync(body, StripeSandboxProcess.Sign(body, DateTimeOffset.UtcNow))).StatusCode);
                Assert.Equal(6, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_pending q JOIN stripe_webhook_events e ON e.event_id = q.event_id WHERE e.type = 'payment_intent.succeeded' AND e.payload LIKE ANY(@pis)",
                    new { pis = paid.Select(p => $"%{p.Pi}%").ToArray() }));
                // The batch jobs the deliveries enqueued have run (deferring, the switch is on): the drain below is the only one to process them.
                await HangfireJobs.WaitUntilAsync(f.DatabaseUrl, "WebhookBatchJob", "", j => j.Where(x => x.Id > jobsBefore).All(x => x.Finished), "every webhook batch job of these deliveries finished");
            }
            finally { await f.SetKillSwitchAsync(false, "test: incident over"); }
            await f.Stripe.PostAsync("/_sandbox/faults", new { method = "GET", path_prefix = $"/v1/payment_intents/{unreadable.Pi}", kind = "http_500", count = -1 });
            try
            {
                await f.TriggerAsync("stripe-webhook-drain");
                foreach (var (entry, _) in paid.SkipLast(1)) Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
                Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(unreadable.Entry));
                // The five converged in ONE transaction: one worker, one batch start.
                var batches = await f.QueryAsync<(string Worker, DateTime Started)>("""
                    SELECT DISTINCT p.processed_by, p.batch_started_at FROM stripe_webhook_processing p JOIN stripe_webhook_events e ON e.event_id = p.event_id
                     WHERE e.type = 'payment_intent.succeeded' AND e.payload LIKE ANY(@pis)
                    """, new { pis = paid.SkipLast(1).Select(p => $"%{p.Pi}%").ToArray() });
                Assert.Single(batches);
                // Their charges' fees came with the intents and were booked in that same transaction (rows written by one
                // transaction share its xmin), in the batch's one ledger call.
                var feeTransactions = new List<string>();
                foreach (var (_, pi) in paid.SkipLast(1))
                {
                    var charge = (string)(await f.Stripe.GetAsync($"/v1/payment_intents/{pi}"))["latest_charge"]!;
                    feeTransactions.Add((string)(await f.Stripe.GetAsync($"/v1/charges/{charge}"))["balance_transaction"]!);
                }
                Assert.Equal(5, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'processing_fee.booked' AND cause_id = ANY(@feeTransactions)", new { feeTransactions }));
                Assert.Single(await f.QueryAsync<string>("""
                    SELECT DISTINCT xmin::text FROM ledger_entries
                     WHERE idempotency_key = ANY(@keys) OR (kind = 'processing_fee.booked' AND cause_id = ANY(@feeTransactions))
                    """, new { keys = paid.SkipLast(1).Select(p => $"payment:{p.Pi}:succeeded").ToArray(), feeTransactions }));
                // The unreadable one: its failed attempt is on the record, it stays pending (handed to its own, retried job), nothing of it applied.
                var unreadableEvent = await f.ScalarAsync<string>("SELECT event_id FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded' AND payload LIKE '%' || @pi || '%'", new { pi = unreadable.Pi });
                Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @unreadableEvent AND kind = 'failed'", new { unreadableEvent }));
                Assert.Equal(1, await f.ScalarAsync<int>("SELECT attempts FROM stripe_webhook_pending WHERE event_id = @unreadableEvent", new { unreadableEvent }));
                Assert.Equal(0, await f.LedgerEntriesAsync($"payment:{unreadable.Pi}:succeeded"));
            }
            finally { await f.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }
            // Stripe readable again: the drain (every pending event, failed ones too) converges it, once.
            await f.TriggerAsync("stripe-webhook-drain");
            Assert.Equal("ACTIVE", await f.EntryStatusAsync(unreadable.Entry));
        }
        finally { await f.Stripe.PostAsync("/_sandbox/webhooks/resume"); }
        await f.Stripe.WaitIdleAsync();
        foreach (var (entry, pi) in paid)
        {
            Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
            Assert.Equal(1, await f.ProcessedEventsAsync("payment_intent.succeeded", pi));
        }
        // The events delivered after the resume (charge.succeeded and the like) are processed by their own batch: waited
        // for, bounded, until none of these payments' events is left pending.
        await Wait.UntilAsync(async () => await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_pending q JOIN stripe_webhook_events e ON e.event_id = q.event_id WHERE e.payload LIKE ANY(@pis)",
            new { pis = paid.Select(p => $"%{p.Pi}%").ToArray() }) == 0, "every event of these payments processed", 60);
        Assert.Equal(6 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_burst_of_deliveries_while_a_batch_job_works_is_left_to_that_job_and_the_wake_up_flag_comes_down_when_it_is_done()
    {
        var contest = await f.CreateContestAsync();
        var first = await f.NewEntryAsync(contest);
        var burst = new List<(string Entry, string Pi)>();
        foreach (var _ in Enumerable.Range(0, 8)) burst.Add(await f.NewEntryAsync(contest));
        // The drain lowers the flag whenever it runs (every minute). It runs once now (lowering a flag that a killed worker's
        // job may have left raised), then the test holds its single-instance lock, so no drain runs until the test is done.
        await f.Stripe.WaitIdleAsync();
        await f.TriggerAsync(WebhookDrainJob.RecurringId);
        var drainKey = SingleInstanceJobFilter.KeyOf(SingleInstanceJobFilter.ResourceOf(typeof(WebhookDrainJob).GetMethod(nameof(WebhookDrainJob.RunAsync))!));
        await using var drainLock = await TestDatabases.OpenAsync(f.DatabaseUrl);
        await drainLock.ExecuteAsync("SELECT pg_advisory_lock(@drainKey)", new { drainKey });
        try
        {
            await PaymentsFixture.WaitUntilAsync(async () => !await WakeupRequestedAsync(), "the wake-up flag down (no batch job at work)");
            var jobsBefore = await LastBatchJobAsync();

            // The first payment's batch job takes the contest's seat lock, which the test holds: it is busy while the burst arrives.
            await using (var holder = await TestDatabases.OpenAsync(f.DatabaseUrl))
            {
                await using var tx = await holder.BeginTransactionAsync();
                await holder.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('seats:' || @contest))", new { contest }, tx);
                await f.Stripe.SucceedAsync(first.PaymentIntent);
                await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<bool>("""
                    SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT count(pg_advisory_xact_lock(hashtext(''seats:''%')
                    """), "the first payment's batch job waiting for the seat lock");
                await Task.WhenAll(burst.Select(e => f.Stripe.SucceedAsync(e.Pi)));
                await f.Stripe.WaitIdleAsync();
                foreach (var (_, pi) in burst) Assert.Equal(1, await f.StoredEventsAsync("payment_intent.succeeded", pi));
                // Every delivery of the burst found the flag raised by the busy job: none enqueued a job of its own.
                Assert.Single((await HangfireJobs.OfAsync(f.DatabaseUrl, "WebhookBatchJob", "")).Where(j => j.Id > jobsBefore));
                Assert.True(await WakeupRequestedAsync());
                await tx.CommitAsync();
            }

            // That one job converges the burst too, then hands the flag back: down once it has recorded its outcome.
            var jobs = await HangfireJobs.WaitUntilAsync(f.DatabaseUrl, "WebhookBatchJob", "", j => j.Where(x => x.Id > jobsBefore).All(x => x.Finished), "the batch job finished", 90);
            foreach (var (entry, _) in burst.Prepend(first)) Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
            var after = jobs.Where(j => j.Id > jobsBefore).ToList();
            Assert.True(after.All(j => j.State == "Succeeded"), string.Join(", ", after.Select(j => $"{j.Id} {j.State}")));
            Assert.False(await WakeupRequestedAsync());
            await Wait.UntilAsync(async () => await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_pending q JOIN stripe_webhook_events e ON e.event_id = q.event_id WHERE e.payload LIKE ANY(@pis)",
                new { pis = burst.Prepend(first).Select(p => $"%{p.Item2}%").ToArray() }) == 0, "every event of these payments processed", 60);
        }
        finally { await drainLock.ExecuteAsync("SELECT pg_advisory_unlock(@drainKey)", new { drainKey }); }
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    Task<bool> WakeupRequestedAsync() => f.ScalarAsync<bool>("SELECT requested FROM stripe_webhook_wakeup WHERE id = 1");

    [Fact]
    public async Task A_refund_seen_before_the_success_it_refunds_converges_to_success_then_refund()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        // Hold the next four events (charge.succeeded, payment_intent.succeeded, refund.created, charge.refunded) and deliver them newest first.
        await f.Stripe.PostAsync("/_sandbox/webhooks/reorder", new { count = 4 });
        await f.Stripe.SucceedAsync(pi);
        // A refund made at Stripe directly (e.g. the dashboard).
        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["payment_intent"] = pi }))
            (await f.Stripe.Http.PostAsync("/v1/refunds", form)).EnsureSuccessStatusCode();
        await f.Stripe.WaitIdleAsync();
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>("""
            SELECT count(*) FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id
             WHERE e.payload LIKE '%' || @pi || '%' AND e.type IN ('payment_intent.succeeded', 'refund.created', 'charge.refunded')
            """, new { pi }) == 3, "all three events processed");

        Assert.Equal("SUCCEEDED", await f.PaymentStatusAsync(entry));
        Assert.Equal("SUCCEEDED", await f.RefundStatusAsync(entry));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(entry));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        var re = await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        Assert.Equal(1, await f.LedgerEntriesAsync($"refund:{re}:succeeded"));
        Assert.Equal(0, await f.EscrowAsync(contest));
        // Whichever event was processed first converged to Stripe's state (success, then refund) in one transaction;
        // the others found nothing left to do.
        var outcomes = (await f.ScalarAsync<string>("""
            SELECT string_agg(p.outcome, ',' ORDER BY p.outcome) FROM stripe_webhook_events e
              JOIN stripe_webhook_processing p ON p.event_id = e.event_id
             WHERE e.payload LIKE '%' || @pi || '%' AND e.type IN ('payment_intent.succeeded', 'refund.created', 'charge.refunded')
            """, new { pi }));
        Assert.Equal("applied,superseded,superseded", outcomes);
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_lost_webhook_is_healed_by_the_sweeper_without_any_delivery()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.Stripe.PostAsync("/_sandbox/webhooks/drop", new { count = 2 }); // charge.succeeded and payment_intent.succeeded
        await f.Stripe.SucceedAsync(pi);
        await f.Stripe.WaitIdleAsync();
        // The sandbox recorded the event as dropped, never attempted: nothing is on its way to Fairway.
        var evt = await f.Stripe.EventAsync("payment_intent.succeeded", pi);
        var deliveries = (await f.Stripe.GetAsync($"/_sandbox/webhooks/deliveries?event_id={(string?)evt["id"]}"))["data"]!.AsArray();
        Assert.Equal(["dropped"], deliveries.Select(d => (string?)d!["outcome"]));
        Assert.Equal(0, await f.StoredEventsAsync("payment_intent.succeeded", pi));
        Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));

        await f.SweepWhenDueAsync(entry);
        Assert.Equal("SUCCEEDED", await f.PaymentStatusAsync(entry));
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(entry));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        // Sweeping again (retry) changes nothing.
        await f.TriggerAsync("payment-sweeper");
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_failed_payment_marks_the_entry_and_a_later_success_still_wins()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        await f.Stripe.FailAsync(pi);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "PAYMENT_FAILED", "entry PAYMENT_FAILED");
        Assert.Equal("FAILED", await f.PaymentStatusAsync(entry));
        Assert.Contains("insufficient_funds", await f.ScalarAsync<string>("SELECT last_error FROM payments WHERE entry_id = @entry", new { entry }));
        Assert.Equal(0, await f.EscrowAsync(contest));

        await f.Stripe.SucceedAsync(pi);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        // Unhandled types are stored and explicitly ignored (its job records that; it may run after the entry turned ACTIVE).
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>("""
            SELECT count(*) FROM stripe_webhook_events e JOIN stripe_webhook_processing p ON p.event_id = e.event_id
             WHERE e.type = 'charge.succeeded' AND p.outcome = 'ignored' AND e.payload LIKE '%' || @pi || '%'
            """, new { pi }) == 1, "charge.succeeded recorded as ignored");
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }
}
