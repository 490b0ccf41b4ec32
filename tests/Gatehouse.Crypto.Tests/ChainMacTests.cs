using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto.Tests;

/// <summary>The audit chain's keyed hashes: reproducible byte for byte, and useless without the secret.</summary>
public sealed class ChainMacTests
{
    private static readonly byte[] Secret = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    [Fact]
    public void Event_hashes_are_HMAC_SHA_256_under_the_HKDF_event_subkey()
    {
        var subkey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Secret, 32, [], "gatehouse/audit-event"u8.ToArray());

        new ChainMac(Secret).EventHash("a\nb").ShouldBe(Convert.ToHexStringLower(HMACSHA256.HashData(subkey, Encoding.UTF8.GetBytes("a\nb"))));
    }

    // Known answers for secret 0x00..0x1f, computed with Python (HKDF from the cryptography package,
    // HMAC from hmac) and the subkeys cross-checked with `openssl kdf -keylen 32 -kdfopt digest:SHA256
    // -kdfopt hexkey:000102…1f -kdfopt info:gatehouse/audit-event HKDF` (and …/audit-head).
    [Fact]
    public void Event_hashes_and_head_seals_give_the_known_answers()
    {
        var mac = new ChainMac(Secret);

        mac.EventHash("a\nb").ShouldBe("1a626f60c8ad2a193272c964e10853a687c8a36859d3d41397d5b5058efc4466");
        mac.HeadSeal("ab", "c").ShouldBe("a1cf69eca3f81d79eaa73fed6fef032188bf0a8e16a34f477bc3f1e5a3c9482f");
    }

    [Fact]
    public void New_secrets_are_32_random_bytes_and_make_a_working_mac()
    {
        var secret = ChainMac.NewSecret();

        secret.Length.ShouldBe(ChainMac.SecretSize);
        ChainMac.NewSecret().ShouldNotBe(secret);
        new ChainMac(secret).EventHash("x").Length.ShouldBe(64);
    }

    [Fact]
    public void Another_secret_and_the_plain_digest_give_other_hashes()
    {
        var mac = new ChainMac(Secret);

        mac.EventHash("x").ShouldNotBe(new ChainMac(RandomNumberGenerator.GetBytes(32)).EventHash("x"));
        mac.EventHash("x").ShouldNotBe(Convert.ToHexStringLower(SHA256.HashData("x"u8)));
    }

    [Fact]
    public void A_head_seal_is_not_an_event_hash_and_fields_cannot_shift()
    {
        var mac = new ChainMac(Secret);

        mac.HeadSeal("ab", "c").ShouldNotBe(mac.HeadSeal("a", "bc"));
        mac.HeadSeal("x").ShouldNotBe(mac.EventHash(Encoding.UTF8.GetString(AssociatedData.Of("x"))));
    }

    [Fact]
    public void A_short_secret_is_refused()
    {
        Should.Throw<ArgumentException>(() => new ChainMac(new byte[16]));
        Should.NotThrow(() => new ChainMac(new byte[32]));
    }
}
