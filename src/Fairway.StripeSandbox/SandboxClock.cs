using System.Globalization;
using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>
/// The sandbox's notion of "now", used for every <c>created</c>/<c>expires_at</c> timestamp and for the
/// webhook signature's <c>t=</c>. Real time by default; can be frozen at an instant or shifted by an offset.
/// Backoff and delay timers always use real elapsed time.
/// </summary>
public sealed class SandboxClock
{
    readonly object _lock = new();
    DateTimeOffset? _frozen;
    TimeSpan _offset;

    public DateTimeOffset Now
    {
        get { lock (_lock) return _frozen ?? DateTimeOffset.UtcNow + _offset; }
    }

    public long UnixNow => Now.ToUnixTimeSeconds();

    public void Freeze(DateTimeOffset at) { lock (_lock) { _frozen = at; _offset = TimeSpan.Zero; } }

    public void SetOffset(TimeSpan offset) { lock (_lock) { _frozen = null; _offset = offset; } }

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            if (_frozen is { } f) _frozen = f + by;
            else _offset += by;
        }
    }

    public void UseRealTime() { lock (_lock) { _frozen = null; _offset = TimeSpan.Zero; } }

    public JsonObject Describe()
    {
        lock (_lock)
        {
            var now = _frozen ?? DateTimeOffset.UtcNow + _offset;
            return new JsonObject
            {
                ["now"] = now.ToUnixTimeSeconds(),
                ["iso"] = now.ToString("O", CultureInfo.InvariantCulture),
                ["mode"] = _frozen is not null ? "frozen" : _offset == TimeSpan.Zero ? "real" : "offset",
                ["offset_seconds"] = (long)_offset.TotalSeconds,
            };
        }
    }

    /// <summary>Parses unix seconds (number or numeric string) or an ISO-8601 string.</summary>
    public static DateTimeOffset? ParseInstant(JsonNode? node)
    {
        if (node is null) return null;
        if (node is JsonValue v)
        {
            if (v.TryGetValue<long>(out var l)) return DateTimeOffset.FromUnixTimeSeconds(l);
            if (v.TryGetValue<double>(out var d)) return DateTimeOffset.FromUnixTimeMilliseconds((long)(d * 1000));
            if (v.TryGetValue<string>(out var s))
            {
                if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ls)) return DateTimeOffset.FromUnixTimeSeconds(ls);
                if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var dto)) return dto;
            }
        }
        return null;
    }
}
