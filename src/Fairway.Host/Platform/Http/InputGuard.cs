using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Fairway.Host.Platform.Http;

/// <summary>
/// The one place where request input becomes trusted text. Two stages around authentication:
/// <list type="bullet">
/// <item><see cref="InputTextGuardMiddleware"/> (before authentication, for every request): the raw path, the raw
/// query string and every header value must be text (<see cref="InputText"/>); otherwise 400 INVALID_TEXT /
/// INVALID_HEADER.</item>
/// <item><see cref="InputBodyGuardMiddleware"/> (after authentication, so anonymous callers never make the host
/// buffer a body): the route's <see cref="RequestBodyClass"/> bounds the body (413 BODY_TOO_LARGE), a JSON
/// body is read once (bounded), checked by <see cref="InputText.CheckJson"/> and handed on from memory; binding
/// failures the framework raises (wrong JSON types, unknown members, unparsable query or route values, wrong
/// media type) become 4xx problems with stable codes instead of bodiless 400s.</item>
/// </list>
/// Both answer before any handler runs, so a refused request writes nothing. They log nothing themselves:
/// the request log writes exactly one warning line per 4xx, with the problem's code and detail.
/// </summary>
public static class InputGuard
{
    public static readonly ProblemCode BodyTooLarge = ProblemCodes.BodyTooLarge;
    public static readonly ProblemCode BodyRequired = ProblemCodes.BodyRequired;
    public static readonly ProblemCode MalformedRequest = ProblemCodes.MalformedRequest;
    public static readonly ProblemCode UnsupportedMediaType = ProblemCodes.UnsupportedMediaType;

    public static void UseInputTextGuard(this WebApplication app) => app.UseMiddleware<InputTextGuardMiddleware>();
    public static void UseInputBodyGuard(this WebApplication app) => app.UseMiddleware<InputBodyGuardMiddleware>();

    internal static Task RefuseAsync(HttpContext context, InputDefect defect, string title) =>
        Problems.WriteAsync(context, defect.Code, title, defect.Message, [new ProblemError(defect.Field, defect.Code, defect.Message)]);
}

public sealed class InputTextGuardMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var defect = Check(context);
        if (defect is null) await next(context);
        else await InputGuard.RefuseAsync(context, defect, defect.Code == InputText.InvalidHeader ? "A header value is not text." : "The request URL is not valid text.");
    }

    static InputDefect? Check(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var q = raw.IndexOf('?');
        var rawPath = q < 0 ? raw : raw[..q];
        if (!rawPath.StartsWith('/') && rawPath.IndexOf("://", StringComparison.Ordinal) is var scheme and >= 0)
        {
            // Absolute-form target (http://host/path): only the path is Fairway's input.
            var slash = rawPath.IndexOf('/', scheme + 3);
            rawPath = slash < 0 ? "/" : rawPath[slash..];
        }
        if (InputText.CheckPath(rawPath) is { } pathDefect) return pathDefect;
        if (InputText.CheckQuery(context.Request.QueryString.Value) is { } queryDefect) return queryDefect;
        foreach (var (name, values) in context.Request.Headers)
            foreach (var value in values)
                if (value is not null && InputText.CheckHeader(name, value) is { } headerDefect) return headerDefect;
        return null;
    }
}

public sealed class InputBodyGuardMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try { await GuardAsync(context); }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            // Kestrel's body errors and the framework's binding failures (RouteHandlerOptions.ThrowOnBadRequest): a
            // stable code instead of a bodiless 400.
            var (status, code, title) = e.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => (413, InputGuard.BodyTooLarge, "The request body is too large."),
                StatusCodes.Status415UnsupportedMediaType => (415, InputGuard.UnsupportedMediaType, "Send application/json."),
                _ => (400, InputGuard.MalformedRequest, "The request could not be read."),
            };
            var detail = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            await InputGuard.RefuseAsync(context, new InputDefect(code, status == 400 ? "request" : "body", InputText.Printable(detail)), title);
        }
    }

    async Task GuardAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var bodyClass = RequestBodyClass.Of(endpoint);
        var request = context.Request;
        var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (endpoint is not RouteEndpoint)
        {
            // No route (404) or routing's own refusal (405 method, 415 media type): it answers without reading the body.
            await next(context);
            return;
        }

        if (hasBody && bodyClass.Format == BodyFormat.None)
        {
            await DiscardBodyAsync(context);
            await TooLargeAsync(context, bodyClass, "this route takes no request body");
            return;
        }
        if (request.ContentLength > bodyClass.MaxBytes)
        {
            await DiscardBodyAsync(context);
            await TooLargeAsync(context, bodyClass, $"Content-Length {request.ContentLength}");
            return;
        }
        var binding = RequestBodyClass.JsonBinding(endpoint);
        if (binding is { IsOptional: false } && !hasBody)
        {
            await InputGuard.RefuseAsync(context, new InputDefect(InputGuard.BodyRequired, "body", "this route needs a JSON body; none was sent"), "The request body is missing.");
            return;
        }
        if (hasBody && ShouldCheck(bodyClass, binding, request, out var charsetDefect))
        {
            if (charsetDefect is not null)
            {
                await DiscardBodyAsync(context);
                await InputGuard.RefuseAsync(context, charsetDefect, "JSON bodies must be UTF-8.");
                return;
            }
            var body = await ReadBoundedAsync(request.Body, bodyClass.MaxBytes, context.RequestAborted);
            if (body is null)
            {
                await DiscardBodyAsync(context);
                await TooLargeAsync(context, bodyClass, "the body exceeded it while being read");
                return;
            }
            var defect = bodyClass.Format == BodyFormat.Form ? FormDefect(body) : InputText.CheckJson(body);
            if (defect is not null)
            {
                await InputGuard.RefuseAsync(context, defect, defect.Code == InputText.MalformedJson ? "The request body is not well-formed JSON." : "The request body is not valid.");
                return;
            }
            if (binding is { IsOptional: false } && IsJsonNull(body))
            {
                await InputGuard.RefuseAsync(context, new InputDefect(InputGuard.BodyRequired, "body", "this route needs a JSON body; the body is JSON null"), "The request body is missing.");
                return;
            }
            request.Body = new MemoryStream(body, writable: false);
        }
        // Whatever the handler reads itself is bounded by its class too.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = bodyClass.MaxBytes;
        await next(context);
    }

    /// <summary>
    /// Reads and drops what is left of a refused body (at most <see cref="RequestBodyClass.DrainLimit"/>), so the
    /// answer reaches the client and the connection stays usable; a larger body is not read at all and the
    /// connection is closed after the answer.
    /// </summary>
    static async Task DiscardBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > RequestBodyClass.DrainLimit
            || await ReadBoundedAsync(context.Request.Body, RequestBodyClass.DrainLimit, context.RequestAborted, keep: false) is null)
            context.Response.Headers.Connection = "close";
    }

    static Task TooLargeAsync(HttpContext context, RequestBodyClass bodyClass, string why) =>
        InputGuard.RefuseAsync(context, new InputDefect(InputGuard.BodyTooLarge, "body",
            $"route class {bodyClass.Name} accepts at most {bodyClass.MaxBytes} bytes; {why}"), "The request body is too large.");

    /// <summary>
    /// JSON bodies are checked when the endpoint binds JSON and the client says it sends JSON (otherwise the binder
    /// answers 415 without reading), and always for handlers that read the body themselves.
    /// </summary>
    static bool ShouldCheck(RequestBodyClass bodyClass, Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata? binding, HttpRequest request, out InputDefect? charsetDefect)
    {
        charsetDefect = null;
        if (bodyClass.Format == BodyFormat.Form) return true;
        var isJson = MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
            && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));
        if (isJson && media!.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            charsetDefect = new InputDefect(InputGuard.UnsupportedMediaType, "header.content-type",
                $"charset {InputText.Printable(media.Charset.ToString())} is not accepted; JSON is exchanged as UTF-8 (RFC 8259)");
        return bodyClass.ReadByHandler || (binding is not null && isJson);
    }

    static bool IsJsonNull(byte[] body)
    {
        var reader = new System.Text.Json.Utf8JsonReader(InputText.WithoutBom(body));
        return reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.Null;
    }

    static InputDefect? FormDefect(byte[] body)
    {
        foreach (var b in body)
            if (b > 0x7F) return new InputDefect(InputText.InvalidText, "body", "a form body must be ASCII (percent-encoded UTF-8)");
        return InputText.CheckQuery(Encoding.ASCII.GetString(body)) is { } d ? d with { Field = "body" } : null;
    }

    /// <summary>The whole body, or null as soon as it exceeds <paramref name="max"/> bytes (never more is buffered; with <paramref name="keep"/> false nothing is).</summary>
    public static async Task<byte[]?> ReadBoundedAsync(Stream body, long max, CancellationToken ct, bool keep = true)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            total += read;
            if (total > max) return null;
            if (keep) buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
