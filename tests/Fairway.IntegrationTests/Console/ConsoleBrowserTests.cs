using System.Net;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payouts;
using Fairway.IntegrationTests.Settlement;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Fairway.IntegrationTests.Console;

/// <summary>A real deployment (API, worker, PostgreSQL, Stripe and provider sandboxes) and one headless chromium.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public MoneyOutWorld World { get; private set; } = null!;
    public ConsoleBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        World = await MoneyOutWorld.StartAsync(provider: true, env: e =>
        {
            // Issue 9's dead ends reached quickly: ERROR after two failed settlements, a webhook parked after three failed attempts.
            e["SETTLEMENT_MAX_FAILED_ATTEMPTS"] = "2";
            e["STRIPE_WEBHOOK_MAX_ATTEMPTS"] = "3";
            e["STRIPE_MAX_NETWORK_RETRIES"] = "1";
        });
        // Stripe's webhooks reach the API, so the webhooks page shows real deliveries (account.updated of onboarding).
        await World.Stripe.PointWebhooksAtAsync(World.Api.BaseUrl);
        Browser = await ConsoleBrowser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        await World.DisposeAsync();
    }
}

/// <summary>
/// The admin console in a real browser against a real deployment: it signs in with an admin token, shows state
/// changing live (no reload), its actions go through the admin API with a reason and show the exact `fairway`
/// command, and a player token sees nothing. Screenshots of every page go to artifacts/console-screenshots.
/// </summary>
public sealed partial class ConsoleBrowserTests(ConsoleFixture f) : IClassFixture<ConsoleFixture>
{
    const string Operator = "console-ops";
    static readonly string AdminToken = TestAuth.Token(Operator, admin: true);
    MoneyOutWorld W => f.World;

    async Task<ConsoleTab> SignedInAsync()
    {
        var tab = await f.Browser.OpenAsync(W.Api.BaseUrl);
        await tab.SignInAsync(AdminToken);
        await tab.WaitLoadedAsync();
        await Expect(tab.ByTestId("whoami")).ToHaveTextAsync($"admin:{Operator}");
        return tab;
    }

    [Fact]
    public async Task Signing_in_with_an_admin_token_opens_the_overview_with_every_signal()
    {
        await using var tab = await SignedInAsync();
        await Expect(tab.Page.Locator("h1")).ToHaveTextAsync("Overview");
        foreach (var card in new[] { "card-kill-switch", "card-attention", "card-alerts", "card-money", "card-payouts", "card-reconciliation", "card-backup", "card-contests", "card-ingestion", "card-jobs" })
            await Expect(tab.ByTestId(card)).ToBeVisibleAsync();
        await Expect(tab.ByTestId("kill-switch")).ToContainTextAsync("Off");
        await Expect(tab.ByTestId("card-jobs")).ToContainTextAsync("payout-scheduler");
        // The freshness line counts up between refreshes.
        await Expect(tab.ByTestId("updated")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^updated \d+ s ago$"));
        await tab.ScreenshotAsync("overview");
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task A_contest_page_left_open_shows_the_contest_move_from_LIVE_to_COMPLETE_without_a_reload()
    {
        var p = await W.PlayToLiveAsync(seed: 61);
        await using var tab = await SignedInAsync();
        await tab.GoAsync($"/contests/{p.ContestId}");
        await Expect(tab.ByTestId("contest-state")).ToHaveTextAsync("LIVE");
        await Expect(tab.ByTestId("entries-active")).ToHaveTextAsync("4");
        await Expect(tab.ByTestId("escrow")).ToHaveTextAsync("USD 40.00");
        await Expect(tab.ByTestId("standings")).ToBeVisibleAsync();
        await tab.ScreenshotAsync("contest-live");
        await tab.MarkDocumentAsync();

        // The worker ingests the rest of the tournament until the provider closes it; the open page follows by itself.
        await W.FinishAsync(p);
        await Expect(tab.ByTestId("contest-state")).ToHaveTextAsync("COMPLETE", new() { Timeout = 30000 });
        await tab.AssertNotReloadedAsync();
        var transitions = tab.ByTestId("timeline").Locator("li[data-action='contest.transition']");
        await Expect(transitions).ToHaveCountAsync(3); // LOCKED, LIVE, COMPLETE: newest first
        await Expect(transitions.First).ToContainTextAsync("system:ingestion");
        await tab.ScreenshotAsync("contest-complete");

        await tab.GoAsync("/contests?state=COMPLETE");
        await Expect(tab.ByTestId($"state-{p.ContestId}")).ToHaveTextAsync("COMPLETE");
        await tab.ScreenshotAsync("contests");
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task An_engaged_kill_switch_shows_who_and_why_and_the_console_turns_it_off_with_a_reason_through_the_admin_api()
    {
        await using var tab = await SignedInAsync();
        await Expect(tab.ByTestId("kill-switch")).ToContainTextAsync("Off");
        await tab.MarkDocumentAsync();

        // The dialog shows the exact command; run as displayed by the CLI (another operator), it engages the switch.
        const string engageReason = "incident 7: Stripe reports transfers we did not make";
        await tab.ByTestId("kill-switch-action").ClickAsync();
        await tab.ByTestId("action-reason").FillAsync(engageReason);
        var shown = await tab.ByTestId("action-command").TextContentAsync();
        Assert.Equal($"fairway killswitch on --reason '{engageReason}'", shown);
        await tab.ByTestId("action-cancel").ClickAsync();
        var cli = await W.CliAsync(ShellWords.Split(shown!).Skip(1).ToArray());
        Assert.True(cli.ExitCode == 0, cli.Stdout + cli.Stderr);

        try
        {
            // Seen live on the open page: engaged, by whom, why.
            await Expect(tab.ByTestId("kill-switch")).ToContainTextAsync("ENGAGED", new() { Timeout = 20000 });
            await Expect(tab.ByTestId("kill-switch-by")).ToHaveTextAsync("admin:ops-1");
            await Expect(tab.ByTestId("kill-switch-reason")).ToHaveTextAsync(engageReason);
            await tab.AssertNotReloadedAsync();
            await tab.ScreenshotAsync("kill-switch-engaged");

            // Turned off from the console: a reason is required before the action can be confirmed.
            const string offReason = "incident 7 resolved: the transfers were the sandbox's replay";
            await tab.ByTestId("kill-switch-action").ClickAsync();
            await Expect(tab.ByTestId("action-confirm")).ToBeDisabledAsync();
            await tab.ByTestId("action-reason").FillAsync("ok");
            await Expect(tab.ByTestId("action-confirm")).ToBeDisabledAsync();
            await tab.ByTestId("action-reason").FillAsync(offReason);
            // A quote in the reason is shell-quoted, so the command can be pasted as shown.
            await Expect(tab.ByTestId("action-command")).ToHaveTextAsync("fairway killswitch off --reason 'incident 7 resolved: the transfers were the sandbox'\\''s replay'");
            Assert.Equal(["fairway", "killswitch", "off", "--reason", offReason], ShellWords.Split((await tab.ByTestId("action-command").TextContentAsync())!));
            await tab.ByTestId("action-confirm").ClickAsync();
            await Expect(tab.ByTestId("kill-switch")).ToContainTextAsync("Off", new() { Timeout = 20000 });
            await Expect(tab.ByTestId("kill-switch-by")).ToHaveTextAsync($"admin:{Operator}");

            var audit = (await W.GetAsync("/api/admin/audit?entity_type=kill_switch&entity_id=1&limit=1")).GetProperty("events")[0];
            Assert.Equal(("kill_switch.disengaged", $"admin:{Operator}", offReason),
                (audit.GetProperty("action").GetString(), audit.GetProperty("actor").GetString(), audit.GetProperty("reason").GetString()));
        }
        finally { await W.KillSwitchAsync(false); }
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task A_failed_payout_is_retried_from_the_console_with_a_reason_and_its_audit_row_appears()
    {
        var s = await W.SeedCompleteContestAsync(3, holdSeconds: 0);
        await W.ConnectAccountsAsync(s.Users.Skip(1));
        await W.SettleNowAsync(s.ContestId);
        await W.RunPayoutSchedulerAsync();
        var failed = Assert.Single(await W.TransfersAsync(s.ContestId), t => t.UserId == s.Users[0]);
        Assert.Equal(("failed_terminal", "stripe_account_not_connected"), (failed.Status, failed.FailureReason));
        await W.ConnectAccountsAsync([s.Users[0]]); // the player connected an account since

        await using var tab = await SignedInAsync();
        await tab.GoAsync("/payouts");
        var row = tab.ByTestId("failed-transfers").Locator($"tr[data-row='{failed.Id}']");
        await Expect(row).ToContainTextAsync("stripe_account_not_connected");
        await tab.ScreenshotAsync("payouts");
        await row.GetByRole(AriaRole.Link, new() { Name = $"#{failed.Id}" }).ClickAsync();
        await tab.WaitLoadedAsync();
        await Expect(tab.ByTestId("transfer-status")).ToHaveTextAsync("failed_terminal");
        await Expect(tab.ByTestId("attempts")).ToContainTextAsync("failed_terminal");
        await tab.MarkDocumentAsync();

        const string reason = "player connected a Stripe account (ticket 31)";
        await tab.ActAsync($"retry-{failed.Id}", reason, $"fairway payouts retry {failed.Id} --reason '{reason}'");

        await Expect(tab.ByTestId("transfer-status")).ToHaveTextAsync("pending", new() { Timeout = 20000 });
        var auditRow = tab.ByTestId("transfer-audit").Locator("tr[data-row='payout_transfer.retry_requested']");
        await Expect(auditRow).ToContainTextAsync($"admin:{Operator}");
        await Expect(auditRow).ToContainTextAsync(reason);
        var stored = (await W.GetAsync($"/api/admin/audit?entity_type=payout_transfer&entity_id={failed.Id}&action=payout_transfer.retry_requested")).GetProperty("events");
        Assert.Equal(($"admin:{Operator}", reason), (stored[0].GetProperty("actor").GetString(), stored[0].GetProperty("reason").GetString()));

        // The scheduler pays it; the open page shows the outcome by itself.
        await W.RunPayoutSchedulerAsync();
        await Expect(tab.ByTestId("transfer-status")).ToHaveTextAsync("completed", new() { Timeout = 20000 });
        await tab.AssertNotReloadedAsync();
        await tab.ScreenshotAsync("payout-transfer-retried");
        await W.AssertPaidOutAsync(s.ContestId);
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task A_player_token_sees_nothing()
    {
        var contestId = (await W.SeedCompleteContestAsync(2)).ContestId;
        var player = TestAuth.Player("player-7");
        await using var tab = await f.Browser.OpenAsync(W.Api.BaseUrl);
        await tab.SignInAsync(player);
        await Expect(tab.ByTestId("signin-message")).ToContainTextAsync("no admin role");
        await Expect(tab.ByTestId("signin-form")).ToBeVisibleAsync();
        await Expect(tab.Page.Locator("#nav")).ToBeHiddenAsync();
        await tab.ScreenshotAsync("player-refused");

        // Even with the token already in the tab and a page asked for directly, nothing is shown or fetched.
        await tab.Page.EvaluateAsync("t => sessionStorage.setItem('fairway.console.token', t)", player);
        await tab.Page.GotoAsync($"/admin/#/contests/{contestId}");
        await tab.Page.ReloadAsync();
        await Expect(tab.ByTestId("signin-message")).ToContainTextAsync("no admin role");
        Assert.DoesNotContain(contestId, await tab.Page.ContentAsync());
        Assert.DoesNotContain(tab.Responses, r => r.Url.Contains("/api/admin/", StringComparison.Ordinal) && r.Status < 400);
        Assert.Null(await tab.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('fairway.console.token')"));

        // And the API it would call refuses the token on every route the console reads.
        using var http = W.Api.Client(player);
        foreach (var route in new[] { "/api/admin/board/contests", "/api/admin/audit", "/api/admin/alerts", "/api/admin/kill-switch", "/api/admin/payouts/transfers", "/api/admin/runbooks" })
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(route)).StatusCode);
        tab.AssertNoScriptErrors();
    }

    [Fact]
    public async Task Every_page_renders_its_data_on_a_laptop_screen_and_is_screenshotted()
    {
        var s = await W.SeedCompleteContestAsync(4, holdSeconds: 0);
        await W.ConnectAccountsAsync(s.Users);
        var settled = await W.SettleNowAsync(s.ContestId);
        await W.RunPayoutSchedulerAsync();
        await W.Stripe.WaitIdleAsync();
        var outputHash = settled.GetProperty("settlement").GetProperty("output_hash").GetString()!;
        var transferId = (await W.TransfersAsync(s.ContestId))[0].Id;

        await using var tab = await SignedInAsync();
        await tab.ScreenshotAsync("page-overview");
        await tab.GoAsync("/contests");
        await Expect(tab.ByTestId("contests").Locator($"tr[data-row='{s.ContestId}']")).ToContainTextAsync("USD 0.00");
        await tab.ScreenshotAsync("page-contests");

        await tab.GoAsync($"/contests/{s.ContestId}");
        await Expect(tab.ByTestId("output-hash")).ToHaveTextAsync(outputHash);
        await Expect(tab.ByTestId("contest-transfers")).ToContainTextAsync("completed");
        await Expect(tab.ByTestId("timeline").Locator("li[data-action='settlement.committed']")).ToHaveCountAsync(1);
        await tab.ScreenshotAsync("page-contest");
        // The replay command shown reproduces the stored output hash.
        var lines = (await tab.ByTestId("replay-command").TextContentAsync())!.Split('\n');
        var export = await W.CliAsync(ShellWords.Split(lines[0]).Skip(1).ToArray());
        Assert.True(export.ExitCode == 0, export.Stderr);
        var replay = await W.CliAsync(ShellWords.Split(lines[1]).Skip(1).ToArray());
        Assert.True(replay.ExitCode == 0, replay.Stderr);
        Assert.Equal(outputHash, JsonDocument.Parse(replay.Stdout).RootElement.GetProperty("output_hash").GetString());

        await tab.GoAsync("/payouts");
        await Expect(tab.ByTestId("card-failed-transfers")).ToBeVisibleAsync();
        await tab.ScreenshotAsync("page-payouts");
        await tab.GoAsync($"/payouts/transfers/{transferId}");
        await Expect(tab.ByTestId("transfer-audit")).ToContainTextAsync("payout_transfer.completed");
        await tab.ScreenshotAsync("page-transfer");

        await tab.GoAsync("/webhooks");
        await Expect(tab.ByTestId("recent-webhooks")).ToContainTextAsync("account.updated");
        await tab.ScreenshotAsync("page-webhooks");

        await tab.GoAsync("/runbooks");
        await tab.ScreenshotAsync("page-runbooks");

        // A designed error state: the API's problem (code and correlation id) where the data would be.
        await tab.GoAsync("/contests/no-such-contest");
        await Expect(tab.ByTestId("error")).ToContainTextAsync("CONTEST_NOT_FOUND");
        await tab.ScreenshotAsync("page-contest-not-found");
        tab.AssertNoScriptErrors();
    }
}

/// <summary>Splits a POSIX shell command line as the console quotes it (single quotes, '\'' for a quote).</summary>
public static class ShellWords
{
    public static List<string> Split(string line)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\'')
            {
                var end = line.IndexOf('\'', i + 1);
                current.Append(line, i + 1, end - i - 1);
                i = end;
                inWord = true;
            }
            else if (c == '\\' && i + 1 < line.Length) { current.Append(line[++i]); inWord = true; }
            else if (char.IsWhiteSpace(c)) { if (inWord) words.Add(current.ToString()); current.Clear(); inWord = false; }
            else { current.Append(c); inWord = true; }
        }
        if (inWord) words.Add(current.ToString());
        return words;
    }
}
