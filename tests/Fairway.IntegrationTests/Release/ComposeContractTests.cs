using System.Text.RegularExpressions;
using Fairway.Host.Platform.Configuration;
using Fairway.IntegrationTests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Fairway.IntegrationTests.Release;

/// <summary>
/// The compose files against the configuration contract (no container engine or compose v2 exists here): Fairway's
/// services get their whole configuration from an env file and nothing secret inline; the documented env files supply
/// every required variable; roles, grace periods and published ports are what the runtime contracts and the
/// public-exposure decision say.
/// </summary>
public sealed class ComposeContractTests
{
    static YamlMappingNode Services(string file)
    {
        var yaml = new YamlStream();
        using (var r = new StreamReader(Path.Combine(RepoPaths.Root, "infra/compose", file))) yaml.Load(r);
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    /// <summary>A key of a mapping, following YAML merge keys (`&lt;&lt;: *anchor`) as Compose does.</summary>
    static YamlNode? Get(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v
        : m.Children.TryGetValue(new YamlScalarNode("<<"), out var merged) && merged is YamlMappingNode parent ? Get(parent, key) : null;
    static IEnumerable<string> Scalars(YamlNode? n) => n switch
    {
        YamlSequenceNode s => s.Children.OfType<YamlScalarNode>().Select(x => x.Value!),
        YamlScalarNode s => [s.Value!],
        _ => [],
    };

    static bool IsFairway(YamlMappingNode service) =>
        Scalars(Get(service, "image")).Any(i => i.StartsWith("fairway-", StringComparison.Ordinal));

    [Theory]
    [InlineData("docker-compose.dev.yml")]
    [InlineData("docker-compose.prod.yml")]
    public void Fairway_services_take_their_configuration_from_an_env_file_and_nothing_secret_inline(string file)
    {
        var secrets = EnvironmentSchema.All.Where(v => v.Secret).Select(v => v.Name).ToHashSet();
        var known = EnvironmentSchema.All.Select(v => v.Name).ToHashSet();
        var fairway = 0;
        foreach (var (name, node) in Services(file).Children)
        {
            var service = (YamlMappingNode)node;
            if (Get(service, "environment") is YamlMappingNode env)
                foreach (var key in env.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!))
                {
                    Assert.False(secrets.Contains(key), $"{file}: {name} sets the secret {key} inline");
                    Assert.False(known.Contains(key), $"{file}: {name} sets {key} inline; Fairway's configuration comes only from its env file");
                    if (file.Contains("prod")) Assert.DoesNotMatch("(?i)password|secret|token|key", key);
                }
            if (!IsFairway(service)) continue;
            fairway++;
            Assert.True(Scalars(Get(service, "env_file")).Any(), $"{file}: {name} has no env_file");
            var command = Scalars(Get(service, "command")).ToList();
            Assert.True(command.SequenceEqual(["--role", "api"]) || command.SequenceEqual(["--role", "worker"]) || command.SequenceEqual(["db", "migrate"]),
                $"{file}: {name} runs '{string.Join(' ', command)}'");
            if (command[0] == "--role")
            {
                var grace = Scalars(Get(service, "stop_grace_period")).Single();
                Assert.True(int.Parse(grace.TrimEnd('s')) > int.Parse(EnvironmentSchema.All.Single(v => v.Name == EnvironmentSchema.ShutdownTimeoutSeconds).Default!),
                    $"{file}: {name}: stop_grace_period {grace} must exceed FAIRWAY_SHUTDOWN_TIMEOUT_SECONDS");
            }
        }
        Assert.Equal(3, fairway);   // migrations, api, worker
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra/compose", file));
        Assert.DoesNotMatch(new Regex(@"sk_(live|test)_[A-Za-z0-9]|whsec_[A-Za-z0-9]|postgres(ql)?://[^:\s]+:[^@\s]+@"), text);
    }

    [Fact]
    public void In_production_only_the_TLS_proxy_is_published_and_the_api_and_dashboards_only_on_loopback()
    {
        foreach (var (name, node) in Services("docker-compose.prod.yml").Children)
        {
            var ports = Scalars(Get((YamlMappingNode)node, "ports")).ToList();
            switch (((YamlScalarNode)name).Value)
            {
                case "proxy":
                    Assert.Equal(["80:80", "443:443"], ports);
                    Assert.Contains("../caddy/Caddyfile:/etc/caddy/Caddyfile:ro", Scalars(Get((YamlMappingNode)node, "volumes")));
                    break;
                case "api": Assert.Equal(["127.0.0.1:8080:8080"], ports); break;
                // Dashboards are for operators through an SSH tunnel: loopback only, never a public port.
                case "grafana": Assert.Equal(["127.0.0.1:3000:3000"], ports); break;
                default: Assert.True(ports.Count == 0, $"{name} publishes {string.Join(", ", ports)}"); break;
            }
        }
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "infra/caddy/Caddyfile")));
    }

    [Fact]
    public async Task The_documented_dev_env_file_supplies_every_required_variable_for_both_roles()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra/env/README.md"));
        var block = Regex.Match(readme, "Development file.*?```sh\n(?<script>.*?)```", RegexOptions.Singleline).Groups["script"].Value;
        Assert.Contains("> infra/env/dev.env", block);
        var dir = Directory.CreateTempSubdirectory("fairway-devenv.").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "infra/env"));
        var (exit, _, err) = await ManagedProcess.RunAsync("bash", ["-euc", block], new Dictionary<string, string>(), workingDirectory: dir);
        Assert.True(exit == 0, err);
        var (check, stdout, stderr) = await ManagedProcess.RunDotnetAsync(RepoPaths.CliDll, ["config", "check", "--env-file", Path.Combine(dir, "infra/env/dev.env")], new Dictionary<string, string>());
        Assert.True(check == 0, stdout + stderr);
    }

    [Fact]
    public async Task The_production_starting_point_names_every_required_variable()
    {
        var example = await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, "infra/env/.env.example"));
        var set = example.Where(l => !l.StartsWith('#') && l.Contains('=')).Select(l => l[..l.IndexOf('=')]).ToHashSet();
        foreach (var v in EnvironmentSchema.All.Where(v => v.Required)) Assert.Contains(v.Name, set);
    }
}
