using System.Text.Json;
using System.Text.Json.Serialization;
using Fairway.Host.Contests;
using Fairway.Host.Golf;
using Fairway.Host.Ingestion;
using Fairway.Host.Ledger;
using Fairway.Host.Ledger.Corrections;
using Fairway.Host.Operations.Signals;
using Fairway.Host.Operations;
using Fairway.Host.Operations.Alerts;
using Fairway.Host.Operations.Backups;
using Fairway.Host.Operations.Console;
using Fairway.Host.Operations.KillSwitch;
using Fairway.Host.Operations.Reconciliation;
using Fairway.Host.Operations.Runbooks;
using Fairway.Host.Operations.Release;
using Fairway.Host.Payouts;
using Fairway.Host.Payments;
using Fairway.Host.Platform.Audit;
using Fairway.Host.Platform.Auth;
using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Database;
using Fairway.Host.Platform.Documents;
using Fairway.Host.Platform.Health;
using Fairway.Host.Platform.Http;
using Fairway.Host.Platform.Jobs;
using Fairway.Host.Platform.Telemetry;
using Fairway.Host.Platform.Time;
using Fairway.Host.Settlement;
using Fairway.Migrations;
using FluentValidation;
using Npgsql;
using Prometheus;
using Serilog;
using Serilog.Formatting.Compact;

namespace Fairway.Host;

/// <summary>
/// One executable, three roles: <c>--role api</c> serves HTTP, <c>--role worker</c> runs background
/// jobs, <c>--role all</c> (default) does both. Exit codes: 0 clean shutdown, 2 bad arguments or
/// configuration, 3 persistence unavailable (database unreachable or schema not the expected version), 4 any
/// other start-up failure (e.g. the listen address is in use).
/// </summary>
public static class FairwayHost
{
    public const int ExitConfiguration = 2;
    public const int ExitPersistence = 3;
    public const int ExitStartup = 4;
    /// <summary>Bounded: enough for bursts of blocking calls, far below the thread pool's own maximum.</summary>
    const int MinPoolThreads = 64;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 2 && args[0] == "--emit-docs")
            return await DocumentEmitter.EmitAsync(args[1]);

        var roleName = "all";
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--role" && i + 1 < args.Length) roleName = args[++i];
            else return Fail(ExitConfiguration, $"unknown argument '{args[i]}'; usage: Fairway.Host [--role api|worker|all] | --emit-docs <repo-root>");
        }
        if (!HostRoles.TryParse(roleName, out var role))
            return Fail(ExitConfiguration, $"--role: '{roleName}' is not one of api, worker, all");

        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);
        var loaded = SettingsLoader.Load(env, role);
        if (loaded.Settings is null)
            return Fail(ExitConfiguration, loaded.Errors.Select(e => "configuration error: " + e).ToArray());
        var settings = loaded.Settings;

        if (StartupGuard.Check(settings.DatabaseConnectionString) is { } persistenceError)
            return Fail(ExitPersistence, "refusing to start: " + persistenceError);

        // Hangfire's enqueue and Npgsql's synchronous paths (the test clock) block pool threads; on a
        // 2-core machine the pool grows one thread at a time and a webhook burst stalls for seconds.
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, MinPoolThreads), Math.Max(minIo, MinPoolThreads));

        WebApplication app;
        try { app = Build(settings); }
        catch (Exception e) { return Fail(ExitStartup, $"start-up failed: {e.GetType().Name}: {e.Message}"); }
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Fairway.Host");
        app.Lifetime.ApplicationStopping.Register(() => log.LogInformation("Shutdown requested: no new work is accepted; in-flight requests and jobs have {Timeout} to finish", settings.ShutdownTimeout));
        log.LogInformation("Fairway host starting: role {Role}, listening on {ListenUrl}, schema version {SchemaVersion}, test clock {TestClock}",
            HostRoles.Name(role), settings.ListenUrl, SchemaMigrator.ExpectedVersion, settings.TestClockEnabled ? "ENABLED" : "off");
        app.Lifetime.ApplicationStopped.Register(() => log.LogInformation("Fairway host stopped cleanly"));
        try { await app.RunAsync(); }
        catch (Exception e) when (e is IOException or InvalidOperationException or NpgsqlException)
        {
            // e.g. the listen address is taken: the process must not linger half-started.
            log.LogCritical(e, "Fairway host failed: {Error}", e.Message);
            return Fail(ExitStartup, $"host failed: {e.GetType().Name}: {e.Message}");
        }
        return 0;
    }

    static int Fail(int code, params string[] lines)
    {
        foreach (var line in lines) Console.Error.WriteLine("fairway: " + line);
        return code;
    }

    public static WebApplication Build(FairwaySettings settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // Fixed so the framework itself never changes behaviour with ASPNETCORE_ENVIRONMENT.
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(MetricsEndpoint.ListenUrls(settings));
        builder.WebHost.ConfigureKestrel(o =>
        {
            // A backstop: the input guard bounds each route by its class long before this.
            o.Limits.MaxRequestBodySize = RequestBodyClass.DrainLimit;
            // Non-ASCII header bytes reach the input guard (400 INVALID_HEADER, problem+json) instead of a bodiless protocol 400.
            o.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        builder.Services.AddSerilog(lc => lc
            .MinimumLevel.Is(settings.LogLevel)
            .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", Serilog.Events.LogEventLevel.Warning)
            // Data protection only backs the jobs dashboard's antiforgery tokens; its key warnings are noise here.
            .MinimumLevel.Override("Microsoft.AspNetCore.DataProtection", Serilog.Events.LogEventLevel.Error)
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Role", HostRoles.Name(settings.Role))
            .Enrich.WithProperty("Pid", Environment.ProcessId)
            .WriteTo.Console(new RenderedCompactJsonFormatter()));

        builder.Services.AddSingleton(settings);
        // Hot statements (webhook convergence, standings, audit rows) are prepared once per connection instead of parsed on
        // every execution (issue 12), and pooled connections are not reset: see PooledConnections.
        var dataSource = NpgsqlDataSource.Create(PooledConnections.Configure(settings.DatabaseConnectionString, autoPrepare: true));
        builder.Services.AddSingleton(dataSource);
        if (settings.TestClockEnabled)
        {
            DatabaseTestClock.Initialise(dataSource, TimeProvider.System.GetUtcNow());
            builder.Services.AddSingleton<TimeProvider>(new DatabaseTestClock(dataSource));
        }
        else builder.Services.AddSingleton(TimeProvider.System);

        // One JSON dialect for the whole API: snake_case like Stripe's, and strict: unknown members and
        // numbers sent as strings are rejected, never coerced.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        });
        // Binding failures (unparsable query or route values, JSON of the wrong shape) throw, so the input guard answers them with a stable code.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Name);
        builder.Services.AddSingleton<AuditWriter>();
        builder.Services.AddValidatorsFromAssemblyContaining<AuditWriter>(ServiceLifetime.Singleton);
        if ((settings.Role & HostRole.Api) != 0) builder.Services.AddFairwayAuth(settings);
        builder.Services.AddFairwayJobs(settings);
        builder.Services.AddFairwayHealth();
        builder.Services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer(ApiDocumentation.DocumentAsync);
            o.AddOperationTransformer(ApiDocumentation.DocumentOperation);
        });
        builder.Services.AddScoped<JobProbeJob>();
        builder.Services.AddSingleton<LedgerRepository>();
        builder.Services.AddFairwayLedgerCorrections();
        builder.Services.AddSingleton<KillSwitch>();
        builder.Services.AddSingleton<IReadinessDetail, KillSwitchReadinessDetail>();
        builder.Services.AddFairwayReconciliation(settings);
        builder.Services.AddSingleton<AlertPreview>();
        builder.Services.AddHostedService<AuditActivityCollector>();
        builder.Services.AddSingleton<TournamentRepository>();
        builder.Services.AddSingleton<ContestRepository>();
        builder.Services.AddSingleton<ContestConfigValidation>();
        builder.Services.AddSingleton<ContestConfigService>();
        builder.Services.AddSingleton<ContestFieldService>();
        builder.Services.AddSingleton<ContestLifecycleService>();
        builder.Services.AddScoped<LifecycleClockJob>();
        builder.Services.AddHostedService<ContestStateCollector>();
        if ((settings.Role & HostRole.Worker) != 0) builder.Services.AddSingleton<IRecurringJobSet, ContestsRecurringJobs>();
        builder.Services.AddSingleton<IngestionEventStore>();
        builder.Services.AddSingleton<StandingsService>();
        builder.Services.AddSingleton<EntrySetCache>();
        builder.Services.AddSingleton<ReplayService>();
        builder.Services.AddHostedService<IngestionLagCollector>();
        builder.Services.AddFairwayOperations(settings);
        builder.Services.AddFairwaySettlement(settings);
        builder.Services.AddFairwayPayouts(settings);
        builder.Services.AddFairwayPayments(settings);
        if ((settings.Role & HostRole.Worker) != 0)
        {
            ProviderClient.Register(builder.Services, settings);
            builder.Services.AddScoped<IngestionService>();
            builder.Services.AddScoped<IngestionPollJob>();
            builder.Services.AddScoped<IngestionSchedulerJob>();
            builder.Services.AddSingleton<IRecurringJobSet, IngestionRecurringJobs>();
            builder.Services.AddScoped<ReleaseSmokeJob>();
        }
        if ((settings.Role & HostRole.Worker) != 0) builder.Services.AddHostedService<RecurringJobsRegistration>();

        var app = builder.Build();
        // A runbook that does not parse fails the start-up (exit 4), not the first runbook request.
        app.Services.GetRequiredService<RunbookCatalog>();
        app.UseMetricsListener(settings);
        // Under the test clock a request reads it once (see DatabaseTestClock.BeginInstant).
        if (app.Services.GetRequiredService<TimeProvider>() is DatabaseTestClock)
            app.Use(async (context, next) => { using (DatabaseTestClock.BeginInstant()) await next(context); });
        app.UseMiddleware<CorrelationMiddleware>();
        app.UseSerilogRequestLogging(o => o.GetLevel = (ctx, _, ex) =>
            ex is not null || ctx.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
            : ctx.Response.StatusCode >= 400 ? Serilog.Events.LogEventLevel.Warning // the one log line of a refused request (its problem code and detail ride on it)
            : ctx.Request.Path.StartsWithSegments("/healthz") || ctx.Request.Path.StartsWithSegments("/readyz") || ctx.Request.Path.StartsWithSegments("/metrics")
                ? Serilog.Events.LogEventLevel.Verbose : Serilog.Events.LogEventLevel.Information);
        // Before the error handlers: a request they turn into a 5xx (an exception, the database unavailable) is counted
        // with the status it was answered with, not the 200 the response had while the exception passed by.
        app.UseHttpMetrics();
        app.UseProblemErrors();
        app.UseKillSwitchProblems();
        app.UseInputTextGuard();
        if ((settings.Role & HostRole.Api) != 0)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }
        app.UseInputBodyGuard();

        app.MapFairwayHealth();
        app.MapFairwayMetrics();
        if ((settings.Role & HostRole.Api) != 0) MapApi(app, settings);
        return app;
    }

    static void MapApi(WebApplication app, FairwaySettings settings)
    {
        // One document, one fixed route: a free {documentName} answered unknown names with a text/plain 404.
        app.MapOpenApi("/openapi/v1.json").AllowAnonymous()
            .AddEndpointFilter((c, next) => c.HttpContext.Request.Query.ContainsKey("documentName")
                ? ValueTask.FromResult<object?>(Problems.Result(ProblemCodes.NotFound, "No such resource.", "there is one OpenAPI document, v1"))
                : next(c));
        app.MapStripeWebhook();
        app.MapJobsDashboard();
        app.MapAdminConsole(settings);

        var api = app.MapGroup("/api").RequireAuthorization().WithMetadata(RequestBodyClass.PlayerJson);
        api.MapMe();
        api.MapPublicContests();
        api.MapPublicIngestion();
        api.MapPlayerPayments();

        var admin = app.MapGroup("/api/admin").RequireAuthorization(Roles.AdminPolicy).ExcludeFromDescription().WithMetadata(RequestBodyClass.AdminJson);
        admin.MapRouteTable();
        admin.MapJobProbe();
        admin.MapTournaments();
        admin.MapAdminContests();
        admin.MapAdminIngestion();
        if (settings.TestClockEnabled) admin.MapTestClock();
        admin.MapRecurringJobTrigger();
        admin.MapRecurringJobControl();
        admin.MapKillSwitch();
        admin.MapLedgerAdmin();
        admin.MapLedgerCorrections();
        admin.MapReconciliation();
        admin.MapSettlementsAdmin();
        admin.MapContestSignals();
        admin.MapPayoutsAdmin();
        admin.MapAdminPayments();
        admin.MapRunbooks();
        admin.MapAuditTrail();
        admin.MapContestBoard();
        admin.MapAlertPreview();
        admin.MapRunbookLibrary();
        admin.MapBackups();
        admin.MapReleaseSmoke();
    }
}
