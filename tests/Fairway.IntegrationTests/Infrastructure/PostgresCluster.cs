using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster owned by a test (initdb as the postgres user, free loopback port).
/// Tests that stop and restart the database use their own cluster so they never disturb others.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    public string BinDir { get; }
    public string BaseDir { get; }
    public int Port { get; }
    public string AdminUrl => $"postgresql://postgres@127.0.0.1:{Port}/postgres";

    PostgresCluster(string binDir, string baseDir, int port) { BinDir = binDir; BaseDir = baseDir; Port = port; }

    public static string FindBinDir()
    {
        if (Environment.GetEnvironmentVariable("FAIRWAY_TEST_PG_BIN") is { Length: > 0 } b) return b;
        var dirs = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Order().ToList() : [];
        foreach (var d in Enumerable.Reverse(dirs))
            if (File.Exists(Path.Combine(d, "bin", "initdb"))) return Path.Combine(d, "bin");
        throw new InvalidOperationException("PostgreSQL server binaries not found; run ./scripts/test, which installs them");
    }

    public static PostgresCluster Start() => Start("");

    /// <summary>A cluster with <paramref name="extraConfig"/> appended to postgresql.conf (e.g. WAL archiving); "{base}" is replaced by its directory.</summary>
    public static PostgresCluster Start(string extraConfig)
    {
        var bin = FindBinDir();
        var baseDir = Directory.CreateTempSubdirectory("fairway-test-pg.").FullName;
        var port = FreePort();
        AsPostgres("chown", "postgres", baseDir);
        var data = Path.Combine(baseDir, "data");
        AsPostgres(Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8");
        File.AppendAllText(Path.Combine(data, "postgresql.conf"),
            $"\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{baseDir}'\nmax_connections = 200\nfsync = off\nsynchronous_commit = off\n"
            + extraConfig.Replace("{base}", baseDir) + "\n");
        var cluster = new PostgresCluster(bin, baseDir, port);
        cluster.StartServer();
        return cluster;
    }

    public void StartServer() => AsPostgres(Path.Combine(BinDir, "pg_ctl"), "-D", Path.Combine(BaseDir, "data"), "-l", Path.Combine(BaseDir, "server.log"), "-w", "-t", "60", "start");
    public void StopServer() => AsPostgres(Path.Combine(BinDir, "pg_ctl"), "-D", Path.Combine(BaseDir, "data"), "-m", "fast", "-w", "-t", "60", "stop");

    public void Dispose()
    {
        try { StopServer(); } catch { /* already stopped */ }
        try { Directory.Delete(BaseDir, recursive: true); } catch { /* best effort */ }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    static void AsPostgres(string file, params string[] args)
    {
        var root = Environment.UserName == "root";
        var psi = new ProcessStartInfo(root && file != "chown" ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (root && file != "chown") { psi.ArgumentList.Add("-u"); psi.ArgumentList.Add("postgres"); psi.ArgumentList.Add("--"); psi.ArgumentList.Add(file); }
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (file == "chown" && !root) return;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} timed out"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stdout.Result} {stderr.Result}");
    }
}
