using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Crypto.Tests;

public sealed class KeyringTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("{\"apiKey\":\"sk_live_123\"}");

    private static OrgKeyring Ring(string orgId, params (uint Version, byte[] Key)[] keys) =>
        new(orgId, keys.ToDictionary(k => k.Version, k => k.Key), keys.Max(k => k.Version));

    private static byte[] NewKey() => RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Sealed_data_round_trips_and_names_its_key_version()
    {
        var ring = Ring("org_a", (1, NewKey()), (2, NewKey()));
        var aad = AssociatedData.ForCredential("org_a", "cred_1", 1);

        var sealedBox = ring.Seal(Secret, aad);

        SealedBox.TryReadKeyVersion(sealedBox, out var version).ShouldBeTrue();
        version.ShouldBe(2u);
        ring.Open(sealedBox, aad).ShouldBe(Secret);
        sealedBox.AsSpan().IndexOf(Secret).ShouldBe(-1);
    }

    [Fact]
    public void Two_seals_of_the_same_data_differ_unique_nonces()
    {
        var ring = Ring("org_a", (1, NewKey()));
        var aad = AssociatedData.ForCredential("org_a", "cred_1", 1);

        ring.Seal(Secret, aad).ShouldNotBe(ring.Seal(Secret, aad));
    }

    [Fact]
    public void Flipping_any_byte_makes_decryption_fail()
    {
        var ring = Ring("org_a", (1, NewKey()));
        var aad = AssociatedData.ForCredential("org_a", "cred_1", 1);
        var sealedBox = ring.Seal(Secret, aad);

        for (var i = 0; i < sealedBox.Length; i++)
        {
            var tampered = (byte[])sealedBox.Clone();
            tampered[i] ^= 0x01;
            Should.Throw<CryptographicException>(() => ring.Open(tampered, aad), $"byte {i}");
        }
    }

    [Fact]
    public void A_swapped_row_or_version_does_not_open()
    {
        var ring = Ring("org_a", (1, NewKey()));
        var sealedBox = ring.Seal(Secret, AssociatedData.ForCredential("org_a", "cred_1", 1));

        Should.Throw<CryptographicException>(() => ring.Open(sealedBox, AssociatedData.ForCredential("org_a", "cred_2", 1)));
        Should.Throw<CryptographicException>(() => ring.Open(sealedBox, AssociatedData.ForCredential("org_a", "cred_1", 2)));
        Should.Throw<CryptographicException>(() => ring.Open(sealedBox, AssociatedData.ForCredential("org_b", "cred_1", 1)));
    }

    [Fact]
    public void Another_organizations_keyring_cannot_open_it()
    {
        var aad = AssociatedData.ForCredential("org_a", "cred_1", 1);
        var sealedBox = Ring("org_a", (1, NewKey())).Seal(Secret, aad);

        Should.Throw<CryptographicException>(() => Ring("org_b", (1, NewKey())).Open(sealedBox, aad));
    }

    [Fact]
    public void A_retired_version_cannot_open_old_data()
    {
        var v1 = NewKey();
        var aad = AssociatedData.ForCredential("org_a", "cred_1", 1);
        var sealedBox = Ring("org_a", (1, v1)).Seal(Secret, aad);

        Ring("org_a", (1, v1), (2, NewKey())).Open(sealedBox, aad).ShouldBe(Secret);
        Should.Throw<CryptographicException>(() => Ring("org_a", (2, NewKey())).Open(sealedBox, aad));
    }

    [Fact]
    public void A_data_key_wrapped_by_one_master_key_does_not_unwrap_with_another_or_for_another_org()
    {
        var master = MasterKey.Generate();
        var dataKey = NewKey();
        var wrapped = master.Wrap(dataKey, AssociatedData.ForDataKey("org_a", 1));

        master.Unwrap(wrapped, AssociatedData.ForDataKey("org_a", 1)).ShouldBe(dataKey);
        Should.Throw<CryptographicException>(() => MasterKey.Generate().Unwrap(wrapped, AssociatedData.ForDataKey("org_a", 1)));
        Should.Throw<CryptographicException>(() => master.Unwrap(wrapped, AssociatedData.ForDataKey("org_b", 1)));
        Should.Throw<CryptographicException>(() => master.Unwrap(wrapped, AssociatedData.ForDataKey("org_a", 2)));
    }

    [Fact]
    public void Associated_data_fields_cannot_shift_into_each_other()
    {
        AssociatedData.Of("ab", "c").ShouldNotBe(AssociatedData.Of("a", "bc"));
    }

    // Known answers written out by hand from the layout (4-byte big-endian length, then UTF-8) and
    // checked with Python's struct.pack(">i", len(field)) + field.
    [Fact]
    public void Associated_data_gives_the_known_bytes()
    {
        Convert.ToHexStringLower(AssociatedData.Of("ab", "c")).ShouldBe("00000002" + "6162" + "00000001" + "63");
        Convert.ToHexStringLower(AssociatedData.Of("é", "")).ShouldBe("00000002" + "c3a9" + "00000000");
        Convert.ToHexStringLower(AssociatedData.ForDataKey("org_acme", 7))
            .ShouldBe("0000000d" + "67617465686f7573652f64656b" + "00000008" + "6f72675f61636d65" + "00000001" + "37");
        Convert.ToHexStringLower(AssociatedData.ForCredential("org_acme", "cred_1", 3))
            .ShouldBe("00000014" + "67617465686f7573652f63726564656e7469616c" + "00000008" + "6f72675f61636d65" + "00000006" + "637265645f31" + "00000001" + "33");
    }
}
