using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Fairway.IntegrationTests.Infrastructure;
using Fairway.Migrations;
using Xunit.Abstractions;

namespace Fairway.IntegrationTests.Release;

/// <summary>Runs ./scripts/release once (into a scratch directory) and unpacks the tarball it produced into another one.</summary>
public sealed class ReleaseArtifactFixture : IAsyncLifetime
{
    public const string Version = "0.0.0-test.1";
    public string Output { get; } = Directory.CreateTempSubdirectory("fairway-release-out.").FullName;
    public string Unpacked { get; private set; } = "";
    public string Tarball => Path.Combine(Output, $"fairway-{Version}-linux-x64.tar.gz");
    public TimeSpan BuildTime { get; private set; }

    public async Task InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        var (exit, stdout, stderr) = await ManagedProcess.RunAsync("bash", [Path.Combine(RepoPaths.Root, "scripts/release"), "--version", Version, "--output", Output],
            new Dictionary<string, string>(), TimeSpan.FromMinutes(15));
        BuildTime = sw.Elapsed;
        Assert.True(exit == 0, $"scripts/release exited {exit}:\n{stdout}\n{stderr}");
        Assert.Equal(Tarball, stdout.Trim().Split('\n')[^1]);
        var scratch = Directory.CreateTempSubdirectory("fairway-artifact.").FullName;
        var (tarExit, _, tarErr) = await ManagedProcess.RunAsync("tar", ["-xzf", Tarball, "-C", scratch], new Dictionary<string, string>());
        Assert.True(tarExit == 0, tarErr);
        // A container's user must be able to reach the files: the scratch directory is created private (0700).
        File.SetUnixFileMode(scratch, (UnixFileMode)0b111_101_101);
        Unpacked = Path.Combine(scratch, $"fairway-{Version}-linux-x64");
    }

    public Task DisposeAsync()
    {
        foreach (var dir in new[] { Output, Path.GetDirectoryName(Unpacked) })
            if (!string.IsNullOrEmpty(dir) && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The release artifact is what ships: its manifest accounts for every file, and it starts the way
/// infra/docker/Dockerfile.runtime says (files, working directory, environment, non-root user, entrypoint, command,
/// healthcheck, all parsed from the Dockerfile), becomes healthy, and stops cleanly on SIGTERM. There is no container
/// engine here; the emulation maps only the port (EXPOSE 8080 → a free loopback port, as `-p` would).
/// </summary>
public sealed class ReleaseArtifactTests(ReleaseArtifactFixture f, ITestOutputHelper output) : IClassFixture<ReleaseArtifactFixture>
{
    /// <summary>The aspnet base image's non-root user (its $APP_UID).</summary>
    const string AppUid = "1654";

    [Fact]
    public async Task Manifest_lists_every_file_with_its_checksum_the_commit_the_schema_version_the_contract_gate_and_the_sboms()
    {
        var expectedTar = (await File.ReadAllTextAsync(f.Tarball + ".sha256")).Split(' ')[0];
        Assert.Equal(expectedTar, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(f.Tarball))));

        var m = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(f.Unpacked, "manifest.json"))).RootElement;
        Assert.Equal(ReleaseArtifactFixture.Version, m.GetProperty("version").GetString());
        var (_, head, _) = await ManagedProcess.RunAsync("git", ["-C", RepoPaths.Root, "rev-parse", "HEAD"], new Dictionary<string, string>());
        Assert.Equal(head.Trim(), m.GetProperty("commit").GetString());
        Assert.Equal(SchemaMigrator.ExpectedVersion, m.GetProperty("schema_version").GetInt64());
        Assert.Equal("passed", m.GetProperty("contract_gate").GetProperty("result").GetString());

        var listed = m.GetProperty("files").EnumerateArray().ToDictionary(x => x.GetProperty("path").GetString()!, x => x.GetProperty("sha256").GetString());
        var actual = Directory.GetFiles(f.Unpacked, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(f.Unpacked, p)).Where(p => p != "manifest.json").ToList();
        Assert.Equal(actual.Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        foreach (var path in actual)
            Assert.True(listed[path] == Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(f.Unpacked, path)))), $"{path}: checksum differs");
        foreach (var must in new[] { "host/Fairway.Host.dll", "cli/fairway.dll", "cli/Fairway.Migrations.dll", "db/schema.snapshot.sql", "contract/openapi.json", "contract/openapi.v1.json", "contract/errors.md" })
            Assert.Contains(must, listed.Keys);

        foreach (var (sbom, package) in new[] { ("sbom/host.cdx.json", "Stripe.net"), ("sbom/cli.cdx.json", "FluentMigrator.Runner.Postgres") })
        {
            var bom = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(f.Unpacked, sbom))).RootElement;
            Assert.Equal("CycloneDX", bom.GetProperty("bomFormat").GetString());
            Assert.Contains(bom.GetProperty("components").EnumerateArray(), c => c.GetProperty("name").GetString() == package && c.GetProperty("purl").GetString()!.StartsWith("pkg:nuget/", StringComparison.Ordinal));
        }
        output.WriteLine($"scripts/release took {f.BuildTime.TotalSeconds:F0} s; tarball {new FileInfo(f.Tarball).Length / 1024.0 / 1024:F1} MiB; " +
                         $"unpacked {actual.Sum(p => new FileInfo(Path.Combine(f.Unpacked, p)).Length) / 1024.0 / 1024:F1} MiB in {actual.Count + 1} files");
    }

    /// <summary>
    /// The host and the CLI ship precompiled (ReadyToRun): Fairway's own assemblies and the packages it runs on carry
    /// native code next to their IL, so a process started by a deploy or after a crash runs at once instead of spending
    /// its first minutes in the JIT (docs/decisions.md, "The host is published with ReadyToRun"). An assembly is a
    /// ReadyToRun image when its CLR header points at a managed native header (the READYTORUN_HEADER); plain IL has none.
    /// </summary>
    [Fact]
    public void The_host_and_the_cli_ship_ReadyToRun_images_of_Fairway_and_its_packages()
    {
        static bool ReadyToRun(string path)
        {
            using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(path));
            return pe.PEHeaders.CorHeader is { } cor && cor.ManagedNativeHeaderDirectory.Size > 0;
        }
        foreach (var dll in new[] { "host/Fairway.Host.dll", "host/Fairway.Engine.dll", "host/Fairway.Migrations.dll", "host/Npgsql.dll", "host/Hangfire.Core.dll",
                     "host/Stripe.net.dll", "cli/fairway.dll", "cli/Fairway.Migrations.dll" })
            Assert.True(ReadyToRun(Path.Combine(f.Unpacked, dll)), $"{dll} is not a ReadyToRun image");
        // The check can fail: the solution's own build output is plain IL.
        Assert.False(ReadyToRun(RepoPaths.Dll("Fairway.Engine", "Fairway.Engine.dll")), "the build output should be IL only");
    }

    [Fact]
    public async Task The_artifact_migrates_and_starts_as_the_Dockerfiles_say_is_healthy_and_stops_cleanly_on_SIGTERM()
    {
        var database = await TestDatabases.CreateEmptyAsync();

        // The one-shot migrations image: its ENTRYPOINT and CMD (`db migrate`) against the empty database.
        var migrations = DockerfileSpec.Parse(Path.Combine(RepoPaths.Root, "infra/docker/Dockerfile.migrations"));
        var migrationsRoot = RootFs(migrations);
        var (mExit, mOut, mErr) = await ManagedProcess.RunAsync("setpriv", [.. AsUser(migrations), .. migrations.Entrypoint, .. migrations.Cmd],
            new Dictionary<string, string>(migrations.Env) { ["DATABASE_URL"] = database }, TimeSpan.FromMinutes(3), migrationsRoot + migrations.WorkDir);
        Assert.True(mExit == 0, $"migrations container exited {mExit}: {mOut}\n{mErr}");
        Assert.Contains($"schema version now: {SchemaMigrator.ExpectedVersion}", mOut);

        // The runtime image: ENV of the Dockerfile plus the deployment's env file; only the listen port differs (port mapping).
        var runtime = DockerfileSpec.Parse(Path.Combine(RepoPaths.Root, "infra/docker/Dockerfile.runtime"));
        var rootfs = RootFs(runtime);
        Assert.Equal([8080], runtime.Exposed);
        var port = PostgresCluster.FreePort();
        var env = FairwayHostProcess.Environment(database, port);
        foreach (var (k, v) in runtime.Env) env[k] = v;
        var health = runtime.Healthcheck.Select(a => a.Replace("127.0.0.1:8080", $"127.0.0.1:{port}", StringComparison.Ordinal)).ToList();
        Assert.NotEqual(runtime.Healthcheck, health);   // the healthcheck targets the exposed port

        var started = Stopwatch.StartNew();
        using var host = ManagedProcess.Start("setpriv", [.. AsUser(runtime), .. runtime.Entrypoint, .. runtime.Cmd], env, rootfs + runtime.WorkDir);
        TimeSpan? healthyAfter = null;
        while (started.Elapsed < runtime.HealthyWithin)
        {
            Assert.False(host.HasExited, $"the host exited {(host.HasExited ? host.ExitCode : 0)}: {string.Join('\n', host.Stderr)}");
            var (hExit, _, _) = await ManagedProcess.RunAsync(health[0], health.Skip(1), new Dictionary<string, string>(), TimeSpan.FromSeconds(10));
            if (hExit == 0) { healthyAfter = started.Elapsed; break; }
            await Task.Delay(200);
        }
        Assert.True(healthyAfter is not null, $"not healthy within {runtime.HealthyWithin}: {string.Join('\n', host.Stdout.TakeLast(20))}");
        Assert.Contains(host.Stdout, l => l.Contains("Fairway host starting: role \\\"api\\\"", StringComparison.Ordinal));
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") })
            Assert.Contains("/api/contests", await http.GetStringAsync("/openapi/v1.json"), StringComparison.Ordinal);

        host.SendSigterm();
        Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(40)));   // compose's stop_grace_period
        Assert.Contains(host.Stdout, l => l.Contains("Fairway host stopped cleanly", StringComparison.Ordinal));
        foreach (var dir in new[] { migrationsRoot, rootfs }) Directory.Delete(dir, recursive: true);
        output.WriteLine($"healthy {healthyAfter.Value.TotalMilliseconds:F0} ms after the process started (healthcheck polled every 200 ms)");
    }

    /// <summary>One container's file system: the image's COPY instructions applied to the unpacked artifact.</summary>
    string RootFs(DockerfileSpec spec)
    {
        var rootfs = Directory.CreateTempSubdirectory("fairway-rootfs.").FullName;
        File.SetUnixFileMode(rootfs, (UnixFileMode)0b111_101_101);
        spec.CopyInto(f.Unpacked, rootfs);
        return rootfs;
    }

    static string[] AsUser(DockerfileSpec spec)
    {
        Assert.Equal("$APP_UID", spec.User);   // never root
        return [$"--reuid={AppUid}", $"--regid={AppUid}", "--clear-groups", "--"];
    }
}
