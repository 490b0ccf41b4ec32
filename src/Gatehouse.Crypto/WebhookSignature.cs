using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// Standard Webhooks signatures: secrets are <c>whsec_</c> + base64 of 32 random bytes; a signature
/// is <c>v1,</c> + base64 HMAC-SHA256 (key = the decoded secret bytes) of <c>{id}.{timestamp}.{body}</c>.
/// Several signatures in one header are separated by spaces. This format is public and must never change.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";
    public const int SecretBytes = 32;

    public static byte[] NewSecretBytes() => RandomNumberGenerator.GetBytes(SecretBytes);

    public static string FormatSecret(ReadOnlySpan<byte> secret) => SecretPrefix + Convert.ToBase64String(secret);

    public static bool TryParseSecret(string secret, out byte[] bytes)
    {
        bytes = [];
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            bytes = Convert.FromBase64String(secret[SecretPrefix.Length..]);
            return bytes.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>One <c>v1,…</c> signature.</summary>
    public static string Sign(ReadOnlySpan<byte> secret, string messageId, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{messageId}.{timestamp}.{body}"));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(secret, content));
    }

    /// <summary>True when any <c>v1</c> signature of the header matches (constant-time per candidate).</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, string messageId, long timestamp, string body, string signatureHeader)
    {
        var expected = Sign(secret, messageId, timestamp, body);
        var matched = false;
        foreach (var candidate in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            matched |= SecretComparison.AreEqual(expected, candidate);
        }

        return matched;
    }
}
