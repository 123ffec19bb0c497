using System.Text.Encodings.Web;
using System.Text.Json;

namespace Fairway.StripeSandbox;

static class Json
{
    /// <summary>Compact JSON without HTML-escaping (apostrophes stay apostrophes, like Stripe's responses).</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
