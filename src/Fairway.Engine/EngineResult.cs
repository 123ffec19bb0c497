namespace Fairway.Engine;

/// <summary>One reason an input was rejected. <see cref="Code"/> is stable and machine-readable;
/// <see cref="Path"/> points at the offending value (e.g. <c>rules.payout_table[2].bps</c>, or <c>$</c> for the whole input).</summary>
public sealed record EngineError(string Path, string Code, string Message);

/// <summary>Either a value or a non-empty list of every error found. Never both, never neither.</summary>
public sealed class EngineResult<T>
{
    private readonly T? _value;

    private EngineResult(T? value, IReadOnlyList<EngineError> errors)
    {
        _value = value;
        Errors = errors;
    }

    public bool IsSuccess => Errors.Count == 0;

    public IReadOnlyList<EngineError> Errors { get; }

    /// <summary>The value; throws when the result holds errors so a caller can never use a half-validated value.</summary>
    public T Value => IsSuccess
        ? _value!
        : throw new InvalidOperationException(
            "Result has errors: " + string.Join("; ", Errors.Select(e => $"{e.Path} {e.Code}")));

    public static EngineResult<T> Success(T value) => new(value, Array.Empty<EngineError>());

    public static EngineResult<T> Failure(IEnumerable<EngineError> errors)
    {
        var list = errors.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("A failure needs at least one error.", nameof(errors));
        }
        return new EngineResult<T>(default, list);
    }
}
