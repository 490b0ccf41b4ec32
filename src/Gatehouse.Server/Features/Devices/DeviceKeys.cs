using System.Security.Cryptography;
using System.Text;
using Gatehouse.Contracts.Devices;

namespace Gatehouse.Server.Features.Devices;

/// <summary>
/// Device keys: public ECDSA P-256 keys as JWK, their RFC 7638 thumbprints, and the check of a
/// signature over a challenge. WebCrypto signs in the IEEE P1363 form (r‖s), which .NET verifies as is.
/// </summary>
public static class DeviceKeys
{
    public const string KeyType = "webcrypto-p256";

    /// <summary>What the agent signs to answer a challenge of the hosted page.</summary>
    public static string AuthMessage(string requestId, string nonce) => $"gatehouse-device-auth:{requestId}:{nonce}";

    /// <summary>What the agent signs to prove a session's device.</summary>
    public static string SessionMessage(string sessionId, string nonce) => $"gatehouse-session:{sessionId}:{nonce}";

    /// <summary>The reason the key is refused, or null with its canonical JSON and thumbprint.</summary>
    public static string? Check(DevicePublicKeyJwk? jwk, out string canonical, out string thumbprint)
    {
        canonical = thumbprint = "";
        if (jwk is null)
        {
            return "required";
        }

        if (jwk.D is not null)
        {
            return "must be a public key (a private part \"d\" was sent)";
        }

        if (jwk.Kty != "EC" || jwk.Crv != "P-256")
        {
            return "must be an EC key on P-256 (kty \"EC\", crv \"P-256\")";
        }

        if (Decode(jwk.X) is not { Length: 32 } x || Decode(jwk.Y) is not { Length: 32 } y)
        {
            return "x and y must be 32-byte base64url coordinates";
        }

        try
        {
            using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            key.ExportParameters(false);
        }
        catch (CryptographicException)
        {
            return "is not a point on P-256";
        }

        // RFC 7638: the required members in lexicographic order, no whitespace.
        canonical = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{jwk.X}\",\"y\":\"{jwk.Y}\"}}";
        thumbprint = Base64Url(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        return null;
    }

    /// <summary>The public key of a canonical JWK, ready to verify.</summary>
    public static ECDsa Load(string canonicalJwk)
    {
        using var document = System.Text.Json.JsonDocument.Parse(canonicalJwk);
        var x = Decode(document.RootElement.GetProperty("x").GetString())!;
        var y = Decode(document.RootElement.GetProperty("y").GetString())!;
        return ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
    }

    /// <summary>True when <paramref name="signature"/> (base64url, r‖s) signs <paramref name="message"/> with <paramref name="key"/>.</summary>
    public static bool Verify(ECDsa key, string message, string? signature)
    {
        if (Decode(signature) is not { Length: 64 } bytes)
        {
            return false;
        }

        return key.VerifyData(Encoding.UTF8.GetBytes(message), bytes, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>A secret of 32 random bytes with a prefix naming its kind.</summary>
    public static string NewSecret(string prefix) => prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[]? Decode(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 200)
        {
            return null;
        }

        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => "!" };
        var buffer = new byte[padded.Length];
        return Convert.TryFromBase64String(padded, buffer, out var written) ? buffer[..written] : null;
    }
}
