using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Fairway.Host.Platform.Http;

/// <summary>The problem codes one error status of an operation can carry (documented on that response).</summary>
public sealed record ProblemCodesMetadata(int Status, IReadOnlyList<string> Codes);

/// <summary>A request header the operation reads (documented as an optional header parameter).</summary>
public sealed record HeaderParameterMetadata(string Name, string Description, int MaxLength);

/// <summary>An example of a request body (Status null) or of a response body with that status.</summary>
public sealed record ExampleMetadata(int? Status, object Value);

/// <summary>
/// How a public operation documents its contract: every error status with the problem+json schema and the
/// codes it can return, and examples of its main bodies. Errors common to every public operation (500, 503,
/// and 401 where a token is required) are added by <see cref="ApiDocumentation.DocumentOperation"/>.
/// </summary>
public static class ApiDocumentation
{
    public const string BearerScheme = "bearer";
    const string CodesExtension = "x-problem-codes";

    /// <summary>Documents the error statuses of this operation: problem+json bodies, each listing the registered codes it carries.</summary>
    public static RouteHandlerBuilder Errors(this RouteHandlerBuilder builder, params ProblemCode[] codes)
    {
        foreach (var byStatus in codes.GroupBy(c => c.Status ?? throw new ArgumentException($"{c.Code} has no fixed status to document")))
            builder.Produces<ProblemDocument>(byStatus.Key, Problems.ContentType)
                .WithMetadata(new ProblemCodesMetadata(byStatus.Key, byStatus.Select(c => c.Code).ToList()));
        return builder;
    }

    public static RouteHandlerBuilder OptionalHeader(this RouteHandlerBuilder builder, string name, string description, int maxLength) =>
        builder.WithMetadata(new HeaderParameterMetadata(name, description, maxLength));

    public static RouteHandlerBuilder RequestExample(this RouteHandlerBuilder builder, object value) =>
        builder.WithMetadata(new ExampleMetadata(null, value));

    public static RouteHandlerBuilder ResponseExample(this RouteHandlerBuilder builder, int status, object value) =>
        builder.WithMetadata(new ExampleMetadata(status, value));

    /// <summary>Bearer JWT security scheme; the document's own version comes from <see cref="ApiContract.Version"/>.</summary>
    public static Task DocumentAsync(OpenApiDocument doc, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        doc.Info.Title = "Fairway API";
        doc.Info.Version = ApiContract.Version;
        doc.Info.Description = "Public and player API of Fairway. Admin routes (/api/admin/**) are not part of this document. "
            + "Every error is application/problem+json with a stable `code`; each error response lists the codes it can carry "
            + "(also in `" + CodesExtension + "`). Money amounts are integers in minor units. Contract v1 is frozen in docs/api/openapi.v1.json.";
        doc.Servers?.Clear();
        doc.Components ??= new OpenApiComponents();
        doc.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        doc.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "A JWT from Fairway's identity provider; its `sub` is the player.",
        };
        return Task.CompletedTask;
    }

    public static Task DocumentOperation(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        operation.Responses ??= new OpenApiResponses();
        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        if (!anonymous)
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
            AddProblem(operation, context, 401, [ProblemCodes.Unauthenticated, ProblemCodes.TokenInvalid]);
        }
        AddProblem(operation, context, 500, [ProblemCodes.InternalError]);
        AddProblem(operation, context, 503, [ProblemCodes.DatabaseUnavailable]);

        var codesByStatus = metadata.OfType<ProblemCodesMetadata>()
            .GroupBy(m => m.Status).ToDictionary(g => g.Key, g => g.SelectMany(m => m.Codes).ToList());
        foreach (var (status, codes) in codesByStatus) AddProblem(operation, context, status, codes);

        foreach (var header in metadata.OfType<HeaderParameterMetadata>())
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = header.Name, In = ParameterLocation.Header, Required = false, Description = header.Description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = header.MaxLength },
            });
        }

        // Responses in status order, so the document reads top-down from success to failure.
        var ordered = operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        operation.Responses.Clear();
        foreach (var (status, response) in ordered) operation.Responses[status] = response;

        var json = context.ApplicationServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        foreach (var example in metadata.OfType<ExampleMetadata>())
        {
            var node = JsonSerializer.SerializeToNode(example.Value, example.Value.GetType(), json);
            IDictionary<string, OpenApiMediaType>? content = example.Status is { } s
                ? operation.Responses.TryGetValue(s.ToString(System.Globalization.CultureInfo.InvariantCulture), out var r) ? r.Content : null
                : operation.RequestBody?.Content;
            if (content is null || !content.TryGetValue("application/json", out var media))
                throw new InvalidOperationException($"{operation.OperationId}: example for {(example.Status?.ToString() ?? "the request")} has no application/json body to attach to");
            media.Example = node;
        }
        return Task.CompletedTask;
    }

    /// <summary>Adds (or completes) one problem+json response and lists its codes, in order, without duplicates.</summary>
    static void AddProblem(OpenApiOperation operation, OpenApiOperationTransformerContext context, int status, IReadOnlyList<string> codes)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!operation.Responses!.TryGetValue(key, out var existing) || existing is not OpenApiResponse response)
        {
            response = new OpenApiResponse();
            operation.Responses[key] = response;
        }
        response.Content ??= new Dictionary<string, OpenApiMediaType>();
        response.Content.Remove("application/json");
        response.Content[Problems.ContentType] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(nameof(ProblemDocument), context.Document) };
        var all = new List<string>();
        if (response.Extensions?.TryGetValue(CodesExtension, out var ext) == true && ext is JsonNodeExtension { Node: JsonArray known })
            all.AddRange(known.Select(n => n!.GetValue<string>()));
        foreach (var code in codes) if (!all.Contains(code, StringComparer.Ordinal)) all.Add(code);
        response.Extensions ??= new Dictionary<string, IOpenApiExtension>();
        response.Extensions[CodesExtension] = new JsonNodeExtension(new JsonArray(all.Select(c => (JsonNode)JsonValue.Create(c)).ToArray()));
        response.Description = $"{ReasonPhrase(status)}. Problem codes: {string.Join(", ", all)}.";
    }

    static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } p ? p : $"HTTP {status}";
}

/// <summary>The public API contract's version. Raising it (with a decision-log entry) is the only way a breaking change passes the contract gate.</summary>
public static class ApiContract
{
    public const string Version = "v1";
}
