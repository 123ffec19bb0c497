using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Fairway.Migrations.Backups;

/// <summary>
/// Runs PostgreSQL's client programs (pg_dump, pg_restore, pg_basebackup) against the database of an Npgsql
/// connection string: host, port, user and database as arguments, the password only in the child's environment
/// (never on a command line), bounded in time, and failing loudly with the tool's own message.
/// </summary>
public static class PostgresTools
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static IReadOnlyList<string> ConnectionArguments(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return ["-h", b.Host!, "-p", b.Port.ToString(CultureInfo.InvariantCulture), "-U", b.Username!];
    }

    public static string DatabaseName(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Database!;

    /// <summary>Runs <paramref name="tool"/> and throws with its stderr when it exits non-zero.</summary>
    public static Result Run(string tool, IEnumerable<string> args, string connectionString, TimeSpan timeout)
    {
        var r = TryRun(tool, args, connectionString, timeout);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(tool)} exited {r.ExitCode}: {r.Stderr.Trim()}");
        return r;
    }

    public static Result TryRun(string tool, IEnumerable<string> args, string connectionString, TimeSpan timeout)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (!string.IsNullOrEmpty(b.Password)) psi.Environment["PGPASSWORD"] = b.Password;
        psi.Environment["PGSSLMODE"] = b.SslMode switch
        {
            SslMode.Disable => "disable", SslMode.Allow => "allow", SslMode.Require => "require",
            SslMode.VerifyCA => "verify-ca", SslMode.VerifyFull => "verify-full", _ => "prefer",
        };
        psi.Environment["PGAPPNAME"] = "fairway-cli";
        Process p;
        try { p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"could not start {tool}: {e.Message} (install the PostgreSQL client, or pass its path)", e); }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds))
            {
                p.Kill(true);
                throw new TimeoutException($"{Path.GetFileName(tool)} did not finish within {timeout.TotalSeconds:F0} s");
            }
            return new Result(p.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
