using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Contracts.OAuth;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Server.Features.Users;

/// <summary>
/// The P-256 key an organization's single sign-on client authenticates with under <c>private_key_jwt</c>
/// (OpenID Connect Core §9, RFC 7523): made here, its private half sealed and never shown, its public
/// half given to the provider as a JWK.
/// </summary>
internal static class SsoClientKeys
{
    /// <summary>A client assertion lives one minute: long enough for one token request, short enough that a captured one is useless soon.</summary>
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromMinutes(1);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>A new key: its PKCS#8 private key and its public JWK, whose kid is the RFC 7638 thumbprint.</summary>
    public static (byte[] Pkcs8, PublicJwk Jwk) Generate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var q = key.ExportParameters(false).Q;
        var x = Base64Url.EncodeToString(q.X);
        var y = Base64Url.EncodeToString(q.Y);
        // RFC 7638 §3.2: the required members of an EC key, in lexicographic order, without whitespace.
        var thumbprintInput = JsonSerializer.SerializeToUtf8Bytes(new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["crv"] = "P-256",
            ["kty"] = "EC",
            ["x"] = x,
            ["y"] = y,
        });
        var kid = Base64Url.EncodeToString(SHA256.HashData(thumbprintInput));
        return (key.ExportPkcs8PrivateKey(), new PublicJwk("EC", kid, "sig", SecurityAlgorithms.EcdsaSha256, "P-256", x, y, null, null));
    }

    public static string Serialize(PublicJwk jwk) => JsonSerializer.Serialize(jwk);

    public static PublicJwk Parse(string json) =>
        JsonSerializer.Deserialize<PublicJwk>(json) ?? throw new InvalidOperationException("A stored client JWK is not a JWK.");

    /// <summary>
    /// A signed client assertion for the token endpoint: issuer and subject the client id, audience the
    /// token endpoint (RFC 7523 §3), a fresh <c>jti</c> so the provider can refuse a replay.
    /// </summary>
    public static string Assertion(byte[] pkcs8, string kid, string clientId, string tokenEndpoint, DateTimeOffset now)
    {
        using var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(pkcs8, out _);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = tokenEndpoint,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.Add(AssertionLifetime).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            },
            // The key object is disposed after this call: IdentityModel must not cache a signer around it for the next login with this kid.
            SigningCredentials = new SigningCredentials(
                new ECDsaSecurityKey(key) { KeyId = kid, CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false } },
                SecurityAlgorithms.EcdsaSha256),
        };
        return Handler.CreateToken(descriptor);
    }
}
