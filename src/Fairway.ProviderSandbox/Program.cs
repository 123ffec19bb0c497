using Fairway.ProviderSandbox;

// dotnet Fairway.ProviderSandbox.dll --urls http://127.0.0.1:5080 [--api-key KEY] [--start-time 2026-04-08T00:00:00Z]
var app = ProviderSandboxApp.Build(args);
await app.RunAsync();
