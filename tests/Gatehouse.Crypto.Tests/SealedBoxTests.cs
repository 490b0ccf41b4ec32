using System.Security.Cryptography;

namespace Gatehouse.Crypto.Tests;

/// <summary>
/// The sealed box (format version 1) byte for byte. Credentials, wrapped data keys and server
/// secrets in databases and backups are in this layout: a blob sealed today must open for good.
/// </summary>
/// <remarks>
/// The blobs were sealed with Python's <c>cryptography</c> package
/// (<c>AESGCM(key).encrypt(nonce, plaintext, header + associated_data)</c>, its output split into
/// ciphertext and 16-byte tag and laid out as header ‖ nonce ‖ tag ‖ ciphertext), not by this code.
/// </remarks>
public sealed class SealedBoxTests
{
    // Key = bytes 0x20..0x3f, key version 7, nonce = bytes 0x00..0x0b,
    // associated data = AssociatedData.ForCredential("org_acme", "cred_1", 3).
    private static readonly byte[] Key = [.. Enumerable.Range(32, 32).Select(i => (byte)i)];
    private static readonly byte[] Nonce = [.. Enumerable.Range(0, 12).Select(i => (byte)i)];
    private static readonly byte[] Plaintext = "{\"apiKey\":\"sk_live_123\"}"u8.ToArray();
    private static readonly byte[] Aad = AssociatedData.ForCredential("org_acme", "cred_1", 3);

    private static readonly byte[] Known = Convert.FromHexString(
        "01" + "00000007" + "000102030405060708090a0b" + "55d1bc7fe4ea5dff7efcc5b54ec0a809"
        + "27703cd7237e8e959ec3ebb54d2c32556515b6555822846c");

    [Fact]
    public void The_known_blob_opens_to_the_known_plaintext()
    {
        SealedBox.Open(Key, Known, Aad).ShouldBe(Plaintext);
    }

    [Fact]
    public void Sealing_under_the_same_nonce_gives_the_known_blob()
    {
        SealedBox.Seal(Key, 7, Nonce, Plaintext, Aad).ShouldBe(Known);
    }

    [Fact]
    public void An_empty_plaintext_seals_to_header_nonce_and_tag_alone()
    {
        // Key 0x20..0x3f, key version 0, nonce twelve 0xff bytes, no associated data.
        var known = Convert.FromHexString("0100000000" + "ffffffffffffffffffffffff" + "96a1bf39ae64b4c057450b69a10f6024");

        SealedBox.Seal(Key, 0, Enumerable.Repeat((byte)0xff, 12).ToArray(), [], []).ShouldBe(known);
        SealedBox.Open(Key, known, []).ShouldBeEmpty();
    }

    [Fact]
    public void The_header_is_format_version_then_big_endian_key_version_then_nonce_then_tag()
    {
        var sealedBox = SealedBox.Seal(Key, 0x01020304, Plaintext, Aad);

        sealedBox.Length.ShouldBe(1 + 4 + 12 + 16 + Plaintext.Length);
        SealedBox.Overhead.ShouldBe(33);
        sealedBox[0].ShouldBe(SealedBox.FormatVersion1);
        sealedBox[1..5].ShouldBe(new byte[] { 1, 2, 3, 4 });
        SealedBox.TryReadKeyVersion(sealedBox, out var version).ShouldBeTrue();
        version.ShouldBe(0x01020304u);

        // Re-sealing with the nonce read back from bytes 5..16 reproduces the box: the nonce is
        // where the layout says, and the tag and ciphertext follow it.
        SealedBox.Seal(Key, 0x01020304, sealedBox.AsSpan(5, 12), Plaintext, Aad).ShouldBe(sealedBox);
    }

    [Fact]
    public void The_header_is_authenticated_and_an_unknown_format_is_refused()
    {
        var relabelled = (byte[])Known.Clone();
        relabelled[4] = 8;
        var otherFormat = (byte[])Known.Clone();
        otherFormat[0] = 2;

        Should.Throw<CryptographicException>(() => SealedBox.Open(Key, relabelled, Aad));
        SealedBox.TryReadKeyVersion(otherFormat, out _).ShouldBeFalse();
        Should.Throw<CryptographicException>(() => SealedBox.Open(Key, otherFormat, Aad));
        Should.Throw<CryptographicException>(() => SealedBox.Open(Key, Known.AsSpan(0, 32), Aad));
        Should.Throw<CryptographicException>(() => SealedBox.Open(Key, Known, AssociatedData.ForCredential("org_acme", "cred_1", 4)));
    }

    [Fact]
    public void Keys_must_be_32_bytes_and_new_ones_are()
    {
        var key = SealedBox.NewKey();

        key.Length.ShouldBe(SealedBox.KeySize);
        SealedBox.NewKey().ShouldNotBe(key);
        SealedBox.Open(key, SealedBox.Seal(key, 1, Plaintext, Aad), Aad).ShouldBe(Plaintext);
        Should.Throw<ArgumentException>(() => SealedBox.Seal(new byte[16], 1, Plaintext, Aad));
        Should.Throw<ArgumentException>(() => SealedBox.Seal(Key, 1, new byte[8], Plaintext, Aad));
    }
}
