using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Fairway.Host.Contests;
using Fairway.Host.Platform.Audit;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// Every money state has an exit (issue "money paths without dead ends"): refunds Stripe fails stay owed and are sent again
/// by themselves or by an admin; the money rules players paid under are frozen; the last seats of a contest cannot be sold
/// twice by two workers; the sweeper cannot starve; a webhook that keeps failing is parked and replayed; refunds close at
/// lock; a contest in ERROR is cancelled and refunded by an admin.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class MoneyExitsTests(PaymentsFixture f)
{
    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    Task<long> RefundsOwedAsync() => f.ScalarAsync<long>("SELECT coalesce((SELECT balance FROM ledger_accounts WHERE id = 'refunds:usd'), 0)");

    async Task<(int Exit, string Stdout, string Stderr)> Cli(params string[] args) =>
        await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, args, new Dictionary<string, string>
        {
            ["FAIRWAY_API_URL"] = f.Api.BaseUrl.ToString(), ["FAIRWAY_API_TOKEN"] = TestAuth.Admin,
        });

    [Fact]
    public async Task A_refund_Stripe_fails_stays_owed_is_sent_again_by_itself_once_and_never_twice()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        await f.Stripe.PostAsync("/_sandbox/refunds/pending_next", new { count = 1 });
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: customer asked" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUBMITTED", "refund SUBMITTED (pending at Stripe)");
        var first = await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });

        // The bank refuses the refund: the money stays owed (out of the escrow, in refunds owed) and is alerted.
        await f.Stripe.PostAsync($"/_sandbox/refunds/{first}/fail", new { failure_reason = "expired_or_canceled_card" });
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "FAILED", "refund FAILED");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.True(await RefundsOwedAsync() >= PaymentsFixture.Fee);
        Assert.Matches(@"(?m)^refunds_owed [1-9]", await f.Api.Client().GetStringAsync("/metrics"));

        // Sent again after its backoff, by the sweeper: a second Stripe refund, and only because the first one failed.
        await PaymentsFixture.WaitUntilAsync(async () =>
        {
            await f.TriggerAsync("payment-sweeper");
            return await f.RefundStatusAsync(entry) == "SUCCEEDED";
        }, "refund SUCCEEDED after the automatic retry");
        var atStripe = (await f.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray().Select(r => ((string?)r!["id"], (string?)r["status"])).ToList();
        Assert.Equal(2, atStripe.Count);
        Assert.Single(atStripe, r => r.Item2 == "succeeded");
        Assert.Contains((first, "failed"), atStripe);
        Assert.Equal(2, await f.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = 'rf_' || @entry", new { entry }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(entry));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task An_admin_sends_a_failed_refund_again_with_fresh_attempts_and_nothing_else_can_be_retried()
    {
        var contest = await f.CreateContestAsync();
        var (entry, _) = await f.PaidEntryAsync(contest);
        var (Exit, _, _) = await Cli("payments", "refund-retry", entry, "--reason", "test: nothing to retry");
        Assert.Equal(1, Exit);

        await f.Stripe.PostAsync("/_sandbox/refunds/pending_next", new { count = 1 });
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: customer asked" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUBMITTED", "refund SUBMITTED");
        using (var admin = f.Admin())
        {
            var notFailed = await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund/retry", new { reason = "test: too early" });
            Assert.Equal(HttpStatusCode.Conflict, notFailed.StatusCode);
            Assert.Equal("REFUND_NOT_FAILED", (await Json(notFailed)).GetProperty("code").GetString());
        }
        var first = await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        await f.Stripe.PostAsync($"/_sandbox/refunds/{first}/fail", new { failure_reason = "lost_or_stolen_card" });
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "FAILED", "refund FAILED");
        var budget = await f.ScalarAsync<int>("SELECT max_attempts FROM refunds WHERE entry_id = @entry", new { entry });

        var retried = await Cli("payments", "refund-retry", entry, "--reason", "test: player gave a new card, ticket T-3");
        Assert.True(retried.Exit == 0, retried.Stdout + retried.Stderr);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "refund SUCCEEDED after the admin retry");
        Assert.True(await f.ScalarAsync<int>("SELECT max_attempts FROM refunds WHERE entry_id = @entry", new { entry }) > budget);
        Assert.Equal(1, await f.ScalarAsync<long>(
            "SELECT count(*) FROM audit_events WHERE entity_id = 'rf_' || @entry AND action = 'refund.retry_requested' AND actor = 'admin:ops-1'", new { entry }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task The_money_rules_are_frozen_once_a_contest_has_an_entry_and_other_fields_may_still_change()
    {
        var contest = await f.CreateContestAsync();
        using var admin = f.Admin();
        var config = (await Json(await admin.GetAsync($"/api/admin/contests/{contest}/config"))).GetProperty("config");
        JsonObject With(Action<JsonObject> change)
        {
            var c = JsonNode.Parse(config.GetRawText())!.AsObject();
            change(c);
            return c;
        }
        // Before any entry every rule may change.
        var cheaper = With(c => c["rules"]!["entry_fee"] = 900);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/config", new { config = cheaper })).StatusCode);
        var back = With(c => c["rules"]!["entry_fee"] = PaymentsFixture.Fee);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/config", new { config = back })).StatusCode);

        await f.NewEntryAsync(contest); // a pending entry is enough: its player agreed to these rules
        foreach (var (field, change) in new (string, Action<JsonObject>)[]
        {
            ("rules.entry_fee", c => c["rules"]!["entry_fee"] = 2000),
            ("rules.rake_bps", c => c["rules"]!["rake_bps"] = 1500),
            ("rules.payout_table", c => c["rules"]!["payout_table"] = new JsonArray(new JsonObject { ["place"] = 1, ["bps"] = 10000 })),
            ("rules.roster_size", c => c["rules"]!["roster_size"] = 4),
        })
        {
            var r = await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/config", new { config = With(change) });
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
            var problem = await Json(r);
            Assert.Equal("CONFIG_MONEY_RULES_FROZEN", problem.GetProperty("code").GetString());
            Assert.Contains(field, problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()));
        }
        Assert.Equal(PaymentsFixture.Fee, (await Json(await admin.GetAsync($"/api/admin/contests/{contest}/config"))).GetProperty("config").GetProperty("rules").GetProperty("entry_fee").GetInt64());
        // Other fields still change, audited.
        var later = With(c => c["rules"]!["settlement_hold_seconds"] = 7200);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/config", new { config = later })).StatusCode);
        Assert.True(await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = @contest AND action = 'contest.config_published'", new { contest }) >= 3);
    }

    [Fact]
    public async Task A_webhook_batch_and_converge_requests_in_two_processes_racing_sixty_payments_for_ten_seats_never_sell_an_eleventh_and_refund_the_rest()
    {
        const int seats = 10, payments = 60, requests = 20;
        var contest = await f.CreateContestAsync(maxEntries: seats);
        var entries = new List<(string Entry, string Pi)>();
        foreach (var _ in Enumerable.Range(0, payments)) entries.Add(await f.NewEntryAsync(contest));

        // The test holds the contest's seat lock while every card succeeds at once, so the worker's webhook batch and
        // operators' converge requests on the API (another process) both queue for it with the same payments to decide,
        // and race once it is released. Waiting for both queues first makes the race certain, not likely.
        List<HttpResponseMessage> converged;
        using (var admin = f.Admin())
        {
            Task<HttpResponseMessage[]> converging;
            await using (var holder = await TestDatabases.OpenAsync(f.DatabaseUrl))
            {
                await using var tx = await holder.BeginTransactionAsync();
                await holder.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('seats:' || @contest))", new { contest }, tx);
                await Task.WhenAll(entries.Select(e => f.Stripe.SucceedAsync(e.Pi)));
                converging = Task.WhenAll(entries.Take(requests).Select(e => admin.PostAsync($"/api/admin/payments/{e.Entry}/converge", null)));
                await PaymentsFixture.WaitUntilAsync(async () =>
                {
                    var waiting = await f.QueryAsync<string>("""
                        SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%hashtext(''seats:''%'
                        """);
                    return waiting.Any(q => q.StartsWith("SELECT count(pg_advisory_xact_lock", StringComparison.Ordinal))
                        && waiting.Count(q => q.StartsWith("SELECT pg_advisory_xact_lock", StringComparison.Ordinal)) == requests;
                }, $"a webhook batch and {requests} converge requests waiting for the contest's seat lock");
                await tx.CommitAsync();
            }
            converged = (await converging).ToList();
        }
        Assert.All(converged, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>(
            "SELECT count(*) FROM payments p JOIN entries e ON e.id = p.entry_id WHERE e.contest_id = @contest AND p.status = 'SUCCEEDED'", new { contest }) == payments,
            "every payment SUCCEEDED", 120);
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>(
            "SELECT count(*) FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = @contest AND r.status = 'SUCCEEDED'", new { contest }) == payments - seats,
            "the losers refunded", 120);

        Assert.Equal(seats, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contest AND status = 'ACTIVE'", new { contest }));
        Assert.Equal(payments - seats, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contest AND status = 'REFUNDED'", new { contest }));
        Assert.Equal(seats * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(payments - seats, await f.ScalarAsync<long>(
            "SELECT count(*) FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = @contest AND r.reason LIKE 'contest full%'", new { contest }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task The_sweeper_looks_at_overdue_payments_four_at_a_time()
    {
        var contest = await f.CreateContestAsync();
        var pending = new List<string>();
        foreach (var _ in Enumerable.Range(0, Fairway.Host.Payments.PaymentSweeper.Concurrency)) pending.Add((await f.NewEntryAsync(contest)).PaymentIntent);
        // The recurring run (every 5 minutes of real time) may have looked at them moments ago: then the trigger below rightly
        // leaves them alone until their next look is due (a fresh-clone run timed out that way). Wait until all are due.
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>(
            "SELECT count(*) FROM payments WHERE payment_intent_id = ANY(@pending) AND (next_sweep_at IS NULL OR next_sweep_at <= now())", new { pending }) == pending.Count,
            "every checkout due for the sweeper's next look");

        // The test holds these checkouts' payment rows: each look of the sweeper at one of them waits (its first step marks
        // the look on the row). Looking one at a time, one would wait and the rest of the run behind it; four at a time,
        // all four wait at once.
        Task sweep;
        await using (var holder = await TestDatabases.OpenAsync(f.DatabaseUrl))
        {
            await using var tx = await holder.BeginTransactionAsync();
            await holder.ExecuteAsync("SELECT 1 FROM payments WHERE payment_intent_id = ANY(@pending) FOR UPDATE", new { pending }, tx);
            sweep = f.TriggerAsync("payment-sweeper");
            await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<long>("""
                SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE payments SET sweep_count%'
                """) == pending.Count, $"{pending.Count} looks of the sweeper waiting at once");
            await tx.CommitAsync();
        }
        await sweep;
        Assert.All(await f.QueryAsync<int>("SELECT sweep_count FROM payments WHERE payment_intent_id = ANY(@pending)", new { pending }), n => Assert.True(n >= 1));
    }

    [Fact]
    public async Task Two_hundred_abandoned_checkouts_cannot_hide_a_paid_one_from_the_sweeper()
    {
        var contest = await f.CreateContestAsync();
        foreach (var _ in Enumerable.Range(0, Fairway.Host.Payments.PaymentSweeper.Batch)) await f.NewEntryAsync(contest);
        var (paid, paidPi) = await f.NewEntryAsync(contest);
        await f.Stripe.WaitIdleAsync();
        // The player pays, and Stripe's webhooks for it are lost.
        await f.Stripe.PostAsync("/_sandbox/webhooks/drop", new { count = 2 });
        await f.Stripe.SucceedAsync(paidPi);
        await f.Stripe.WaitIdleAsync();
        Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(paid));

        // Each sweep looks at the 200 most overdue; what it looked at goes to the back of the queue.
        // Two sweeps look at 400: every one of the 201 (other tests may have left a few abandoned checkouts too, far fewer than 199).
        // (The sweeper's recurring run may have looked at the paid one before it was paid: then the first sweep waits for its next look.)
        await f.SweepWhenDueAsync(paid);
        await f.TriggerAsync("payment-sweeper");
        Assert.Equal("ACTIVE", await f.EntryStatusAsync(paid));
        Assert.Equal(0, await f.ScalarAsync<long>("""
            SELECT count(*) FROM payments p JOIN entries e ON e.id = p.entry_id WHERE e.contest_id = @contest AND p.status = 'PENDING' AND p.sweep_count = 0
            """, new { contest }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_webhook_that_keeps_failing_is_parked_listed_and_replayed_by_an_admin_once_its_cause_is_gone()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        // Stripe cannot be read for this payment: every processing attempt of its success fails.
        await f.Stripe.PostAsync("/_sandbox/faults", new { method = "GET", path_prefix = $"/v1/payment_intents/{pi}", kind = "http_500", count = -1 });
        string eventId;
        try
        {
            await f.Stripe.SucceedAsync(pi);
            await PaymentsFixture.WaitUntilAsync(async () => await f.StoredEventsAsync("payment_intent.succeeded", pi) == 1, "event stored");
            eventId = await f.ScalarAsync<string>("SELECT event_id FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded' AND payload LIKE '%' || @pi || '%'", new { pi });
            await PaymentsFixture.WaitUntilAsync(async () =>
            {
                await f.TriggerAsync("stripe-webhook-drain");
                return await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @eventId AND kind = 'parked'", new { eventId }) == 1;
            }, "event parked", 120);
            var failures = await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @eventId AND kind = 'failed'", new { eventId });
            Assert.True(failures >= 5, $"{failures} failures");
            // Parked: the drain no longer spends attempts on it.
            await f.TriggerAsync("stripe-webhook-drain");
            Assert.Equal(failures, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @eventId AND kind = 'failed'", new { eventId }));
            var listed = await Cli("webhooks", "dead-letters");
            Assert.Equal(1, listed.Exit);
            Assert.Contains(eventId, listed.Stdout);
            Assert.Matches(@"(?m)^stripe_webhook_dead_letters [1-9]", await f.Api.Client().GetStringAsync("/metrics"));
        }
        finally { await f.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }

        var replay = await Cli("webhooks", "replay", eventId, "--reason", "test: Stripe reachable again, incident I-7");
        Assert.True(replay.Exit == 0, replay.Stdout + replay.Stderr);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE after the replay");
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_processing WHERE event_id = @eventId", new { eventId }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_id = @eventId AND action = 'webhook.replayed' AND actor = 'admin:ops-1'", new { eventId }));
        Assert.DoesNotContain(eventId, (await Cli("webhooks", "dead-letters")).Stdout);
        using (var admin = f.Admin())
            Assert.Equal("WEBHOOK_EVENT_PROCESSED", (await Json(await admin.PostAsJsonAsync($"/api/admin/stripe/webhooks/{eventId}/replay", new { reason = "test: again" }))).GetProperty("code").GetString());
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_refund_request_racing_the_lock_either_wins_before_the_lock_or_is_refused_never_both()
    {
        // Ten contests, each with its refund request and its lock fired at the same instant.
        var races = new List<(string Contest, string Entry)>();
        foreach (var _ in Enumerable.Range(0, 10))
        {
            var contest = await f.CreateContestAsync(minEntries: 2);
            await f.PaidEntryAsync(contest);
            await f.PaidEntryAsync(contest);
            var (entry, _) = await f.PaidEntryAsync(contest);
            races.Add((contest, entry));
        }
        using var admin = f.Admin();
        var outcomes = await Task.WhenAll(races.Select(async r =>
        {
            var refund = admin.PostAsJsonAsync($"/api/admin/entries/{r.Entry}/refund", new { reason = "test: race with the lock" });
            var lockIt = admin.PostAsJsonAsync($"/api/admin/contests/{r.Contest}/lock", new { reason = "test: race with a refund" });
            return (r.Contest, r.Entry, Refund: await refund, Lock: await lockIt);
        }));
        foreach (var o in outcomes)
        {
            Assert.Equal(HttpStatusCode.OK, o.Lock.StatusCode);
            var refunded = o.Refund.StatusCode == HttpStatusCode.Accepted;
            if (!refunded)
            {
                Assert.Equal(HttpStatusCode.Conflict, o.Refund.StatusCode);
                Assert.Equal("REFUND_NOT_ALLOWED", (await Json(o.Refund)).GetProperty("code").GetString());
            }
            // The lock decision counted exactly the entries still paid when it ran: never one refunded before or after it.
            var paidAtLock = await f.ScalarAsync<long>("""
                SELECT (evidence->>'paid_entries')::bigint FROM audit_events WHERE entity_id = @c AND action = 'contest.transition' AND after_state->>'state' = 'LOCKED'
                """, new { c = o.Contest });
            Assert.Equal(refunded ? 2 : 3, paidAtLock);
            var status = await f.EntryStatusAsync(o.Entry);
            Assert.True(refunded ? status is "VOID" or "REFUNDED" : status == "ACTIVE", $"entry {o.Entry} is {status} (refund {(refunded ? "accepted" : "refused")})");
        }
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_contest_in_ERROR_is_cancelled_and_every_paid_entry_refunded_by_an_admin_with_a_reason()
    {
        var contest = await f.CreateContestAsync(minEntries: 2);
        var (a, _) = await f.PaidEntryAsync(contest);
        var (b, _) = await f.PaidEntryAsync(contest);
        // Stand-in for repeated settlement failures (their escalation is tested with settlement): the contest is in ERROR.
        await using (var db = NpgsqlDataSource.Create(TestDatabases.ConnectionString(f.DatabaseUrl)))
        {
            var clock = TimeProvider.System;
            var lifecycle = new ContestLifecycleService(db, new ContestRepository(), new AuditWriter(clock), clock, NullLogger<ContestLifecycleService>.Instance);
            await lifecycle.LockAsync(contest, "test", "locked", force: true);
            await lifecycle.MarkErrorAsync(contest, "settlement_failed:ESCROW_MISMATCH", "system:settlement", new { cause = "test" });
        }
        Assert.Matches(@"(?m)^contests_in_error [1-9]", await f.Api.Client().GetStringAsync("/metrics"));
        var refused = await Cli("contests", "resolve", contest, "--reason", "test: no action given");
        Assert.Equal(2, refused.Exit);

        var resolved = await Cli("contests", "resolve", contest, "--cancel-and-refund", "--reason", "test: cannot be settled, incident I-9");
        Assert.True(resolved.Exit == 0, resolved.Stdout + resolved.Stderr);
        Assert.Equal("CANCELLED", await f.ScalarAsync<string>("SELECT state FROM contests WHERE id = @contest", new { contest }));
        await f.TriggerAsync("payments-contest-closer");
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(a) == "SUCCEEDED" && await f.RefundStatusAsync(b) == "SUCCEEDED", "both refunds SUCCEEDED");
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(1, await f.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_id = @contest AND action = 'contest.transition' AND before_state->>'state' = 'ERROR'
               AND after_state->>'state' = 'CANCELLED' AND actor = 'admin:ops-1' AND reason LIKE '%incident I-9%'
            """, new { contest }));
        // ERROR is left once: resolving again is refused.
        Assert.Equal(1, (await Cli("contests", "resolve", contest, "--retry-settlement", "--reason", "test: again")).Exit);
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }
}
