using System.Net;
using Stripe;

namespace Fairway.StripeSandbox.Tests;

public class ConnectTests : SandboxTest
{
    [Fact]
    public async Task Express_account_link_and_onboarding()
    {
        var acct = await new AccountService(Client).CreateAsync(new AccountCreateOptions
        {
            Type = "express",
            Country = "US",
            Email = "a@example.com",
            Capabilities = new AccountCapabilitiesOptions { Transfers = new AccountCapabilitiesTransfersOptions { Requested = true } },
            Metadata = new Dictionary<string, string> { ["user_id"] = "u1" },
        });
        Assert.StartsWith("acct_", acct.Id);
        Assert.Equal("express", acct.Type);
        Assert.False(acct.PayoutsEnabled);
        Assert.False(acct.DetailsSubmitted);
        Assert.Equal("inactive", acct.Capabilities.Transfers);
        Assert.NotEmpty(acct.Requirements.CurrentlyDue);

        var link = await new AccountLinkService(Client).CreateAsync(new AccountLinkCreateOptions
        {
            Account = acct.Id,
            RefreshUrl = "https://fairway.test/refresh",
            ReturnUrl = "https://fairway.test/return",
            Type = "account_onboarding",
        });
        Assert.Equal("account_link", link.Object);
        Assert.True(link.ExpiresAt > DateTime.UtcNow);
        Assert.Contains(acct.Id, link.Url);

        // following the link completes onboarding and redirects to return_url
        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var resp = await noRedirect.GetAsync(link.Url);
        Assert.Equal(HttpStatusCode.Redirect, resp.StatusCode);
        Assert.Equal("https://fairway.test/return", resp.Headers.Location!.ToString());

        var after = await new AccountService(Client).GetAsync(acct.Id);
        Assert.True(after.PayoutsEnabled);
        Assert.True(after.ChargesEnabled);
        Assert.True(after.DetailsSubmitted);
        Assert.Equal("active", after.Capabilities.Transfers);
        Assert.Equal("u1", after.Metadata["user_id"]);
    }

    [Fact]
    public async Task Transfer_create_get_list_and_reversals()
    {
        var acct = await OnboardedAccount();
        var svc = new TransferService(Client);
        var tr = await svc.CreateAsync(new TransferCreateOptions
        {
            Amount = 12_500,
            Currency = "usd",
            Destination = acct.Id,
            TransferGroup = "contest_1",
            Description = "Winnings",
            Metadata = new Dictionary<string, string> { ["transfer_id"] = "123" },
        }, new RequestOptions { IdempotencyKey = "payout:123" });
        Assert.StartsWith("tr_", tr.Id);
        Assert.Equal(acct.Id, tr.DestinationId);
        Assert.Equal("contest_1", tr.TransferGroup);

        var got = await svc.GetAsync(tr.Id);
        Assert.Equal(12_500, got.Amount);
        Assert.Equal("123", got.Metadata["transfer_id"]);

        var list = await svc.ListAsync(new TransferListOptions { Destination = acct.Id });
        Assert.Equal(tr.Id, Assert.Single(list.Data).Id);

        var revSvc = new TransferReversalService(Client);
        var rev = await revSvc.CreateAsync(tr.Id, new TransferReversalCreateOptions { Amount = 2_500 });
        Assert.StartsWith("trr_", rev.Id);
        Assert.Equal(2_500, rev.Amount);
        var partly = await svc.GetAsync(tr.Id);
        Assert.Equal(2_500, partly.AmountReversed);
        Assert.False(partly.Reversed);
        Assert.Equal(rev.Id, Assert.Single(partly.Reversals.Data).Id);

        var over = await Assert.ThrowsAsync<StripeException>(() => revSvc.CreateAsync(tr.Id, new TransferReversalCreateOptions { Amount = 10_001 }));
        Assert.Equal(HttpStatusCode.BadRequest, over.HttpStatusCode);
        await revSvc.CreateAsync(tr.Id, new TransferReversalCreateOptions());
        Assert.True((await svc.GetAsync(tr.Id)).Reversed);

        var stats = await Stats();
        Assert.Equal(1, (long)stats["transfers_by_idempotency_key"]!["payout:123"]!);
        Assert.Equal(1, (long)stats["transfers_by_destination"]![acct.Id]!);
        Assert.Equal(12_500, (long)stats["transfer_amount_by_destination"]![acct.Id]!);
        Assert.Equal(2, (long)stats["transfer_reversals_created"]!);
    }

    [Theory]
    [InlineData("restrict", "insufficient_capabilities_for_transfer")]
    [InlineData("invalidate", "account_invalid")]
    public async Task Transfers_to_restricted_or_invalid_accounts_fail(string action, string code)
    {
        var acct = await OnboardedAccount();
        await Control("POST", $"/_sandbox/accounts/{acct.Id}/{action}");
        var a = await new AccountService(Client).GetAsync(acct.Id);
        Assert.False(a.PayoutsEnabled);
        Assert.NotNull(a.Requirements.DisabledReason);

        var ex = await Assert.ThrowsAsync<StripeException>(() => new TransferService(Client).CreateAsync(
            new TransferCreateOptions { Amount = 100, Currency = "usd", Destination = acct.Id }));
        Assert.Equal(HttpStatusCode.BadRequest, ex.HttpStatusCode);
        Assert.Equal("invalid_request_error", ex.StripeError.Type);
        Assert.Equal(code, ex.StripeError.Code);
        Assert.Equal("destination", ex.StripeError.Param);
        Assert.Equal(0, (long)(await Stats())["transfers_created"]!);
    }

    [Fact]
    public async Task Transfers_need_an_onboarded_existing_destination()
    {
        var fresh = await new AccountService(Client).CreateAsync(new AccountCreateOptions { Type = "express" });
        var svc = new TransferService(Client);
        var ex = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(new TransferCreateOptions { Amount = 100, Currency = "usd", Destination = fresh.Id }));
        Assert.Equal("insufficient_capabilities_for_transfer", ex.StripeError.Code);
        var missing = await Assert.ThrowsAsync<StripeException>(() => svc.CreateAsync(new TransferCreateOptions { Amount = 100, Currency = "usd", Destination = "acct_nope" }));
        Assert.Equal("resource_missing", missing.StripeError.Code);
    }
}
