namespace Fairway.Engine.Config;

/// <summary>Exact-shape parsers for the text formats the config uses. Hand-rolled so no culture, time zone
/// or lenient parsing rule can ever accept something the contract does not.</summary>
internal static class StrictFormats
{
    /// <summary><c>yyyy-MM-dd</c>, ASCII digits only, a real calendar date.</summary>
    public static DateOnly? Date(string s)
    {
        if (s.Length != 10 || s[4] != '-' || s[7] != '-')
        {
            return null;
        }
        if (!Digits(s, 0, 4, out var y) || !Digits(s, 5, 2, out var m) || !Digits(s, 8, 2, out var d))
        {
            return null;
        }
        if (y < 1 || m < 1 || m > 12 || d < 1 || d > DateTime.DaysInMonth(y, m))
        {
            return null;
        }
        return new DateOnly(y, m, d);
    }

    /// <summary><c>yyyy-MM-ddTHH:mm:ssZ</c>: UTC only, whole seconds, no leap second.</summary>
    public static DateTimeOffset? UtcInstant(string s)
    {
        if (s.Length != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        {
            return null;
        }
        if (Date(s.Substring(0, 10)) is not { } date)
        {
            return null;
        }
        if (!Digits(s, 11, 2, out var h) || !Digits(s, 14, 2, out var min) || !Digits(s, 17, 2, out var sec))
        {
            return null;
        }
        if (h > 23 || min > 59 || sec > 59)
        {
            return null;
        }
        return new DateTimeOffset(date.Year, date.Month, date.Day, h, min, sec, TimeSpan.Zero);
    }

    /// <summary>Absolute http(s) URL with a host and no whitespace anywhere (Uri would silently trim it).</summary>
    public static Uri? HttpUrl(string s)
    {
        if (s.Any(char.IsWhiteSpace) || !Uri.TryCreate(s, UriKind.Absolute, out var uri))
        {
            return null;
        }
        if ((uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            return null;
        }
        return uri;
    }

    public static bool Currency(string s) => s.Length == 3 && s.All(c => c is >= 'a' and <= 'z');

    private static bool Digits(string s, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (s[i] is < '0' or > '9')
            {
                return false;
            }
            value = value * 10 + (s[i] - '0');
        }
        return true;
    }
}
