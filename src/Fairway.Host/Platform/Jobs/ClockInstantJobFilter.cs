using Fairway.Host.Platform.Time;
using Hangfire.Server;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// A job is one unit of work on the clock: under the test clock it reads the clock once, and every later read in the job
/// returns that instant (<see cref="DatabaseTestClock.BeginInstant"/>). Under the system clock nothing reads the scope.
/// </summary>
public sealed class ClockInstantJobFilter : IServerFilter
{
    const string ScopeKey = "fairway.clock.instant";

    public void OnPerforming(PerformingContext context) => context.Items[ScopeKey] = DatabaseTestClock.BeginInstant();

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ScopeKey, out var scope)) ((IDisposable)scope).Dispose();
    }
}
