using Prometheus;

namespace Fairway.Host.Contests;

/// <summary>Seed 001 metric names: contest_status_transitions_failed is alerted on when above 0.</summary>
public static class ContestMetrics
{
    public static readonly Counter Transitions = Metrics.CreateCounter(
        "contest_status_transitions_total", "Contest lifecycle transitions committed.", "from", "to");

    public static readonly Counter TransitionsFailed = Metrics.CreateCounter(
        "contest_status_transitions_failed", "Contest lifecycle transitions that were attempted and refused or failed.", "to", "reason");
}
