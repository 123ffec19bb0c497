using System.CommandLine;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.Cli;

/// <summary>
/// `fairway token --sub &lt;id&gt; [--admin]`: mints a bearer token with the LOCAL signing key. It exists for
/// development, tests and the simulation; a deployment that trusts only an external issuer has no
/// local key, so this command cannot produce a token it would accept.
/// </summary>
public static class TokenCommand
{
    public static Command Build()
    {
        var sub = new Option<string>("--sub") { Description = "Subject (player or operator id).", Required = true };
        var admin = new Option<bool>("--admin") { Description = "Add role admin." };
        var ttl = new Option<int>("--ttl-minutes") { Description = "Lifetime in minutes (1..1440).", DefaultValueFactory = _ => 60 };
        var cmd = new Command("token", "Mint a bearer token signed with AUTH_JWT_SIGNING_KEY (issuer AUTH_JWT_ISSUER, audience AUTH_JWT_AUDIENCE).") { sub, admin, ttl };
        cmd.SetAction(parse =>
        {
            var key = CliOutput.Env("AUTH_JWT_SIGNING_KEY");
            if (key is null)
                return CliOutput.Error(CliOutput.Usage, "AUTH_JWT_SIGNING_KEY is not set: this deployment has no local signing key, so tokens must come from its identity provider");
            var issuer = CliOutput.Env("AUTH_JWT_ISSUER");
            var audience = CliOutput.Env("AUTH_JWT_AUDIENCE");
            if (issuer is null || audience is null) return CliOutput.Error(CliOutput.Usage, "AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE must be set");
            byte[] keyBytes;
            try { keyBytes = Convert.FromBase64String(key); } catch (FormatException) { return CliOutput.Error(CliOutput.Usage, "AUTH_JWT_SIGNING_KEY: malformed: must be base64"); }
            if (keyBytes.Length < 32) return CliOutput.Error(CliOutput.Usage, "AUTH_JWT_SIGNING_KEY: too short: must decode to at least 32 bytes");
            var minutes = parse.GetValue(ttl);
            if (minutes is < 1 or > 1440) return CliOutput.Error(CliOutput.Usage, "--ttl-minutes must be between 1 and 1440");

            var subject = parse.GetValue(sub)!;
            var claims = new List<Claim> { new("sub", subject) };
            if (parse.GetValue(admin)) claims.Add(new Claim("role", "admin"));
            var now = TimeProvider.System.GetUtcNow().UtcDateTime;
            var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer,
                Audience = audience,
                Subject = new ClaimsIdentity(claims),
                IssuedAt = now,
                NotBefore = now,
                Expires = now.AddMinutes(minutes),
                SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(keyBytes), SecurityAlgorithms.HmacSha256),
            });
            Console.WriteLine(token);
            return CliOutput.Ok;
        });
        return cmd;
    }
}
