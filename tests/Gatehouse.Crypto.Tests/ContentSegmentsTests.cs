using System.Security.Cryptography;

namespace Gatehouse.Crypto.Tests;

/// <summary>
/// Stored content (format version 1) byte for byte, and every way a stored object can be altered.
/// </summary>
/// <remarks>
/// The objects were made with Python's <c>cryptography</c> package: the header
/// <c>01 00010000</c>, then for each 64 KiB piece <c>i</c> of the plaintext
/// <c>AESGCM(key).encrypt(b"\0" * 7 + i.to_bytes(4, "big") + bytes([final]), piece, header + associated_data)</c>,
/// not by this code.
/// </remarks>
public sealed class ContentSegmentsTests
{
    // Key = bytes 0x40..0x5f; associated data = ContentSegments.AssociatedDataFor("org_acme", "ctr_1", "file_1").
    private static readonly byte[] Key = [.. Enumerable.Range(0x40, 32).Select(i => (byte)i)];
    private static readonly byte[] Aad = ContentSegments.AssociatedDataFor("org_acme", "ctr_1", "file_1");
    private static readonly byte[] ThreeSegments = [.. Enumerable.Range(0, 131073).Select(i => (byte)(i % 251))];

    [Fact]
    public async Task An_empty_file_is_the_header_and_one_empty_final_segment()
    {
        (await EncryptAsync([])).ShouldBe(Convert.FromHexString("0100010000" + "5ac832269c9de73be9eacd0a69358e7d"));
    }

    [Fact]
    public async Task A_short_file_gives_the_known_object()
    {
        var stored = await EncryptAsync("Gatehouse content"u8.ToArray());

        stored.ShouldBe(Convert.FromHexString("0100010000f4cf0754fac9913275aaeaa6e2970803a78cb570fa3fb592923b824b1d345ce84f"));
        (await DecryptAsync(stored)).ShouldBe("Gatehouse content"u8.ToArray());
    }

    [Fact]
    public async Task Three_segments_give_the_known_object_and_open_again()
    {
        var stored = await EncryptAsync(ThreeSegments);

        stored.Length.ShouldBe(131126);
        ContentSegments.StoredLength(ThreeSegments.Length).ShouldBe(131126);
        Convert.ToHexStringLower(SHA256.HashData(stored)).ShouldBe("0c76bdd0f6930c927a53156ab2563fc26947097616b15710d92a9f19b4b1f2c5");
        (await DecryptAsync(stored)).ShouldBe(ThreeSegments);
    }

    [Fact]
    public async Task Encrypting_reports_the_length_and_sha256_of_the_plaintext()
    {
        using var output = new MemoryStream();
        var result = await ContentSegments.EncryptAsync(new MemoryStream(ThreeSegments), output, Key, Aad, long.MaxValue, TestContext.Current.CancellationToken);

        result.Length.ShouldBe(ThreeSegments.Length);
        result.Sha256.ShouldBe(SHA256.HashData(ThreeSegments));
    }

    [Fact]
    public async Task A_plaintext_over_the_limit_stops_the_encryption()
    {
        await Should.ThrowAsync<ContentTooLargeException>(() =>
            ContentSegments.EncryptAsync(new MemoryStream(ThreeSegments), Stream.Null, Key, Aad, 65536, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_flipped_bit_in_any_segment_fails()
    {
        var stored = await EncryptAsync(ThreeSegments);
        foreach (var offset in new[] { 0, 3, 5, 70_000, 131_125 })
        {
            var tampered = (byte[])stored.Clone();
            tampered[offset] ^= 0x01;
            await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(tampered), $"offset {offset}");
        }
    }

    [Fact]
    public async Task Two_segments_swapped_fail()
    {
        var stored = await EncryptAsync(ThreeSegments);
        const int sealedSize = ContentSegments.SegmentSize + ContentSegments.TagSize;
        var swapped = (byte[])stored.Clone();
        stored.AsSpan(5, sealedSize).CopyTo(swapped.AsSpan(5 + sealedSize));
        stored.AsSpan(5 + sealedSize, sealedSize).CopyTo(swapped.AsSpan(5));

        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(swapped));
    }

    [Fact]
    public async Task An_object_cut_at_a_segment_boundary_or_inside_one_fails()
    {
        var stored = await EncryptAsync(ThreeSegments);
        const int sealedSize = ContentSegments.SegmentSize + ContentSegments.TagSize;

        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(stored[..(5 + 2 * sealedSize)]));
        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(stored[..(5 + sealedSize)]));
        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(stored[..1000]));
        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync(stored[..3]));
    }

    [Fact]
    public async Task An_object_with_bytes_appended_fails()
    {
        var stored = await EncryptAsync(ThreeSegments);

        await Should.ThrowAsync<CryptographicException>(() => DecryptAsync([.. stored, 0]));
    }

    [Fact]
    public async Task An_object_moved_to_another_file_or_opened_with_another_key_fails()
    {
        var stored = await EncryptAsync("Gatehouse content"u8.ToArray());

        await Should.ThrowAsync<CryptographicException>(() =>
            ContentSegments.DecryptAsync(new MemoryStream(stored), null, Key, ContentSegments.AssociatedDataFor("org_acme", "ctr_1", "file_2"), TestContext.Current.CancellationToken));
        await Should.ThrowAsync<CryptographicException>(() =>
            ContentSegments.DecryptAsync(new MemoryStream(stored), null, ContentSegments.NewContentKey(), Aad, TestContext.Current.CancellationToken));
    }

    private static async Task<byte[]> EncryptAsync(byte[] plaintext)
    {
        using var output = new MemoryStream();
        await ContentSegments.EncryptAsync(new MemoryStream(plaintext), output, Key, Aad, long.MaxValue, TestContext.Current.CancellationToken);
        return output.ToArray();
    }

    private static async Task<byte[]> DecryptAsync(byte[] stored)
    {
        using var output = new MemoryStream();
        await ContentSegments.DecryptAsync(new MemoryStream(stored), output, Key, Aad, TestContext.Current.CancellationToken);
        return output.ToArray();
    }
}
