using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Fairway.WebhookLoad;

public sealed record BaselineResult(double Tps, long Transactions, double Seconds, int Clients, int Threads, IReadOnlyList<double> LatenciesMs, string Command, string Output);

/// <summary>
/// The baseline: pgbench against the same PostgreSQL cluster, in its own scratch database, with a custom script of
/// one single-row INSERT per transaction, the same number of clients as the load's concurrency, for a fixed duration.
/// Per-transaction latencies come from pgbench's own log (<c>-l</c>).
/// </summary>
public static partial class Baseline
{
    public const string Database = "bench_pgbench_baseline";
    public const string Script = "INSERT INTO bench_insert(payload) VALUES ('x');\n";

    public static async Task<BaselineResult> RunAsync(string pgbench, string databaseUrl, string runDir, int clients, int seconds)
    {
        var u = new Uri(databaseUrl);
        var user = Uri.UnescapeDataString(u.UserInfo.Split(':', 2)[0]);
        await using (var c = new NpgsqlConnection(Db.ConnectionString(databaseUrl, "bench-baseline-setup")))
        {
            await c.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database}", c);
            await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Database}", c);
            await create.ExecuteNonQueryAsync();
        }
        await using (var c = new NpgsqlConnection(Db.ConnectionString(databaseUrl, "bench-baseline-setup", Database)))
        {
            await c.OpenAsync();
            await using var t = new NpgsqlCommand("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL)", c);
            await t.ExecuteNonQueryAsync();
        }
        NpgsqlConnection.ClearAllPools();

        var dir = Path.Combine(runDir, "pgbench");
        Directory.CreateDirectory(dir);
        var scriptPath = Path.Combine(dir, "insert.sql");
        await File.WriteAllTextAsync(scriptPath, Script);
        var threads = Math.Min(clients, Environment.ProcessorCount);
        var psi = new ProcessStartInfo(pgbench) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        string[] args = ["-h", u.Host, "-p", u.Port.ToString(CultureInfo.InvariantCulture), "-U", user, "-n", "-c", clients.ToString(CultureInfo.InvariantCulture),
            "-j", threads.ToString(CultureInfo.InvariantCulture), "-T", seconds.ToString(CultureInfo.InvariantCulture), "-f", scriptPath, "-l", "--log-prefix", Path.Combine(dir, "txlog"), Database];
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 60));
        await p.WaitForExitAsync(cts.Token);
        var output = (await stdout) + (await stderr);
        var command = "pgbench " + string.Join(' ', args.Select(a => a.StartsWith(dir, StringComparison.Ordinal) ? Path.GetFileName(a) : a));
        if (p.ExitCode != 0) throw new InvalidOperationException($"pgbench exited with {p.ExitCode}:\n{output}");

        var tps = double.Parse(TpsLine().Match(output) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no tps in pgbench output:\n" + output), CultureInfo.InvariantCulture);
        var tx = long.Parse(TxLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        // Log line: client_id transaction_no time(µs) script_no time_epoch time_us
        var latencies = new List<double>();
        foreach (var f in Directory.GetFiles(dir, "txlog.*"))
            foreach (var line in File.ReadLines(f))
            {
                var parts = line.Split(' ');
                if (parts.Length >= 3 && long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var us)) latencies.Add(us / 1000.0);
            }
        latencies.Sort();
        return new BaselineResult(tps, tx, seconds, clients, threads, latencies, command, output);
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex TxLine();
}
