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
