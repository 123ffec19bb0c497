using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Fairway.WebhookLoad;

/// <summary>A child process (`dotnet some.dll …`) whose stdout and stderr go to a log file in the run directory.</summary>
public sealed class ChildProcess : IDisposable
{
    static readonly List<ChildProcess> Live = [];
    readonly Process process;
    readonly StreamWriter log;
    public string Name { get; }
    public string LogPath { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;

    ChildProcess(string name, Process p, StreamWriter log, string logPath) { Name = name; process = p; this.log = log; LogPath = logPath; }

    static ChildProcess()
    {
        // Whatever happens to this process (Ctrl-C, SIGTERM, an exception), its children go with it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static ChildProcess Start(string name, string logDir, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var logPath = Path.Combine(logDir, name + ".log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = false };
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var child = new ChildProcess(name, p, log, logPath);
        lock (Live) Live.Add(child);
        return child;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    /// <summary>SIGTERM, then wait (bounded) for the exit; returns the exit code (-1: killed after the timeout).</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (process.HasExited) return process.ExitCode;
        kill(process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { process.Kill(true); await process.WaitForExitAsync(); return -1; }
        return process.ExitCode;
    }

    public void Dispose()
    {
        try { if (!process.HasExited) { process.Kill(true); process.WaitForExit(5000); } } catch (InvalidOperationException) { }
        lock (log) { log.Flush(); log.Dispose(); }
        process.Dispose();
        lock (Live) Live.Remove(this);
    }

    static void KillAll()
    {
        ChildProcess[] all;
        lock (Live) all = [.. Live];
        foreach (var c in all)
        {
            try { if (!c.process.HasExited) c.process.Kill(true); } catch (Exception) { }
            try { lock (c.log) c.log.Flush(); } catch (Exception) { }
        }
    }

    public void FlushLog() { lock (log) log.Flush(); }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public async Task WaitHttpAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (HasExited) { FlushLog(); throw new InvalidOperationException($"{Name} exited with {process.ExitCode} during start-up (log: {LogPath})"); }
            try { if ((await http.GetAsync(url)).IsSuccessStatusCode) return; } catch (HttpRequestException) { } catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{Name} not ready at {url} within {timeout} (log: {LogPath})");
    }
}
