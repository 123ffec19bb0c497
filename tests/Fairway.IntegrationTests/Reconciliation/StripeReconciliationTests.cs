using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Fairway.Host.Ledger;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payments;
using Npgsql;

namespace Fairway.IntegrationTests.Reconciliation;

/// <summary>
/// Issue 9 §6 and §4 (corrections): the reconciliation against Stripe, one test per discrepancy kind, each ending with
/// the exit an operator has (a typed ledger correction, Stripe's own state, Fairway catching up, or an audited
/// dismissal) and a clean run; processing fees booked so the clearing account matches Stripe's balance. Every test
/// leaves no discrepancy open and the kill-switch off.
/// </summary>
[Collection(StripeReconciliationCollection.Name)]
public sealed class StripeReconciliationTests(StripeReconciliationFixture f)
{
    static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    async Task<long> FeeBookedAsync(string balanceTransaction) => await f.ScalarAsync<long>("""
        SELECT coalesce((SELECT lp.amount FROM ledger_entries le JOIN ledger_postings lp ON lp.entry_id = le.id AND lp.account_id LIKE 'processing_fees:%'
                          WHERE le.idempotency_key = 'stripe_fee:' || @balanceTransaction), 0)
        """, new { balanceTransaction });

    async Task<string> ChargeBalanceTransactionAsync(string paymentIntent)
    {
        var charge = (string)(await f.Stripe.GetAsync($"/v1/payment_intents/{paymentIntent}"))["latest_charge"]!;
        return (string)(await f.Stripe.GetAsync($"/v1/charges/{charge}"))["balance_transaction"]!;
    }

    async Task<long> ChargeReadsAsync() =>
        (await f.Stripe.StatsAsync())["requests_by_endpoint"]!.AsObject().TryGetPropertyValue("GET /v1/charges/{id}", out var n) && n is not null ? n.GetValue<long>() : 0;

    async Task<bool> KillSwitchEngagedAsync()
    {
        using var admin = f.Admin();
        return JsonDocument.Parse(await admin.GetStringAsync("/api/admin/kill-switch")).RootElement.GetProperty("engaged").GetBoolean();
    }

    async Task AssertCleanAsync()
    {
        var run = await f.ReconcileAsync();
        Assert.True(run.GetProperty("violation_count").GetInt32() == 0, $"expected a clean run: {run}");
        Assert.Equal("completed", run.GetProperty("outcome").GetString());
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    async Task<long> UsdDifferenceAsync(JsonElement run) =>
        run.GetProperty("balances").EnumerateArray().Single(b => b.GetProperty("currency").GetString() == "usd").GetProperty("difference").GetInt64();

    [Fact]
    public async Task Fees_are_booked_when_Fairway_learns_them_and_the_clearing_account_matches_Stripes_balance()
    {
        var contest = await f.CreateContestAsync();
        var chargeReads = await ChargeReadsAsync();
        var (entry1, pi1) = await f.PaidEntryAsync(contest);
        // The convergence reads the intent with its charge's balance transaction expanded and books the fee (2.9 % of 1000 + 30¢)
        // in the transaction that applies the success: it is there as soon as the entry is ACTIVE, and no charge was read for it.
        Assert.Equal(chargeReads, await ChargeReadsAsync());
        var txn1 = await ChargeBalanceTransactionAsync(pi1);
        Assert.Equal(-59, await FeeBookedAsync(txn1));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE idempotency_key = @k AND kind = 'processing_fee.booked' AND cause_type = 'stripe_balance_transaction' AND cause_id = @txn1",
            new { k = "stripe_fee:" + txn1, txn1 }));

        var (entry2, _) = await f.PaidEntryAsync(contest);
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry2}/refund", new { reason = "test: player asked" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry2) == "REFUNDED", "refund settled");

        // A dispute lost while the fee is in escrow: Fairway posts the loss itself; Stripe's dispute fee is booked by the reconciliation.
        var charge1 = (string)(await f.Stripe.GetAsync($"/v1/payment_intents/{pi1}"))["latest_charge"]!;
        var dispute = await f.Stripe.PostAsync($"/_sandbox/charges/{charge1}/dispute", new { amount = 1000, reason = "fraudulent" });
        var disputeTxn = (string)dispute["balance_transactions"]![0]!["id"]!;
        await f.Stripe.PostAsync($"/_sandbox/disputes/{dispute["id"]}/close", new { status = "lost" });
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<string?>("SELECT loss_ledger FROM disputes WHERE id = @id", new { id = (string)dispute["id"]! }) == "posted", "loss posted");

        var run = await f.ReconcileAsync();
        Assert.True(run.GetProperty("violation_count").GetInt32() == 0, run.ToString());
        Assert.True(run.GetProperty("fees_booked").GetInt32() >= 1, run.ToString());
        Assert.Equal(-1500, await FeeBookedAsync(disputeTxn));
        // At a quiet moment (no webhook in flight, nothing awaiting) Fairway's money at Stripe by the ledger is Stripe's balance, to the cent.
        Assert.Equal(0, await UsdDifferenceAsync(run));
        var stripeBalance = (long)(await f.Stripe.GetAsync("/v1/balance"))["available"]!.AsArray().Single(b => (string)b!["currency"]! == "usd")!["amount"]!;
        Assert.Equal(stripeBalance, -await f.BalanceAsync("clearing:usd"));
        Assert.Equal("VOID", await f.EntryStatusAsync(entry1));
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Money_at_Stripe_with_no_local_record_is_a_violation_until_a_correction_explains_it()
    {
        var pi = await f.OutsidePaymentAsync(4200);
        await f.Stripe.WaitIdleAsync();
        await f.CatchUpClockAsync();
        // The scheduled job, run by a worker through Hangfire.
        using (var admin = f.Admin())
            (await admin.PostAsJsonAsync("/api/admin/jobs/recurring/stripe-reconciliation/resume", new { reason = "test: run the job once" })).EnsureSuccessStatusCode();
        try { await f.TriggerAsync("stripe-reconciliation"); }
        finally
        {
            using var admin = f.Admin();
            (await admin.PostAsJsonAsync("/api/admin/jobs/recurring/stripe-reconciliation/pause", new { reason = "test: done" })).EnsureSuccessStatusCode();
        }
        try
        {
            JsonElement run;
            using (var admin = f.Admin())
                run = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/reconciliation/stripe/runs?limit=1")).RootElement.GetProperty("runs")[0].Clone();
            Assert.Equal("reconciler", run.GetProperty("triggered_by").GetString());
            Assert.Contains(("stripe_money_without_local_record", pi), StripeReconciliationFixture.Violations(run));
            Assert.True(run.GetProperty("kill_switch_engaged_by_this_run").GetBoolean());
            Assert.True(await KillSwitchEngagedAsync());
            Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'reconciliation.discrepancy_opened' AND entity_id = @pi", new { pi }));
            Assert.Contains("ledger_invariant_violation_total{check=\"stripe_money_without_local_record\"}", await f.Worker.Client().GetStringAsync("/metrics"));
            var open = System.Text.RegularExpressions.Regex.Match(await f.Api.Client().GetStringAsync("/metrics"), "stripe_reconciliation_open_items\\{status=\"discrepancy\"\\} (\\d+)");
            Assert.True(open.Success && long.Parse(open.Groups[1].Value) >= 1, "stripe_reconciliation_open_items{status=\"discrepancy\"} is at least 1");
            // The fee of the charge is a fact Stripe reports: booked whoever made the payment.
            Assert.Equal(-152, await FeeBookedAsync(await ChargeBalanceTransactionAsync(pi)));

            var (code, stdout, _) = await f.CliAsync("reconciliation", "discrepancies");
            Assert.Equal(1, code);
            Assert.Contains(pi, stdout);
            Assert.Contains("stripe_money_without_local_record", stdout);
            Assert.Contains("fairway ledger correct payment_outside_fairway --subject " + pi, stdout);
            Assert.Equal(1, (await f.CliAsync("reconciliation", "status")).ExitCode);

            // Corrections respect the kill-switch like every money mutation.
            var refused = await f.CorrectAsync("payment_outside_fairway", pi);
            Assert.Equal(HttpStatusCode.Conflict, refused.Status);
            Assert.Equal("KILL_SWITCH_ACTIVE", refused.Body.GetProperty("code").GetString());
        }
        finally { await f.SetKillSwitchAsync(false, "test: discrepancy understood, correcting"); }

        var revenueBefore = await f.BalanceAsync("revenue:usd");
        var cli = await f.CliAsync("ledger", "correct", "payment_outside_fairway", "--subject", pi, "--amount", "4200", "--reason", "test: charge made in the Dashboard by mistake");
        Assert.True(cli.ExitCode == 0, cli.Stdout + cli.Stderr);
        var correction = JsonDocument.Parse(cli.Stdout).RootElement;
        Assert.Equal(4200, correction.GetProperty("amount").GetInt64());
        Assert.Equal("clearing:usd", correction.GetProperty("from_account").GetString());
        Assert.Equal("revenue:usd", correction.GetProperty("to_account").GetString());
        Assert.Equal(revenueBefore + 4200, await f.BalanceAsync("revenue:usd"));
        var id = correction.GetProperty("id").GetInt64();
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_entries WHERE cause_type = 'correction' AND cause_id = @id AND kind = 'correction.payment_outside_fairway'", new { id = id.ToString() }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'ledger.correction_posted' AND entity_id = @id AND actor = 'admin:ops-1'", new { id = id.ToString() }));
        var again = await f.CorrectAsync("payment_outside_fairway", pi, "test: asked twice");
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(id, again.Body.GetProperty("id").GetInt64());
        Assert.Equal(revenueBefore + 4200, await f.BalanceAsync("revenue:usd"));
        var listed = await f.CliAsync("ledger", "corrections", "--kind", "payment_outside_fairway");
        Assert.Equal(0, listed.ExitCode);
        Assert.Contains(pi, listed.Stdout);

        await AssertCleanAsync();
        var item = (await f.ItemAsync(pi))!.Value;
        Assert.Equal("resolved", item.GetProperty("status").GetString());
        Assert.Contains($"ledger correction {id}", item.GetProperty("resolution").GetString());
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'reconciliation.discrepancy_closed' AND entity_id = @pi", new { pi }));
        Assert.Equal(0, (await f.CliAsync("reconciliation", "status")).ExitCode);
    }

    [Fact]
    public async Task A_local_success_with_nothing_at_Stripe_is_a_violation_the_ledger_checks_cannot_see()
    {
        // A SUCCEEDED payment with exactly the ledger entry a real one posts, for a payment intent Stripe never had (a bug or a forgery).
        var contest = await f.CreateContestAsync();
        var entry = "ent_forged_" + Guid.NewGuid().ToString("N")[..8];
        var pi = "pi_forged_" + Guid.NewGuid().ToString("N")[..12];
        await f.ExecAsync("""
            INSERT INTO entries (id, contest_id, user_id, golfers, status, created_at, updated_at, entry_fee, currency)
            VALUES (@entry, @contest, 'forger', '["g01","g02","g03"]', 'ACTIVE', now(), now(), 700, 'gbp');
            INSERT INTO payments (entry_id, payment_intent_id, amount, currency, status, created_at, updated_at)
            VALUES (@entry, @pi, 700, 'gbp', 'SUCCEEDED', now(), now());
            """, new { entry, contest, pi });
        await using (var db = NpgsqlDataSource.Create(TestDatabases.ConnectionString(f.DatabaseUrl)))
        await using (var c = await db.OpenConnectionAsync())
        await using (var tx = await c.BeginTransactionAsync())
        {
            await new LedgerRepository(db).PostAsync(tx, JournalEntry.Movement($"payment:{pi}:succeeded", "entry_fee.captured", "gbp", DateTimeOffset.UtcNow, "payment", pi,
                LedgerAccountRef.Clearing("gbp"), LedgerAccountRef.Escrow(contest), 700));
            await tx.CommitAsync();
        }
        using (var admin = f.Admin())
        {
            var ledgerRun = await Json(await admin.PostAsync("/api/admin/reconciliation/run", null));
            Assert.True(ledgerRun.GetProperty("violation_count").GetInt32() == 0, ledgerRun.ToString());
        }
        try
        {
            var run = await f.ReconcileAsync();
            Assert.Contains(("local_success_without_stripe_money", pi), StripeReconciliationFixture.Violations(run));
            Assert.True(await KillSwitchEngagedAsync());
            var dismiss = await f.CliAsync("reconciliation", "dismiss", pi, "--reason", "test: forged rows, investigated in INC-42");
            Assert.True(dismiss.ExitCode == 0, dismiss.Stdout + dismiss.Stderr);
            Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE action = 'reconciliation.discrepancy_dismissed' AND entity_id = @pi AND reason LIKE '%INC-42%'", new { pi }));
            using var admin = f.Admin();
            Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync($"/api/admin/reconciliation/stripe/items/{pi}/dismiss", new { reason = "test: twice" })).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync($"/api/admin/reconciliation/stripe/items/{pi}/dismiss", new { reason = "" })).StatusCode);
        }
        finally { await f.SetKillSwitchAsync(false, "test: forgery dismissed"); }
        await AssertCleanAsync();
        Assert.Equal("dismissed", (await f.ItemAsync(pi))!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_amount_difference_is_a_violation_and_a_refund_at_Stripe_with_two_corrections_closes_it()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        // Someone changes the amount at Stripe before the customer pays: Fairway refuses to apply the payment.
        await StripeFormAsync($"/v1/payment_intents/{pi}", new() { ["amount"] = "1500" });
        await f.Stripe.SucceedAsync(pi);
        await f.Stripe.WaitIdleAsync();
        Assert.Equal("PENDING", await f.PaymentStatusAsync(entry));
        string refund;
        try
        {
            var run = await f.ReconcileAsync();
            Assert.Contains(("amount_mismatch", pi), StripeReconciliationFixture.Violations(run));
            var detail = run.GetProperty("violations").EnumerateArray().Single(v => v.GetProperty("subject_id").GetString() == pi).GetProperty("detail").GetString();
            Assert.Contains("1500", detail);
            Assert.Contains("1000", detail);

            refund = (string)(await f.Stripe.PostAsync("/_sandbox/outside/refunds", new { payment_intent = pi }))["id"]!;
            run = await f.ReconcileAsync();
            Assert.Contains(("stripe_money_without_local_record", refund), StripeReconciliationFixture.Violations(run));
        }
        finally { await f.SetKillSwitchAsync(false, "test: refunded at Stripe, correcting"); }

        var paid = await f.CorrectAsync("payment_outside_fairway", pi, amount: 1500);
        Assert.True(paid.Status == HttpStatusCode.Created, paid.Body.ToString());
        var back = await f.CorrectAsync("refund_outside_fairway", refund);
        Assert.True(back.Status == HttpStatusCode.Created, back.Body.ToString());
        Assert.Equal(("revenue:usd", "clearing:usd", 1500L), (back.Body.GetProperty("from_account").GetString(), back.Body.GetProperty("to_account").GetString(), back.Body.GetProperty("amount").GetInt64()));
        await AssertCleanAsync();
    }

    [Fact]
    public async Task A_currency_difference_is_a_violation_until_the_payment_intent_is_cancelled_at_Stripe()
    {
        var contest = await f.CreateContestAsync();
        var (_, pi) = await f.NewEntryAsync(contest);
        await StripeFormAsync($"/v1/payment_intents/{pi}", new() { ["currency"] = "eur" });
        try
        {
            var run = await f.ReconcileAsync();
            Assert.Contains(("currency_mismatch", pi), StripeReconciliationFixture.Violations(run));
            Assert.True(await KillSwitchEngagedAsync());
        }
        finally { await f.SetKillSwitchAsync(false, "test: will cancel the intent"); }
        // No money moved: the exit is Stripe's own state (the intent can no longer be paid).
        await StripeFormAsync($"/v1/payment_intents/{pi}/cancel", new());
        await AssertCleanAsync();
        Assert.Equal("resolved", (await f.ItemAsync(pi))!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_refund_made_at_Stripe_whose_webhook_was_lost_waits_for_Fairway_then_becomes_a_violation_after_the_grace_period()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        // The entry is ACTIVE after the first of its payment's events; a later one, still unprocessed, would read the
        // intent from Stripe after the refund below and record it (the run then judged a recorded refund: "resolved").
        await f.WebhooksProcessedAsync(pi);
        var refund = (string)(await f.Stripe.PostAsync("/_sandbox/outside/refunds", new { payment_intent = pi, deliver_webhooks = false }))["id"]!;

        var run = await f.ReconcileAsync();
        Assert.True(run.GetProperty("violation_count").GetInt32() == 0, run.ToString());
        Assert.False(run.GetProperty("kill_switch_engaged_by_this_run").GetBoolean());
        Assert.Equal("awaiting_fairway", (await f.ItemAsync(refund))!.Value.GetProperty("status").GetString());
        // Not a correction's case: the fee is in a SCHEDULED contest's escrow, so Fairway records it as the entry's refund.
        var refused = await f.CorrectAsync("refund_outside_fairway", refund);
        Assert.Equal(HttpStatusCode.Conflict, refused.Status);
        Assert.Equal("CORRECTION_NOT_APPLICABLE", refused.Body.GetProperty("code").GetString());
        Assert.Contains($"/api/admin/payments/{entry}/converge", refused.Body.GetProperty("detail").GetString());

        await f.AdvanceClockAsync(StripeReconciliationFixture.GraceSeconds + 1);
        try
        {
            run = await f.ReconcileAsync();
            Assert.Contains(("stripe_money_without_local_record", refund), StripeReconciliationFixture.Violations(run));
            Assert.Contains("still not recorded by Fairway", (await f.ItemAsync(refund))!.Value.GetProperty("detail").GetString());
        }
        finally { await f.SetKillSwitchAsync(false, "test: converging the payment"); }

        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/admin/payments/{entry}/converge", null)).StatusCode);
        Assert.Equal("REFUNDED", await f.EntryStatusAsync(entry));
        await AssertCleanAsync();
        Assert.Equal("resolved", (await f.ItemAsync(refund))!.Value.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_dispute_lost_after_the_fee_left_escrow_is_a_violation_until_the_loss_is_booked()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test: refunded first" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "REFUNDED", "refunded");
        var charge = (string)(await f.Stripe.GetAsync($"/v1/payment_intents/{pi}"))["latest_charge"]!;
        var dispute = (string)(await f.Stripe.PostAsync($"/_sandbox/charges/{charge}/dispute", new { amount = 1000, reason = "fraudulent" }))["id"]!;
        await f.Stripe.PostAsync($"/_sandbox/disputes/{dispute}/close", new { status = "lost" });
        await PaymentsFixture.WaitUntilAsync(async () => await f.ScalarAsync<string?>("SELECT loss_ledger FROM disputes WHERE id = @dispute", new { dispute }) == "not_posted", "loss not posted");
        try
        {
            var run = await f.ReconcileAsync();
            Assert.Contains(("stripe_money_without_local_record", dispute), StripeReconciliationFixture.Violations(run));
        }
        finally { await f.SetKillSwitchAsync(false, "test: booking the loss"); }
        var revenueBefore = await f.BalanceAsync("revenue:usd");
        var booked = await f.CorrectAsync("dispute_loss_outside_escrow", dispute, "test: chargeback after a refund, house bears it", amount: 1000);
        Assert.True(booked.Status == HttpStatusCode.Created, booked.Body.ToString());
        Assert.Equal(revenueBefore - 1000, await f.BalanceAsync("revenue:usd"));
        await AssertCleanAsync();
    }

    [Fact]
    public async Task Corrections_are_typed_validated_confirmed_idempotent_and_checked_with_the_ledger()
    {
        var adjustment = (string)(await f.Stripe.PostAsync("/_sandbox/outside/balance_adjustments", new { amount = -250, currency = "usd", description = "Stripe fee correction" }))["id"]!;
        try
        {
            var run = await f.ReconcileAsync();
            Assert.Contains(("stripe_money_without_local_record", adjustment), StripeReconciliationFixture.Violations(run));
        }
        finally { await f.SetKillSwitchAsync(false, "test: the adjustment is a fee"); }

        async Task<(HttpStatusCode, JsonElement)> Post(object body)
        {
            using var admin = f.Admin();
            var r = await admin.PostAsJsonAsync("/api/admin/ledger/corrections", body);
            return (r.StatusCode, await Json(r));
        }
        static IEnumerable<string?> Codes(JsonElement problem) => problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString());
        var (s1, b1) = await Post(new { kind = "processing_fee_adjustment", subject = adjustment });
        Assert.Equal(HttpStatusCode.BadRequest, s1);
        Assert.Contains("REQUIRED", Codes(b1));
        var (s2, b2) = await Post(new { kind = "make_money", subject = adjustment, reason = "test" });
        Assert.Equal(HttpStatusCode.BadRequest, s2);
        Assert.Contains("UNKNOWN_KIND", Codes(b2));
        var (s3, b3) = await Post(new { kind = "processing_fee_adjustment", subject = "re_123", reason = "test" });
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Contains("SUBJECT_DOES_NOT_FIT_KIND", Codes(b3));
        var (s4, b4) = await Post(new { kind = "processing_fee_adjustment", subject = adjustment, amount = 0, reason = "test" });
        Assert.Equal(HttpStatusCode.BadRequest, s4);
        Assert.Contains("OUT_OF_RANGE", Codes(b4));
        var missing = await f.CorrectAsync("processing_fee_adjustment", "txn_sbx_999999");
        Assert.Equal((HttpStatusCode.NotFound, "CORRECTION_SUBJECT_NOT_FOUND"), (missing.Status, missing.Body.GetProperty("code").GetString()));
        var wrong = await f.CorrectAsync("processing_fee_adjustment", adjustment, amount: 999);
        Assert.Equal((HttpStatusCode.Conflict, "CORRECTION_AMOUNT_MISMATCH"), (wrong.Status, wrong.Body.GetProperty("code").GetString()));
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM ledger_corrections WHERE subject = @adjustment", new { adjustment }));

        // A charge's own balance transaction is explained by the payment (and its fee is booked automatically).
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.PaidEntryAsync(contest);
        var chargeTxn = await ChargeBalanceTransactionAsync(pi);
        var notApplicable = await f.CorrectAsync("processing_fee_adjustment", chargeTxn);
        Assert.Equal((HttpStatusCode.Conflict, "CORRECTION_NOT_APPLICABLE"), (notApplicable.Status, notApplicable.Body.GetProperty("code").GetString()));
        // Fairway's own refund is explained by Fairway's own ledger entries.
        using (var admin = f.Admin())
            Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "test" })).StatusCode);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(entry) == "SUCCEEDED", "refund settled");
        var ownRefund = await f.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        var own = await f.CorrectAsync("refund_outside_fairway", ownRefund);
        Assert.Equal((HttpStatusCode.Conflict, "CORRECTION_NOT_APPLICABLE"), (own.Status, own.Body.GetProperty("code").GetString()));

        var feesBefore = await f.BalanceAsync("processing_fees:usd");
        var made = await f.CorrectAsync("processing_fee_adjustment", adjustment, "test: Stripe's fee correction of November", amount: 250);
        Assert.Equal(HttpStatusCode.Created, made.Status);
        Assert.Equal(("processing_fees:usd", "clearing:usd"), (made.Body.GetProperty("from_account").GetString(), made.Body.GetProperty("to_account").GetString()));
        Assert.Equal(adjustment, made.Body.GetProperty("evidence").GetProperty("balance_transaction_id").GetString());
        Assert.Equal(feesBefore - 250, await f.BalanceAsync("processing_fees:usd"));
        var repeated = await f.CorrectAsync("processing_fee_adjustment", adjustment, "test: same again", amount: 250);
        Assert.Equal((HttpStatusCode.OK, made.Body.GetProperty("id").GetInt64()), (repeated.Status, repeated.Body.GetProperty("id").GetInt64()));
        Assert.Equal(feesBefore - 250, await f.BalanceAsync("processing_fees:usd"));

        using (var admin = f.Admin())
        {
            var kinds = JsonDocument.Parse(await admin.GetStringAsync("/api/admin/ledger/corrections/kinds")).RootElement.GetProperty("kinds");
            Assert.Equal(["dispute_loss_outside_escrow", "payment_outside_fairway", "processing_fee_adjustment", "refund_outside_fairway", "transfer_outside_fairway"],
                kinds.EnumerateArray().Select(k => k.GetProperty("kind").GetString()).ToArray());
            Assert.All(kinds.EnumerateArray(), k => Assert.DoesNotContain("escrow:", k.GetProperty("movement").GetString()));
            var ledgerRun = await Json(await admin.PostAsync("/api/admin/reconciliation/run", null));
            Assert.Contains("correction_matches_ledger_entry", ledgerRun.GetProperty("checks").EnumerateArray().Select(c => c.GetString()));
            Assert.True(ledgerRun.GetProperty("violation_count").GetInt32() == 0, ledgerRun.ToString());
        }
        await AssertCleanAsync();
    }

    async Task StripeFormAsync(string path, Dictionary<string, string> form)
    {
        var r = await f.Stripe.Http.PostAsync(path, new FormUrlEncodedContent(form));
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
    }
}
