namespace Fairway.ProviderSandbox;

/// <summary>
/// The sandbox's only notion of "now" for tournament state. It never moves by itself:
/// only <see cref="SetUtcNow"/> and <see cref="Advance"/> move it (PUT /_control/clock,
/// POST /_control/clock/advance). Nothing in the sandbox reads DateTime.UtcNow for tournament state.
/// </summary>
public sealed class SandboxClock : TimeProvider
{
    /// <summary>Default start when --start-time is not given.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly object _gate = new();
    private DateTimeOffset _now;

    public SandboxClock(DateTimeOffset start) => _now = start.ToUniversalTime();

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public DateTimeOffset SetUtcNow(DateTimeOffset value)
    {
        lock (_gate) return _now = value.ToUniversalTime();
    }

    public DateTimeOffset Advance(TimeSpan delta)
    {
        if (delta < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(delta), "The clock only moves forward by advance.");
        lock (_gate) return _now = _now.Add(delta);
    }
}
