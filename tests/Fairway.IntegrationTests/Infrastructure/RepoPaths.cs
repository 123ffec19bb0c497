namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>Where the checkout and the built executables are, for tests that start real processes.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: the same configuration these tests were built with.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    public static string Dll(string project, string assembly)
    {
        var path = Path.Combine(Root, "src", project, "bin", Configuration, "net10.0", assembly);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; run ./scripts/test (it builds the solution first)");
    }

    public static string HostDll => Dll("Fairway.Host", "Fairway.Host.dll");
    public static string CliDll => Dll("Fairway.Cli", "fairway.dll");

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Fairway.sln"))) return d.FullName;
        throw new InvalidOperationException("Fairway.sln not found above " + AppContext.BaseDirectory);
    }
}
