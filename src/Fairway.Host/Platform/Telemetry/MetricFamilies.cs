using System.Reflection;
using System.Runtime.CompilerServices;

namespace Fairway.Host.Platform.Telemetry;

/// <summary>
/// Registers every metric family of the host at start-up: prometheus-net creates a family when the static field
/// holding it is first touched, so without this a family appears on /metrics only after its first use (a webhook,
/// a violation, …). With it, every family is listed (# HELP / # TYPE) from the first scrape of every process, and
/// a dashboard or alert rule naming a metric can be checked against what the process exports.
/// </summary>
public static class MetricFamilies
{
    public static void RegisterAll()
    {
        foreach (var type in typeof(MetricFamilies).Assembly.GetTypes())
        {
            if (type.ContainsGenericParameters) continue;
            var holdsMetric = type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Any(f => typeof(Prometheus.Collector).IsAssignableFrom(f.FieldType));
            if (holdsMetric) RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        }
    }
}
