namespace Fairway.Engine.Contests;

/// <summary>One row of a payout table: finishing place (1-based) and its share of the net pool in basis points.</summary>
public sealed record PayoutPlace(int Place, int Bps);
