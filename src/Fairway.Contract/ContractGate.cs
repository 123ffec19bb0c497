using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Fairway.Contract;

/// <summary>One change that breaks an existing client of the baseline contract. <c>Where</c> is a JSON-pointer-like location.</summary>
public sealed record BreakingChange(string Kind, string Where, string Detail)
{
    public override string ToString() => $"{Kind} at {Where}: {Detail}";
}

/// <summary>The outcome of comparing a document with the frozen baseline.</summary>
public sealed record GateResult(string BaselineVersion, string CurrentVersion, IReadOnlyList<BreakingChange> Breaking)
{
    /// <summary>Breaking changes pass only under a raised contract version (the decision log must explain it; the test checks that).</summary>
    public bool VersionRaised => ContractGate.MajorOf(CurrentVersion) > ContractGate.MajorOf(BaselineVersion);
    public bool Passed => Breaking.Count == 0 || VersionRaised;
}

/// <summary>
/// The breaking-change gate of the public API (decision log 2026-11-30, "contract v1"). It reads both documents with
/// Microsoft.OpenApi and walks every baseline operation. Breaking: a removed path, operation, parameter, success
/// response, response property or enum value; a changed type (including a response value that may now be null, or a
/// request value that may no longer be null); a new required request property or parameter; a narrowed format on the
/// request side (or a widened one on the response side). Everything else (new paths, operations, optional
/// properties, response properties, error statuses) is additive and passes.
/// </summary>
public static class ContractGate
{
    const string V1Resource = "openapi.v1.json";

    /// <summary>The frozen v1 baseline, embedded at build time from docs/api/openapi.v1.json.</summary>
    public static string BaselineV1Json()
    {
        using var s = typeof(ContractGate).Assembly.GetManifestResourceStream(V1Resource)
            ?? throw new InvalidOperationException($"embedded resource {V1Resource} is missing");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public static OpenApiDocument Read(string json, string name)
    {
        var (doc, diagnostic) = OpenApiDocument.Parse(json, "json", new OpenApiReaderSettings());
        if (doc is null || diagnostic?.Errors.Count > 0)
            throw new InvalidDataException($"{name} is not a valid OpenAPI document: {string.Join("; ", diagnostic?.Errors.Select(e => $"{e.Pointer}: {e.Message}") ?? [])}");
        return doc;
    }

    public static GateResult Check(string baselineJson, string currentJson)
    {
        var baseline = Read(baselineJson, "the baseline");
        var current = Read(currentJson, "the current document");
        return new GateResult(baseline.Info?.Version ?? "", current.Info?.Version ?? "", Compare(baseline, current));
    }

    public static int MajorOf(string version) =>
        int.TryParse(version.TrimStart('v', 'V').Split('.')[0], out var n) ? n : 0;

    public static IReadOnlyList<BreakingChange> Compare(OpenApiDocument baseline, OpenApiDocument current)
    {
        var found = new List<BreakingChange>();
        foreach (var (path, oldItem) in Ordered(baseline.Paths))
        {
            if (current.Paths?.TryGetValue(path, out var newItem) != true || newItem is null)
            {
                found.Add(new("removed path", path, "the path no longer exists"));
                continue;
            }
            foreach (var (method, oldOp) in (oldItem.Operations ?? []).OrderBy(o => o.Key.Method, StringComparer.Ordinal))
            {
                var where = $"{method.Method.ToUpperInvariant()} {path}";
                if (newItem.Operations?.TryGetValue(method, out var newOp) != true || newOp is null)
                {
                    found.Add(new("removed operation", where, "the operation no longer exists"));
                    continue;
                }
                CompareOperation(where, oldOp, newOp, found);
            }
        }
        return found;
    }

    static IEnumerable<KeyValuePair<string, T>> Ordered<T>(IDictionary<string, T>? d) =>
        (d ?? new Dictionary<string, T>()).OrderBy(kv => kv.Key, StringComparer.Ordinal);

    static void CompareOperation(string where, OpenApiOperation oldOp, OpenApiOperation newOp, List<BreakingChange> found)
    {
        var oldParams = (oldOp.Parameters ?? []).ToDictionary(p => (p.In, p.Name));
        foreach (var p in newOp.Parameters ?? [])
        {
            var at = $"{where} {p.In} parameter '{p.Name}'";
            if (!oldParams.TryGetValue((p.In, p.Name), out var old))
            {
                if (p.Required) found.Add(new("new required parameter", at, "clients do not send it"));
                continue;
            }
            if (p.Required && !old.Required) found.Add(new("parameter became required", at, "clients may omit it"));
            CompareSchema(at, old.Schema, p.Schema, Direction.Request, found, []);
        }
        foreach (var ((location, name), _) in oldParams)
            if (newOp.Parameters?.Any(p => p.In == location && p.Name == name) != true)
                found.Add(new("removed parameter", $"{where} {location} parameter '{name}'", "clients still send it"));

        if (oldOp.RequestBody?.Content is { } oldBody)
        {
            foreach (var (mediaType, oldMedia) in Ordered(oldBody))
            {
                var at = $"{where} request {mediaType}";
                if (newOp.RequestBody?.Content?.TryGetValue(mediaType, out var newMedia) != true || newMedia is null)
                    found.Add(new("removed request media type", at, "clients still send it"));
                else CompareSchema(at, oldMedia.Schema, newMedia.Schema, Direction.Request, found, []);
            }
        }
        else if (newOp.RequestBody is { Required: true })
            found.Add(new("new required request body", $"{where} request", "clients send no body"));

        foreach (var (status, oldResponse) in Ordered(oldOp.Responses))
        {
            if (!status.StartsWith('2')) continue;   // error statuses are added and removed additively
            var at = $"{where} response {status}";
            if (newOp.Responses?.TryGetValue(status, out var newResponse) != true || newResponse is null)
            {
                found.Add(new("removed response", at, "clients expect this success status"));
                continue;
            }
            foreach (var (mediaType, oldMedia) in Ordered(oldResponse.Content))
            {
                if (newResponse.Content?.TryGetValue(mediaType, out var newMedia) != true || newMedia is null)
                    found.Add(new("removed response media type", $"{at} {mediaType}", "clients expect this body"));
                else CompareSchema($"{at} {mediaType}", oldMedia.Schema, newMedia.Schema, Direction.Response, found, []);
            }
        }
    }

    enum Direction { Request, Response }

    static void CompareSchema(string at, IOpenApiSchema? oldSchema, IOpenApiSchema? newSchema, Direction direction, List<BreakingChange> found, HashSet<(string, string)> visiting)
    {
        if (oldSchema is null || newSchema is null) return;
        // Recursive schemas: each pair of named schemas is compared once per path.
        if (oldSchema is OpenApiSchemaReference oldRef && newSchema is OpenApiSchemaReference newRef
            && !visiting.Add((oldRef.Reference.Id ?? "", newRef.Reference.Id ?? ""))) return;
        (oldSchema, var oldNullable) = Unwrap(oldSchema);
        (newSchema, var newNullable) = Unwrap(newSchema);

        var oldType = (oldSchema.Type ?? 0) & ~JsonSchemaType.Null;
        var newType = (newSchema.Type ?? 0) & ~JsonSchemaType.Null;
        oldNullable |= (oldSchema.Type & JsonSchemaType.Null) != 0;
        newNullable |= (newSchema.Type & JsonSchemaType.Null) != 0;
        if (oldType != newType && oldType != 0)
            found.Add(new("changed type", at, $"{Name(oldType)} -> {Name(newType)}"));
        if (direction == Direction.Response && newNullable && !oldNullable)
            found.Add(new("changed type", at, "a value that was never null may now be null"));
        if (direction == Direction.Request && oldNullable && !newNullable)
            found.Add(new("changed type", at, "null is no longer accepted"));

        if (oldSchema.Format != newSchema.Format)
        {
            var narrowed = !Contains(newSchema.Format, oldSchema.Format);
            var widened = !Contains(oldSchema.Format, newSchema.Format);
            if (direction == Direction.Request && narrowed)
                found.Add(new("narrowed format", at, $"'{oldSchema.Format ?? "(any)"}' -> '{newSchema.Format ?? "(any)"}': values clients send may be refused"));
            if (direction == Direction.Response && widened)
                found.Add(new("widened format", at, $"'{oldSchema.Format ?? "(any)"}' -> '{newSchema.Format ?? "(any)"}': clients may not be able to hold the values"));
        }

        if (oldSchema.Enum is { Count: > 0 } oldEnum)
        {
            var newValues = (newSchema.Enum ?? []).Select(v => v?.ToJsonString()).ToHashSet();
            if (newSchema.Enum is { Count: > 0 })
                foreach (var v in oldEnum.Select(v => v?.ToJsonString()).Where(v => !newValues.Contains(v)))
                    found.Add(new("removed enum value", at, $"{v} is gone"));
        }

        var oldRequired = oldSchema.Required ?? new HashSet<string>();
        var newRequired = newSchema.Required ?? new HashSet<string>();
        foreach (var (name, oldProp) in Ordered(oldSchema.Properties))
        {
            var propAt = $"{at}.{name}";
            if (newSchema.Properties?.TryGetValue(name, out var newProp) != true || newProp is null)
            {
                found.Add(new("removed property", propAt, direction == Direction.Response ? "clients read it" : "clients send it and it would be refused"));
                continue;
            }
            if (direction == Direction.Request && newRequired.Contains(name) && !oldRequired.Contains(name))
                found.Add(new("new required request property", propAt, "clients may omit it"));
            if (direction == Direction.Response && oldRequired.Contains(name) && !newRequired.Contains(name))
                found.Add(new("response property no longer required", propAt, "clients rely on it being present"));
            CompareSchema(propAt, oldProp, newProp, direction, found, [.. visiting]);
        }
        if (direction == Direction.Request)
            foreach (var name in newRequired.Where(n => !oldRequired.Contains(n) && oldSchema.Properties?.ContainsKey(n) != true).Order(StringComparer.Ordinal))
                found.Add(new("new required request property", $"{at}.{name}", "clients do not send it"));

        if (oldSchema.Items is not null)
            CompareSchema($"{at}[]", oldSchema.Items, newSchema.Items, direction, found, [.. visiting]);
    }

    /// <summary>A `oneOf`/`anyOf` of null and one schema (how nullable references are written) is that schema, nullable.</summary>
    static (IOpenApiSchema Schema, bool Nullable) Unwrap(IOpenApiSchema s)
    {
        var members = s.OneOf ?? s.AnyOf;
        if (members is { Count: 2 } && members.Count(m => m.Type == JsonSchemaType.Null) == 1)
            return (members.First(m => m.Type != JsonSchemaType.Null), true);
        return (s, false);
    }

    /// <summary>Does format <paramref name="wide"/> accept every value of format <paramref name="narrow"/>? No format accepts all.</summary>
    static bool Contains(string? wide, string? narrow) => wide == narrow || wide is null
        || (wide, narrow) is ("int64", "int32") or ("double", "float");

    static string Name(JsonSchemaType t) => t == 0 ? "(any)" : string.Join("|", t.ToIdentifiers());

    /// <summary>The JSON text of a node, for messages.</summary>
    static string? ToJsonString(this JsonNode? n) => n?.ToJsonString();
}
