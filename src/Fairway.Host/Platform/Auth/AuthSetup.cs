using Fairway.Host.Platform.Configuration;
using Fairway.Host.Platform.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.Host.Platform.Auth;

/// <summary>
/// JWT bearer validation: issuer, audience and signing keys from configuration (a local HMAC key,
/// an OIDC authority's published keys, or both). Every route requires an authenticated caller unless
/// it is explicitly marked public; /api/admin/** requires role admin.
/// With both configured, each token goes to one validator by its algorithm (HS* to the local key, anything
/// else to the authority), so locally signed break-glass tokens keep working while the authority is down
/// (runbook auth-service-unavailable), and an authority outage never turns into "every request waits for it".
/// </summary>
public static class AuthSetup
{
    const string LocalScheme = "local-key";
    const string OidcScheme = "oidc-authority";

    public static void AddFairwayAuth(this IServiceCollection services, FairwaySettings settings)
    {
        var auth = services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme);
        var local = settings.JwtSigningKey is not null;
        var oidc = settings.OidcAuthority is not null;
        auth.AddPolicyScheme(JwtBearerDefaults.AuthenticationScheme, "bearer", o => o.ForwardDefaultSelector = ctx =>
            !oidc ? LocalScheme : !local ? OidcScheme : IsHmacToken(ctx.Request.Headers.Authorization.ToString()) ? LocalScheme : OidcScheme);
        if (local) auth.AddJwtBearer(LocalScheme, o => Configure(o, settings, withAuthority: false));
        if (oidc) auth.AddJwtBearer(OidcScheme, o => Configure(o, settings, withAuthority: true));
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Roles.AdminPolicy, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin));
    }

    /// <summary>The token's own header says HS256/384/512 (unvalidated: it only picks the validator, which then checks everything).</summary>
    static bool IsHmacToken(string authorization)
    {
        const string prefix = "Bearer ";
        if (!authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        try { return new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(authorization[prefix.Length..].Trim()).Alg.StartsWith("HS", StringComparison.Ordinal); }
        catch (ArgumentException) { return false; }
    }

    static void Configure(JwtBearerOptions o, FairwaySettings settings, bool withAuthority)
    {
        o.MapInboundClaims = false;
        // Token lifetimes are real-world time, never the test clock.
        o.TimeProvider = TimeProvider.System;
        if (withAuthority)
        {
            o.Authority = settings.OidcAuthority!.ToString().TrimEnd('/');
            o.RequireHttpsMetadata = settings.OidcAuthority.Scheme == Uri.UriSchemeHttps;
        }
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = settings.JwtIssuer,
            ValidateAudience = true,
            ValidAudience = settings.JwtAudience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKey = withAuthority || settings.JwtSigningKey is null ? null : new SymmetricSecurityKey(settings.JwtSigningKey),
            RoleClaimType = "role",
            NameClaimType = "sub",
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = _ => { AuthMetrics.Record(AuthMetrics.Accepted); return Task.CompletedTask; },
            OnAuthenticationFailed = async ctx =>
            {
                var outcome = AuthMetrics.Classify(ctx.Exception);
                // The token handler swallows a failed fetch of the authority's configuration and then reports "no
                // signing key": ask the configuration manager, so an unreachable authority is a service error (503,
                // auth_service_error_rate), not a rejected token.
                if (outcome == AuthMetrics.Rejected && ctx.Exception is SecurityTokenSignatureKeyNotFoundException && ctx.Options.ConfigurationManager is { } authority)
                {
                    try { await authority.GetConfigurationAsync(ctx.HttpContext.RequestAborted); }
                    catch (Exception unreachable) when (AuthMetrics.Classify(unreachable) == AuthMetrics.ServiceError)
                    {
                        outcome = AuthMetrics.ServiceError;
                        ctx.Fail(unreachable);
                    }
                }
                AuthMetrics.Record(outcome);
            },
            OnChallenge = async ctx =>
            {
                ctx.HandleResponse();
                if (ctx.AuthenticateFailure is { } failure && AuthMetrics.Classify(failure) == AuthMetrics.ServiceError)
                {
                    // Not the caller's fault: the authority could not be reached. Retryable, and visible as auth_service_error_rate.
                    ctx.Response.Headers.RetryAfter = "5";
                    await Problems.WriteAsync(ctx.HttpContext, ProblemCodes.AuthServiceUnavailable, "The authentication service could not be reached; retry later.", failure.GetType().Name);
                    return;
                }
                var invalid = ctx.AuthenticateFailure is not null;
                await Problems.WriteAsync(ctx.HttpContext, invalid ? ProblemCodes.TokenInvalid : ProblemCodes.Unauthenticated,
                    invalid ? "The bearer token was rejected." : "A bearer token is required.",
                    invalid ? ctx.AuthenticateFailure!.GetType().Name : null);
            },
            OnForbidden = ctx => Problems.WriteAsync(ctx.HttpContext, ProblemCodes.Forbidden, "This route requires role admin."),
        };
    }
}
