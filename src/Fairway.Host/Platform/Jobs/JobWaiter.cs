using Hangfire;
using Hangfire.States;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// Lets an admin request wait (bounded) for a job it enqueued to finish in a worker, so ops, tests
/// and the simulation can act synchronously without the API process doing background work itself.
/// </summary>
public static class JobWaiter
{
    public const int MaxWaitSeconds = 120;

    /// <summary>A request's <c>wait_seconds</c> is 0..<see cref="MaxWaitSeconds"/> (left out, the endpoint's default): the 400 naming the field, else null.</summary>
    public static IResult? WaitSecondsError(int? waitSeconds) =>
        waitSeconds is < 0 or > MaxWaitSeconds
            ? Http.Problems.Result(Http.ProblemCodes.ValidationFailed, "The request is invalid.",
                errors: [new Http.ProblemError("wait_seconds", Http.FieldCodes.OutOfRange, $"wait_seconds must be between 0 and {MaxWaitSeconds}")])
            : null;
    static readonly HashSet<string> FinalStates = new(StringComparer.OrdinalIgnoreCase) { SucceededState.StateName, FailedState.StateName, DeletedState.StateName };

    /// <summary>The job's state when it reached a final state or when <paramref name="timeout"/> passed (then possibly not final).</summary>
    public static async Task<(string? State, bool Final)> WaitAsync(JobStorage storage, string jobId, TimeSpan timeout)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            string? state;
            using (var connection = storage.GetConnection()) state = connection.GetJobData(jobId)?.State;
            var final = state is not null && FinalStates.Contains(state);
            if (final || waited.Elapsed >= timeout) return (state, final);
            await Task.Delay(100, CancellationToken.None);
        }
    }
}
