using System.Net;
using System.Net.Http.Json;
using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Fairway.IntegrationTests.Console;

/// <summary>
/// Issue 9's states that only an audited admin action leaves, handled from the console in the real browser: a contest in
/// ERROR resolved, a refund owed sent again, a dead-lettered webhook replayed — each with a reason, the exact `fairway`
/// command shown, one admin API call, and its audit row seen on the page.
/// </summary>
public sealed partial class ConsoleBrowserTests
{
    static readonly string[] Roster = ["g01", "g02", "g03"];

    [Fact]
    public async Task A_contest_in_ERROR_shows_why_and_is_resolved_from_the_console_with_a_reason_and_then_settles()
    {
        // One entry's payment is missing from the ledger: every settlement fails with ESCROW_MISMATCH; after two (the
        // fixture's SETTLEMENT_MAX_FAILED_ATTEMPTS) the contest moves to ERROR by itself.
        var s = await W.SeedCompleteContestAsync(3, holdSeconds: 0, unfunded: 1);
        for (var i = 1; i <= 2 && await W.StateAsync(s.ContestId) == "COMPLETE"; i++)
        {
            // 202, or 409 when a retry of the first run (or the scheduler) moved the contest to ERROR meanwhile.
            var run = await W.Admin.PostAsync($"/api/admin/settlements/{s.ContestId}/run?wait_seconds=0", null);
            Assert.True(run.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.Conflict, await run.Content.ReadAsStringAsync());
            var runs = i;
            await Wait.UntilAsync(async () => await W.StateAsync(s.ContestId) == "ERROR" || await W.ScalarAsync<long>(
                "SELECT count(*) FROM settlement_runs WHERE contest_id = @c AND outcome = 'failed'", new { c = s.ContestId }) >= runs, $"failed settlement run {i} recorded", 60);
        }
        await Wait.UntilAsync(async () => await W.StateAsync(s.ContestId) == "ERROR", "contest in ERROR", 60);

        await using var tab = await SignedInAsync();
        var listed = tab.ByTestId("attention-error").GetByRole(AriaRole.Listitem).Filter(new() { HasText = s.ContestId });
        await Expect(listed).ToContainTextAsync("ESCROW_MISMATCH");
        Assert.True(int.Parse((await tab.ByTestId("contests-in-error").TextContentAsync())!) >= 1);
        await tab.ScreenshotAsync("overview-waiting-for-a-decision");

        await listed.GetByRole(AriaRole.Link, new() { Name = s.ContestId }).ClickAsync();
        await tab.WaitLoadedAsync();
        await Expect(tab.ByTestId("contest-state")).ToHaveTextAsync("ERROR");
        await Expect(tab.ByTestId("contest-error-cause")).ToContainTextAsync("ESCROW_MISMATCH after 2 failed settlement runs");
        await Expect(tab.ByTestId("contest-error")).ToContainTextAsync("contest-error");
        await tab.ScreenshotAsync("contest-error");

        // The other exit shows its own command; not taken here.
        await tab.ByTestId("contest-resolve-cancel").ClickAsync();
        await tab.ByTestId("action-reason").FillAsync("cannot be settled");
        await Expect(tab.ByTestId("action-command")).ToHaveTextAsync($"fairway contests resolve {s.ContestId} --cancel-and-refund --reason 'cannot be settled'");
        await tab.ByTestId("action-cancel").ClickAsync();

        // The cause is repaired (the missing payment is booked); the operator retries the settlement from the console.
        await W.PostMissingPaymentAsync(s.ContestId, $"{s.ContestId}-e0002", 1000);
        await tab.MarkDocumentAsync();
        const string reason = "payment of e0002 booked after the Stripe incident, ticket 44";
        await tab.ActAsync("contest-resolve-retry", reason, $"fairway contests resolve {s.ContestId} --retry-settlement --reason '{reason}'");

        await Expect(tab.ByTestId("output-hash")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[0-9a-f]{64}$"), new() { Timeout = 60000 });
        await Expect(tab.ByTestId("contest-state")).ToHaveTextAsync("COMPLETE");
        await Expect(tab.ByTestId("contest-error")).ToHaveCountAsync(0);
        var resolved = tab.ByTestId("timeline").Locator("li[data-action='contest.transition']").Filter(new() { HasText = $"admin:{Operator}" });
        await Expect(resolved).ToContainTextAsync(reason);
        await tab.AssertNotReloadedAsync();
        await tab.ScreenshotAsync("contest-error-resolved");

        Assert.Equal(1, await W.ScalarAsync<long>("""
            SELECT count(*) FROM audit_events WHERE entity_type = 'contest' AND entity_id = @c AND action = 'contest.transition'
               AND before_state->>'state' = 'ERROR' AND after_state->>'state' = 'COMPLETE' AND actor = @actor AND reason = @reason
            """, new { c = s.ContestId, actor = $"admin:{Operator}", reason }));
        Assert.Equal(0, await W.BalanceAsync($"escrow:{s.ContestId}"));
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task A_refund_Stripe_failed_is_owed_and_sent_again_from_the_console_with_a_reason()
    {
        var contest = await ContestSetup.CreateOpenForEntriesAsync(W.Admin, W.Now.AddDays(365), ingestionBase: W.IngestionBase);
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, "refund-player-1", Roster);
        await W.Stripe.SucceedAsync(pi);
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE");

        // The player asks for the refund; the bank refuses it at Stripe: it is owed (and would be retried after its backoff).
        await W.Stripe.PostAsync("/_sandbox/refunds/pending_next", new { count = 1 });
        Assert.Equal(HttpStatusCode.Accepted, (await W.Admin.PostAsJsonAsync($"/api/admin/entries/{entry}/refund", new { reason = "player asked before the lock" })).StatusCode);
        await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "SUBMITTED", "refund SUBMITTED");
        var first = await W.ScalarAsync<string>("SELECT stripe_refund_id FROM refunds WHERE entry_id = @entry", new { entry });
        await W.Stripe.PostAsync($"/_sandbox/refunds/{first}/fail", new { failure_reason = "expired_or_canceled_card" });
        await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "FAILED", "refund FAILED");

        // What the console shows is what the metric and the CLI say.
        var owed = await W.GetAsync("/api/admin/refunds/owed");
        var failedInDb = await W.ScalarAsync<long>("SELECT count(*) FROM refunds WHERE status = 'FAILED'");
        Assert.Equal(failedInDb, owed.GetProperty("count").GetInt64());
        Assert.Matches($@"(?m)^refunds_owed {failedInDb}$", await W.Api.Client().GetStringAsync("/metrics"));
        Assert.Equal(1, (await W.CliAsync("payments", "refunds-owed")).ExitCode);

        await using var tab = await SignedInAsync();
        await Expect(tab.ByTestId("refunds-owed")).ToHaveTextAsync(failedInDb.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(tab.ByTestId("refunds-owed-amount")).ToContainTextAsync("USD 10.00");
        await tab.GoAsync("/payouts");
        var row = tab.ByTestId("refunds-owed").Locator($"tr[data-row='{entry}']");
        await Expect(row).ToContainTextAsync("FAILED");
        await Expect(row).ToContainTextAsync("expired_or_canceled_card");
        await Expect(row).ToContainTextAsync("escrow");
        await Expect(row.Locator("td", new() { HasTextRegex = new System.Text.RegularExpressions.Regex(@"^1 / \d+$") })).ToHaveCountAsync(1); // attempts: one send so far
        await tab.ScreenshotAsync("payouts-refund-owed");
        await tab.MarkDocumentAsync();

        const string reason = "player updated the card, ticket 52";
        await tab.ActAsync($"refund-retry-{entry}", reason, $"fairway payments refund-retry {entry} --reason '{reason}'");

        await Wait.UntilAsync(async () => await W.RefundStatusAsync(entry) == "SUCCEEDED", "refund SUCCEEDED after the retry from the console");
        await Expect(row).ToHaveCountAsync(0, new() { Timeout = 20000 });
        await tab.AssertNotReloadedAsync();

        // The contest's page has the refund and its audit row, with the operator and the reason.
        await tab.GoAsync($"/contests/{contest}");
        await Expect(tab.ByTestId("contest-refunds").Locator($"tr[data-row='{entry}']")).ToContainTextAsync("SUCCEEDED");
        var audit = tab.ByTestId("timeline").Locator("li[data-action='refund.retry_requested']");
        await Expect(audit).ToContainTextAsync($"admin:{Operator}");
        await Expect(audit).ToContainTextAsync(reason);
        await tab.ScreenshotAsync("contest-refund-retried");
        Assert.Equal(1, await W.ScalarAsync<long>(
            "SELECT count(*) FROM audit_events WHERE entity_id = 'rf_' || @entry AND action = 'refund.retry_requested' AND actor = @actor AND reason = @reason",
            new { entry, actor = $"admin:{Operator}", reason }));
        await MoneyInvariants.AssertHoldAsync(W.DatabaseUrl);
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task A_dead_lettered_webhook_is_replayed_from_the_console_with_a_reason_and_its_audit_row_appears()
    {
        var contest = await ContestSetup.CreateOpenForEntriesAsync(W.Admin, W.Now.AddDays(365), ingestionBase: W.IngestionBase);
        var (entry, pi) = await W.EnterThroughTheApiAsync(contest, "webhook-player-1", Roster);
        // Stripe cannot be read for this payment: every processing attempt of its success fails until it is parked.
        await W.Stripe.PostAsync("/_sandbox/faults", new { method = "GET", path_prefix = $"/v1/payment_intents/{pi}", kind = "http_500", count = -1 });
        string eventId;
        try
        {
            await W.Stripe.SucceedAsync(pi);
            await Wait.UntilAsync(async () => await W.ScalarAsync<long>(
                "SELECT count(*) FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded' AND payload LIKE '%' || @pi || '%'", new { pi }) == 1, "event stored");
            eventId = await W.ScalarAsync<string>("SELECT event_id FROM stripe_webhook_events WHERE type = 'payment_intent.succeeded' AND payload LIKE '%' || @pi || '%'", new { pi });
            await Wait.UntilAsync(async () =>
            {
                await W.TriggerAsync("stripe-webhook-drain");
                return await W.ScalarAsync<long>("SELECT count(*) FROM stripe_webhook_attempt_log WHERE event_id = @eventId AND kind = 'parked'", new { eventId }) == 1;
            }, "event parked", 120);

            await using var parked = await SignedInAsync();
            await Expect(parked.ByTestId("dead-letters-count")).Not.ToHaveTextAsync("0");
            await parked.GoAsync("/webhooks");
            await Expect(parked.ByTestId("dead-letters").Locator($"tr[data-row='{eventId}']")).ToContainTextAsync("payment_intent.succeeded");
            await Expect(parked.ByTestId("recent-webhooks").Locator($"tr[data-row='{eventId}']")).ToContainTextAsync("dead letter");
            await parked.ScreenshotAsync("webhooks-dead-letter");
        }
        finally { await W.Stripe.SendAsync(HttpMethod.Delete, "/_sandbox/faults"); }
        Assert.Equal("PENDING_PAYMENT", await W.EntryStatusAsync(entry));

        // The cause is gone (Stripe answers again); the operator replays the event from the console.
        await using var tab = await SignedInAsync();
        await tab.GoAsync("/webhooks");
        await tab.MarkDocumentAsync();
        const string reason = "Stripe reads work again after incident 9";
        await tab.ActAsync($"replay-{eventId}", reason, $"fairway webhooks replay {eventId} --reason '{reason}'");

        var replayed = tab.ByTestId("webhook-replays").Locator($"tr[data-row='{eventId}']");
        await Expect(replayed).ToContainTextAsync($"admin:{Operator}", new() { Timeout = 20000 });
        await Expect(replayed).ToContainTextAsync(reason);
        await Wait.UntilAsync(async () => await W.EntryStatusAsync(entry) == "ACTIVE", "entry ACTIVE after the replay");
        await Expect(tab.ByTestId("dead-letters").Locator($"tr[data-row='{eventId}']")).ToHaveCountAsync(0, new() { Timeout = 20000 });
        await Expect(tab.ByTestId("recent-webhooks").Locator($"tr[data-row='{eventId}']")).ToContainTextAsync("applied", new() { Timeout = 20000 });
        await tab.AssertNotReloadedAsync();
        await tab.ScreenshotAsync("webhooks-replayed");
        Assert.Equal(1, await W.ScalarAsync<long>(
            "SELECT count(*) FROM audit_events WHERE entity_type = 'stripe_webhook_event' AND entity_id = @eventId AND action = 'webhook.replayed' AND actor = @actor AND reason = @reason",
            new { eventId, actor = $"admin:{Operator}", reason }));
        await MoneyInvariants.AssertHoldAsync(W.DatabaseUrl);
        tab.AssertNoScriptErrors();
    }
}
