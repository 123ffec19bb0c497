using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Fairway.Host.Platform.Http;

/// <summary>Why a piece of request input was refused: a stable problem code, the input it concerns, and a message for humans.</summary>
public sealed record InputDefect(ProblemCode Code, string Field, string Message);

/// <summary>
/// The text rules of the HTTP boundary, as pure functions. Everything Fairway reads from a request and may
/// write to PostgreSQL passes one of these checks first (see <see cref="InputGuard"/>), so text reaching the
/// database is valid UTF-8 without NUL by construction: path and query values are strictly percent-decoded
/// UTF-8 without control characters; header values are visible ASCII; JSON bodies are well-formed UTF-8
/// JSON whose strings and member names hold no NUL and no unpaired surrogate, whose numbers are finite, and
/// whose objects have no duplicate member names (which reader would win is not a question Fairway answers
/// silently).
/// </summary>
public static class InputText
{
    public static readonly ProblemCode InvalidText = ProblemCodes.InvalidText;
    public static readonly ProblemCode InvalidHeader = ProblemCodes.InvalidHeader;
    public static readonly ProblemCode MalformedJson = ProblemCodes.MalformedJson;
    public static readonly ProblemCode NumberOutOfRange = ProblemCodes.NumberOutOfRange;

    /// <summary>As deep as System.Text.Json reads by default: deeper bodies are refused before binding.</summary>
    public const int MaxJsonDepth = 64;
    /// <summary>Fairway's numbers are money in minor units, counts and basis points; 40 characters is far beyond any of them.</summary>
    public const int MaxNumberLength = 40;

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A raw query string (with or without the leading '?'): every name and value must decode to text.</summary>
    public static InputDefect? CheckQuery(string? rawQuery)
    {
        if (string.IsNullOrEmpty(rawQuery)) return null;
        foreach (var pair in rawQuery.TrimStart('?').Split('&'))
        {
            if (pair.Length == 0) continue;
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            if (DecodeComponent(name, plusIsSpace: true, out var decodedName) is { } nameError)
                return new InputDefect(InvalidText, "query", $"query parameter name {Quote(name)}: {nameError}");
            if (eq >= 0 && DecodeComponent(pair[(eq + 1)..], plusIsSpace: true, out _) is { } valueError)
                return new InputDefect(InvalidText, "query." + Printable(decodedName ?? name), $"query parameter {Quote(decodedName ?? name)}: {valueError}");
        }
        return null;
    }

    /// <summary>The raw request path (as the client sent it, before decoding): every segment must decode to text.</summary>
    public static InputDefect? CheckPath(string? rawPath)
    {
        if (string.IsNullOrEmpty(rawPath)) return null;
        return DecodeComponent(rawPath, plusIsSpace: false, out _) is { } error
            ? new InputDefect(InvalidText, "path", $"request path: {error}")
            : null;
    }

    /// <summary>RFC 9110 field values: visible ASCII, space and horizontal tab only.</summary>
    public static InputDefect? CheckHeader(string name, string value)
    {
        foreach (var ch in value)
            if (ch is not ('\t' or (>= ' ' and <= '~')))
                return new InputDefect(InvalidHeader, "header." + name.ToLowerInvariant(),
                    $"header {name} contains the character U+{(int)ch:X4}; header values must be visible ASCII");
        return null;
    }

    /// <summary>A JSON request body (UTF-8 bytes, an optional BOM is tolerated as System.Text.Json does).</summary>
    public static InputDefect? CheckJson(ReadOnlySpan<byte> body)
    {
        body = WithoutBom(body);
        if (!Utf8.IsValid(body))
            return new InputDefect(InvalidText, "body", $"the body is not valid UTF-8 (first invalid byte at offset {FirstInvalidUtf8(body)})");
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxJsonDepth, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        var members = new Stack<HashSet<string>>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject: members.Push(new HashSet<string>(StringComparer.Ordinal)); break;
                    case JsonTokenType.EndObject: members.Pop(); break;
                    case JsonTokenType.PropertyName:
                    {
                        var name = reader.GetString()!;
                        if (CheckString(name) is { } nameError) return new InputDefect(InvalidText, Where(reader), $"member name: {nameError}");
                        if (!members.Peek().Add(name))
                            return new InputDefect(MalformedJson, Where(reader), $"duplicate member {Quote(name)} in one object");
                        break;
                    }
                    case JsonTokenType.String:
                        if (CheckString(reader.GetString()!) is { } valueError) return new InputDefect(InvalidText, Where(reader), valueError);
                        break;
                    case JsonTokenType.Number:
                        if (reader.ValueSpan.Length > MaxNumberLength || !reader.TryGetDouble(out var d) || !double.IsFinite(d))
                            return new InputDefect(NumberOutOfRange, Where(reader),
                                $"the number {Quote(Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, MaxNumberLength)]))}{(reader.ValueSpan.Length > MaxNumberLength ? "…" : "")} is outside the range Fairway accepts");
                        break;
                }
            }
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json refuses to unescape an unpaired surrogate (\udfff) into a string.
            return new InputDefect(InvalidText, Where(reader), "a string is not valid Unicode text: " + e.Message);
        }
        catch (JsonException e)
        {
            return new InputDefect(MalformedJson, "body", "the body is not well-formed JSON: " + e.Message);
        }
        return null;
    }

    public static ReadOnlySpan<byte> WithoutBom(ReadOnlySpan<byte> body) => body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? body[3..] : body;

    /// <summary>A string PostgreSQL can store as text: no NUL, no unpaired surrogate.</summary>
    public static string? CheckString(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var ch = s[i];
            if (ch == '\0') return $"NUL (U+0000) at character {i}; text cannot contain NUL";
            if (char.IsHighSurrogate(ch))
            {
                if (i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
                return $"unpaired surrogate U+{(int)ch:X4} at character {i}";
            }
            if (char.IsLowSurrogate(ch)) return $"unpaired surrogate U+{(int)ch:X4} at character {i}";
        }
        return null;
    }

    /// <summary>
    /// Strict percent-decoding of a URL component to UTF-8 text: malformed escapes, invalid UTF-8 and control
    /// characters (C0, DEL) are errors. Returns null on success with the decoded text.
    /// </summary>
    public static string? DecodeComponent(string raw, bool plusIsSpace, out string? decoded)
    {
        decoded = null;
        var bytes = new List<byte>(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var ch = raw[i];
            if (ch == '%')
            {
                if (i + 2 >= raw.Length || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2]))
                    return $"malformed percent-escape at character {i}";
                bytes.Add((byte)(HexValue(raw[i + 1]) * 16 + HexValue(raw[i + 2])));
                i += 2;
            }
            else if (ch > 0x7F) return $"raw non-ASCII character at {i}; percent-encode UTF-8";
            else bytes.Add(plusIsSpace && ch == '+' ? (byte)' ' : (byte)ch);
        }
        string text;
        try { text = StrictUtf8.GetString(bytes.ToArray()); }
        catch (DecoderFallbackException) { return "does not decode to valid UTF-8"; }
        for (var i = 0; i < text.Length; i++)
            if (char.IsControl(text[i]) && text[i] <= '\u007F')
                return $"control character U+{(int)text[i]:X4} at character {i}";
        decoded = text;
        return null;
    }

    static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F');
    static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    static int FirstInvalidUtf8(ReadOnlySpan<byte> body)
    {
        var status = Utf8.ToUtf16(body, new char[body.Length], out var read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? -1 : read;
    }

    static string Where(Utf8JsonReader reader) => $"body@{reader.BytesConsumed}";

    static string Quote(string s) => "'" + Printable(s.Length > 60 ? s[..60] + "…" : s) + "'";

    /// <summary>For messages and log fields: control and non-text characters shown as \uXXXX, so a refusal never carries what it refused.</summary>
    public static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s)
            sb.Append(ch is < ' ' or '\u007F' || char.IsSurrogate(ch) ? $"\\u{(int)ch:x4}" : ch);
        return sb.ToString();
    }
}
