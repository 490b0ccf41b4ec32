using System.Security.Cryptography;

namespace Gatehouse.Crypto.Tests;

/// <summary>
/// The master key as configured (base64 of 32 bytes) and what it derives and wraps. A master key
/// file written today, and every secret wrapped under it, must keep working.
/// </summary>
/// <remarks>
/// Expected values from Python: <c>base64</c>, HKDF-SHA-256 (empty salt) from the <c>cryptography</c>
/// package — the fingerprint also from <c>openssl kdf -keylen 4 -kdfopt digest:SHA256 -kdfopt
/// hexkey:000102…1f -kdfopt info:gatehouse/fingerprint HKDF</c> — and blobs sealed with its
/// <c>AESGCM</c> in the sealed-box layout.
/// </remarks>
public sealed class MasterKeyTests
{
    // The key bytes 0x00..0x1f.
    private const string Configured = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private static MasterKey Parse(string text)
    {
        MasterKey.TryParse(text, out var key, out var error).ShouldBeTrue(error);
        return key!;
    }

    [Fact]
    public void Parsing_keeps_the_bytes_and_the_fingerprint_is_the_known_answer()
    {
        var key = Parse(Configured);

        key.ToBase64().ShouldBe(Configured);
        key.Fingerprint.ShouldBe("b3924ac9");
        Parse("  " + Configured + "\n").ToBase64().ShouldBe(Configured);
    }

    [Theory]
    [InlineData("idempotency", "55913a9ab64d36a7731b3b1bf18d7fb268c328b87942c40a62d150413e87c6fa")]
    [InlineData("webhook-secret", "5bde5da35bb1738befc56437a978e8e8febc69a3d0f0adf8798ae8ed3e95d8be")]
    public void Subkeys_are_HKDF_of_the_purpose(string purpose, string expected)
    {
        Convert.ToHexStringLower(Parse(Configured).DeriveSubkey(purpose)).ShouldBe(expected);
    }

    [Fact]
    public void A_known_wrapped_data_key_unwraps_only_for_its_organization_and_version()
    {
        // Sealed under the master key itself, key version 0, nonce 0x64..0x6f, data key 0x40..0x5f.
        var wrapped = Convert.FromHexString(
            "0100000000" + "6465666768696a6b6c6d6e6f" + "fb6b3148bbbae73d1eeaa3627009bd08"
            + "085a9c253dac10d9762b15a3962824b212935459df39a525ff88f613a7fefb17");
        var key = Parse(Configured);

        key.Unwrap(wrapped, AssociatedData.ForDataKey("org_acme", 1)).ShouldBe(Enumerable.Range(64, 32).Select(i => (byte)i).ToArray());
        Should.Throw<CryptographicException>(() => key.Unwrap(wrapped, AssociatedData.ForDataKey("org_acme", 2)));
    }

    [Fact]
    public void A_known_sealed_webhook_secret_opens_with_the_webhook_secret_subkey_and_its_endpoint()
    {
        // Sealed under HKDF(master key, "webhook-secret"), key version 0, nonce 0x32..0x3d,
        // associated data the UTF-8 endpoint id "ep_1", secret 0xc8..0xe7.
        var sealedSecret = Convert.FromHexString(
            "0100000000" + "32333435363738393a3b3c3d" + "51e07a28444028d9a8d5b8a9594d7505"
            + "2e697c7546a88a0fedcd13608e19e360f518f1f1effcf7bcf2a1104d156059a4");
        var key = Parse(Configured);

        key.Open("webhook-secret", sealedSecret, "ep_1"u8).ShouldBe(Enumerable.Range(200, 32).Select(i => (byte)i).ToArray());
        Should.Throw<CryptographicException>(() => key.Open("idempotency", sealedSecret, "ep_1"u8));
        Should.Throw<CryptographicException>(() => key.Open("webhook-secret", sealedSecret, "ep_2"u8));
    }

    [Theory]
    [InlineData(null, "the master key is empty")]
    [InlineData("", "the master key is empty")]
    [InlineData("   ", "the master key is empty")]
    [InlineData("not base64!", "the master key is not valid base64")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", "the master key must decode to 32 bytes, not 31")]
    [InlineData("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "the master key must decode to 32 bytes, not 33")]
    public void Malformed_keys_are_refused_with_the_reason(string? text, string error)
    {
        MasterKey.TryParse(text, out var key, out var reason).ShouldBeFalse();

        key.ShouldBeNull();
        reason.ShouldBe(error);
    }

    [Fact]
    public void Generated_keys_round_trip_through_their_text()
    {
        var generated = MasterKey.Generate();

        Parse(generated.ToBase64()).Fingerprint.ShouldBe(generated.Fingerprint);
        MasterKey.Generate().ToBase64().ShouldNotBe(generated.ToBase64());
    }
}
