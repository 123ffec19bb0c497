namespace Fairway.Engine.Json;

/// <summary>Collects every error instead of stopping at the first, so callers see the whole picture at once.</summary>
internal sealed class ErrorSink
{
    private readonly List<EngineError> _errors = new();

    public int Count => _errors.Count;

    public IReadOnlyList<EngineError> Errors => _errors;

    public void Add(string path, string code, string message) => _errors.Add(new EngineError(path, code, message));

    public void AddRange(IEnumerable<EngineError> errors) => _errors.AddRange(errors);

    public EngineResult<T> ToResult<T>(Func<T> build) =>
        _errors.Count == 0 ? EngineResult<T>.Success(build()) : EngineResult<T>.Failure(_errors);
}

internal static class JsonPath
{
    public const string Root = "$";

    public static string Field(string parent, string name) =>
        parent.Length == 0 || parent == Root ? name : parent + "." + name;

    public static string Index(string parent, int index) =>
        (parent.Length == 0 ? Root : parent) + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
}
