using Fairway.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace Fairway.IntegrationTests.Console;

/// <summary>
/// Debian's chromium, headless, driven by Playwright for .NET (its driver ships in the NuGet package; no browser
/// is downloaded). <c>FAIRWAY_TEST_CHROMIUM</c> names the executable (./scripts/test installs the package and sets
/// it); without chromium the browser tests fail with that instruction rather than pass without running.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    /// <summary>A laptop screen: every page must be usable at this size without scrolling sideways.</summary>
    public const int Width = 1366, Height = 768;

    public static string ScreenshotDirectory { get; } = Path.Combine(RepoPaths.Root, "artifacts", "console-screenshots");

    readonly IPlaywright playwright;
    public IBrowser Browser { get; }

    ConsoleBrowser(IPlaywright playwright, IBrowser browser) { this.playwright = playwright; Browser = browser; }

    public static async Task<ConsoleBrowser> LaunchAsync()
    {
        var executable = Environment.GetEnvironmentVariable("FAIRWAY_TEST_CHROMIUM") is { Length: > 0 } e ? e : "/usr/bin/chromium";
        if (!File.Exists(executable))
            throw new InvalidOperationException($"chromium not found at {executable}: install it (apt-get install chromium; ./scripts/test does) or set FAIRWAY_TEST_CHROMIUM");
        Directory.CreateDirectory(ScreenshotDirectory);
        var pw = await Playwright.CreateAsync();
        // --no-sandbox: the tests run as root, where chromium's own sandbox refuses to start.
        var browser = await pw.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true, Args = ["--no-sandbox"] });
        return new ConsoleBrowser(pw, browser);
    }

    /// <summary>A fresh tab (its own sessionStorage) at laptop size on the console of <paramref name="api"/>; page errors fail the test.</summary>
    public async Task<ConsoleTab> OpenAsync(Uri api)
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = Width, Height = Height }, BaseURL = api.ToString() });
        var page = await context.NewPageAsync();
        var tab = new ConsoleTab(context, page);
        page.PageError += (_, e) => tab.Errors.Add("page error: " + e);
        page.Console += (_, m) => { if (m.Type == "error" && !m.Text.Contains("Failed to load resource")) tab.Errors.Add("console: " + m.Text); };
        page.Response += (_, r) => tab.Responses.Add((r.Url, r.Status));
        await page.GotoAsync("/admin/");
        return tab;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright.Dispose();
    }
}

/// <summary>One browser tab on the console.</summary>
public sealed class ConsoleTab(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IPage Page { get; } = page;
    public List<string> Errors { get; } = [];
    public System.Collections.Concurrent.ConcurrentBag<(string Url, int Status)> Responses { get; } = [];

    public ILocator ByTestId(string id) => Page.GetByTestId(id);

    public async Task SignInAsync(string token)
    {
        await ByTestId("token-input").FillAsync(token);
        await ByTestId("sign-in").ClickAsync();
    }

    /// <summary>Goes to a console page (fragment route) and waits for its first data (the "updated N s ago" line).</summary>
    public async Task GoAsync(string route)
    {
        await Page.EvaluateAsync("r => { location.hash = r; }", route);
        await WaitLoadedAsync();
    }

    public async Task WaitLoadedAsync()
    {
        await Assertions.Expect(ByTestId("loading")).ToHaveCountAsync(0, new() { Timeout = 20000 });
        await Assertions.Expect(ByTestId("updated")).ToBeVisibleAsync(new() { Timeout = 20000 });
    }

    /// <summary>
    /// Takes an action as an operator does: opens its dialog, types the reason, checks the exact `fairway` command the dialog
    /// shows, and confirms (one admin API call).
    /// </summary>
    public async Task ActAsync(string button, string reason, string expectedCommand)
    {
        await ByTestId(button).ClickAsync();
        await ByTestId("action-reason").FillAsync(reason);
        await Assertions.Expect(ByTestId("action-command")).ToHaveTextAsync(expectedCommand);
        await ByTestId("action-confirm").ClickAsync();
    }

    /// <summary>Saves a full-page screenshot under artifacts/console-screenshots and checks the page needs no sideways scrolling.</summary>
    public async Task ScreenshotAsync(string name)
    {
        var overflow = await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"{name}: the page is {overflow} px wider than a {ConsoleBrowser.Width} px laptop screen");
        await Page.ScreenshotAsync(new() { Path = Path.Combine(ConsoleBrowser.ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>Marks the document; <see cref="AssertNotReloadedAsync"/> proves later that what changed on screen came without a reload.</summary>
    public Task MarkDocumentAsync() => Page.EvaluateAsync("() => { window.__fairwayTestMark = 'same-document'; }");

    public async Task AssertNotReloadedAsync() =>
        Assert.Equal("same-document", await Page.EvaluateAsync<string?>("() => window.__fairwayTestMark ?? null"));

    public void AssertNoScriptErrors() => Assert.True(Errors.Count == 0, string.Join('\n', Errors));

    public async ValueTask DisposeAsync() => await context.DisposeAsync();
}
