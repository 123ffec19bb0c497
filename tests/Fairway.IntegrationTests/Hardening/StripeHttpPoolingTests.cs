using System.Text.Json.Nodes;
using Fairway.Host.Payments;
using Fairway.Host.Payouts;
using Fairway.IntegrationTests.Infrastructure;

namespace Fairway.IntegrationTests.Hardening;

/// <summary>
/// Issue 10 §2: Fairway's Stripe clients (both gateways, in-process, against the Stripe sandbox over real HTTP) pool
/// their connections — many calls share one TCP connection — and never keep one past
/// STRIPE_HTTP_CONNECTION_LIFETIME_SECONDS, so a DNS change of the Stripe host is followed. The sandbox counts the
/// distinct TCP connections its /v1 requests arrived on.
/// </summary>
public sealed class StripeHttpPoolingTests : IAsyncLifetime
{
    StripeSandboxProcess sandbox = null!;

    public async Task InitializeAsync() => sandbox = await StripeSandboxProcess.StartAsync();
    public Task DisposeAsync() { sandbox.Dispose(); return Task.CompletedTask; }

    Fairway.Host.Platform.Configuration.FairwaySettings Settings(TimeSpan lifetime) => ContestSetup.Settings("postgresql://fairway@127.0.0.1:9/none") with
    {
        StripeApiKey = StripeSandboxProcess.ApiKey,
        StripeApiBase = sandbox.BaseUrl,
        StripeConnectionLifetime = lifetime,
    };

    async Task<long> ConnectionsAsync() => (long)(await sandbox.StatsAsync())["api_connections"]!;

    /// <summary>Longer than the short lifetime, far shorter than the idle timeout (60 s) and the long lifetime.</summary>
    static Task LetTheShortLifetimePassAsync() => Task.Delay(TimeSpan.FromSeconds(1.5));

    [Fact]
    public async Task The_payments_gateway_reuses_one_connection_and_opens_a_new_one_only_after_the_connection_lifetime()
    {
        var pooled = new StripeGateway(Settings(TimeSpan.FromMinutes(5)));
        var shortLived = new StripeGateway(Settings(TimeSpan.FromSeconds(1)));
        var account = (await pooled.CreateExpressAccountAsync("user-pool-" + Guid.NewGuid().ToString("N")[..6], CancellationToken.None)).Id;
        for (var i = 0; i < 3; i++) await pooled.GetAccountAsync(account, CancellationToken.None);
        Assert.Equal(1, await ConnectionsAsync());   // four calls, one connection

        await shortLived.GetAccountAsync(account, CancellationToken.None);
        Assert.Equal(2, await ConnectionsAsync());   // its own pool

        await LetTheShortLifetimePassAsync();
        await pooled.GetAccountAsync(account, CancellationToken.None);
        Assert.Equal(2, await ConnectionsAsync());   // within its lifetime: reused
        await shortLived.GetAccountAsync(account, CancellationToken.None);
        Assert.Equal(3, await ConnectionsAsync());   // past its lifetime: a new connection
    }

    /// <summary>A look-up that reached Stripe and found no transfer (a completed call on the connection being counted).</summary>
    static async Task AssertNothingFoundAsync(PayoutStripeGateway gateway, long transferId, string group)
    {
        var lookup = await gateway.FindExistingAsync(transferId, group, CancellationToken.None);
        Assert.False(lookup.Failed, lookup.Error);
        Assert.Null(lookup.Found);
    }

    [Fact]
    public async Task The_payouts_gateway_reuses_one_connection_and_opens_a_new_one_only_after_the_connection_lifetime()
    {
        var pooled = new PayoutStripeGateway(Settings(TimeSpan.FromMinutes(5)));
        var shortLived = new PayoutStripeGateway(Settings(TimeSpan.FromSeconds(1)));
        var group = "c-pool-" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 3; i++) await AssertNothingFoundAsync(pooled, i + 1, group);
        Assert.Equal(1, await ConnectionsAsync());

        await AssertNothingFoundAsync(shortLived, 9, group);
        Assert.Equal(2, await ConnectionsAsync());

        await LetTheShortLifetimePassAsync();
        await AssertNothingFoundAsync(pooled, 1, group);
        Assert.Equal(2, await ConnectionsAsync());
        await AssertNothingFoundAsync(shortLived, 9, group);
        Assert.Equal(3, await ConnectionsAsync());
    }
}
