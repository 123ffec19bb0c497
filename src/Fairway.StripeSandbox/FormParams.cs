using System.Globalization;
using System.Text;

namespace Fairway.StripeSandbox;

/// <summary>
/// Stripe-style form parameters (<c>application/x-www-form-urlencoded</c> or a query string)
/// with bracketed nesting: <c>metadata[k]=v</c>, <c>transfer_data[destination]=acct_1</c>,
/// <c>expand[]=x</c> and <c>expand[0]=x</c>. Values are <see cref="string"/>,
/// <see cref="Dictionary{TKey,TValue}"/> (string → node) or <see cref="List{T}"/> of nodes.
/// </summary>
public sealed class FormParams
{
    public Dictionary<string, object> Root { get; } = new(StringComparer.Ordinal);
    public List<KeyValuePair<string, string>> Pairs { get; } = new();

    public static FormParams Parse(string? raw)
    {
        var p = new FormParams();
        if (string.IsNullOrEmpty(raw)) return p;
        if (raw[0] == '?') raw = raw[1..];
        foreach (var part in raw.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var k = Decode(eq < 0 ? part : part[..eq]);
            var v = eq < 0 ? "" : Decode(part[(eq + 1)..]);
            p.Pairs.Add(new(k, v));
            p.Insert(k, v);
        }
        return p;
    }

    static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>Canonical form used to compare parameters of idempotent requests.</summary>
    public string Fingerprint()
    {
        var sb = new StringBuilder();
        foreach (var kv in Pairs.OrderBy(k => k.Key, StringComparer.Ordinal).ThenBy(k => k.Value, StringComparer.Ordinal))
            sb.Append(kv.Key).Append('=').Append(kv.Value).Append('&');
        return sb.ToString();
    }

    static List<string> Segments(string key)
    {
        var segs = new List<string>();
        var b = key.IndexOf('[');
        if (b < 0) { segs.Add(key); return segs; }
        segs.Add(key[..b]);
        var rest = key[b..];
        while (rest.Length > 0 && rest[0] == '[')
        {
            var close = rest.IndexOf(']');
            if (close < 0) { segs[^1] += rest; break; }
            segs.Add(rest[1..close]);
            rest = rest[(close + 1)..];
        }
        return segs;
    }

    void Insert(string key, string value)
    {
        var segs = Segments(key);
        object container = Root;
        for (var i = 0; i < segs.Count; i++)
        {
            var seg = segs[i];
            var last = i == segs.Count - 1;
            if (container is Dictionary<string, object> dict)
            {
                if (last)
                {
                    if (seg == "") { /* malformed "[]" on a dict: ignore */ return; }
                    dict[seg] = value;
                    return;
                }
                var nextIsList = segs[i + 1] == "";
                if (!dict.TryGetValue(seg, out var child) || child is string)
                {
                    child = nextIsList ? new List<object>() : new Dictionary<string, object>(StringComparer.Ordinal);
                    dict[seg] = child;
                }
                container = child;
            }
            else if (container is List<object> list)
            {
                // only "[]" reaches here
                if (last) { list.Add(value); return; }
                var child = new Dictionary<string, object>(StringComparer.Ordinal);
                list.Add(child);
                container = child;
            }
        }
    }

    public object? Node(string path)
    {
        object? cur = Root;
        foreach (var seg in path.Split('.'))
        {
            if (cur is Dictionary<string, object> d && d.TryGetValue(seg, out var next)) cur = next;
            else return null;
        }
        return cur;
    }

    public bool Has(string path) => Node(path) is not null;

    public string? Str(string path) => Node(path) as string;

    public string RequiredStr(string path)
    {
        var s = Str(path);
        if (string.IsNullOrEmpty(s)) throw StripeApiException.Missing(path);
        return s;
    }

    public long? Long(string path)
    {
        var s = Str(path);
        if (s is null) return null;
        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw StripeApiException.Invalid(path, $"Invalid integer: {s}", "parameter_invalid_integer");
        return v;
    }

    public long RequiredLong(string path) => Long(path) ?? throw StripeApiException.Missing(path);

    public bool? Bool(string path)
    {
        var s = Str(path);
        if (s is null) return null;
        return s switch
        {
            "true" => true,
            "false" => false,
            _ => throw StripeApiException.Invalid(path, $"Invalid boolean: {s}"),
        };
    }

    /// <summary>List values from <c>k[]=a&amp;k[]=b</c>, <c>k[0]=a&amp;k[1]=b</c> or a single <c>k=a</c>.</summary>
    public List<string> List(string path)
    {
        var n = Node(path);
        return n switch
        {
            null => new List<string>(),
            string s => s.Length == 0 ? new List<string>() : new List<string> { s },
            List<object> l => l.OfType<string>().ToList(),
            Dictionary<string, object> d => d
                .OrderBy(kv => int.TryParse(kv.Key, out var i) ? i : int.MaxValue)
                .Select(kv => kv.Value).OfType<string>().ToList(),
            _ => new List<string>(),
        };
    }

    /// <summary>metadata[k]=v pairs. An empty value means "unset" on updates.</summary>
    public Dictionary<string, string>? Map(string path)
    {
        var n = Node(path);
        if (n is Dictionary<string, object> d)
            return d.Where(kv => kv.Value is string).ToDictionary(kv => kv.Key, kv => (string)kv.Value);
        if (n is string s && s.Length == 0) return new Dictionary<string, string>(); // metadata="" clears
        return null;
    }
}
