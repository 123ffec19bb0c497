using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Payments;

/// <summary>
/// Seed 002 W1/E1 (a paid entry puts its fee into the contest escrow; ledger sum == balances) with its retry
/// variant (the same request twice and concurrently → one entry, one PaymentIntent) and its crash variant (the
/// API killed between the entry insert and the Stripe call → healed by the sweeper, the retried request returns
/// the same entry and the same PaymentIntent). Plus entry validation.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class EntryPaymentTests(PaymentsFixture f)
{
    [Fact]
    public async Task W1_E1_a_paid_entry_moves_its_fee_from_clearing_into_the_contest_escrow_and_becomes_active()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();
        var (status, body) = await f.EnterAsync(player, contest);
        Assert.Equal(HttpStatusCode.Created, status);
        var entry = body.GetProperty("entry").GetProperty("id").GetString()!;
        var payment = body.GetProperty("payment");
        var pi = payment.GetProperty("payment_intent_id").GetString()!;
        Assert.StartsWith("ent_", entry);
        Assert.StartsWith("pi_", pi);
        Assert.StartsWith(pi + "_secret_", payment.GetProperty("client_secret").GetString());
        Assert.Equal("PENDING_PAYMENT", body.GetProperty("entry").GetProperty("status").GetString());
        Assert.Equal(PaymentsFixture.Fee, payment.GetProperty("amount").GetInt64());
        // The PaymentIntent at Stripe carries the entry's metadata and the entry's fee.
        var stripePi = await f.Stripe.GetAsync($"/v1/payment_intents/{pi}");
        Assert.Equal(entry, (string?)stripePi["metadata"]!["entry_id"]);
        Assert.Equal(PaymentsFixture.Fee, (long)stripePi["amount"]!);
        Assert.Equal(0, await f.EscrowAsync(contest));
        // As NewEntryAsync does: payment_intent.created converges from the intent's CURRENT state, so if it were
        // still queued when the payment succeeds, it (not payment_intent.succeeded) would activate the entry.
        await PaymentsFixture.WaitUntilAsync(async () => await f.ProcessedEventsAsync("payment_intent.created", pi) == 1, $"payment_intent.created of {pi} processed");

        await f.Stripe.SucceedAsync(pi);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");

        Assert.Equal("SUCCEEDED", await f.PaymentStatusAsync(entry));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(PaymentsFixture.Fee, await f.ScalarAsync<long>("SELECT coalesce(sum(amount), 0)::bigint FROM ledger_postings WHERE account_id = 'escrow:' || @contest", new { contest }));
        // Whichever event converged the payment first, payment_intent.succeeded is processed too (superseded or applied), once.
        await PaymentsFixture.WaitUntilAsync(async () => await f.ProcessedEventsAsync("payment_intent.succeeded", pi) == 1, "payment_intent.succeeded processed");
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'payment' AND entity_id = @pi AND action = 'payment.succeeded'", new { pi }));
        // The payment row's creation has its audit row too (issue 10), written with the row.
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE entity_type = 'payment' AND entity_id = @pi AND action = 'payment.recorded'", new { pi }));

        using var http = f.Player(player);
        var mine = JsonDocument.Parse(await http.GetStringAsync("/api/me/entries?limit=10")).RootElement;
        var listed = Assert.Single(mine.GetProperty("data").EnumerateArray());
        Assert.Equal(entry, listed.GetProperty("id").GetString());
        Assert.Equal("ACTIVE", listed.GetProperty("status").GetString());
        Assert.Equal("SUCCEEDED", listed.GetProperty("payment").GetProperty("status").GetString());
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W1_retry_the_same_request_twice_and_concurrently_gives_one_entry_and_one_payment_intent()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();
        var key = "retry-" + Guid.NewGuid().ToString("N");
        var intentsBefore = await f.StripeStatAsync("payment_intents_created");

        var first = await f.EnterAsync(player, contest, key);
        var second = await f.EnterAsync(player, contest, key);
        // Six at once: all six were blocked together behind the contest row (the lock entry creation takes) before they raced.
        var (concurrent, together) = await LockWaits.RaceAsync(f.DatabaseUrl, "SELECT 1 FROM contests WHERE id = @contest FOR UPDATE", new { contest }, 6,
            _ => f.EnterAsync(player, contest, key));
        Assert.True(together >= 6, $"{together} requests overlapped");
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.All(concurrent, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        var entry = first.Body.GetProperty("entry").GetProperty("id").GetString();
        var pi = first.Body.GetProperty("payment").GetProperty("payment_intent_id").GetString();
        Assert.All(concurrent.Append(second), r =>
        {
            Assert.Equal(entry, r.Body.GetProperty("entry").GetProperty("id").GetString());
            Assert.Equal(pi, r.Body.GetProperty("payment").GetProperty("payment_intent_id").GetString());
        });
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE user_id = @player", new { player }));
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM payments WHERE entry_id = @entry", new { entry }));
        Assert.Equal(intentsBefore + 1, await f.StripeStatAsync("payment_intents_created"));

        // Same key, different body → refused, nothing written.
        var conflict = await f.EnterAsync(player, contest, key, ["g04", "g05", "g06"]);
        Assert.Equal(HttpStatusCode.Conflict, conflict.Status);
        Assert.Equal("IDEMPOTENCY_CONFLICT", conflict.Body.GetProperty("code").GetString());
        Assert.Equal(1, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE user_id = @player", new { player }));

        // The payment's success delivered twice (duplicate webhook) still has one effect.
        await f.Stripe.PostAsync("/_sandbox/webhooks/duplicate", new { count = 2 });
        await f.Stripe.SucceedAsync(pi!);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry!) == "ACTIVE", "entry ACTIVE");
        await f.Stripe.WaitIdleAsync();
        Assert.Equal(1, await f.LedgerEntriesAsync($"payment:{pi}:succeeded"));
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        Assert.Equal(1, await f.StoredEventsAsync("payment_intent.succeeded", pi!));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task W1_crash_between_the_entry_insert_and_the_stripe_call_is_healed_by_the_sweeper_and_the_retried_request()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();
        var key = "crash-" + Guid.NewGuid().ToString("N");
        var intentsBefore = await f.StripeStatAsync("payment_intents_created");
        await f.RestartApiAsync(crashPoints: "payments.after_entry_insert_before_intent");
        try
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => f.EnterAsync(player, contest, key));
            Assert.NotEqual(0, await f.Api.Process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(f.Api.Process.Stderr, l => l.Contains("payments.after_entry_insert_before_intent"));
            // All of the insert step happened, none of the Stripe step.
            var entry = await f.ScalarAsync<string>("SELECT id FROM entries WHERE user_id = @player", new { player });
            Assert.Equal("PENDING_PAYMENT", await f.EntryStatusAsync(entry));
            Assert.Null(await f.PaymentStatusAsync(entry));
            Assert.Equal(intentsBefore, await f.StripeStatAsync("payment_intents_created"));
        }
        finally { await f.RestartApiAsync(); }

        var orphan = await f.ScalarAsync<string>("SELECT id FROM entries WHERE user_id = @player", new { player });
        await f.TriggerAsync("payment-sweeper");
        var pi = await f.ScalarAsync<string>("SELECT payment_intent_id FROM payments WHERE entry_id = @orphan", new { orphan });
        Assert.NotNull(pi);
        Assert.Equal(intentsBefore + 1, await f.StripeStatAsync("payment_intents_created"));

        var retried = await f.EnterAsync(player, contest, key);
        Assert.Equal(HttpStatusCode.OK, retried.Status);
        Assert.Equal(orphan, retried.Body.GetProperty("entry").GetProperty("id").GetString());
        Assert.Equal(pi, retried.Body.GetProperty("payment").GetProperty("payment_intent_id").GetString());
        Assert.Equal(intentsBefore + 1, await f.StripeStatAsync("payment_intents_created"));

        await f.Stripe.SucceedAsync(pi);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(orphan) == "ACTIVE", "healed entry ACTIVE");
        Assert.Equal(PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Max_entries_holds_a_payment_completing_after_the_contest_filled_is_voided_and_refunded_and_new_entries_are_refused()
    {
        string contest;
        using (var admin = f.Admin())
        {
            var (t, c, pe) = (ContestSetup.NewId("t"), ContestSetup.NewId("c"), "sr:" + Guid.NewGuid().ToString("N")[..8]);
            (await admin.PostAsJsonAsync("/api/admin/tournaments", new { id = t, provider_event_id = pe, name = "Full Open" })).EnsureSuccessStatusCode();
            var config = ContestSetup.Config(t, c, pe, DateTimeOffset.UtcNow.AddDays(30), minEntries: 2);
            config["rules"]!["max_entries"] = 2;
            var created = await admin.PostAsJsonAsync("/api/admin/contests", new { id = c, tournament_id = t, name = "Two seats", config });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            var field = new { participants = Enumerable.Range(1, 12).Select(i => new { id = $"g{i:00}", name = $"Golfer {i}", world_rank = i }).ToArray() };
            (await admin.PutAsJsonAsync($"/api/admin/contests/{c}/field", field)).EnsureSuccessStatusCode();
            contest = c;
        }
        var (a, piA) = await f.NewEntryAsync(contest);
        var (b, piB) = await f.NewEntryAsync(contest);
        var (third, piC) = await f.NewEntryAsync(contest);
        await f.Stripe.SucceedAsync(piA);
        await f.Stripe.SucceedAsync(piB);
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(a) == "ACTIVE" && await f.EntryStatusAsync(b) == "ACTIVE", "two seats taken");
        var full = await f.EnterAsync(PaymentsFixture.NewPlayer(), contest);
        Assert.Equal(HttpStatusCode.Conflict, full.Status);
        Assert.Equal("CONTEST_FULL", full.Body.GetProperty("code").GetString());

        await f.Stripe.SucceedAsync(piC);
        await PaymentsFixture.WaitUntilAsync(async () => await f.RefundStatusAsync(third) == "SUCCEEDED", "third payment refunded");
        Assert.Contains("contest full", await f.ScalarAsync<string>("SELECT reason FROM refunds WHERE entry_id = @third", new { third }));
        Assert.Equal(2, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contest AND status = 'ACTIVE'", new { contest }));
        Assert.Equal(2 * PaymentsFixture.Fee, await f.EscrowAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task A_payment_intent_canceled_at_Stripe_voids_the_entry_and_moves_no_money()
    {
        var contest = await f.CreateContestAsync();
        var (entry, pi) = await f.NewEntryAsync(contest);
        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["cancellation_reason"] = "abandoned" }))
            (await f.Stripe.Http.PostAsync($"/v1/payment_intents/{pi}/cancel", form)).EnsureSuccessStatusCode();
        await PaymentsFixture.WaitUntilAsync(async () => await f.EntryStatusAsync(entry) == "VOID", "entry VOID");
        Assert.Equal("CANCELED", await f.PaymentStatusAsync(entry));
        Assert.Equal(0, await f.EscrowAsync(contest));
        Assert.Equal(0, await f.LedgerEntriesOfContestAsync(contest));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }

    [Fact]
    public async Task Entries_are_refused_with_every_roster_violation_when_closed_and_with_a_bad_key_and_nothing_is_written()
    {
        var contest = await f.CreateContestAsync();
        var player = PaymentsFixture.NewPlayer();

        var bad = await f.EnterAsync(player, contest, golfers: ["g01", "g01", "zz"]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Equal("ROSTER_INVALID", bad.Body.GetProperty("code").GetString());
        var codes = bad.Body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("code").GetString()).ToList();
        Assert.Contains("ROSTER_DUPLICATE_GOLFER", codes);
        Assert.Contains("ROSTER_GOLFER_NOT_IN_FIELD", codes);

        var tooLong = await f.EnterAsync(player, contest, key: new string('k', 101));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.Status);
        Assert.Equal("VALIDATION_FAILED", tooLong.Body.GetProperty("code").GetString());

        using (var http = f.Player(player))
        {
            var empty = await http.PostAsync($"/api/contests/{contest}/entries", new StringContent("""{"golfers":[]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
            var unknown = await http.PostAsync($"/api/contests/{contest}/entries", new StringContent("""{"golfers":["g01","g02","g03"],"amount":1}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            var missing = await http.PostAsync("/api/contests/no-such-contest/entries", JsonContent.Create(new { golfers = PaymentsFixture.Roster }));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var admin = f.Admin())
            (await admin.PostAsJsonAsync($"/api/admin/contests/{contest}/cancel", new { reason = "test: closed contest" })).EnsureSuccessStatusCode();
        var closed = await f.EnterAsync(player, contest);
        Assert.Equal(HttpStatusCode.Conflict, closed.Status);
        Assert.Equal("CONTEST_NOT_OPEN", closed.Body.GetProperty("code").GetString());
        Assert.Equal(0, await f.ScalarAsync<long>("SELECT count(*) FROM entries WHERE user_id = @player", new { player }));
        await MoneyInvariants.AssertHoldAsync(f.DatabaseUrl);
    }
}
