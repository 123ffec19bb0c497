using Fairway.Host.Operations.Runbooks;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Settlement;
using Npgsql;

namespace Fairway.IntegrationTests.Runbooks;

/// <summary>
/// The runbooks of the money exits (issue 9: contest in ERROR, refunds owed, webhook dead letters) and of the payment
/// incidents, each executed on the shared runbook deployment like <see cref="RunbookTests"/>: the test induces the failure
/// with real processes and the Stripe sandbox, sees the alert's signal on a real /metrics, runs the runbook's own commands
/// as written (recorded through the runbook API), then asserts the outcome and the money invariants.
/// </summary>
[Collection(RunbookCollection.Name)]
public sealed class MoneyRunbookTests(RunbookWorld world)
{
    MoneyOutWorld W => world.World;

    static Dictionary<string, string> Inputs(string runbook, params (string Name, string Value)[] more)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal) { ["INCIDENT"] = "INC-" + runbook };
        foreach (var (n, v) in more) d[n] = v;
        return d;
    }

    /// <summary>A series of the API's /metrics; <paramref name="absentIs"/>: the value of a labelled series not created yet.</summary>
    async Task<double> GaugeAsync(string name, double? absentIs = null)
    {
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(W.Api.BaseUrl, "/metrics"));
        var m = Regex.Match(metrics, $"^{Regex.Escape(name)} (?<v>\\S+)$", RegexOptions.Multiline);
        if (!m.Success && absentIs is { } absent) return absent;
        Assert.True(m.Success, $"{name} not exported");
        return double.Parse(m.Groups["v"].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits (bounded) until the scraped gauge the alert reads satisfies <paramref name="condition"/>.</summary>
    async Task<double> SignalAsync(string gauge, Func<double, bool> condition)
    {
        double last = double.NaN;
        await Wait.UntilAsync(async () => condition(last = await GaugeAsync(gauge)), $"{gauge} (last {last})", 60);
        return last;
    }

    async Task HealthyAsync()
    {
        NpgsqlConnection.ClearAllPools();
        W.Db.Clear();
        await MoneyInvariants.AssertHoldAsync(world.DatabaseUrl);
        using var http = new HttpClient();
        var ready = await http.GetAsync(new Uri(W.Api.BaseUrl, "/readyz"));
        Assert.True(ready.IsSuccessStatusCode, await ready.Content.ReadAsStringAsync());
        Assert.Equal(0, await GaugeAsync("kill_switch_engaged"));
    }

    // ---- contest in ERROR ------------------------------------------------------------------------------

    /// <summary>
    /// A COMPLETE contest whose tournament the provider reopened (its newest accepted leaderboard is not final): every
    /// settlement run fails with LEADERBOARD_NOT_FINAL, a cause Fairway cannot resolve, until the contest is in ERROR.
    /// </summary>
    async Task<(SeededContest Contest, string ProviderEventId)> ContestInErrorAsync(bool stripePayments)
    {
        var contest = await W.SeedCompleteContestAsync(entries: 3, holdSeconds: 60, stripePayments: stripePayments);
        await W.AdvanceAsync(TimeSpan.FromMinutes(2));
        var pe = await W.ScalarAsync<string>("SELECT provider_event_id FROM tournaments WHERE id = @t", new { t = contest.TournamentId });
        await W.StoreAcceptedEventAsync(contest.TournamentId, MoneyOutWorld.FinalLeaderboard(pe).Replace("\"closed\"", "\"inprogress\"", StringComparison.Ordinal));
        // Each run is recorded as failed; Hangfire's own retries of the job add failed runs too. Bounded: ERROR comes after
        // SETTLEMENT_MAX_FAILED_ATTEMPTS (5) of them.
        for (var run = 0; run < 12 && await W.StateAsync(contest.ContestId) != "ERROR"; run++)
        {
            var r = await W.Admin.PostAsync($"/api/admin/settlements/{contest.ContestId}/run?wait_seconds=10", null);
            Assert.True(r.IsSuccessStatusCode || r.StatusCode == HttpStatusCode.Conflict, await r.Content.ReadAsStringAsync());
        }
        Assert.Equal("ERROR", await W.StateAsync(contest.ContestId));
        Assert.Contains("LEADERBOARD_NOT_FINAL", (await W.SettlementAsync(contest.ContestId)).GetRawText());
        Assert.Equal(3 * contest.EntryFee, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        await SignalAsync("contests_in_error", v => v >= 1);
        return (contest, pe);
    }

    [Fact]
    [RunbookTest("contest-error")]
    public async Task Contest_in_error_is_settled_by_an_admin_retry_once_the_provider_publishes_the_final_leaderboard()
    {
        var (contest, pe) = await ContestInErrorAsync(stripePayments: false);
        var runner = new RunbookRunner(world)
        {
            // The provider closes the event again (final results) and ingestion accepts it before ops retry.
            BeforeSection = async section =>
            {
                if (section == "Recover") await W.StoreAcceptedEventAsync(contest.TournamentId, MoneyOutWorld.FinalLeaderboard(pe));
            },
        };
        // The alert names no contest: the runbook's first Diagnose step finds it (sets=), as the paged operator has only the alert.
        await runner.RunAsync("contest-error", Inputs("contest-error"));
        Assert.Equal(contest.ContestId, runner.Variables["CONTEST"]);

        Assert.Equal("COMPLETE", await W.StateAsync(contest.ContestId));
        Assert.Equal(3, (await W.WaitSettledAsync(contest.ContestId)).GetProperty("settlement").GetProperty("entry_count").GetInt32());
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        Assert.Equal(1, await W.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_id = @c AND action = 'contest.transition' AND before_state->>'state' = 'ERROR'
               AND after_state->>'state' = 'COMPLETE' AND actor LIKE 'admin:%' AND reason LIKE '%INC-contest-error%'
            """, new { c = contest.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM settlements WHERE contest_id = @c", new { c = contest.ContestId }));
        Assert.Equal(0, await SignalAsync("contests_in_error", v => v == 0));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("contest-error")]
    public async Task Contest_in_error_is_cancelled_and_every_paid_entry_refunded_when_it_cannot_be_settled()
    {
        // The payments are real at the Stripe sandbox, so their refunds are too.
        var (contest, _) = await ContestInErrorAsync(stripePayments: true);
        await new RunbookRunner(world).RunAsync("contest-error", Inputs("contest-error", ("CONTEST", contest.ContestId)), "succeeded",
            "Diagnose", "Cancel and refund", "Verify the cancellation");

        Assert.Equal("CANCELLED", await W.StateAsync(contest.ContestId));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest.ContestId}"));
        // Stripe confirms each refund (its webhook or the refund job's own answer): wait for the recorded outcome.
        await Wait.UntilAsync(async () => await W.ScalarAsync<long>("""
            SELECT count(*) FROM refunds r JOIN entries e ON e.id = r.entry_id WHERE e.contest_id = @c AND r.status = 'SUCCEEDED' AND r.funded_from = 'escrow'
            """, new { c = contest.ContestId }) == 3, "the three refunds SUCCEEDED", 90);
        Assert.Equal(3, await W.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @c AND status = 'REFUNDED'", new { c = contest.ContestId }));
        Assert.Equal(0, await W.ScalarAsync<long>("SELECT count(*) FROM settlements WHERE contest_id = @c", new { c = contest.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_id = @c AND action = 'contest.transition' AND before_state->>'state' = 'ERROR'
               AND after_state->>'state' = 'CANCELLED' AND actor LIKE 'admin:%' AND reason LIKE '%INC-contest-error%'
            """, new { c = contest.ContestId }));
        Assert.Equal(0, await SignalAsync("contests_in_error", v => v == 0));
        await HealthyAsync();
    }

    // ---- payments paid through the public API and the Stripe sandbox ---------------------------------------

    /// <summary>
    /// A contest open for entries (lock in 30 days). Stripe's webhooks go to this deployment's API (with the endpoint's
    /// current signing secret, which a test may have rolled).
    /// </summary>
    async Task<string> OpenContestAsync()
    {
        var hook = await W.Stripe.GetAsync("/_sandbox/webhook");
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhook", new { url = new Uri(W.Api.BaseUrl, "/webhooks/stripe").ToString(), secret = (string?)hook["secret"] });
        var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:tournament:" + Guid.NewGuid().ToString("N")[..8]);
        (await W.Admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "Money Runbook Open" })).EnsureSuccessStatusCode();
        var config = ContestSetup.Config(t, c, pe, W.Now.AddDays(30), minEntries: 2, rosterSize: 3, fieldSize: 30, ingestionBase: W.IngestionBase);
        var created = await W.Admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Money runbook main", config });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var field = new { participants = Enumerable.Range(0, 30).Select(i => new { id = MoneyOutWorld.Golfer(i), name = $"Golfer {i}", world_rank = i + 1 }).ToArray() };
        (await W.Admin.PutAsJsonAsync($"/api/admin/contests/{c}/field", field)).EnsureSuccessStatusCode();
        return c;
    }

    static string[] Roster(int i) => [MoneyOutWorld.Golfer(i), MoneyOutWorld.Golfer(10 + i), MoneyOutWorld.Golfer(20 + i)];

    /// <summary>A player enters through the public API and pays at the Stripe sandbox; the webhooks make the entry ACTIVE.</summary>
    async Task<(string Entry, string PaymentIntent)> PaidEntryAsync(string contest, int i)
    {
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-{i}", Roster(i));
        await W.Stripe.SucceedAsync(pi);
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", $"entry {entry} ACTIVE");
        return (entry, pi);
    }

    [Fact]
    [RunbookTest("refunds-owed")]
    public async Task Refunds_owed_are_sent_again_by_an_admin_and_paid_once()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await PaidEntryAsync(contest, 0);
        // The player asks for a refund before the lock; the bank refuses it after Stripe accepted it (a failed refund).
        await W.Stripe.PostAsync("/_sandbox/refunds/pending_next", new { count = 1 });
        var requested = await W.Admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: the player asked for a refund" });
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "SUBMITTED", "refund SUBMITTED (pending at Stripe)");
        var first = await W.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        await W.Stripe.PostAsync($"/_sandbox/refunds/{first}/fail", new { failure_reason = "expired_or_canceled_card" });
        await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "FAILED", "refund FAILED");
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest}"));
        var owed = await W.BalanceAsync("refunds:usd");
        Assert.True(owed >= 1000, $"refunds owed hold {owed}");
        await SignalAsync("refunds_owed", v => v >= 1);

        var runner = new RunbookRunner(world)
        {
            // The retried refund is sent by its job (or the sweeper): wait until it recorded Stripe's answer.
            BeforeSection = async section =>
            {
                if (section == "Verify")
                    await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) is "SUCCEEDED" or "FAILED" &&
                        await W.ScalarAsync<long>("SELECT count(*) FROM refund_sends WHERE refund_id = 'rf_' || @entry", new { entry }) == 2, "the retried refund's outcome recorded");
            },
        };
        // The runbook's own steps find the entry and its contest (sets=), and its decision table reads the card's failure.
        await runner.RunAsync("refunds-owed", Inputs("refunds-owed"));
        Assert.Equal(entry, runner.Variables["ENTRY"]);
        Assert.Equal(contest, runner.Variables["CONTEST"]);
        // Then Verify's table found the entry's refund SUCCEEDED (continue), not yet confirmed by Stripe (wait).
        Assert.Equal([(RunbookDecision.After, "player"), (RunbookDecision.Continue, null)], runner.Decisions.Select(d => (d.Decision, d.Party)));

        Assert.Equal("SUCCEEDED", await W.RefundStatusAsync(entry));
        Assert.Equal("REFUNDED", await W.EntryStatusAsync(entry));
        // Paid once: two sends, one failed and one succeeded refund at Stripe, one refund.settled ledger entry.
        var atStripe = (await W.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray().Select(r => (string?)r!["status"]).Order().ToList();
        Assert.Equal(["failed", "succeeded"], atStripe);
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE kind = 'refund.settled' AND description LIKE '%' || @entry", new { entry }));
        Assert.Equal(1, await W.ScalarAsync<long>(
            "SELECT count(*) FROM audit_events WHERE entity_id = 'rf_' || @entry AND action = 'refund.retry_requested' AND actor LIKE 'admin:%' AND reason LIKE '%INC-refunds-owed%'", new { entry }));
        Assert.Equal(0, await SignalAsync("refunds_owed", v => v == 0));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("webhook-dead-letters")]
    public async Task A_parked_webhook_is_replayed_once_its_cause_is_gone()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        // Stripe cannot be read for this payment: every processing attempt of its success fails until the event is parked.
        await W.Stripe.PostAsync("/_sandbox/faults", new Dictionary<string, object> { ["method"] = "GET", ["path_prefix"] = $"/v1/payment_intents/{pi}", ["kind"] = "http_500", ["count"] = -1 });
        string eventId;
        try
        {
            await W.Stripe.SucceedAsync(pi);
            const string Stored = "SELECT event_id FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded' AND payload LIKE '%' || @pi || '%'";
            await Wait.UntilAsync(async () => (await W.QueryAsync<string>(Stored, new { pi })).Count == 1, "payment_intent.succeeded stored");
            eventId = await W.ScalarAsync<string>(Stored, new { pi });
            await Wait.UntilAsync(async () =>
            {
                await W.TriggerAsync("stripe-webhook-drain");
                return await W.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @eventId AND kind = 'parked'", new { eventId }) == 1;
            }, "event parked", 240);
            Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));
            await SignalAsync("stripe_webhook_dead_letters", v => v >= 1);
        }
        finally { await W.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }

        var runner = new RunbookRunner(world)
        {
            // The replay is processed by its job (or the drain): wait until it recorded its outcome.
            BeforeSection = async section =>
            {
                if (section == "Verify")
                    await Wait.UntilAsync(() => W.ScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM stripe_webhook_processing WHERE event_id = @eventId)", new { eventId }), "the replayed event processed");
            },
        };
        // The alert names no event: the runbook's first step finds it (sets=), as the paged operator has only the alert.
        await runner.RunAsync("webhook-dead-letters", Inputs("webhook-dead-letters"));
        Assert.Equal(eventId, runner.Variables["EVENT"]);

        Assert.Equal("ACTIVE", await W.EntryStatusAsync(entry));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_processing WHERE event_id = @eventId", new { eventId }));
        Assert.Equal(1, await W.ScalarAsync<long>(
            "SELECT count(*) FROM audit_events WHERE entity_id = @eventId AND action = 'webhook.replayed' AND actor LIKE 'admin:%' AND reason LIKE '%INC-webhook-dead-letters%'", new { eventId }));
        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Equal(0, await SignalAsync("stripe_webhook_dead_letters", v => v == 0));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("payment-orphaned")]
    public async Task An_orphaned_payment_is_swept_once_the_paused_sweeper_runs_again()
    {
        // Someone paused the sweeper, and Stripe's webhooks for a payment are lost: the entry stays PENDING_PAYMENT.
        (await W.Admin.PostAsJsonAsync("/api/admin/jobs/recurring/payment-sweeper/pause", new { reason = "test induces the failure" })).EnsureSuccessStatusCode();
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        await W.Stripe.WaitIdleAsync();
        await W.Stripe.PostAsync("/_sandbox/webhooks/drop", new { count = 2 });
        await W.Stripe.SucceedAsync(pi);
        await W.Stripe.WaitIdleAsync();
        Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));
        await W.AdvanceAsync(TimeSpan.FromMinutes(31));
        try
        {
            await SignalAsync("payments_pending_overdue", v => v >= 1);
            // The alert names no entry: the runbook's first step finds it (sets=), as the paged operator has only the alert.
            var runner = new RunbookRunner(world);
            await runner.RunAsync("payment-orphaned", Inputs("payment-orphaned"));
            Assert.Equal(entry, runner.Variables["ENTRY"]);
            Assert.Equal([(RunbookDecision.Continue, (string?)null)], runner.Decisions.Select(d => (d.Decision, d.Party)));
            // The runbook resumed the sweeper.
            Assert.Empty(await W.QueryAsync<string>("SELECT recurring_job_id FROM recurring_job_pauses WHERE recurring_job_id = 'payment-sweeper'"));
        }
        finally
        {
            // Whatever happened, the next runbook test has its sweeper (a no-op when the runbook resumed it).
            await W.Admin.PostAsJsonAsync("/api/admin/jobs/recurring/payment-sweeper/resume", new { reason = "test cleans up" });
        }

        Assert.Equal("ACTIVE", await W.EntryStatusAsync(entry));
        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @k", new { k = $"payment:{pi}:succeeded" }));
        Assert.Equal(0, await SignalAsync("payments_pending_overdue", v => v == 0));
        await HealthyAsync();
    }

    async Task<JsonElement> OverdueAsync()
    {
        var r = await W.Admin.GetAsync("/api/admin/payments/overdue");
        r.EnsureSuccessStatusCode();
        return await r.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task An_unfinished_checkout_is_overdue_until_the_sweeper_saw_Stripe_waiting_for_the_player()
    {
        // A player starts a checkout and never pays: Stripe's PaymentIntent waits for a payment method. Before the sweeper
        // looked, Fairway cannot tell that from a payment whose webhook was lost, so it counts as overdue; once the sweeper
        // read Stripe's answer (and keeps looking on schedule) it is the player's unfinished checkout, not an orphan.
        (await W.Admin.PostAsJsonAsync("/api/admin/jobs/recurring/payment-sweeper/pause", new { reason = "test: nobody looked at Stripe yet" })).EnsureSuccessStatusCode();
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        await W.AdvanceAsync(TimeSpan.FromMinutes(31));
        try
        {
            Assert.True(await SignalAsync("payments_pending_overdue", v => v >= 1) >= 1);
            // The list the runbook reads counts and shows what the alert counts: this payment, never read at Stripe.
            var listed = await OverdueAsync();
            Assert.Equal(await GaugeAsync("payments_pending_overdue"), listed.GetProperty("count").GetInt64());
            var only = Assert.Single(listed.GetProperty("payments").EnumerateArray(), p => p.GetProperty("entry_id").GetString() == entry);
            Assert.Equal((entry, pi, contest), (only.GetProperty("entry_id").GetString(), only.GetProperty("payment_intent_id").GetString(), only.GetProperty("contest_id").GetString()));
            Assert.Equal(JsonValueKind.Null, only.GetProperty("stripe_status").ValueKind);
            // On call, the runbook resumes the sweeper and sweeps; its Verify accepts a checkout Stripe says the player has
            // not finished (no longer overdue) and goes on, where it used to expect a paid entry and fail.
            var runner = new RunbookRunner(world);
            await runner.RunAsync("payment-orphaned", Inputs("payment-orphaned", ("ENTRY", entry)));
            Assert.Equal([(RunbookDecision.Continue, (string?)null)], runner.Decisions.Select(d => (d.Decision, d.Party)));
        }
        finally { (await W.Admin.PostAsJsonAsync("/api/admin/jobs/recurring/payment-sweeper/resume", new { reason = "test: the sweeper looks" })).EnsureSuccessStatusCode(); }
        Assert.Equal("requires_payment_method", await W.ScalarAsync<string>("SELECT stripe_status FROM payments WHERE payment_intent_id = @pi", new { pi }));
        Assert.Equal(0, await SignalAsync("payments_pending_overdue", v => v == 0));
        Assert.DoesNotContain((await OverdueAsync()).GetProperty("payments").EnumerateArray(), p => p.GetProperty("entry_id").GetString() == entry);
        Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));
        // The player pays after all (the webhook arrives): the entry is funded once, nothing is left pending.
        await W.Stripe.SucceedAsync(pi);
        await W.Stripe.WaitIdleAsync();
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE after the late payment", 60);
        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("webhook-backlog")]
    public async Task A_webhook_backlog_is_processed_once_a_worker_runs_again()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        // The worker dies (SIGKILL); the player pays: the API stores Stripe's webhooks, nothing processes them.
        W.StopWorkers();
        try
        {
            await W.Stripe.SucceedAsync(pi);
            await W.Stripe.WaitIdleAsync();
            Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));
            await W.AdvanceAsync(TimeSpan.FromMinutes(20));
            await SignalAsync("stripe_webhook_oldest_unprocessed_age_seconds", v => v > 900);

            await new RunbookRunner(world).RunAsync("webhook-backlog", Inputs("webhook-backlog"));
        }
        finally
        {
            // Whatever happened, the next runbook test gets its worker back (a no-op when the runbook started it).
            await world.ComposeAsync("up -d", ["worker"]);
        }

        Assert.Single(W.Workers);
        Assert.Equal("ACTIVE", await W.EntryStatusAsync(entry));
        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Equal(0, await SignalAsync("stripe_webhook_oldest_unprocessed_age_seconds", v => v == 0));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("chargeback")]
    public async Task A_lost_chargeback_is_booked_once_from_the_escrow()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await PaidEntryAsync(contest, 0);
        var charge = (string?)(await W.Stripe.GetAsync($"/v1/payment_intents/{pi}"))["latest_charge"];
        var dispute = (string)(await W.Stripe.PostAsync($"/_sandbox/charges/{charge}/dispute", new { amount = 1000, reason = "fraudulent" }))["id"]!;
        await Wait.UntilAsync(async () => await W.ScalarAsync<string?>("SELECT status FROM disputes WHERE id = @dispute", new { dispute }) == "needs_response", "dispute recorded");
        // The alert's signal: the process that applied the webhook counted the dispute.
        using (var http = new HttpClient())
        {
            var scraped = new List<string>();
            foreach (var process in W.Workers.Select(p => p.BaseUrl).Prepend(W.Api.BaseUrl))
            {
                var r = await http.GetAsync(new Uri(process, "/metrics"));
                if (r.IsSuccessStatusCode) scraped.Add(await r.Content.ReadAsStringAsync());
            }
            Assert.Contains(scraped, m => Regex.IsMatch(m, "(?m)^stripe_disputes_total\\{status=\"needs_response\"\\} [1-9]"));
        }

        var runner = new RunbookRunner(world)
        {
            // The evidence did not convince the bank: Stripe closes the dispute as lost and sends its webhook.
            BeforeSection = async section =>
            {
                if (section != "Recover") return;
                await W.Stripe.PostAsync($"/_sandbox/disputes/{dispute}/close", new { status = "lost" });
                await W.Stripe.WaitIdleAsync();
            },
        };
        // The alert names no entry: the runbook's first Diagnose step finds it (sets=), as the paged operator has only the alert.
        await runner.RunAsync("chargeback", Inputs("chargeback"));
        Assert.Equal(entry, runner.Variables["ENTRY"]);

        Assert.Equal("VOID", await W.EntryStatusAsync(entry));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @k", new { k = $"dispute:{dispute}:lost" }));
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("webhook-signature-failure")]
    public async Task Refused_webhooks_are_accepted_again_once_the_rolled_signing_secret_is_deployed()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        async Task<double> RefusedAsync() => await GaugeAsync("stripe_webhook_invalid_total", absentIs: 0);
        var before = await RefusedAsync();
        // The endpoint's signing secret is rolled in Stripe's dashboard; Stripe keeps retrying what Fairway refuses.
        var hook = await W.Stripe.GetAsync("/_sandbox/webhook");
        var secret = "whsec_rolled_" + Guid.NewGuid().ToString("N");
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 100, initial_backoff_ms = 200, max_backoff_ms = 3000 });
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhook", new { url = (string?)hook["url"], secret });
        await W.Stripe.SucceedAsync(pi);
        await SignalAsync("stripe_webhook_invalid_total", v => v >= before + 6);
        Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));

        var runner = new RunbookRunner(world)
        {
            // Stripe's next retry after the restart is accepted: wait until it recorded the payment.
            BeforeSection = async section =>
            {
                if (section == "Verify") await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", "the retried delivery applied", 90);
            },
        };
        await runner.RunAsync("webhook-signature-failure", Inputs("webhook-signature-failure", ("NEW_SECRET", secret)));

        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Contains($"STRIPE_WEBHOOK_SECRET={secret}", await File.ReadAllLinesAsync(world.EnvFile));
        // Refusals stopped: a new payment's webhooks verify.
        var refused = await RefusedAsync();
        var (second, secondPi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-1", Roster(1));
        await W.Stripe.SucceedAsync(secondPi);
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(second) == "ACTIVE", "a new payment applied");
        Assert.Equal(refused, await RefusedAsync());
        await W.Stripe.SendAsync(HttpMethod.Put, "/_sandbox/webhooks/retry", new { max_attempts = 8, initial_backoff_ms = 200, max_backoff_ms = 10000 });
        await HealthyAsync();
    }

    Func<string, Task> WaitRefundBefore(string verifySection, string entry) => async section =>
    {
        // Stripe confirms the refund (the refund job's own answer or its webhook): wait until it is recorded.
        if (section == verifySection) await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "SUCCEEDED", $"refund of {entry} SUCCEEDED", 60);
    };

    [Fact]
    [RunbookTest("refund-request")]
    public async Task A_refund_asked_before_the_lock_is_paid_from_the_escrow()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await PaidEntryAsync(contest, 0);
        await new RunbookRunner(world) { BeforeSection = WaitRefundBefore("Verify", entry) }
            .RunAsync("refund-request", Inputs("refund-request", ("ENTRY", entry), ("CONTEST", contest), ("TICKET", "T-refund-1"), ("AMOUNT", "1000")));

        Assert.Equal("REFUNDED", await W.EntryStatusAsync(entry));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{contest}"));
        var atStripe = Assert.Single((await W.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
        Assert.Equal(1000, (long)atStripe!["amount"]!);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("refund-request")]
    public async Task A_refund_asked_after_the_lock_is_a_goodwill_refund_from_the_house_and_the_prize_pool_is_untouched()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await PaidEntryAsync(contest, 0);
        await PaidEntryAsync(contest, 1);
        var locked = await W.Admin.PostAsJsonAsync($"/api/admin/contests/{contest}/lock", new { reason = "test: the contest locks" });
        Assert.True(locked.IsSuccessStatusCode, await locked.Content.ReadAsStringAsync());
        Assert.Equal("LOCKED", await W.StateAsync(contest));
        var revenue = await W.BalanceAsync("revenue:usd");
        // The entry refund is closed from the lock on: the runbook's goodwill path is the way.
        var refused = await W.Admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: too late" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);

        await new RunbookRunner(world) { BeforeSection = WaitRefundBefore("Verify the goodwill refund", entry) }
            .RunAsync("refund-request", Inputs("refund-request", ("ENTRY", entry), ("CONTEST", contest), ("TICKET", "T-refund-2"), ("AMOUNT", "500")), "succeeded",
                "Prerequisites", "Goodwill refund after the lock", "Verify the goodwill refund");

        Assert.Equal("ACTIVE", await W.EntryStatusAsync(entry));
        Assert.Equal(2000, await W.BalanceAsync($"escrow:{contest}"));
        Assert.Equal(revenue - 500, await W.BalanceAsync("revenue:usd"));
        var atStripe = Assert.Single((await W.Stripe.GetAsync($"/v1/refunds?payment_intent={pi}"))["data"]!.AsArray());
        Assert.Equal(500, (long)atStripe!["amount"]!);
        await HealthyAsync();
    }

    [Fact]
    [RunbookTest("duplicate-webhooks")]
    public async Task Duplicate_payment_webhooks_are_applied_once()
    {
        var contest = await OpenContestAsync();
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, $"u-{contest}-0", Roster(0));
        var duplicates = await GaugeAsync("stripe_webhook_received_total{duplicate=\"true\"}", absentIs: 0);
        // Stripe delivers the payment's events several times each.
        await W.Stripe.PostAsync("/_sandbox/webhooks/duplicate", new { count = 3 });
        await W.Stripe.SucceedAsync(pi);
        await W.Stripe.WaitIdleAsync();
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");
        Assert.True(await GaugeAsync("stripe_webhook_received_total{duplicate=\"true\"}") > duplicates, "no duplicate delivery was received");

        await new RunbookRunner(world).RunAsync("duplicate-webhooks", Inputs("duplicate-webhooks", ("ENTRY", entry)));

        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @k", new { k = $"payment:{pi}:succeeded" }));
        Assert.Equal(1000, await W.BalanceAsync($"escrow:{contest}"));
        await HealthyAsync();
    }
}
