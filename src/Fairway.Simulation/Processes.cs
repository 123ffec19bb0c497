using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fairway.Simulation;

/// <summary>A child process whose output goes to a log file in the run directory.</summary>
public sealed class ChildProcess : IDisposable
{
    readonly Process process;
    readonly StreamWriter log;
    public string Name { get; }
    volatile bool disposed;
    public int Pid { get; }
    /// <summary>True once the process ended (or this handle was disposed: a supervisor replaced it).</summary>
    public bool HasExited => disposed || process.HasExited;

    /// <summary>The crash point this process died at, from the line Fairway prints right before failing fast (null: none).</summary>
    public string? CrashPointReached { get; private set; }

    public bool DiedAt(string point) => CrashPointReached == point;

    ChildProcess(string name, Process p, StreamWriter log) { Name = name; process = p; this.log = log; Pid = p.Id; }

    public static ChildProcess Start(string name, string logDir, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var log = new StreamWriter(Path.Combine(logDir, name + ".log"), append: true) { AutoFlush = true };
        var p = new Process { StartInfo = psi };
        ChildProcess? child = null;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.WriteLine(e.Data);
            var crash = System.Text.RegularExpressions.Regex.Match(e.Data, "^fairway: crash point '(?<point>[^']+)' reached");
            if (crash.Success && child is not null) child.CrashPointReached = crash.Groups["point"].Value;
        };
        p.Start();
        child = new ChildProcess(name, p, log);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    /// <summary>SIGTERM, then wait (bounded) for a clean exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (process.HasExited) return process.ExitCode;
        kill(process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { process.Kill(true); await process.WaitForExitAsync(); return -1; }
        return process.ExitCode;
    }

    /// <summary>SIGKILL: a crash, no clean-up.</summary>
    public void Crash() { if (!process.HasExited) process.Kill(entireProcessTree: true); process.WaitForExit(); }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (!process.HasExited) process.Kill(true);
        process.Dispose();
        lock (log) log.Dispose();
    }

    /// <summary>Ports are drawn from here up to the start of the kernel's ephemeral range.</summary>
    const int LowestPort = 10000;
    const int MaxPortTries = 200;
    static readonly HashSet<int> PortsHandedOut = [];

    /// <summary>
    /// A loopback port below the kernel's ephemeral range that nothing listens on and that this run has not handed out
    /// before. A port the kernel picks (binding port 0) lies in the ephemeral range, and between this check and the child
    /// binding it, any outgoing connection (the API's pool to PostgreSQL, a client of a sandbox) may take it as its source
    /// port: a fresh-clone CI run failed at start-up with the worker's "address already in use". Below the range only an
    /// explicit bind can take a port. Which port does not affect the season, so the draw is not the seed's.
    /// </summary>
    public static int FreePort()
    {
        var end = EphemeralRangeStart();
        lock (PortsHandedOut)
        {
            for (var attempt = 0; attempt < MaxPortTries; attempt++)
            {
                var port = Random.Shared.Next(LowestPort, end);
                if (PortsHandedOut.Contains(port)) continue;
                try
                {
                    using var l = new TcpListener(IPAddress.Loopback, port);
                    l.Start();
                }
                catch (SocketException) { continue; }
                PortsHandedOut.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port in {LowestPort}-{end - 1} after {MaxPortTries} tries");
    }

    static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        var start = File.Exists(range) ? int.Parse(File.ReadAllText(range).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0], System.Globalization.CultureInfo.InvariantCulture) : 32768;
        if (start <= LowestPort + 1000)
            throw new InvalidOperationException($"the kernel's ephemeral ports start at {start} ({range}); the simulator needs room for its listening ports between {LowestPort} and there");
        return start;
    }

    public static async Task WaitHttpAsync(string url, TimeSpan timeout, ChildProcess owner)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (owner.HasExited) throw new InvalidOperationException($"{owner.Name} exited during start-up (see its log)");
            try { if ((await http.GetAsync(url)).IsSuccessStatusCode) return; } catch (HttpRequestException) { } catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{owner.Name} not ready at {url} within {timeout}");
    }
}
