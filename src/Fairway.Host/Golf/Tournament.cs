namespace Fairway.Host.Golf;

public sealed record Tournament(string Id, string ProviderEventId, string Name, DateTimeOffset CreatedAt)
{
    /// <summary>For Dapper, which sets the properties after construction.</summary>
    public Tournament() : this("", "", "", default) { }
}

/// <summary>Identifiers chosen by ops for tournaments and contests: short, lowercase, URL-safe.</summary>
public static class Slugs
{
    public const string Pattern = "^[a-z0-9][a-z0-9-]{2,63}$";
    static readonly System.Text.RegularExpressions.Regex Regex = new(Pattern, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    public static bool IsValid(string? s) => s is not null && Regex.IsMatch(s);
}
