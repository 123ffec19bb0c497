using Fairway.Benchmarks;

// dotnet Fairway.Benchmarks.dll [ingestion] [--events N] [--warmup W] [--baseline interleaved|after] [--csv FILE]
// Needs DATABASE_URL (an empty database: the benchmark migrates it). Exit codes: 0 valid run,
// 1 invalid run (fewer than N accepted events, or set-up failed), 2 bad arguments.
var options = BenchOptions.Parse(args, out var error);
if (options is null)
{
    Console.Error.WriteLine("bench: " + error);
    Console.Error.WriteLine("usage: Fairway.Benchmarks [ingestion] [--events N (>= 200, default 200)] [--warmup W (default 5)] [--baseline interleaved|after] [--csv FILE]");
    return 2;
}
var databaseUrl = Environment.GetEnvironmentVariable("DATABASE_URL");
if (!Fairway.Migrations.DatabaseUrl.TryParse(databaseUrl, out var connectionString, out var urlError))
{
    Console.Error.WriteLine($"bench: DATABASE_URL {urlError}");
    return 2;
}
try
{
    return await IngestionBenchmark.RunAsync(options, connectionString);
}
catch (Exception e)
{
    Console.Error.WriteLine("bench: run failed: " + e);
    return 1;
}
