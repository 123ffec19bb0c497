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

    /// <summary>The instant of the unit of work in progress (an HTTP request, a job), once read; none outside one.</summary>
    static readonly AsyncLocal<Instant?> Current = new();

    sealed class Instant { public DateTimeOffset? Value; }

    sealed class InstantScope(Instant? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }

    /// <summary>
    /// Starts a unit of work (an HTTP request, a job) that reads the clock at most once: its first read comes from the
    /// database and every later read in the unit returns the same instant. The clock only moves when an admin moves it,
    /// so a unit that straddles a move sees the one instant it started at rather than two; and a request that read the
    /// clock for each audit row, webhook and entry (3 to 6 round trips) now makes one. Outside a unit every read goes to
    /// the database. Harmless under any other clock (nothing reads the scope).
    /// </summary>
    public static IDisposable BeginInstant()
    {
        var scope = new InstantScope(Current.Value);
        Current.Value = new Instant();
        return scope;
    }

    public override DateTimeOffset GetUtcNow()
    {
        if (Current.Value is { } unit) return unit.Value ??= Read();
        return Read();
    }

    DateTimeOffset Read()
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
