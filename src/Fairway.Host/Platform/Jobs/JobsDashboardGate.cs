using System.Text.RegularExpressions;
using Fairway.Host.Platform.Http;

namespace Fairway.Host.Platform.Jobs;

/// <summary>
/// The jobs dashboard is Hangfire's code: it parses job ids from its URLs and forms with <c>long.Parse</c> and
/// reads forms without checking the media type, so odd input made it answer 500. This gate, in front of it,
/// checks the few inputs the dashboard parses: job ids (in the URL and in a form's <c>jobs[]</c>) are positive
/// 64-bit integers (otherwise 404 JOB_NOT_FOUND / 400 MALFORMED_REQUEST), a POST carries a url-encoded form (415
/// otherwise), its commands and stats feed are POST-only and its pages GET-only (405). Everything else is the dashboard's own business.
/// </summary>
public sealed partial class JobsDashboardGate(RequestDelegate next)
{
    public const string Prefix = "/admin/jobs";

    [GeneratedRegex(@"^/jobs/(details|actions/requeue|actions/delete)/(?<id>[^/]*)$")]
    private static partial Regex JobIdRoute();

    /// <summary>The dashboard's commands (they read a form): POST only.</summary>
    [GeneratedRegex(@"^/(stats|jobs/[a-z]+/(delete|requeue|enqueue)|jobs/actions/(requeue|delete)/[^/]*|recurring/(trigger|remove)|retries/(delete|requeue))$")]
    private static partial Regex CommandRoute();

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value?[Prefix.Length..] ?? "";
        var request = context.Request;
        if (JobIdRoute().Match(path) is { Success: true } m && !IsJobId(m.Groups["id"].Value))
        {
            await Problems.WriteAsync(context, ProblemCodes.JobNotFound, "No such job.", "job ids are positive 64-bit integers");
            return;
        }
        if (CommandRoute().IsMatch(path) && !HttpMethods.IsPost(request.Method))
        {
            await Problems.WriteAsync(context, ProblemCodes.MethodNotAllowed, "Method not allowed on this resource.", "dashboard commands and the stats feed are POST-only");
            return;
        }
        if (HttpMethods.IsPost(request.Method))
        {
            if (!CommandRoute().IsMatch(path))
            {
                await Problems.WriteAsync(context, ProblemCodes.MethodNotAllowed, "Method not allowed on this resource.", "dashboard pages are GET-only");
                return;
            }
            // Hangfire posts url-encoded forms; a multipart body is not one of its commands (and a malformed one throws while parsed).
            if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
                || !media.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
            {
                await Problems.WriteAsync(context, InputGuard.UnsupportedMediaType, "Send a form.", "dashboard commands are application/x-www-form-urlencoded posts");
                return;
            }
            if (path.StartsWith("/jobs/", StringComparison.Ordinal))
            {
                var form = await request.ReadFormAsync(context.RequestAborted);
                if (form["jobs[]"].FirstOrDefault(id => id is null || !IsJobId(id)) is { } bad)
                {
                    await Problems.WriteAsync(context, InputGuard.MalformedRequest, "The request could not be read.",
                        $"jobs[] value '{InputText.Printable(bad ?? "")}' is not a job id (a positive 64-bit integer)");
                    return;
                }
            }
        }
        await next(context);
    }

    static bool IsJobId(string s) => s.Length is > 0 and <= 19 && s.All(char.IsAsciiDigit) && long.TryParse(s, out var id) && id > 0;
}
