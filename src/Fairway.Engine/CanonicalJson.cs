using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Fairway.Engine;

/// <summary>
/// The one serialization used for anything that is hashed or compared byte for byte.
/// Policy (part of the contract, see README):
/// objects have keys sorted by ordinal UTF-16 code units; no insignificant whitespace; arrays keep their order;
/// integers are written as plain decimal digits ("-0" becomes "0"); numbers that are not integers can only come
/// from ignored fields of embedded provider JSON and are written as their original raw text; strings escape
/// <c>"</c> and <c>\</c>, use <c>\b \f \n \r \t</c>, <c>\u00xx</c> (lowercase hex) for other control characters,
/// <c>\uxxxx</c> for unpaired surrogates, and write every other character literally as UTF-8.
/// </summary>
public static class CanonicalJson
{
    public static string Serialize(JsonElement element)
    {
        var sb = new StringBuilder();
        WriteElement(sb, element);
        return sb.ToString();
    }

    /// <summary>Parses text as JSON and returns its canonical form, or INVALID_JSON.</summary>
    public static EngineResult<string> Canonicalize(string json)
    {
        var sink = new Json.ErrorSink();
        if (!Json.JsonInput.TryParseDocument(json, Json.JsonPath.Root, sink, out var doc))
        {
            return EngineResult<string>.Failure(sink.Errors);
        }
        using (doc)
        {
            return EngineResult<string>.Success(Serialize(doc!.RootElement));
        }
    }

    public static string Sha256Hex(string text) => Sha256Hex(Encoding.UTF8.GetBytes(text));

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Serializes the engine's own output tree: null, string, bool, int, long, JsonElement,
    /// <see cref="IReadOnlyDictionary{TKey,TValue}"/> of string keys, or <see cref="IEnumerable{T}"/> of those.</summary>
    internal static string Serialize(object? value)
    {
        var sb = new StringBuilder();
        WriteValue(sb, value);
        return sb.ToString();
    }

    private static void WriteValue(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case string s:
                WriteString(sb, s);
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case int i:
                sb.Append(i.ToString(CultureInfo.InvariantCulture));
                break;
            case long l:
                sb.Append(l.ToString(CultureInfo.InvariantCulture));
                break;
            case JsonElement e:
                WriteElement(sb, e);
                break;
            case IReadOnlyDictionary<string, object?> obj:
                sb.Append('{');
                var first = true;
                foreach (var key in obj.Keys.OrderBy(k => k, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, key);
                    sb.Append(':');
                    WriteValue(sb, obj[key]);
                }
                sb.Append('}');
                break;
            case System.Collections.IEnumerable list:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in list)
                {
                    if (!firstItem) sb.Append(',');
                    firstItem = false;
                    WriteValue(sb, item);
                }
                sb.Append(']');
                break;
            default:
                // Floats, decimals and anything else have no canonical form here by design.
                throw new ArgumentException($"Type {value.GetType().Name} cannot be written as canonical JSON.");
        }
    }

    private static void WriteElement(StringBuilder sb, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                var first = true;
                // OrderBy is stable, so repeated keys (legal JSON, ambiguous meaning) keep document order.
                foreach (var (name, value) in e.EnumerateObject()
                             .Select(p => (Name: PropertyName(p), p.Value))
                             .OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, name);
                    sb.Append(':');
                    WriteElement(sb, value);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in e.EnumerateArray())
                {
                    if (!firstItem) sb.Append(',');
                    firstItem = false;
                    WriteElement(sb, item);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(sb, UnescapeStringToken(e.GetRawText()));
                break;
            case JsonValueKind.Number:
                var raw = e.GetRawText();
                sb.Append(raw == "-0" ? "0" : raw);
                break;
            case JsonValueKind.True:
                sb.Append("true");
                break;
            case JsonValueKind.False:
                sb.Append("false");
                break;
            case JsonValueKind.Null:
                sb.Append("null");
                break;
            default:
                throw new ArgumentException("Undefined JSON element.");
        }
    }

    // Property names may contain escaped unpaired surrogates that JsonProperty.Name cannot represent faithfully;
    // the parser has already validated them, so decoding the raw token keeps every input distinguishable.
    private static string PropertyName(JsonProperty p)
    {
        var raw = p.ToString();
        // JsonProperty.ToString() is the raw "name": value text; the name token ends at the first unescaped quote.
        var end = 1;
        while (raw[end] != '"')
        {
            end += raw[end] == '\\' ? 2 : 1;
        }
        return UnescapeStringToken(raw.Substring(0, end + 1));
    }

    private static string UnescapeStringToken(string token)
    {
        var body = token.AsSpan(1, token.Length - 2);
        if (body.IndexOf('\\') < 0)
        {
            return body.ToString();
        }
        var sb = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            var esc = body[++i];
            switch (esc)
            {
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    sb.Append((char)int.Parse(body.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: sb.Append(esc); break; // \" \\ \/
            }
        }
        return sb.ToString();
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }
            if (c < 0x20)
            {
                AppendUnicodeEscape(sb, c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                AppendUnicodeEscape(sb, c);
            }
            else
            {
                sb.Append(c);
            }
        }
        sb.Append('"');
    }

    private static void AppendUnicodeEscape(StringBuilder sb, char c) =>
        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
}
