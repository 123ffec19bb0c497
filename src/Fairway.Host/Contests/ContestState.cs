namespace Fairway.Host.Contests;

/// <summary>PRODUCT.md §2: SCHEDULED → LOCKED → LIVE → COMPLETE, plus CANCELLED and ERROR.</summary>
public enum ContestState { Scheduled, Locked, Live, Complete, Cancelled, Error }

public static class ContestStates
{
    public static string Name(ContestState s) => s.ToString().ToUpperInvariant();

    /// <summary>Accepts exactly the upper-case names (SCHEDULED, …); nothing else is coerced.</summary>
    public static bool TryParse(string? s, out ContestState state)
    {
        foreach (var v in Enum.GetValues<ContestState>())
            if (Name(v) == s) { state = v; return true; }
        state = default;
        return false;
    }

    public static ContestState Parse(string s) => TryParse(s, out var st) ? st : throw new ArgumentException($"unknown contest state '{s}'");

    /// <summary>
    /// The allowed transitions. CANCELLED is terminal; COMPLETE is left only for ERROR, when its settlement keeps failing
    /// for a cause Fairway cannot resolve. ERROR is entered only for a condition the system cannot resolve by itself and
    /// left only by an admin following a runbook.
    /// LOCKED → COMPLETE is not allowed: a tournament that finished while we saw nothing goes through LIVE.
    /// </summary>
    static readonly Dictionary<ContestState, ContestState[]> Allowed = new()
    {
        [ContestState.Scheduled] = [ContestState.Locked, ContestState.Cancelled, ContestState.Error],
        [ContestState.Locked] = [ContestState.Live, ContestState.Cancelled, ContestState.Error],
        [ContestState.Live] = [ContestState.Complete, ContestState.Cancelled, ContestState.Error],
        [ContestState.Error] = [ContestState.Locked, ContestState.Live, ContestState.Complete, ContestState.Cancelled],
        [ContestState.Complete] = [ContestState.Error],
        [ContestState.Cancelled] = [],
    };

    public static bool CanMove(ContestState from, ContestState to) => Allowed[from].Contains(to);
}
