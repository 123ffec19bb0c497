using System.Globalization;
using System.Text.Json;

namespace Fairway.Engine.Json;

/// <summary>Strict readers for single JSON values. Nothing is coerced: a string is never a number,
/// a number with a fraction or exponent is never an integer.</summary>
internal static class JsonInput
{
    public static bool TryParseDocument(string json, string path, ErrorSink sink, out JsonDocument? document)
    {
        try
        {
            // Defaults are deliberate: no comments, no trailing commas, depth 64.
            document = JsonDocument.Parse(json);
            return true;
        }
        catch (JsonException ex)
        {
            sink.Add(path, ErrorCodes.InvalidJson, "Input is not valid JSON: " + ex.Message);
            document = null;
            return false;
        }
    }

    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static string? String(JsonElement e, string path, ErrorSink sink, bool allowEmpty = false)
    {
        if (e.ValueKind != JsonValueKind.String)
        {
            sink.Add(path, ErrorCodes.WrongType, $"Expected a string, found {Describe(e.ValueKind)}.");
            return null;
        }
        var s = e.GetString()!;
        if (!allowEmpty && s.Length == 0)
        {
            sink.Add(path, ErrorCodes.EmptyString, "Must not be empty.");
            return null;
        }
        return s;
    }

    public static long? Integer(JsonElement e, string path, ErrorSink sink, long min, long max)
    {
        if (e.ValueKind != JsonValueKind.Number)
        {
            sink.Add(path, ErrorCodes.WrongType, $"Expected an integer, found {Describe(e.ValueKind)}.");
            return null;
        }
        var raw = e.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0)
        {
            sink.Add(path, ErrorCodes.NotAnInteger, $"Expected an integer, found the non-integer number {raw}.");
            return null;
        }
        if (!e.TryGetInt64(out var value))
        {
            sink.Add(path, ErrorCodes.OutOfRange, $"Integer {raw} is too large.");
            return null;
        }
        if (value < min || value > max)
        {
            sink.Add(path, ErrorCodes.OutOfRange,
                $"Must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, found {value.ToString(CultureInfo.InvariantCulture)}.");
            return null;
        }
        return value;
    }

    public static int? Int(JsonElement e, string path, ErrorSink sink, int min, int max) =>
        (int?)Integer(e, path, sink, min, max);

    public static bool IsArray(JsonElement e, string path, ErrorSink sink)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            return true;
        }
        sink.Add(path, ErrorCodes.WrongType, $"Expected an array, found {Describe(e.ValueKind)}.");
        return false;
    }
}
