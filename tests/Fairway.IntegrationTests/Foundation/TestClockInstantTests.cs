using Fairway.Host.Platform.Time;
using Fairway.IntegrationTests.Infrastructure;
using Npgsql;

namespace Fairway.IntegrationTests.Foundation;

/// <summary>
/// The test clock inside a unit of work (an HTTP request, a job): read from the database once, then that instant for the
/// rest of the unit, even when the clock moves meanwhile; a fresh read outside a unit and in the next one.
/// </summary>
public sealed class TestClockInstantTests
{
    [Fact]
    public async Task A_unit_of_work_reads_the_clock_once_and_keeps_that_instant()
    {
        var url = await TestDatabases.CreateMigratedAsync();
        await using var dataSource = NpgsqlDataSource.Create(TestDatabases.ConnectionString(url));
        var start = DateTimeOffset.Parse("2027-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        DatabaseTestClock.Initialise(dataSource, start);
        var clock = new DatabaseTestClock(dataSource);
        Task MoveAsync(int seconds) => TestDatabases.ExecAsync(url, $"UPDATE test_clock SET now_utc = now_utc + interval '{seconds} seconds' WHERE id = 1");

        Assert.Equal(start, clock.GetUtcNow());
        using (DatabaseTestClock.BeginInstant())
        {
            await MoveAsync(60);
            // The unit's first read is the database's value then...
            Assert.Equal(start.AddSeconds(60), clock.GetUtcNow());
            await MoveAsync(60);
            // ...and the unit keeps it, in what it awaits and in work it starts.
            Assert.Equal(start.AddSeconds(60), clock.GetUtcNow());
            Assert.Equal(start.AddSeconds(60), await Task.Run(clock.GetUtcNow));
            using (DatabaseTestClock.BeginInstant()) Assert.Equal(start.AddSeconds(120), clock.GetUtcNow()); // a nested unit reads afresh
            Assert.Equal(start.AddSeconds(60), clock.GetUtcNow()); // and ends without changing the outer one's
        }
        // Outside a unit every read goes to the database; the next unit reads afresh.
        Assert.Equal(start.AddSeconds(120), clock.GetUtcNow());
        await MoveAsync(1);
        using (DatabaseTestClock.BeginInstant()) Assert.Equal(start.AddSeconds(121), clock.GetUtcNow());
    }
}
