using Npgsql;

namespace Fairway.Host.Platform.Time;

/// <summary>
/// The settable clock for tests and the simulation. It lives in the database so that every process
/// (API and workers) reads the same instant; it moves only when an admin sets or advances it.
/// Never used in production: start-up refuses FAIRWAY_TEST_CLOCK_ENABLED with FAIRWAY_PRODUCTION.
/// </summary>
public sealed class DatabaseTestClock(NpgsqlDataSource dataSource) : TimeProvider
{
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override DateTimeOffset GetUtcNow()
    {
        using var connection = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand("SELECT now_utc FROM test_clock WHERE id = 1", connection);
        var value = cmd.ExecuteScalar();
        return value is DateTime dt
            ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc))
            : throw new InvalidOperationException("the test clock has no value; it is initialised at start-up");
    }

    /// <summary>Gives the clock a first value (the real time, whole seconds) if it has none yet.</summary>
    public static void Initialise(NpgsqlDataSource dataSource, DateTimeOffset realNow)
    {
        using var connection = dataSource.OpenConnection();
        using var cmd = new NpgsqlCommand("INSERT INTO test_clock (id, now_utc) VALUES (1, @now) ON CONFLICT (id) DO NOTHING", connection);
        cmd.Parameters.AddWithValue("now", DateTimeOffset.FromUnixTimeSeconds(realNow.ToUnixTimeSeconds()));
        cmd.ExecuteNonQuery();
    }
}
