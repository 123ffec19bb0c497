using Fairway.Host.Payouts;

namespace Fairway.IntegrationTests.Payouts;

/// <summary>The wait after a failed payout attempt: doubling, jittered by up to one base, capped, and the same every time.</summary>
public sealed class PayoutBackoffTests
{
    static readonly TimeSpan Base = TimeSpan.FromSeconds(60);
    static readonly TimeSpan Max = TimeSpan.FromHours(6);

    [Theory]
    [InlineData(1, 60)]
    [InlineData(2, 120)]
    [InlineData(3, 240)]
    [InlineData(6, 1920)]
    public void Each_attempt_doubles_the_wait_plus_at_most_one_base(int attempt, int doubledSeconds)
    {
        foreach (var transfer in Enumerable.Range(1, 500).Select(i => (long)i))
        {
            var wait = PayoutExecutionService.Backoff(transfer, attempt, Base, Max).TotalSeconds;
            Assert.InRange(wait, doubledSeconds, doubledSeconds + Base.TotalSeconds);
        }
    }

    [Fact]
    public void The_wait_never_exceeds_the_maximum()
    {
        for (var attempt = 1; attempt <= 40; attempt++)
            Assert.True(PayoutExecutionService.Backoff(7, attempt, Base, Max) <= Max, $"attempt {attempt}");
        Assert.Equal(Max, PayoutExecutionService.Backoff(7, 30, Base, Max));
    }

    [Fact]
    public void The_same_transfer_and_attempt_always_wait_the_same_so_a_replayed_season_retries_at_the_same_times()
    {
        for (long transfer = 1; transfer <= 200; transfer++)
            for (var attempt = 1; attempt <= 5; attempt++)
                Assert.Equal(PayoutExecutionService.Backoff(transfer, attempt, Base, Max), PayoutExecutionService.Backoff(transfer, attempt, Base, Max));
    }

    [Fact]
    public void Transfers_failed_together_come_back_spread_over_the_base_interval()
    {
        // 1,000 transfers an outage failed at once, their first retry: spread over the minute, none of its ten 6-second
        // slices empty or holding more than twice its share.
        var jitters = Enumerable.Range(1, 1000).Select(i => PayoutExecutionService.Backoff(i, 1, Base, Max).TotalSeconds - Base.TotalSeconds).ToList();
        var slices = jitters.GroupBy(j => (int)(j / 6)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Enumerable.Range(0, 10), slices.Keys.Order());
        Assert.All(slices.Values, n => Assert.InRange(n, 50, 200));
        Assert.True(jitters.Distinct().Count() > 990, "transfers share their jitter");
    }
}
