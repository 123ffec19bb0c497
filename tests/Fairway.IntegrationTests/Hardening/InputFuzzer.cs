using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fairway.IntegrationTests.Hardening;

/// <summary>One route of the host's routing table, as <c>GET /api/admin/routes</c> describes it.</summary>
public sealed record FuzzRoute(string Pattern, string Method, string Access, IReadOnlyList<(string Name, string? Type, bool CatchAll)> RouteParameters,
    IReadOnlyList<(string Name, string Type)> QueryParameters, string BodyClass, long MaxBodyBytes, string BodyFormat, IReadOnlyList<(string Name, string Type)>? Members)
{
    public bool Safe => Method is "GET" or "HEAD";

    public static IReadOnlyList<FuzzRoute> FromRouteTable(JsonElement table)
    {
        var routes = new List<FuzzRoute>();
        foreach (var r in table.GetProperty("routes").EnumerateArray())
        {
            var methods = r.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).ToList();
            // A route open to every method is fuzzed as a read and as a write.
            if (methods is ["*"]) methods = ["GET", "POST"];
            var body = r.GetProperty("body");
            foreach (var method in methods)
                routes.Add(new FuzzRoute(r.GetProperty("pattern").GetString()!, method, r.GetProperty("access").GetString()!,
                    r.GetProperty("route_parameters").EnumerateArray().Select(p => (p.GetProperty("name").GetString()!, p.GetProperty("type").GetString(), p.GetProperty("catch_all").GetBoolean())).ToList(),
                    r.GetProperty("query_parameters").EnumerateArray().Select(p => (p.GetProperty("name").GetString()!, p.GetProperty("type").GetString()!)).ToList(),
                    body.GetProperty("class").GetString()!, body.GetProperty("max_bytes").GetInt64(), body.GetProperty("format").GetString()!,
                    body.GetProperty("members").ValueKind == JsonValueKind.Array
                        ? body.GetProperty("members").EnumerateArray().Select(m => (m.GetProperty("name").GetString()!, m.GetProperty("type").GetString()!)).ToList()
                        : null));
        }
        return routes;
    }
}

/// <summary>How the answer must look: Fairway's own (problem+json for a refusal) or Kestrel's protocol-level refusal.</summary>
public enum FuzzExpect { App, Protocol }

/// <summary>One generated request. <see cref="Raw"/> requests are written to a TCP socket byte for byte.</summary>
public sealed record FuzzRequest(string Class, FuzzRoute? Route, string Method, string Target, byte[]? Body, string? ContentType,
    IReadOnlyList<(string Name, string Value)> Headers, string? Token, FuzzExpect Expect, byte[]? Raw = null, bool ExpectContinue = false);

/// <summary>
/// Seeded generator of malformed requests for every route of the routing table. Each request carries one
/// defect of a named input class. A request to a route that changes state (anything but GET) carries a defect
/// that must be refused before any handler runs, so the whole run is expected to write nothing; a read may
/// also carry odd-but-valid input (unicode ids, very long values, real ids).
/// </summary>
public sealed class InputFuzzer(int seed, IReadOnlyDictionary<string, IReadOnlyList<string>> realIds, string adminToken, string playerToken)
{
    readonly Random rng = new(seed);
    /// <summary>Per route: how many wrong-type bodies it got, so successive ones walk every member × wrong value instead of sampling.</summary>
    readonly Dictionary<FuzzRoute, int> wrongTypeCursor = [];

    // ---- path values (raw, as they go into the URL) -------------------------------------------------
    static readonly string[] PathInvalidText = ["%ff", "%C3%28", "%C0%AF", "%ED%A0%80", "%ED%BF%BF", "%E2%82", "%F4%90%80%80", "%01", "%7F", "%1B%5B31m", "a%0Ab", "%FE%FF", "x%80y"];
    static readonly string[] PathOdd = ["%2F", "..", "%2e%2e", "%20", "%C3%A9t%C3%A9", "%F0%9F%8F%8C", "%27%20OR%201%3D1--", "%24%7Bjndi%7D", "-1", "0", "99999999999999999999",
        "1e3", "NaN", "%3Cscript%3E", "%E2%80%AE", "~", "!", "%25", "%2B"];
    // Hangfire's dashboard pages, seeds for the catch-all route: the fuzzer then varies their ids and tails.
    static readonly string[] DashboardPages = ["", "jobs/details/", "jobs/actions/requeue/", "jobs/actions/delete/", "jobs/enqueued", "jobs/enqueued/fetched/", "jobs/scheduled",
        "jobs/processing", "jobs/succeeded", "jobs/failed", "jobs/deleted", "jobs/awaiting", "retries", "recurring", "recurring/trigger", "recurring/remove", "servers", "stats",
        "jobs/enqueued/delete", "jobs/failed/requeue", "jobs/scheduled/enqueue"];

    // ---- query values -------------------------------------------------------------------------------
    // Malformed percent-escapes (%G1, a lone %) cannot be sent through HttpClient (System.Uri re-escapes them): see RawRequests.
    static readonly string[] QueryInvalidText = ["%00", "a%00b", "%ff", "%C0%AF", "%ED%B0%80", "%01", "%7f", "%E2%82", "%F4%90%80%80", "x%1Fy"];
    static readonly string[] IntegerOdd = ["abc", "1.5", "99999999999999999999", "-99999999999999999999", "1e3", "0x10", "NaN", "%20", "1%2C2", "--1", "%2B%2B1"];
    static readonly string[] BooleanOdd = ["maybe", "2", "yes", "TRUE%00", "null"];

    // ---- headers ------------------------------------------------------------------------------------
    static readonly string[] HeaderInvalid = ["a\u0001b", "\u007f", "caf\u00e9", "\u00ff\u00fe", "tab\tok\u001b[31m", "x\u0085y"];
    static readonly string[] ContentTypes = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
        "application/json; charset=latin1", "application/jsonx", ";;;", "application/xml"];

    public IReadOnlyList<FuzzRequest> Generate(IReadOnlyList<FuzzRoute> routes, int count)
    {
        var list = new List<FuzzRequest>(count);
        var i = 0;
        while (list.Count < count)
        {
            var route = routes[i++ % routes.Count];
            list.Add(Next(route));
        }
        list.AddRange(ProtocolRequests());
        return list;
    }

    FuzzRequest Next(FuzzRoute route)
    {
        var classes = ClassesFor(route);
        var cls = classes[rng.Next(classes.Count)];
        return Build(route, cls);
    }

    /// <summary>The input classes that apply to a route; for writes, only those refused before any handler runs.</summary>
    List<string> ClassesFor(FuzzRoute route)
    {
        var c = new List<string> { "query.invalid_text", "header.invalid_text" };
        if (route.RouteParameters.Count > 0) { c.Add("path.invalid_text"); c.Add("path.nul"); }
        if (route.QueryParameters.Any(q => q.Type is "integer" or "boolean")) c.Add("query.type_mismatch");
        if (route.Access != "anonymous") c.Add("header.bad_auth");
        if (route.BodyFormat == "none") c.Add("body.unexpected");
        if (route.BodyFormat == "json" && !route.Safe) c.Add("body.10mb");
        if (route.BodyFormat == "json")
            c.AddRange(["body.invalid_utf8", "body.lone_surrogate", "body.nul", "body.raw_control", "body.malformed_json", "body.empty", "body.json_null", "body.deep_nesting",
                "body.oversized", "body.huge_number", "body.duplicate_member", "body.content_type", "body.charset"]);
        if (route.BodyFormat == "json" && route.Members is { Count: > 0 })
        {
            c.Add("body.unknown_member");
            c.Add("body.wrong_type");
        }
        if (route.BodyFormat == "form" && !route.Safe) c.AddRange(["form.invalid_text", "body.content_type", "body.oversized"]);
        if (route.Safe)
        {
            c.AddRange(["path.odd", "path.real_id", "query.odd", "header.odd_accept"]);
            if (route.RouteParameters.Count == 0) c.Remove("path.odd");
        }
        return c;
    }

    FuzzRequest Build(FuzzRoute route, string cls)
    {
        var token = route.Access switch { "admin" => adminToken, "authenticated" => playerToken, _ => (string?)null };
        var headers = new List<(string, string)>();
        var query = new List<string>();
        byte[]? body = null;
        string? contentType = null;
        var expect = FuzzExpect.App;
        string? invalidPathValue = null;

        switch (cls)
        {
            case "path.invalid_text": invalidPathValue = Pick(PathInvalidText); break;
            case "path.nul": invalidPathValue = Pick(["%00", "a%00", "%00%00"]); expect = FuzzExpect.Protocol; break;
            case "query.invalid_text":
            {
                var name = route.QueryParameters.Count > 0 && rng.Next(2) == 0 ? route.QueryParameters[rng.Next(route.QueryParameters.Count)].Name : Pick(["x", "limit", "after", "q%00", "%ff"]);
                query.Add($"{name}={Pick(QueryInvalidText)}");
                break;
            }
            case "query.type_mismatch":
            {
                var typed = route.QueryParameters.Where(q => q.Type is "integer" or "boolean").ToList();
                var p = typed[rng.Next(typed.Count)];
                query.Add($"{p.Name}={(p.Type == "integer" ? Pick(IntegerOdd) : Pick(BooleanOdd))}");
                break;
            }
            case "query.odd":
            {
                var name = route.QueryParameters.Count > 0 ? route.QueryParameters[rng.Next(route.QueryParameters.Count)].Name : "x";
                query.Add($"{name}={Pick(["", new string('a', 3000), "%C3%A9", "-1", "0", "1&" + name + "=2", "%2B", "%20", "null"])}");
                break;
            }
            case "header.invalid_text": headers.Add((Pick(["X-Correlation-Id", "Idempotency-Key", "X-Fuzz", "Accept-Language", "Stripe-Signature"]), Pick(HeaderInvalid))); break;
            case "header.bad_auth":
                // A player's valid token is a bad one only where the route needs an admin.
                token = Pick<string>(route.Access == "admin"
                    ? ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", adminToken[..^4] + "AAAA", "", new string('a', 4000), playerToken]
                    : ["garbage", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", playerToken[..^4] + "AAAA", "", new string('a', 4000)]);
                break;
            case "header.odd_accept": headers.Add(("Accept", Pick(["application/xml", "*/*;q=abc", "text/html", "", new string('x', 500)]))); break;
            case "body.unexpected": (body, contentType) = (Encoding.UTF8.GetBytes("{\"fuzz\":true}"), "application/json"); break;
            case "body.invalid_utf8": (body, contentType) = (JsonBody(route, invalidUtf8: Pick<byte[]>([[0xFF], [0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80]])), "application/json"); break;
            case "body.lone_surrogate": (body, contentType) = (JsonBody(route, escaped: Pick(["\\udfff", "\\ud800", "\\ud800x", "\\udc00\\ud800", "a\\ud83c"])), "application/json"); break;
            case "body.nul": (body, contentType) = (JsonBody(route, escaped: Pick(["\\u0000", "a\\u0000b", "\\u0000\\u0000"])), "application/json"); break;
            case "body.raw_control": (body, contentType) = (JsonBody(route, invalidUtf8: Pick<byte[]>([[0x00], [0x01], [0x1F], [0x0A]])), "application/json"); break;
            case "body.malformed_json":
                (body, contentType) = (Encoding.UTF8.GetBytes(Pick(["{", "{\"a\":", "{\"a\":1,}", "{'a':1}", "{\"a\":1}garbage", "[1,2", "{\"a\":NaN}", "{/*c*/}", "\"unterminated", "{}}", "tru", "{\"a\" 1}"])), "application/json");
                break;
            case "body.empty": (body, contentType) = ([], "application/json"); break;
            case "body.json_null": (body, contentType) = (Encoding.UTF8.GetBytes(Pick(["null", " null ", "\ufeffnull"])), "application/json"); break;
            case "body.deep_nesting": (body, contentType) = (Encoding.UTF8.GetBytes(new string('[', 1000) + new string(']', 1000)), "application/json"); break;
            case "body.oversized":
                body = Oversized(route);
                contentType = route.BodyFormat == "form" ? "application/x-www-form-urlencoded" : "application/json";
                break;
            case "body.10mb":
                // The probe's 10 MB body, sent as a careful client does (Expect: 100-continue): refused on its Content-Length, never read.
                (body, contentType) = (TenMegabytes.Value, "application/json");
                return new FuzzRequest(cls, route, route.Method, Target(route, cls, null), body, contentType, headers, token, expect, ExpectContinue: true);
            case "body.huge_number": (body, contentType) = (JsonBody(route, number: Pick(["1e999999", "-1e400", "123456789012345678901234567890123456789012345", "1" + new string('0', 400)])), "application/json"); break;
            case "body.duplicate_member": (body, contentType) = (Encoding.UTF8.GetBytes(DuplicateMember(route)), "application/json"); break;
            case "body.content_type": (body, contentType) = (JsonBody(route), Pick(ContentTypes)); break;
            case "body.charset": (body, contentType) = (JsonBody(route), Pick(["application/json; charset=iso-8859-1", "application/json; charset=utf-16le", "application/json; charset=\u00ff"])); break;
            case "body.unknown_member": (body, contentType) = (JsonBody(route, extraMember: true), "application/json"); break;
            case "body.wrong_type": (body, contentType) = (WrongType(route), "application/json"); break;
            case "form.invalid_text": (body, contentType) = (Encoding.ASCII.GetBytes($"jobs[]={Pick(["%ff", "%00", "%C0%AF", "1%00"])}"), "application/x-www-form-urlencoded"); break;
            case "path.odd": case "path.real_id": break;
            default: throw new InvalidOperationException("unknown class " + cls);
        }

        var target = Target(route, cls, invalidPathValue) + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        return new FuzzRequest(cls, route, route.Method, target, body, contentType, headers, token, expect);
    }

    string Target(FuzzRoute route, string cls, string? invalidValue)
    {
        var target = route.Pattern;
        var invalidAt = invalidValue is null || route.RouteParameters.Count == 0 ? -1 : rng.Next(route.RouteParameters.Count);
        for (var i = 0; i < route.RouteParameters.Count; i++)
        {
            var p = route.RouteParameters[i];
            string value;
            if (i == invalidAt) value = p.CatchAll ? Pick(DashboardPages) + invalidValue : invalidValue!;
            else if (p.CatchAll) value = Pick(DashboardPages) + (rng.Next(2) == 0 ? Pick(["1", "abc", "99999999999999999999", "-1", ""]) : "");
            else if (cls == "path.odd" && rng.Next(2) == 0) value = Pick(PathOdd.Concat([new string('a', 2000)]).ToArray());
            else value = RealId(p.Name, p.Type);
            target = Regex.Replace(target, @"\{\**" + Regex.Escape(p.Name) + @"(:[^}]*)?\}", value.Replace("$", "$$"));
        }
        return target;
    }

    string RealId(string name, string? type)
    {
        var key = type == "integer" ? "integer" : name switch { "documentName" => "documentName", "id" or "contestId" or "entry" => "id", _ => "id" };
        if (name.Equals("id", StringComparison.Ordinal) && rng.Next(4) == 0 && realIds.TryGetValue("recurring", out var rec)) return Pick(rec.ToArray());
        return realIds.TryGetValue(key, out var ids) && ids.Count > 0 ? Uri.EscapeDataString(Pick(ids.ToArray())) : "x";
    }

    // ---- bodies ---------------------------------------------------------------------------------------

    /// <summary>
    /// A body shaped like the route's request, with ONE defect in one member (or in a nested value of a free-form
    /// member): raw bytes spliced into a string, an escape sequence, a number, or an unknown member.
    /// </summary>
    byte[] JsonBody(FuzzRoute route, byte[]? invalidUtf8 = null, string? escaped = null, string? number = null, bool extraMember = false)
    {
        var members = route.Members is { Count: > 0 } m ? m : [("value", "string")];
        var target = rng.Next(members.Count);
        var ms = new MemoryStream();
        void W(string s) => ms.Write(Encoding.UTF8.GetBytes(s));
        W("{");
        for (var i = 0; i < members.Count; i++)
        {
            if (i > 0) W(",");
            var (name, type) = members[i];
            W($"\"{name}\":");
            if (i != target || (invalidUtf8 is null && escaped is null && number is null)) { W(Plausible(type)); continue; }
            // The defect, nested one level down for free-form members (a contest config).
            var nested = type is "any" or "object";
            if (nested) W("{\"rules\":{\"note\":");
            if (number is not null) W(number);
            else
            {
                W("\"fuzz");
                if (invalidUtf8 is not null) ms.Write(invalidUtf8);
                if (escaped is not null) W(escaped);
                W("\"");
            }
            if (nested) W("}}");
        }
        if (extraMember) W(",\"fuzz_unknown_member\":1");
        W("}");
        return ms.ToArray();
    }

    static string Plausible(string type) => type switch
    {
        "integer" => "1",
        "number" => "1",
        "boolean" => "true",
        "array" => "[\"g01\",\"g02\",\"g03\"]",
        "object" or "any" => "{}",
        _ => "\"fuzz value\"",
    };

    static string[] WrongValues(string type) => type switch
    {
        // Not a bare null: an optional member may be null, and that is a valid request.
        "string" => ["123", "true", "[]", "{}", "1.5"],
        "integer" => ["\"1\"", "1.5", "true", "[]", "99999999999999999999", "-99999999999999999999"],
        "boolean" => ["\"true\"", "1", "[]"],
        "array" => ["\"g01\"", "{}", "[1,2]", "[[\"a\"]]", "[null]", "[{}]", "[\"\"]"],
        _ => ["\"x\"", "1"],
    };

    /// <summary>A body whose members are plausible but one (or one element of it) has the wrong JSON type or is null.</summary>
    byte[] WrongType(FuzzRoute route)
    {
        var combos = route.Members!.SelectMany(m => WrongValues(m.Type).Select(v => (m.Name, Wrong: v))).ToList();
        var n = wrongTypeCursor.GetValueOrDefault(route);
        wrongTypeCursor[route] = n + 1;
        var (name, wrong) = combos[n % combos.Count];
        var parts = route.Members!.Select(m => $"\"{m.Name}\":{(m.Name == name ? wrong : Plausible(m.Type))}");
        return Encoding.UTF8.GetBytes("{" + string.Join(',', parts) + "}");
    }

    string DuplicateMember(FuzzRoute route)
    {
        var (name, type) = route.Members is { Count: > 0 } m ? m[rng.Next(m.Count)] : ("value", "string");
        return $"{{\"{name}\":{Plausible(type)},\"{name}\":{Plausible(type)}}}";
    }

    byte[] Oversized(FuzzRoute route)
    {
        var size = (int)Math.Max(route.MaxBodyBytes + 1, 1);
        if (route.BodyFormat == "form") return Encoding.ASCII.GetBytes("jobs[]=" + new string('1', size));
        // Valid JSON, one byte over the class limit: the size alone must refuse it.
        var pad = Math.Max(0, size - "{\"fuzz\":\"\"}".Length);
        return Encoding.UTF8.GetBytes("{\"fuzz\":\"" + new string('a', pad) + "\"}");
    }

    /// <summary>
    /// Malformations HttpClient will not send, written raw to a socket: malformed percent-escapes in the query (they
    /// reach Fairway, which refuses them) and protocol-level ones (Kestrel refuses them before any application code).
    /// </summary>
    IEnumerable<FuzzRequest> ProtocolRequests()
    {
        foreach (var target in new[] { "/api/admin/contests?after=%G1", "/api/admin/contests?after=%", "/api/admin/ledger/accounts?limit=%4", "/api/admin/tournaments?%zz=1", "/api/admin/stripe/webhooks?after=%%" })
            for (var i = 0; i < 5; i++)
                yield return new FuzzRequest("query.malformed_escape", null, "RAW", target, null, null, [], null, FuzzExpect.App,
                    Bytes($"GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {adminToken}\r\nConnection: close\r\n\r\n"));
        var raws = new (string Name, byte[] Bytes)[]
        {
            ("raw.nul_in_target", Bytes("GET /api/contests/\0 HTTP/1.1\r\nHost: x\r\n\r\n")),
            ("raw.non_ascii_target", [.. Bytes("GET /api/contests/"), 0xFF, 0xFE, .. Bytes(" HTTP/1.1\r\nHost: x\r\n\r\n")]),
            ("raw.header_without_colon", Bytes("GET /api/contests HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n")),
            ("raw.cr_in_header", Bytes("GET /api/contests HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")),
            ("raw.bad_content_length", Bytes("POST /api/admin/tournaments HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")),
            ("raw.two_content_lengths", Bytes("POST /api/admin/tournaments HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")),
            ("raw.bad_chunked", Bytes($"POST /api/admin/tournaments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n")),
            ("raw.huge_header", Bytes("GET /api/contests HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 40_000) + "\r\n\r\n")),
            ("raw.bad_method", Bytes("G(T /api/contests HTTP/1.1\r\nHost: x\r\n\r\n")),
            ("raw.no_host", Bytes("GET /api/contests HTTP/1.1\r\n\r\n")),
            ("raw.nul_in_header", Bytes("GET /api/contests HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n")),
        };
        foreach (var (name, bytes) in raws)
            for (var i = 0; i < 5; i++)
                yield return new FuzzRequest(name, null, "RAW", "", null, null, [], null, FuzzExpect.Protocol, bytes);
    }

    static byte[] Bytes(string s) => Encoding.Latin1.GetBytes(s);

    static readonly Lazy<byte[]> TenMegabytes = new(() => Encoding.ASCII.GetBytes("{\"fuzz\":\"" + new string('a', 10 * 1024 * 1024) + "\"}"));

    T Pick<T>(T[] options) => options[rng.Next(options.Length)];
}
