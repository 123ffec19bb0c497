namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>The documents the built host generates (`Fairway.Host --emit-docs`), once per test run.</summary>
public static class EmittedDocuments
{
    public static readonly Lazy<Task<string>> Directory = new(async () =>
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("fairway-docs.").FullName;
        var (exit, stdout, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.HostDll, ["--emit-docs", dir], new Dictionary<string, string>());
        Assert.True(exit == 0, stdout + stderr);
        return dir;
    });

    public static async Task<string> OpenApiAsync() => await File.ReadAllTextAsync(Path.Combine(await Directory.Value, "docs/api/openapi.json"));
}
