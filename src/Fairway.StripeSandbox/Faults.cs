using System.Text.Json.Nodes;

namespace Fairway.StripeSandbox;

/// <summary>One injected fault: the next <see cref="Remaining"/> matching /v1 requests misbehave.</summary>
public sealed class Fault
{
    public static readonly string[] Kinds = ["http_500", "http_503", "rate_limit_429", "lock_timeout", "timeout", "connection_reset", "latency"];

    public required string Id { get; init; }
    public string? Method { get; init; }
    public required string PathPrefix { get; init; }
    /// <summary>Only requests carrying this parameter (form field or query) with exactly <see cref="ParamValue"/>; null: any request.</summary>
    public string? ParamName { get; init; }
    public string? ParamValue { get; init; }
    public required string Kind { get; init; }
    public int Remaining { get; set; }   // -1 = until cleared
    public int DelayMs { get; init; }
    public bool AfterCommit { get; init; }
    public int Hits { get; set; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["method"] = Method,
        ["path_prefix"] = PathPrefix,
        ["param_name"] = ParamName,
        ["param_value"] = ParamValue,
        ["kind"] = Kind,
        ["remaining"] = Remaining,
        ["delay_ms"] = DelayMs,
        ["after_commit"] = AfterCommit,
        ["hits"] = Hits,
    };
}

public sealed class FaultRegistry
{
    public const int MaxFaults = 1_000;
    readonly object _lock = new();
    readonly List<Fault> _faults = new();
    long _seq, _injected;

    public long Injected { get { lock (_lock) return _injected; } }

    public Fault Add(string? method, string pathPrefix, string kind, int count, int? delayMs, bool afterCommit, string? paramName = null, string? paramValue = null)
    {
        if (!Fault.Kinds.Contains(kind)) throw new ArgumentException($"kind must be one of {string.Join(", ", Fault.Kinds)}");
        if (!pathPrefix.StartsWith('/')) throw new ArgumentException("path_prefix must start with '/' (e.g. /v1/transfers)");
        if ((paramName is null) != (paramValue is null)) throw new ArgumentException("param_name and param_value go together");
        lock (_lock)
        {
            if (_faults.Count >= MaxFaults) throw new ArgumentException($"at most {MaxFaults} faults");
            var f = new Fault
            {
                Id = $"flt_{++_seq:D4}",
                Method = string.IsNullOrEmpty(method) || method == "*" ? null : method.ToUpperInvariant(),
                PathPrefix = pathPrefix,
                Kind = kind,
                Remaining = count == 0 ? 1 : count,
                DelayMs = delayMs ?? (kind == "timeout" ? 30_000 : 0),
                AfterCommit = afterCommit,
                ParamName = paramName,
                ParamValue = paramValue,
            };
            _faults.Add(f);
            return f;
        }
    }

    /// <summary>Consumes one use of the first matching fault, if any (<paramref name="parameters"/>: the request's form fields or query).</summary>
    public Fault? Take(string method, string path, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        lock (_lock)
        {
            var f = _faults.FirstOrDefault(f => f.Remaining != 0
                && (f.Method is null || f.Method == method)
                && path.StartsWith(f.PathPrefix, StringComparison.Ordinal)
                && (f.ParamName is null || parameters.Any(kv => kv.Key == f.ParamName && kv.Value == f.ParamValue)));
            if (f is null) return null;
            if (f.Remaining > 0) f.Remaining--;
            f.Hits++;
            _injected++;
            return f;
        }
    }

    public JsonArray List()
    {
        lock (_lock)
        {
            var a = new JsonArray();
            foreach (var f in _faults) a.Add(f.ToJson());
            return a;
        }
    }

    public bool Remove(string id) { lock (_lock) return _faults.RemoveAll(f => f.Id == id) > 0; }

    public void Clear(bool resetCounters = false)
    {
        lock (_lock) { _faults.Clear(); if (resetCounters) _injected = 0; }
    }
}
