using Fairway.Host.Platform.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Fairway.Host.Platform.Documents;

/// <summary>
/// `Fairway.Host --emit-docs &lt;root&gt;` writes the generated documents under &lt;root&gt;: the OpenAPI
/// document as the routes produce it, the error-code registry, the environment contract and the example env file. It needs
/// no database: the app is built with inert settings and asked for its document over loopback.
/// </summary>
public static class DocumentEmitter
{
    /// <summary>Settings of a host that is built but never reaches a database, Stripe or the provider (documents, introspection).</summary>
    public static FairwaySettings InertSettings() => new()
    {
        Role = HostRole.Api,
        DatabaseConnectionString = "Host=127.0.0.1;Port=1;Database=none;Username=none",
        ListenUrl = "http://127.0.0.1:0",
        Production = false,
        TestClockEnabled = false,
        ShutdownTimeout = TimeSpan.FromSeconds(5),
        LogLevel = Serilog.Events.LogEventLevel.Warning,
        WorkerCount = 1,
        JwtIssuer = "docs",
        JwtAudience = "docs",
        JwtSigningKey = new byte[32],
        OidcAuthority = null,
        StripeApiKey = "none",
        StripeApiBase = new Uri("http://127.0.0.1:1"),
        StripeWebhookSecret = "none",
        IngestionEndpoint = new Uri("http://127.0.0.1:1"),
        IngestionApiKey = "none",
    };

    public static async Task<int> EmitAsync(string root)
    {
        await using var app = FairwayHost.Build(InertSettings());
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        var openApi = await http.GetStringAsync("/openapi/v1.json");
        await app.StopAsync();

        Write(root, GeneratedDocuments.OpenApiPath, openApi.ReplaceLineEndings("\n").TrimEnd('\n') + "\n");
        Write(root, GeneratedDocuments.EnvSchemaPath, GeneratedDocuments.EnvSchemaMarkdown());
        Write(root, GeneratedDocuments.EnvExamplePath, GeneratedDocuments.EnvExample());
        Write(root, GeneratedDocuments.ErrorCodesPath, Http.ErrorCodeRegistry.Markdown());
        Write(root, Payments.StripeWebhookSubscription.Path, Payments.StripeWebhookSubscription.EndpointJson());
        return 0;
    }

    static void Write(string root, string relative, string content)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        Console.WriteLine($"wrote {relative}");
    }
}
