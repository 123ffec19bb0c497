using Fairway.Benchmarks;

// dotnet Fairway.Benchmarks.dll [ingestion] [--events N] [--warmup W] [--baseline interleaved|after] [--csv FILE] [--contests 10,1,50]
// dotnet Fairway.Benchmarks.dll settlement [--entries 10000,100000,1000000] [--paid-places N] [--warmup-entries N]
// Needs DATABASE_URL (an empty database: the benchmark migrates it). Exit codes: 0 valid run,
// 1 invalid run (ingestion: fewer than N accepted events; settlement: a settlement or its baseline did not
// complete; or set-up failed), 2 bad arguments.
var benchmark = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "ingestion";
BenchOptions? ingestion = null;
SettlementOptions? settlement = null;
string error;
switch (benchmark)
{
    case "ingestion":
        ingestion = BenchOptions.Parse(args, out error);
        break;
    case "settlement":
        settlement = SettlementOptions.Parse(args, out error);
        break;
    default:
        error = $"unknown benchmark '{benchmark}' (known: ingestion, settlement)";
        break;
}
if (ingestion is null && settlement is null)
{
    Console.Error.WriteLine("bench: " + error);
    Console.Error.WriteLine("usage: Fairway.Benchmarks [ingestion] [--events N (>= 200, default 200)] [--warmup W (default 5)] [--baseline interleaved|after] [--csv FILE] [--contests 10,1,50 (the first is the headline workload)]");
    Console.Error.WriteLine($"       Fairway.Benchmarks settlement [--entries N[,N...] (default 10000,100000,1000000)] [--paid-places N (default {SettlementOptions.DefaultPaidPlaces})] [--warmup-entries N (default {SettlementOptions.DefaultWarmupEntries}, 0 = none)]");
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
    return settlement is not null
        ? await SettlementBenchmark.RunAsync(settlement, connectionString)
        : await IngestionBenchmark.RunAsync(ingestion!, connectionString);
}
catch (Exception e)
{
    Console.Error.WriteLine("bench: run failed: " + e);
    return 1;
}
