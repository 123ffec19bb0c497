extern alias simulation;
using Fairway.IntegrationTests.Payments;
using simulation::Fairway.Simulation;
using simulation::Fairway.Simulation.Client;

namespace Fairway.IntegrationTests.Contract;

/// <summary>
/// The generated client of the committed contract against a real API, Stripe sandbox and worker: the main player
/// paths and their documented errors. The generated code throws <c>ApiException&lt;ProblemDocument&gt;</c> only for a
/// status the document declares (anything else is a plain <c>ApiException</c>), and the strict serializer refuses
/// undocumented or missing members, so each assertion below also proves that part of the document.
/// </summary>
[Collection(PaymentsCollection.Name)]
public sealed class GeneratedClientTests(PaymentsFixture f)
{
    static async Task<ProblemDocument> ProblemAsync(int status, string code, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<ApiException<ProblemDocument>>(call);
        Assert.Equal(status, e.StatusCode);
        Assert.Equal(code, e.Result.Code);
        Assert.Contains(code, e.Message);   // the documented codes of that status (the response description)
        return e.Result;
    }

    [Fact]
    public async Task Player_paths_and_their_documented_errors_through_the_generated_client()
    {
        var ct = CancellationToken.None;
        var contest = await f.CreateContestAsync();
        using var anonymous = new Player(f.Api.BaseUrl, null);
        var page = await anonymous.Api.ListContestsAsync(null, 100, null, ct);
        Assert.Contains(page.Data, c => c.Id == contest && c.Entry_fee == PaymentsFixture.Fee);
        Assert.Equal(contest, (await anonymous.Api.GetContestAsync(contest, ct)).Id);
        await ProblemAsync(404, "CONTEST_NOT_FOUND", () => anonymous.Api.GetContestAsync("no-such-contest", ct));
        await ProblemAsync(400, "VALIDATION_FAILED", () => anonymous.Api.ListContestsAsync("NOT_A_STATE", null, null, ct));
        await ProblemAsync(404, "STANDINGS_NOT_AVAILABLE", () => anonymous.Api.GetContestStandingsAsync(contest, null, null, ct));
        await ProblemAsync(401, "UNAUTHENTICATED", () => anonymous.Api.GetMeAsync(ct));

        var sub = PaymentsFixture.NewPlayer();
        using var player = new Player(f.Api.BaseUrl, Infrastructure.TestAuth.Player(sub));
        Assert.Equal(sub, (await player.Api.GetMeAsync(ct)).Subject);
        await ProblemAsync(404, "PAYOUT_ACCOUNT_NOT_FOUND", () => player.Api.GetPayoutAccountAsync(ct));
        var account = await player.Api.StartPayoutOnboardingAsync(ct);
        Assert.StartsWith("acct_", account.Stripe_account_id);
        Assert.Equal(account.Stripe_account_id, (await player.Api.GetPayoutAccountAsync(ct)).Stripe_account_id);

        var roster = new CreateEntryRequest { Golfers = PaymentsFixture.Roster };
        var created = await player.Api.CreateEntryAsync(contest, "key-1", roster, ct);
        Assert.Equal("PENDING_PAYMENT", created.Entry.Status);
        Assert.StartsWith("pi_", created.Payment.Payment_intent_id);
        Assert.Equal(created.Entry.Id, (await player.Api.CreateEntryAsync(contest, "key-1", roster, ct)).Entry.Id);
        await ProblemAsync(409, "IDEMPOTENCY_CONFLICT", () => player.Api.CreateEntryAsync(contest, "key-1", new CreateEntryRequest { Golfers = ["g04", "g05", "g06"] }, ct));
        var roster422 = await ProblemAsync(422, "ROSTER_INVALID", () => player.Api.CreateEntryAsync(contest, null, new CreateEntryRequest { Golfers = ["g01", "g02"] }, ct));
        Assert.NotEmpty(roster422.Errors!);
        await ProblemAsync(400, "VALIDATION_FAILED", () => player.Api.CreateEntryAsync(contest, null, new CreateEntryRequest { Golfers = [] }, ct));
        await ProblemAsync(404, "CONTEST_NOT_FOUND", () => player.Api.CreateEntryAsync("no-such-contest", null, roster, ct));
        await ProblemAsync(409, "PAYMENT_NOT_SUCCEEDED", () => player.Api.RequestEntryRefundAsync(contest, created.Entry.Id, ct));
        await ProblemAsync(404, "ENTRY_NOT_FOUND", () => player.Api.RequestEntryRefundAsync(contest, "ent_nope", ct));

        var mine = await player.Api.ListMyEntriesAsync(null, null, ct);
        Assert.Equal([created.Entry.Id], mine.Data.Select(e => e.Id));
        await ProblemAsync(400, "VALIDATION_FAILED", () => player.Api.ListMyEntriesAsync(0, null, ct));

        await f.SetKillSwitchAsync(true, "generated client test: money stopped");
        try { await ProblemAsync(409, "KILL_SWITCH_ACTIVE", () => player.Api.CreateEntryAsync(contest, "key-2", roster, ct)); }
        finally { await f.SetKillSwitchAsync(false, "generated client test: done"); }
    }
}
