using FluentValidation;

namespace Fairway.Host.Platform.Http;

/// <summary>
/// Runs the FluentValidation validator of a request body before the handler. Every failure is listed
/// in one 400 VALIDATION_FAILED problem (logged once, with the errors, by the request log); nothing is coerced.
/// </summary>
public sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var body = context.Arguments.OfType<T>().FirstOrDefault();
        if (body is null)
            return Problems.Result(ProblemCodes.MalformedRequest, "The request body is missing or is not valid JSON.");
        var result = await validator.ValidateAsync(body, context.HttpContext.RequestAborted);
        if (result.IsValid) return await next(context);
        var errors = result.Errors
            .Select(e => new ProblemError(e.PropertyName, string.IsNullOrEmpty(e.ErrorCode) ? FieldCodes.Invalid : e.ErrorCode, e.ErrorMessage))
            .ToList();
        return Problems.Result(ProblemCodes.ValidationFailed, "The request is invalid.", errors: errors);
    }
}

public static class ValidationFilterExtensions
{
    public static RouteHandlerBuilder Validate<T>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<T>>().Errors(ProblemCodes.ValidationFailed, ProblemCodes.MalformedRequest);
}
