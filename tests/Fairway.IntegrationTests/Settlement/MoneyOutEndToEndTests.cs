using System.Net.Http.Json;
using System.Text.Json;
using Fairway.Host.Ledger;
using Fairway.Host.Payouts;
using Fairway.Host.Settlement;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.IntegrationTests.Payouts;

namespace Fairway.IntegrationTests.Settlement;

public sealed class ProviderMoneyOutWorldFixture : IAsyncLifetime
{
    public MoneyOutWorld World { get; private set; } = null!;
    public async Task InitializeAsync() => World = await MoneyOutWorld.StartAsync(provider: true);
    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>
/// The lifecycle driven by the provider sandbox (real ingestion on a real worker), then settlement and payouts
/// with no human action: seed 003 BLOCKER 3 steps 2–9, and provider corrections after settlement (held before
/// payouts ran, recorded only after). Paid entries are seeded as the payments capability leaves them; the lead
/// adds the variant with entries paid through the public API.
/// </summary>
public sealed class MoneyOutEndToEndTests(ProviderMoneyOutWorldFixture fixture) : IClassFixture<ProviderMoneyOutWorldFixture>
{
    MoneyOutWorld W => fixture.World;

    Task<JsonElement> PollAsync(string tournamentId) => W.PollAsync(tournamentId);

    /// <summary>
    /// Polls after the provider corrected a leaderboard and returns the accepted ingestion event that carries it. The
    /// worker's own correction watch comes due on the advanced clock too and may have taken the corrected leaderboard
    /// first; this poll is then a duplicate of that event.
    /// </summary>
    async Task<long> PollCorrectionAsync(string tournamentId)
    {
        var polled = await PollAsync(tournamentId);
        var outcome = polled.GetProperty("outcome").GetString();
        Assert.True(outcome is "accepted" or "duplicate", $"poll outcome {outcome}");
        return outcome == "accepted" ? polled.GetProperty("id").GetInt64()
            : await W.ScalarAsync<long>("SELECT max(id) FROM ingestion_events WHERE tournament_id = @t AND outcome = 'accepted'", new { t = tournamentId });
    }

    /// <summary>A sandbox tournament, a contest on it with <paramref name="entries"/> paid entries, played to COMPLETE through ingestion.</summary>
    async Task<PlayedContest> PlayToCompleteAsync(int seed, int entries = 4, bool payThroughApi = false)
    {
        var p = await W.PlayToLiveAsync(seed, entries, payThroughApi ? EnterAndPayThroughTheApiAsync : null);
        await W.FinishAsync(p);
        return p;
    }

    /// <summary>Players enter through the public API and pay at the Stripe sandbox; the signed webhooks make the entries ACTIVE.</summary>
    async Task EnterAndPayThroughTheApiAsync(string contestId, string[] users, string[][] rosters)
    {
        await W.Stripe.PointWebhooksAtAsync(W.Api.BaseUrl);
        for (var i = 0; i < users.Length; i++)
        {
            using var player = W.Api.Client(TestAuth.Player(users[i]));
            var r = await player.PostAsJsonAsync($"/api/contests/{contestId}/entries", new { golfers = rosters[i] });
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == System.Net.HttpStatusCode.Created, text);
            await W.Stripe.SucceedAsync(JsonDocument.Parse(text).RootElement.GetProperty("payment").GetProperty("payment_intent_id").GetString()!);
        }
        await W.Stripe.WaitIdleAsync();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (await W.ScalarAsync<long>("SELECT count(*) FROM entries WHERE contest_id = @contestId AND status = 'ACTIVE'", new { contestId }) < users.Length)
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), "paid entries did not become ACTIVE");
            await Task.Delay(200);
        }
    }

    /// <summary>Players start payout onboarding through the public API and complete it at the Stripe sandbox (account.updated webhooks).</summary>
    async Task OnboardThroughTheApiAsync(IEnumerable<string> users)
    {
        foreach (var u in users)
        {
            using var player = W.Api.Client(TestAuth.Player(u));
            var r = await player.PostAsync("/api/me/payout-account", null);
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, text);
            await W.Stripe.PostAsync($"/_sandbox/accounts/{JsonDocument.Parse(text).RootElement.GetProperty("stripe_account_id").GetString()}/complete_onboarding");
        }
        await W.Stripe.WaitIdleAsync();
    }

    [Fact]
    public async Task Seed_003_BLOCKER_3_with_entries_paid_through_the_public_api_and_stripe_webhooks()
    {
        // 1. a contest with paid entries: players pay through the public API and the Stripe sandbox; 2. the provider drives the lifecycle.
        var p = await PlayToCompleteAsync(seed: 33, payThroughApi: true);
        Assert.Equal(4000, await W.BalanceAsync(LedgerAccountRef.Escrow(p.ContestId).Id));
        await OnboardThroughTheApiAsync(p.Users.Skip(1));

        // 3.-4. settlement after the hold and the payout job, both without human action.
        await SettleByTheSchedulerAsync(p.ContestId);
        Assert.Equal("pending", (await W.SettlementAsync(p.ContestId)).GetProperty("payout_job").GetProperty("status").GetString());

        // 5.-8. the scheduler pays every winner who onboarded; the one who did not stays payable.
        await W.RunPayoutSchedulerAsync();
        await W.AssertPaidOutAsync(p.ContestId);
        var transfers = await W.TransfersAsync(p.ContestId);
        Assert.All(transfers.Where(t => t.UserId != p.Users[0]), t => Assert.Equal("completed", t.Status));

        // 9. a second scheduler run makes no Stripe transfer.
        var posts = await W.TransferPostsAsync();
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());

        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(p.ContestId).Id));
        var payables = p.Users.Select(u => LedgerAccountRef.Payable(u, "usd").Id).ToArray();
        Assert.Equal(transfers.Where(t => t.Status == "failed_terminal").Sum(t => t.Amount),
            await W.ScalarAsync<long>("SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts WHERE id = ANY(@payables)", new { payables }));
        await W.AssertReconciledAsync();
        await MoneyInvariants.AssertHoldAsync(W.DatabaseUrl);
    }

    async Task SettleByTheSchedulerAsync(string contestId)
    {
        await W.AdvanceAsync(TimeSpan.FromSeconds(7200));
        Assert.Equal("Succeeded", await W.TriggerAsync(SettlementSchedulerJob.RecurringId));
        await W.WaitSettledAsync(contestId);
    }

    [Fact]
    public async Task Seed_003_BLOCKER_3_provider_driven_contest_settles_pays_out_automatically_and_a_second_scheduler_run_creates_nothing()
    {
        var p = await PlayToCompleteAsync(seed: 31);
        var payables = p.Users.Select(u => LedgerAccountRef.Payable(u, "usd").Id).ToArray();
        // Every player but one connected a payout account.
        await W.ConnectAccountsAsync(p.Users.Skip(1));

        // 3. settlement (after the hold, no human action) and 4. the payout job, created automatically.
        await SettleByTheSchedulerAsync(p.ContestId);
        var settled = await W.SettlementAsync(p.ContestId);
        Assert.Equal(4000, settled.GetProperty("settlement").GetProperty("gross").GetInt64());
        var job = settled.GetProperty("payout_job");
        Assert.Equal("pending", job.GetProperty("status").GetString());
        var winners = settled.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("prize").GetInt64() > 0).Select(r => r.GetProperty("user_id").GetString()).Distinct().Count();
        Assert.Equal(winners, job.GetProperty("transfer_count").GetInt32());

        // 5. the scheduler runs; 6. every transfer terminal; 7. Stripe ids; 8. ledger entries for all.
        await W.RunPayoutSchedulerAsync();
        await W.AssertPaidOutAsync(p.ContestId);
        var transfers = await W.TransfersAsync(p.ContestId);
        Assert.Equal(transfers.Where(t => t.UserId == p.Users[0]).Select(_ => "failed_terminal"), transfers.Where(t => t.UserId == p.Users[0]).Select(t => t.Status));

        // 9. idempotency: the scheduler again creates no Stripe transfer and changes nothing.
        var posts = await W.TransferPostsAsync();
        var ledger = await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries");
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        Assert.Equal(ledger, await W.ScalarAsync<long>("SELECT count(*) FROM ledger_entries"));

        // End state: the escrow is zero and winnings payable is exactly the failed-terminal amounts.
        Assert.Equal(0, await W.BalanceAsync(LedgerAccountRef.Escrow(p.ContestId).Id));
        Assert.Equal(transfers.Where(t => t.Status == "failed_terminal").Sum(t => t.Amount),
            await W.ScalarAsync<long>("SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts WHERE id = ANY(@payables)", new { payables }));
        await W.AssertReconciledAsync();
    }

    [Fact]
    public async Task A_provider_correction_after_settlement_is_detected_holds_payouts_not_yet_attempted_and_is_only_recorded_once_they_ran()
    {
        var p = await PlayToCompleteAsync(seed: 47);
        await W.ConnectAccountsAsync(p.Users);
        await SettleByTheSchedulerAsync(p.ContestId);
        var settled = (await W.SettlementAsync(p.ContestId)).GetProperty("settlement");
        var outputHash = settled.GetProperty("output_hash").GetString();

        // Ingestion keeps polling the COMPLETE, settled contest's tournament: the provider corrects a round of a rostered golfer.
        await W.Provider!.Control.PostAsJsonAsync($"/_control/tournaments/{p.SandboxId}/corrections", new { player_id = p.Rosters[0][0], round = 1, strokes = 90 });
        await W.AdvanceAsync(TimeSpan.FromMinutes(10));
        var correctedId = await PollCorrectionAsync(p.TournamentId);

        var shown = await W.SettlementAsync(p.ContestId);
        var check = Assert.Single(shown.GetProperty("correction_checks").EnumerateArray());
        Assert.Equal(("mismatch", "payouts_held", correctedId),
            (check.GetProperty("outcome").GetString(), check.GetProperty("action").GetString(), check.GetProperty("ingestion_event_id").GetInt64()));
        Assert.Equal(outputHash, check.GetProperty("settled_output_hash").GetString());
        Assert.NotEqual(outputHash, check.GetProperty("corrected_output_hash").GetString());
        // The settlement stands, unchanged; the payout job is held.
        Assert.Equal(outputHash, shown.GetProperty("settlement").GetProperty("output_hash").GetString());
        Assert.Equal(("held", "correction_detected"), (shown.GetProperty("payout_job").GetProperty("status").GetString(), shown.GetProperty("payout_job").GetProperty("hold_reason").GetString()));
        var audit = await W.QueryAsync<string>("SELECT evidence::text FROM audit_events WHERE entity_type = 'settlement' AND entity_id = @c AND action = 'settlement.correction_detected'", new { c = p.ContestId });
        var evidence = JsonDocument.Parse(Assert.Single(audit)).RootElement;
        Assert.Equal((outputHash, correctedId), (evidence.GetProperty("settled_output_hash").GetString(), evidence.GetProperty("ingestion_event_id").GetInt64()));
        Assert.Matches(@"score_audit_mismatches [1-9]", await W.Workers[0].Client().GetStringAsync("/metrics"));
        // The same event seen again (a duplicate poll) is not checked twice.
        await W.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal("duplicate", (await PollAsync(p.TournamentId)).GetProperty("outcome").GetString());
        Assert.Single((await W.SettlementAsync(p.ContestId)).GetProperty("correction_checks").EnumerateArray());

        // Held: the scheduler does not touch it.
        var posts = await W.TransferPostsAsync();
        await W.RunPayoutSchedulerAsync();
        Assert.Equal(posts, await W.TransferPostsAsync());
        Assert.All(await W.TransfersAsync(p.ContestId), t => Assert.Equal(("pending", 0), (t.Status, t.AttemptCount)));

        // An admin reviews and releases; the payouts run.
        var release = await W.CliAsync("payouts", "release", p.ContestId, "--reason", "correction reviewed: settlement stands (ticket 7)");
        Assert.True(release.ExitCode == 0, release.Stdout + release.Stderr);
        await W.RunPayoutSchedulerAsync();
        await W.AssertPaidOutAsync(p.ContestId);

        // A second correction after the payouts ran: recorded and alerted only; nothing changes.
        await W.Provider!.Control.PostAsJsonAsync($"/_control/tournaments/{p.SandboxId}/corrections", new { player_id = p.Rosters[1][0], round = 2, strokes = 91 });
        await W.AdvanceAsync(TimeSpan.FromMinutes(10));
        await PollCorrectionAsync(p.TournamentId);
        var checks = (await W.SettlementAsync(p.ContestId)).GetProperty("correction_checks").EnumerateArray().ToList();
        Assert.Equal(2, checks.Count);
        Assert.Equal(("mismatch", "recorded_only"), (checks[1].GetProperty("outcome").GetString(), checks[1].GetProperty("action").GetString()));
        Assert.Equal("complete", await W.ScalarAsync<string>("SELECT status FROM payout_jobs WHERE contest_id = @c", new { c = p.ContestId }));
        Assert.Equal(1, await W.ScalarAsync<long>("SELECT count(*) FROM settlements WHERE contest_id = @c", new { c = p.ContestId }));
        await W.AssertPaidOutAsync(p.ContestId);

        // The ingestion scheduler only polls unfinished contests; the correction watch keeps polling this finished one.
        var events = await W.ScalarAsync<long>("SELECT count(*) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId });
        await W.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Equal("Succeeded", await W.TriggerAsync(SettlementCorrectionWatchJob.RecurringId));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (await W.ScalarAsync<long>("SELECT count(*) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId }) == events && sw.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(200);
        // At least one poll: the watch's own schedule also comes due on the advanced clock, so it may poll a second time.
        Assert.True(await W.ScalarAsync<long>("SELECT count(*) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId }) > events);

        // After the correction window the tournament is no longer polled for this contest. Counted once the workers are
        // quiet: a poll the watch's schedule started before the jump may still be writing its event.
        await W.AdvanceAsync(TimeSpan.FromHours(73));
        var quietReads = 0;
        await Wait.UntilAsync(async () =>
        {
            var stats = JsonDocument.Parse(await W.Admin.GetStringAsync("/api/admin/jobs/stats")).RootElement;
            var quiet = stats.GetProperty("recurring_due").GetArrayLength() == 0 && stats.GetProperty("enqueued").GetInt64() == 0
                        && stats.GetProperty("processing").GetInt64() == 0;
            quietReads = quiet ? quietReads + 1 : 0;
            return quietReads == 2;
        }, "nothing due, waiting or running after the jump past the correction window");
        var watched = await W.ScalarAsync<long>("SELECT count(*) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId });
        var r = await W.Admin.PostAsync($"/api/admin/ingestion/tournaments/{p.TournamentId}/poll?wait_seconds=90", null);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        Assert.Equal(watched, await W.ScalarAsync<long>("SELECT count(*) FROM ingestion_events WHERE tournament_id = @t", new { t = p.TournamentId }));
    }
}
