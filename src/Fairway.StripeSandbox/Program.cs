using Fairway.StripeSandbox;

// dotnet Fairway.StripeSandbox.dll --urls http://127.0.0.1:12111 [--api-key sk_test_...] [--webhook-url URL] [--webhook-secret whsec_...] [--webhook-concurrency 1..16]
var app = StripeSandboxApp.Build(args);
app.Run();
