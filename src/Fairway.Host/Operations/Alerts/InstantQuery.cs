using System.Globalization;
using System.Text.RegularExpressions;

namespace Fairway.Host.Operations.Alerts;

/// <summary>An expression this evaluator cannot compute from one scrape (a rate over time, vector matching modifiers, …).</summary>
public sealed class NotEvaluableException(string why) : Exception(why);

/// <summary>
/// The instant-query subset of PromQL that alert rules on gauges use, evaluated over ONE scrape: selectors with
/// label matchers; <c>+ - * / %</c>; comparisons (filtering, or with <c>bool</c>); <c>and</c>, <c>or</c>,
/// <c>unless</c>; <c>sum min max count avg</c> with <c>by</c>/<c>without</c>; <c>time()</c> and <c>vector()</c>.
/// Binary operations between two vectors match samples one-to-one on all labels but the name, as PromQL does
/// without modifiers. Anything that needs history (range selectors, <c>rate</c>, <c>increase</c>, <c>offset</c>)
/// or other modifiers throws <see cref="NotEvaluableException"/>: such rules are left to Prometheus.
/// </summary>
public sealed class InstantQuery
{
    abstract record Node;
    sealed record Number(double Value) : Node;
    sealed record Selector(string? Name, IReadOnlyList<Matcher> Matchers) : Node;
    sealed record Binary(string Op, Node Left, Node Right, bool ReturnBool) : Node;
    sealed record Aggregate(string Op, Node Inner, IReadOnlyList<string> Labels, bool Without) : Node;
    sealed record Call(string Function, IReadOnlyList<Node> Args) : Node;
    sealed record Negate(Node Inner) : Node;
    sealed record Matcher(string Label, string Op, string Value);

    static readonly HashSet<string> Aggregations = ["sum", "min", "max", "count", "avg"];
    static readonly HashSet<string> Comparisons = ["==", "!=", ">", "<", ">=", "<="];

    readonly Node root;
    readonly List<string> tokens;
    int pos;

    public IReadOnlyList<string> MetricNames { get; }

    InstantQuery(string expr)
    {
        tokens = Tokenize(expr);
        root = ParseOr();
        if (pos != tokens.Count) throw new NotEvaluableException($"unexpected '{tokens[pos]}'");
        var names = new SortedSet<string>(StringComparer.Ordinal);
        Collect(root, names);
        MetricNames = names.ToList();
    }

    /// <summary>Parses <paramref name="expr"/>; throws <see cref="NotEvaluableException"/> when it is outside the subset.</summary>
    public static InstantQuery Parse(string expr) => new(expr);

    /// <summary>The samples the expression yields now (an alert fires once for each); <paramref name="nowUnixSeconds"/> is <c>time()</c>.</summary>
    public IReadOnlyList<MetricSample> Evaluate(IReadOnlyList<MetricSample> samples, double nowUnixSeconds)
    {
        var value = Eval(root, samples, nowUnixSeconds);
        return value as List<MetricSample> ?? throw new NotEvaluableException("the expression is a scalar, not a vector");
    }

    static void Collect(Node n, SortedSet<string> names)
    {
        switch (n)
        {
            case Selector { Name: { } name }: names.Add(name); break;
            case Binary b: Collect(b.Left, names); Collect(b.Right, names); break;
            case Aggregate a: Collect(a.Inner, names); break;
            case Call c: foreach (var arg in c.Args) Collect(arg, names); break;
            case Negate g: Collect(g.Inner, names); break;
        }
    }

    // ---- parsing -----------------------------------------------------------------------------

    static List<string> Tokenize(string s)
    {
        var result = new List<string>();
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '#') { while (i < s.Length && s[i] != '\n') i++; continue; }
            if (c == '"' || c == '\'')
            {
                var j = i + 1;
                while (j < s.Length && s[j] != c) j += s[j] == '\\' ? 2 : 1;
                if (j >= s.Length) throw new NotEvaluableException("unterminated string");
                result.Add(s[i..(j + 1)]);
                i = j + 1;
                continue;
            }
            if (char.IsLetter(c) || c == '_' || c == ':')
            {
                var j = i;
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '_' || s[j] == ':')) j++;
                result.Add(s[i..j]);
                i = j;
                continue;
            }
            if (char.IsDigit(c) || (c == '.' && i + 1 < s.Length && char.IsDigit(s[i + 1])))
            {
                var j = i;
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] == '.' || ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E')))) j++;
                result.Add(s[i..j]);
                i = j;
                continue;
            }
            var two = i + 1 < s.Length ? s.Substring(i, 2) : "";
            if (two is "==" or "!=" or ">=" or "<=" or "=~" or "!~") { result.Add(two); i += 2; continue; }
            result.Add(c.ToString());
            i++;
        }
        return result;
    }

    string? Peek => pos < tokens.Count ? tokens[pos] : null;
    string Next() => pos < tokens.Count ? tokens[pos++] : throw new NotEvaluableException("unexpected end of expression");

    void Expect(string token)
    {
        var t = Next();
        if (t != token) throw new NotEvaluableException($"expected '{token}', found '{t}'");
    }

    Node ParseOr()
    {
        var left = ParseAnd();
        while (Peek == "or") { Next(); RefuseModifiers(); left = new Binary("or", left, ParseAnd(), false); }
        return left;
    }

    Node ParseAnd()
    {
        var left = ParseComparison();
        while (Peek is "and" or "unless") { var op = Next(); RefuseModifiers(); left = new Binary(op, left, ParseComparison(), false); }
        return left;
    }

    Node ParseComparison()
    {
        var left = ParseAdditive();
        while (Peek is { } op && Comparisons.Contains(op))
        {
            Next();
            var returnBool = Peek == "bool";
            if (returnBool) Next();
            RefuseModifiers();
            left = new Binary(op, left, ParseAdditive(), returnBool);
        }
        return left;
    }

    Node ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Peek is "+" or "-") { var op = Next(); RefuseModifiers(); left = new Binary(op, left, ParseMultiplicative(), false); }
        return left;
    }

    Node ParseMultiplicative()
    {
        var left = ParseUnary();
        while (Peek is "*" or "/" or "%") { var op = Next(); RefuseModifiers(); left = new Binary(op, left, ParseUnary(), false); }
        if (Peek == "^") throw new NotEvaluableException("'^' is not supported");
        return left;
    }

    Node ParseUnary()
    {
        if (Peek == "-") { Next(); return new Negate(ParseUnary()); }
        if (Peek == "+") Next();
        return ParsePrimary();
    }

    void RefuseModifiers()
    {
        if (Peek is "on" or "ignoring" or "group_left" or "group_right")
            throw new NotEvaluableException($"vector matching with '{Peek}' is left to Prometheus");
    }

    Node ParsePrimary()
    {
        var t = Next();
        Node node;
        if (t == "(") { node = ParseOr(); Expect(")"); }
        else if (char.IsDigit(t[0]) || t[0] == '.')
        {
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) throw new NotEvaluableException($"'{t}' is not a number here (durations need history)");
            node = new Number(number);
        }
        else if (t == "{") node = new Selector(null, ParseMatchers());
        else if (Aggregations.Contains(t)) node = ParseAggregation(t);
        else if (Peek == "(") node = ParseCall(t);
        else if (char.IsLetter(t[0]) || t[0] is '_' or ':')
        {
            List<Matcher> matchers = [];
            if (Peek == "{") { Next(); matchers = ParseMatchers(); }
            node = new Selector(t, matchers);
        }
        else throw new NotEvaluableException($"unexpected '{t}'");
        if (Peek == "[") throw new NotEvaluableException("range selectors need history: evaluated by Prometheus");
        if (Peek == "offset") throw new NotEvaluableException("'offset' needs history: evaluated by Prometheus");
        return node;
    }

    List<Matcher> ParseMatchers()
    {
        var matchers = new List<Matcher>();
        while (Peek != "}")
        {
            var label = Next();
            var op = Next();
            if (op is not ("=" or "!=" or "=~" or "!~")) throw new NotEvaluableException($"unknown matcher '{op}'");
            matchers.Add(new Matcher(label, op, Unquote(Next())));
            if (Peek == ",") Next();
        }
        Next();
        return matchers;
    }

    static string Unquote(string token)
    {
        if (token.Length < 2 || (token[0] != '"' && token[0] != '\'')) throw new NotEvaluableException($"expected a string, found '{token}'");
        return Regex.Unescape(token[1..^1]);
    }

    Node ParseAggregation(string op)
    {
        var (labels, without) = ParseGrouping();
        Expect("(");
        var inner = ParseOr();
        if (Peek == ",") throw new NotEvaluableException($"{op} with a parameter is not supported");
        Expect(")");
        if (labels is null) (labels, without) = ParseGrouping();
        return new Aggregate(op, inner, labels ?? [], without);
    }

    (List<string>? Labels, bool Without) ParseGrouping()
    {
        if (Peek is not ("by" or "without")) return (null, false);
        var without = Next() == "without";
        Expect("(");
        var labels = new List<string>();
        while (Peek != ")") { labels.Add(Next()); if (Peek == ",") Next(); }
        Next();
        return (labels, without);
    }

    Node ParseCall(string function)
    {
        if (function is not ("time" or "vector"))
            throw new NotEvaluableException($"function {function}() needs history or more than one scrape: evaluated by Prometheus");
        Expect("(");
        var args = new List<Node>();
        while (Peek != ")") { args.Add(ParseOr()); if (Peek == ",") Next(); }
        Next();
        if ((function == "time" && args.Count != 0) || (function == "vector" && args.Count != 1))
            throw new NotEvaluableException($"wrong number of arguments to {function}()");
        return new Call(function, args);
    }

    // ---- evaluation: a value is a double (scalar) or a List<MetricSample> (instant vector) -----------

    static object Eval(Node n, IReadOnlyList<MetricSample> samples, double now) => n switch
    {
        Number x => x.Value,
        Selector s => samples.Where(sample => Matches(s, sample)).ToList(),
        Negate g => Eval(g.Inner, samples, now) switch
        {
            double d => -d,
            List<MetricSample> v => v.Select(x => new MetricSample(WithoutName(x.Labels), -x.Value)).ToList(),
            _ => throw new InvalidOperationException(),
        },
        Call { Function: "time" } => now,
        Call { Function: "vector" } c => Eval(c.Args[0], samples, now) is double d
            ? new List<MetricSample> { new(new Dictionary<string, string>(), d) }
            : throw new NotEvaluableException("vector() takes a scalar"),
        Aggregate a => Aggregated(a, Eval(a.Inner, samples, now) as List<MetricSample> ?? throw new NotEvaluableException($"{a.Op} takes a vector")),
        Binary b => Apply(b, Eval(b.Left, samples, now), Eval(b.Right, samples, now)),
        _ => throw new NotEvaluableException("unsupported expression"),
    };

    static bool Matches(Selector s, MetricSample sample)
    {
        if (s.Name is not null && sample.Name != s.Name) return false;
        foreach (var m in s.Matchers)
        {
            var actual = sample.Labels.GetValueOrDefault(m.Label) ?? "";
            var ok = m.Op switch
            {
                "=" => actual == m.Value,
                "!=" => actual != m.Value,
                "=~" => Regex.IsMatch(actual, $"^(?:{m.Value})$"),
                _ => !Regex.IsMatch(actual, $"^(?:{m.Value})$"),
            };
            if (!ok) return false;
        }
        return true;
    }

    static Dictionary<string, string> WithoutName(IReadOnlyDictionary<string, string> labels) =>
        labels.Where(l => l.Key != "__name__").ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

    static string Signature(IReadOnlyDictionary<string, string> labels) =>
        string.Join('\u0001', labels.Where(l => l.Key != "__name__").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "\u0002" + l.Value));

    static List<MetricSample> Aggregated(Aggregate a, List<MetricSample> input)
    {
        var groups = new SortedDictionary<string, (Dictionary<string, string> Labels, List<double> Values)>(StringComparer.Ordinal);
        foreach (var s in input)
        {
            var labels = a.Without
                ? s.Labels.Where(l => l.Key != "__name__" && !a.Labels.Contains(l.Key)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal)
                : a.Labels.Where(s.Labels.ContainsKey).ToDictionary(l => l, l => s.Labels[l], StringComparer.Ordinal);
            var key = Signature(labels);
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = (labels, []);
            g.Values.Add(s.Value);
        }
        return groups.Values.Select(g => new MetricSample(g.Labels, a.Op switch
        {
            "sum" => g.Values.Sum(),
            "min" => g.Values.Min(),
            "max" => g.Values.Max(),
            "count" => g.Values.Count,
            _ => g.Values.Average(),
        })).ToList();
    }

    static object Apply(Binary b, object left, object right)
    {
        if (b.Op is "and" or "or" or "unless")
        {
            if (left is not List<MetricSample> l || right is not List<MetricSample> r) throw new NotEvaluableException($"'{b.Op}' needs two vectors");
            var rightKeys = r.Select(x => Signature(x.Labels)).ToHashSet(StringComparer.Ordinal);
            return b.Op switch
            {
                "and" => l.Where(x => rightKeys.Contains(Signature(x.Labels))).ToList(),
                "unless" => l.Where(x => !rightKeys.Contains(Signature(x.Labels))).ToList(),
                _ => l.Concat(r.Where(x => !l.Select(y => Signature(y.Labels)).Contains(Signature(x.Labels)))).ToList(),
            };
        }
        var comparison = Comparisons.Contains(b.Op);
        switch (left, right)
        {
            case (double x, double y):
                return comparison ? (Compare(b.Op, x, y) ? 1.0 : 0.0) : Arithmetic(b.Op, x, y);
            case (List<MetricSample> v, double y):
                return Each(v, s => s.Value, s => y, b, keepLeftValue: true);
            case (double x, List<MetricSample> v):
                return Each(v, s => x, s => s.Value, b, keepLeftValue: false);
            case (List<MetricSample> l, List<MetricSample> r):
            {
                var byKey = new Dictionary<string, MetricSample>(StringComparer.Ordinal);
                foreach (var s in r)
                    if (!byKey.TryAdd(Signature(s.Labels), s)) throw new NotEvaluableException("many-to-one matching is left to Prometheus");
                var matched = l.Where(s => byKey.ContainsKey(Signature(s.Labels))).ToList();
                return Each(matched, s => s.Value, s => byKey[Signature(s.Labels)].Value, b, keepLeftValue: true);
            }
            default:
                throw new InvalidOperationException();
        }
    }

    static List<MetricSample> Each(List<MetricSample> v, Func<MetricSample, double> x, Func<MetricSample, double> y, Binary b, bool keepLeftValue)
    {
        var result = new List<MetricSample>();
        foreach (var s in v)
        {
            if (!Comparisons.Contains(b.Op)) { result.Add(new MetricSample(WithoutName(s.Labels), Arithmetic(b.Op, x(s), y(s)))); continue; }
            var holds = Compare(b.Op, x(s), y(s));
            if (b.ReturnBool) result.Add(new MetricSample(WithoutName(s.Labels), holds ? 1 : 0));
            else if (holds) result.Add(new MetricSample(s.Labels, keepLeftValue ? x(s) : y(s)));
        }
        return result;
    }

    static bool Compare(string op, double x, double y) => op switch
    {
        "==" => x == y,
        "!=" => x != y,
        ">" => x > y,
        "<" => x < y,
        ">=" => x >= y,
        _ => x <= y,
    };

    static double Arithmetic(string op, double x, double y) => op switch
    {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        "/" => x / y,
        _ => x % y,
    };
}
