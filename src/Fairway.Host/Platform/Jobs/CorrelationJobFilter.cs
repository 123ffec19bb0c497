using Fairway.Host.Platform.Telemetry;
using Hangfire.Client;
using Hangfire.Server;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// Carries the correlation id of the request that enqueued a job into the job's execution, so the
/// job's logs and audit rows join the request's.
/// </summary>
public sealed class CorrelationJobFilter : IClientFilter, IServerFilter
{
    const string Parameter = "CorrelationId";
    const string ScopeKey = "fairway.correlation.scope";

    public void OnCreating(CreatingContext context) => context.SetJobParameter(Parameter, Correlation.Current ?? Correlation.NewId());
    public void OnCreated(CreatedContext context) { }

    public void OnPerforming(PerformingContext context)
    {
        var id = context.GetJobParameter<string>(Parameter);
        context.Items[ScopeKey] = Correlation.Begin(Correlation.IsAcceptable(id) ? id! : Correlation.NewId());
    }

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(ScopeKey, out var scope)) ((IDisposable)scope).Dispose();
    }
}
