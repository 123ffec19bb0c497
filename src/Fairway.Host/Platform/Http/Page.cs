namespace Fairway.Host.Platform.Http;

/// <summary>A page of a list, Stripe-style: ordered by id, at most <c>limit</c> items, cursor = last id.</summary>
public sealed record Page<T>(IReadOnlyList<T> Data, bool HasMore, string? NextAfter);

public static class Page
{
    /// <summary>Callers fetch limit + 1 rows; the extra row only says whether there is more.</summary>
    public static Page<T> Of<T>(IReadOnlyList<T> rows, int limit, Func<T, string> id)
    {
        var data = rows.Take(limit).ToList();
        return new Page<T>(data, rows.Count > limit, rows.Count > limit ? id(data[^1]) : null);
    }
}
