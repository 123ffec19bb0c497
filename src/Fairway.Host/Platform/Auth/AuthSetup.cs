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
/// </summary>
public static class AuthSetup
{
    public static void AddFairwayAuth(this IServiceCollection services, FairwaySettings settings)
    {
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            // Token lifetimes are real-world time, never the test clock.
            o.TimeProvider = TimeProvider.System;
            if (settings.OidcAuthority is not null)
            {
                o.Authority = settings.OidcAuthority.ToString().TrimEnd('/');
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
                IssuerSigningKey = settings.JwtSigningKey is null ? null : new SymmetricSecurityKey(settings.JwtSigningKey),
                RoleClaimType = "role",
                NameClaimType = "sub",
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            o.Events = new JwtBearerEvents
            {
                OnChallenge = async ctx =>
                {
                    ctx.HandleResponse();
                    var invalid = ctx.AuthenticateFailure is not null;
                    await Problems.WriteAsync(ctx.HttpContext, 401, invalid ? "TOKEN_INVALID" : "UNAUTHENTICATED",
                        invalid ? "The bearer token was rejected." : "A bearer token is required.",
                        invalid ? ctx.AuthenticateFailure!.GetType().Name : null);
                },
                OnForbidden = ctx => Problems.WriteAsync(ctx.HttpContext, 403, "FORBIDDEN", "This route requires role admin."),
            };
        });
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Roles.AdminPolicy, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin));
    }
}
