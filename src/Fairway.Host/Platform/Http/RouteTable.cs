using System.Reflection;
using System.Text.Json;
using Fairway.Host.Platform.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Fairway.Host.Platform.Http;

public sealed record RouteParameterView(string Name, string? Type, IReadOnlyList<string> Constraints, bool CatchAll);
public sealed record QueryParameterView(string Name, string Type);
public sealed record BodyMemberView(string Name, string Type);
public sealed record RouteBodyView(string Class, long MaxBytes, string Format, bool Required, IReadOnlyList<BodyMemberView>? Members);
public sealed record RouteView(string Pattern, IReadOnlyList<string> Methods, string Access, IReadOnlyList<RouteParameterView> RouteParameters,
    IReadOnlyList<QueryParameterView> QueryParameters, RouteBodyView Body);

/// <summary>
/// <c>GET /api/admin/routes</c>: the host's own routing table (every endpoint the running process serves), with
/// what each takes: route parameters and their constraints, query parameters, the body class and the JSON
/// members of its body. Read from <see cref="EndpointDataSource"/> and the endpoints' binding metadata, so a route
/// added tomorrow appears without anyone listing it — the input fuzz test walks this table.
/// </summary>
public static class RouteTable
{
    public static void MapRouteTable(this RouteGroupBuilder admin) =>
        admin.MapGet("/routes", (EndpointDataSource endpoints, IServiceProviderIsService services) =>
            Results.Ok(new { routes = Describe(endpoints, services) }));

    public static IReadOnlyList<RouteView> Describe(EndpointDataSource source, IServiceProviderIsService services) =>
        source.Endpoints.OfType<RouteEndpoint>()
            .Select(e => Describe(e, services))
            .OrderBy(r => r.Pattern, StringComparer.Ordinal).ThenBy(r => string.Join(',', r.Methods), StringComparer.Ordinal)
            .ToList();

    static RouteView Describe(RouteEndpoint e, IServiceProviderIsService services)
    {
        var pattern = e.RoutePattern;
        var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.ToList() is { Count: > 0 } m ? m : ["*"];
        var routeNames = pattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var routeParameters = pattern.Parameters.Select(p => new RouteParameterView(p.Name,
            e.Metadata.OfType<IParameterBindingMetadata>().FirstOrDefault(b => string.Equals(b.Name, p.Name, StringComparison.OrdinalIgnoreCase))?.ParameterInfo.ParameterType is { } t ? TypeName(t) : null,
            p.ParameterPolicies.Select(pp => pp.Content ?? pp.ParameterPolicy?.GetType().Name ?? "?").ToList(), p.IsCatchAll)).ToList();

        var binding = RequestBodyClass.JsonBinding(e);
        var query = e.Metadata.OfType<IParameterBindingMetadata>()
            .Where(b => !routeNames.Contains(b.Name) && IsQuery(b.ParameterInfo, binding, services))
            .Select(b => new QueryParameterView(b.ParameterInfo.GetCustomAttribute<FromQueryAttribute>()?.Name ?? b.Name, TypeName(b.ParameterInfo.ParameterType)))
            .ToList();

        var bodyClass = RequestBodyClass.Of(e);
        var body = new RouteBodyView(bodyClass.Name, bodyClass.MaxBytes, bodyClass.Format.ToString().ToLowerInvariant(), binding is { IsOptional: false },
            binding?.RequestType is { } rt ? Members(rt) : null);
        return new RouteView(pattern.RawText ?? e.DisplayName ?? "?", methods, Access(e), routeParameters, query, body);
    }

    static string Access(Endpoint e)
    {
        if (e.Metadata.GetMetadata<IAllowAnonymous>() is not null) return "anonymous";
        return e.Metadata.OfType<IAuthorizeData>().Any(a => a.Policy == Roles.AdminPolicy) ? "admin" : "authenticated";
    }

    /// <summary>Simple values bound from the query string: not the body, not a service, not a framework type.</summary>
    static bool IsQuery(ParameterInfo p, IAcceptsMetadata? binding, IServiceProviderIsService services)
    {
        var t = Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType;
        if (binding?.RequestType == p.ParameterType) return false;
        if (t == typeof(HttpContext) || t == typeof(CancellationToken) || services.IsService(p.ParameterType)) return false;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(Guid) || t == typeof(DateTimeOffset) || t == typeof(decimal) || p.GetCustomAttribute<FromQueryAttribute>() is not null;
    }

    static IReadOnlyList<BodyMemberView> Members(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .Select(p => new BodyMemberView(JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), TypeName(p.PropertyType)))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>The JSON kind of a CLR type, as a fuzzer needs it.</summary>
    static string TypeName(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string) || t == typeof(Guid) || t == typeof(DateTimeOffset) || t == typeof(DateTime) || t.IsEnum) return "string";
        if (t == typeof(bool)) return "boolean";
        if (t == typeof(int) || t == typeof(long) || t == typeof(short)) return "integer";
        if (t == typeof(double) || t == typeof(decimal) || t == typeof(float)) return "number";
        if (t == typeof(JsonElement)) return "any";
        if (t != typeof(string) && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))) return "array";
        return "object";
    }
}
