using System.Text.Json;
using System.Text.RegularExpressions;

namespace Fairway.IntegrationTests.Release;

/// <summary>
/// What the final stage of a Dockerfile says about the container it makes: files copied from the build context,
/// working directory, environment, user, exposed port, healthcheck, entrypoint and command. Only the exec (JSON)
/// forms are accepted for HEALTHCHECK, ENTRYPOINT and CMD: a shell form would put a shell between Docker's SIGTERM
/// and the process (infra/runtime/SHUTDOWN_CONTRACT.md).
/// </summary>
public sealed partial record DockerfileSpec(
    IReadOnlyList<(string Source, string Destination)> Copies, string WorkDir, IReadOnlyDictionary<string, string> Env, string? User,
    IReadOnlyList<int> Exposed, IReadOnlyList<string> Healthcheck, IReadOnlyDictionary<string, string> HealthcheckOptions,
    IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Cmd)
{
    [GeneratedRegex("""(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?:"(?<q>[^"]*)"|(?<v>\S*))""")]
    private static partial Regex EnvPair();

    public static DockerfileSpec Parse(string path)
    {
        var copies = new List<(string, string)>();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var exposed = new List<int>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        string workdir = "/", healthcheck = "", entrypoint = "", cmd = "";
        string? user = null;
        // Join continuation lines, drop comments and blank lines.
        var logical = new List<string>();
        var current = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (current.Length == 0 && (line.Length == 0 || line.StartsWith('#'))) continue;
            if (line.EndsWith('\\')) { current += line[..^1] + " "; continue; }
            logical.Add(current + line);
            current = "";
        }
        foreach (var line in logical)
        {
            var space = line.IndexOf(' ');
            var (op, rest) = (line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
            switch (op)
            {
                case "FROM":   // a new stage: only the last one is the image
                    copies.Clear(); env.Clear(); exposed.Clear(); options.Clear();
                    (workdir, healthcheck, entrypoint, cmd, user) = ("/", "", "", "", null);
                    break;
                case "COPY":
                    var parts = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Any(p => p.StartsWith("--from", StringComparison.Ordinal))) throw new InvalidDataException($"{path}: the image must be built from the artifact, not another stage: {line}");
                    copies.Add((parts[0], parts[1]));
                    break;
                case "WORKDIR": workdir = rest; break;
                case "ENV": foreach (Match m in EnvPair().Matches(rest)) env[m.Groups["key"].Value] = m.Groups["q"].Success ? m.Groups["q"].Value : m.Groups["v"].Value; break;
                case "USER": user = rest; break;
                case "EXPOSE": exposed.AddRange(rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p.Split('/')[0]))); break;
                case "HEALTHCHECK":
                    var cmdAt = rest.IndexOf(" CMD ", StringComparison.Ordinal);
                    foreach (var o in rest[..cmdAt].Split(' ', StringSplitOptions.RemoveEmptyEntries)) options[o.TrimStart('-').Split('=')[0]] = o.Split('=')[1];
                    healthcheck = rest[(cmdAt + 5)..];
                    break;
                case "ENTRYPOINT": entrypoint = rest; break;
                case "CMD": cmd = rest; break;
            }
        }
        return new DockerfileSpec(copies, workdir, env, user, exposed, Exec(healthcheck, "HEALTHCHECK"), options, Exec(entrypoint, "ENTRYPOINT"), Exec(cmd, "CMD"));

        IReadOnlyList<string> Exec(string json, string what) => json.Length == 0 ? [] : json.StartsWith('[')
            ? JsonSerializer.Deserialize<string[]>(json)!
            : throw new InvalidDataException($"{path}: {what} must use the exec (JSON array) form, found '{json}'");
    }

    /// <summary>Lays the image's files out under <paramref name="rootfs"/> from the build context, as the COPY instructions do.</summary>
    public void CopyInto(string context, string rootfs)
    {
        foreach (var (source, destination) in Copies)
        {
            var from = Path.Combine(context, source.TrimEnd('/'));
            var to = rootfs + destination;
            if (Directory.Exists(from)) CopyDirectory(from, to);
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(to.EndsWith('/') ? to + "x" : to)!);
                File.Copy(from, to.EndsWith('/') ? Path.Combine(to, Path.GetFileName(from)) : to);
            }
        }
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>Seconds Docker would wait for the first healthy answer: start period plus retries × interval.</summary>
    public TimeSpan HealthyWithin => Seconds("start-period") + Seconds("interval") * int.Parse(HealthcheckOptions.GetValueOrDefault("retries", "3"));

    TimeSpan Seconds(string option) => TimeSpan.FromSeconds(int.Parse(HealthcheckOptions[option].TrimEnd('s')));
}
