using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Fairway.Engine.Settlement;

namespace Fairway.Engine.Tests;

/// <summary>The engine's purity is checked on the compiled assembly, so a later edit cannot quietly add I/O or a clock.</summary>
public class PurityTests
{
    private static readonly Assembly Engine = typeof(SettlementCalculator).Assembly;

    private static readonly string[] ForbiddenTypes =
    {
        "System.TimeProvider", "System.Diagnostics.Stopwatch", "System.Environment", "System.Random",
        "System.IO.File", "System.IO.FileStream", "System.IO.Directory", "System.IO.FileInfo", "System.IO.StreamReader",
        "System.IO.StreamWriter", "System.Console", "System.Threading.Thread", "System.Threading.Tasks.Task",
        "System.TimeZoneInfo", "System.Guid",
    };

    private static readonly (string Type, string Member)[] ForbiddenMembers =
    {
        ("System.DateTime", "get_Now"), ("System.DateTime", "get_UtcNow"), ("System.DateTime", "get_Today"),
        ("System.DateTimeOffset", "get_Now"), ("System.DateTimeOffset", "get_UtcNow"),
    };

    [Fact]
    public void References_only_the_base_class_library()
    {
        var references = Engine.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.NotEmpty(references);
        Assert.DoesNotContain(references, r => r.StartsWith("Fairway.", StringComparison.Ordinal));
        Assert.All(references, r => Assert.True(r == "System" || r.StartsWith("System.", StringComparison.Ordinal) || r == "netstandard" || r == "mscorlib",
            $"{r} is not a BCL assembly"));
    }

    [Fact]
    public void Never_touches_clock_randomness_environment_files_or_network()
    {
        using var stream = File.OpenRead(Engine.Location);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();

        string TypeName(EntityHandle handle) => handle.Kind switch
        {
            HandleKind.TypeReference => FullName(md.GetTypeReference((TypeReferenceHandle)handle)),
            _ => "",
        };
        string FullName(TypeReference t) => md.GetString(t.Namespace) + "." + md.GetString(t.Name);

        var typeRefs = md.TypeReferences.Select(h => FullName(md.GetTypeReference(h))).ToArray();
        Assert.Contains("System.Text.Json.JsonElement", typeRefs); // proves the scan sees real references
        var forbiddenTypes = typeRefs.Where(t => ForbiddenTypes.Contains(t) || t.StartsWith("System.Net.", StringComparison.Ordinal)).ToArray();
        Assert.Empty(forbiddenTypes);

        var memberRefs = md.MemberReferences
            .Select(h => md.GetMemberReference(h))
            .Select(m => (Type: TypeName(m.Parent), Member: md.GetString(m.Name)))
            .ToArray();
        Assert.Contains(memberRefs, m => m.Type == "System.Security.Cryptography.SHA256" && m.Member == "HashData");
        Assert.DoesNotContain(memberRefs, m => ForbiddenMembers.Contains(m));
    }

    [Fact]
    public void Has_no_static_mutable_state()
    {
        var mutable = Engine.GetTypes()
            .Where(t => !t.Name.Contains('<')) // compiler-generated lambda caches
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(f => !f.IsLiteral && !f.IsInitOnly && !f.Name.Contains('<'))
            .Select(f => f.DeclaringType!.Name + "." + f.Name)
            .ToArray();
        Assert.Empty(mutable);
    }
}
