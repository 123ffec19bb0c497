using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Fairway.IntegrationTests.Infrastructure;

/// <summary>The local signing key and tokens the tests use (the same scheme `fairway token` uses).</summary>
public static class TestAuth
{
    public const string Issuer = "fairway-tests";
    public const string Audience = "fairway-api";
    public static readonly string SigningKeyBase64 = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static string Token(string sub, bool admin = false, string? key = null, string issuer = Issuer, DateTime? expires = null)
    {
        var claims = new List<Claim> { new("sub", sub) };
        if (admin) claims.Add(new Claim("role", "admin"));
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity(claims),
            IssuedAt = (expires ?? now.AddHours(1)) < now ? now.AddHours(-2) : now,
            NotBefore = (expires ?? now.AddHours(1)) < now ? now.AddHours(-2) : now,
            Expires = expires ?? now.AddHours(1),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(key ?? SigningKeyBase64)), SecurityAlgorithms.HmacSha256),
        });
    }

    public static string Admin => Token("ops-1", admin: true);
    public static string Player(string sub = "player-1") => Token(sub);
}
