using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fairway.ProviderSandbox;

internal static class Json
{
    private static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly JsonSerializerOptions Indented = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
    };

    /// <summary>Deterministic UTF-8 bytes: property order is insertion order, no floats are produced by the sandbox itself.</summary>
    public static byte[] Bytes(JsonNode node, bool pretty = false) =>
        Encoding.UTF8.GetBytes(node.ToJsonString(pretty ? Indented : Compact));

    public static string Time(DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        return u.Ticks % TimeSpan.TicksPerSecond == 0
            ? u.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : u.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    }

    public static string Date(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static bool TryParseTime(string s, out DateTimeOffset t)
    {
        // An explicit offset (or Z) is required: a time without one is ambiguous.
        var ok = DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out t)
                 && (s.EndsWith('Z') || s.EndsWith('z') || s.LastIndexOfAny(['+', '-']) > 10);
        if (ok) t = t.ToUniversalTime();
        return ok;
    }

    public static JsonNode? TimeOrNull(DateTimeOffset? t) => t is null ? null : JsonValue.Create(Time(t.Value));
}
