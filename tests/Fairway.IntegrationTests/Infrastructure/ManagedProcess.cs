using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>
/// A real child process (a Fairway host, the CLI, a sandbox) with its output captured line by line,
/// so tests can kill it, send it SIGTERM, and read what it logged.
/// </summary>
public sealed class ManagedProcess : IDisposable
{
    readonly Process process;
    readonly ConcurrentQueue<string> stdout = new();
    readonly ConcurrentQueue<string> stderr = new();

    public int Pid => process.Id;
    public IReadOnlyCollection<string> Stdout => stdout;
    public IReadOnlyCollection<string> Stderr => stderr;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    ManagedProcess(Process p) => process = p;

    /// <summary>
    /// Starts `dotnet &lt;dll&gt; args` with the given environment on top of a clean base: every Fairway
    /// variable of the test runner's own environment is removed first so nothing leaks in.
    /// </summary>
    public static ManagedProcess StartDotnet(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env) =>
        Start("dotnet", [dll, .. args], env);

    /// <summary>Starts any executable like <see cref="StartDotnet"/> (same clean environment), optionally in <paramref name="workingDirectory"/>.</summary>
    public static ManagedProcess Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.ToList())
            if (key.StartsWith("FAIRWAY_", StringComparison.Ordinal) || key.StartsWith("AUTH_", StringComparison.Ordinal) || key.StartsWith("STRIPE_", StringComparison.Ordinal)
                || key.StartsWith("INGESTION_", StringComparison.Ordinal) || key == "DATABASE_URL" || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
                psi.Environment.Remove(key);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var m = new ManagedProcess(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) m.stdout.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) m.stderr.Enqueue(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return m;
    }

    /// <summary>Runs to completion (bounded) and returns the exit code.</summary>
    public static Task<(int ExitCode, string Stdout, string Stderr)> RunDotnetAsync(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, TimeSpan? timeout = null) =>
        RunAsync("dotnet", [dll, .. args], env, timeout);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string> env, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        using var m = Start(file, args, env, workingDirectory);
        var exit = await m.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(90));
        return (exit, string.Join('\n', m.Stdout), string.Join('\n', m.Stderr));
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"process {Pid} did not exit within {timeout}; stderr: {string.Join('\n', stderr)}"); }
        process.WaitForExit(); // flushes the asynchronous output readers
        return process.ExitCode;
    }

    [DllImport("libc", SetLastError = true)]
    static extern int kill(int pid, int sig);

    const int SIGTERM = 15;

    public void SendSigterm()
    {
        if (kill(Pid, SIGTERM) != 0) throw new InvalidOperationException($"kill(SIGTERM) failed: errno {Marshal.GetLastWin32Error()}");
    }

    /// <summary>SIGKILL: the process gets no chance to clean up (crash simulation).</summary>
    public void Kill() { if (!process.HasExited) process.Kill(entireProcessTree: true); }

    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var hit = stdout.FirstOrDefault(match);
            if (hit is not null) return hit;
            if (process.HasExited) break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no matching output within {timeout}. stdout tail: {string.Join('\n', stdout.TakeLast(20))}\nstderr: {string.Join('\n', stderr)}");
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }
}
