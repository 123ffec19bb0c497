namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>One migrated database with an API process and a separate worker process on it (test clock enabled).</summary>
public sealed class ApiAndWorkerFixture : IAsyncLifetime
{
    public string DatabaseUrl { get; private set; } = "";
    public FairwayHostProcess Api { get; private set; } = null!;
    public FairwayHostProcess Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DatabaseUrl = await TestDatabases.CreateMigratedAsync();
        var api = FairwayHostProcess.StartAsync("api", DatabaseUrl, testClock: true);
        var worker = FairwayHostProcess.StartAsync("worker", DatabaseUrl, testClock: true);
        Api = await api;
        Worker = await worker;
    }

    public Task DisposeAsync()
    {
        Api?.Dispose();
        Worker?.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class ApiAndWorkerCollection : ICollectionFixture<ApiAndWorkerFixture>
{
    public const string Name = "api and worker";
}
