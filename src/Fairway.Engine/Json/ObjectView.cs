using System.Text.Json;

namespace Fairway.Engine.Json;

/// <summary>Reads the named properties of one JSON object. In strict mode (our own formats) any key outside
/// <c>knownKeys</c> is an error; in lenient mode (provider payloads) extra keys are ignored. A repeated key
/// among the known ones is always an error, because which copy wins would be a guess.</summary>
internal sealed class ObjectView
{
    private readonly Dictionary<string, JsonElement> _props = new(StringComparer.Ordinal);
    private readonly string _path;
    private readonly ErrorSink _sink;

    private ObjectView(string path, ErrorSink sink)
    {
        _path = path;
        _sink = sink;
    }

    public string Path => _path;

    public static ObjectView? Open(JsonElement e, string path, ErrorSink sink, IReadOnlyCollection<string> knownKeys, bool strict)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            sink.Add(path, ErrorCodes.WrongType, $"Expected an object, found {JsonInput.Describe(e.ValueKind)}.");
            return null;
        }
        var view = new ObjectView(path, sink);
        var reportedDuplicates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            var known = knownKeys.Contains(p.Name);
            if (!known)
            {
                if (strict)
                {
                    sink.Add(JsonPath.Field(path, p.Name), ErrorCodes.UnknownField, $"Unknown field '{p.Name}'.");
                }
                continue;
            }
            if (!view._props.TryAdd(p.Name, p.Value) && reportedDuplicates.Add(p.Name))
            {
                sink.Add(JsonPath.Field(path, p.Name), ErrorCodes.DuplicateField, $"Field '{p.Name}' appears more than once.");
            }
        }
        return view;
    }

    public string FieldPath(string name) => JsonPath.Field(_path, name);

    /// <summary>The property if present (null JSON values included); reports MISSING_FIELD when absent.</summary>
    public JsonElement? Required(string name)
    {
        if (_props.TryGetValue(name, out var v))
        {
            return v;
        }
        _sink.Add(FieldPath(name), ErrorCodes.MissingField, $"Required field '{name}' is missing.");
        return null;
    }

    /// <summary>The property unless it is absent or JSON null.</summary>
    public JsonElement? Optional(string name) =>
        _props.TryGetValue(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string name, bool allowEmpty = false) =>
        Required(name) is { } v ? JsonInput.String(v, FieldPath(name), _sink, allowEmpty) : null;

    public long? Integer(string name, long min, long max) =>
        Required(name) is { } v ? JsonInput.Integer(v, FieldPath(name), _sink, min, max) : null;

    public int? Int(string name, int min, int max) =>
        Required(name) is { } v ? JsonInput.Int(v, FieldPath(name), _sink, min, max) : null;

    public JsonElement? Array(string name) =>
        Required(name) is { } v && JsonInput.IsArray(v, FieldPath(name), _sink) ? v : null;
}
