namespace Gatehouse.Crypto.Tests;

public sealed class ApiKeyFormatTests
{
    private static readonly byte[] Zeros = new byte[24];
    private static readonly byte[] Counting = [.. Enumerable.Range(0, 24).Select(i => (byte)i)];

    // Known answers (cross-checked with an independent Python implementation of SHA-256 + base58):
    // the format must never change, or keys in customers' systems stop working.
    [Theory]
    [InlineData("gk", "zeros")]
    [InlineData("gk", "counting")]
    [InlineData("acme", "counting")]
    public void Compose_gives_the_known_answer(string prefix, string bytes)
    {
        var random = bytes == "zeros" ? Zeros : Counting;

        var key = ApiKeyFormat.Compose(prefix, random);

        key.ShouldBe(Expected(prefix, random));
        ApiKeyFormat.IsWellFormed(key).ShouldBeTrue();
    }

    [Fact]
    public void The_known_vectors_are_fixed_strings()
    {
        ApiKeyFormat.Compose("gk", Zeros).ShouldBe(KnownZeros);
        ApiKeyFormat.Compose("gk", Counting).ShouldBe(KnownCounting);
        ApiKeyFormat.Compose("acme", Counting).ShouldBe(KnownAcmeCounting);
    }

    [Fact]
    public void The_checksum_is_the_first_four_bytes_of_SHA256_over_prefix_underscore_and_random()
    {
        var key = ApiKeyFormat.Compose("gk", Counting);
        Base58.TryDecode(key.AsSpan(3), out var payload).ShouldBeTrue();

        payload.Length.ShouldBe(28);
        payload[..24].ShouldBe(Counting);
        var digest = System.Security.Cryptography.SHA256.HashData([.. "gk_"u8, .. Counting]);
        payload[24..].ShouldBe(digest[..4]);
    }

    [Fact]
    public void Generated_keys_are_well_formed_distinct_and_carry_at_least_128_random_bits()
    {
        var keys = Enumerable.Range(0, 200).Select(_ => ApiKeyFormat.Generate("gk")).ToList();

        keys.Distinct().Count().ShouldBe(200);
        keys.ShouldAllBe(k => ApiKeyFormat.IsWellFormed(k) && k.StartsWith("gk_"));
        (ApiKeyFormat.RandomBytes * 8).ShouldBeGreaterThanOrEqualTo(128);
    }

    [Fact]
    public void A_single_mistyped_character_is_rejected()
    {
        var key = ApiKeyFormat.Compose("gk", Counting);
        for (var i = 3; i < key.Length; i++)
        {
            var replacement = key[i] == 'a' ? 'b' : 'a';
            var typo = key[..i] + replacement + key[(i + 1)..];
            ApiKeyFormat.IsWellFormed(typo).ShouldBeFalse($"typo at {i}: {typo}");
        }
    }

    [Fact]
    public void Swapped_adjacent_characters_are_rejected()
    {
        var key = ApiKeyFormat.Compose("gk", Counting);
        for (var i = 3; i < key.Length - 1; i++)
        {
            if (key[i] == key[i + 1])
            {
                continue;
            }

            var swapped = key[..i] + key[i + 1] + key[i] + key[(i + 2)..];
            ApiKeyFormat.IsWellFormed(swapped).ShouldBeFalse();
        }
    }

    [Fact]
    public void Truncated_and_extended_keys_are_rejected()
    {
        var key = ApiKeyFormat.Compose("gk", Counting);

        for (var length = 0; length < key.Length; length++)
        {
            ApiKeyFormat.IsWellFormed(key.AsSpan(0, length)).ShouldBeFalse();
        }

        ApiKeyFormat.IsWellFormed(key + "1").ShouldBeFalse();
    }

    [Fact]
    public void The_prefix_is_covered_by_the_checksum()
    {
        var key = ApiKeyFormat.Compose("gk", Counting);

        ApiKeyFormat.IsWellFormed("gx" + key[2..]).ShouldBeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("gk_")]
    [InlineData("_abc")]
    [InlineData("GK_5HpHagT65TZzG1PH3CSu63k8DbpvD8s5ip4nEB3kEsreAbuatmU")]
    [InlineData("gk_0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl")]
    [InlineData("not a key at all")]
    [InlineData("abcdefghijklmnopq_5HpHagT65TZzG1PH3CSu63k8DbpvD8s5ip4nEB3k")]
    public void Garbage_is_not_well_formed(string text) => ApiKeyFormat.IsWellFormed(text).ShouldBeFalse();

    [Theory]
    [InlineData("gk", true)]
    [InlineData("a", true)]
    [InlineData("abcdefghij012345", true)]
    [InlineData("abcdefghij0123456", false)]
    [InlineData("Gk", false)]
    [InlineData("g-k", false)]
    [InlineData("", false)]
    public void Prefix_rules(string prefix, bool valid) => ApiKeyFormat.IsValidPrefix(prefix).ShouldBe(valid);

    [Fact]
    public void Start_is_the_prefix_and_four_secret_characters()
    {
        var key = ApiKeyFormat.Compose("acme", Counting);

        ApiKeyFormat.Start(key).ShouldBe(key[..9]);
        ApiKeyFormat.Start(key).Length.ShouldBe("acme_".Length + 4);
    }

    [Fact]
    public void The_hasher_is_HMAC_SHA256_with_the_pepper()
    {
        var pepper = Enumerable.Repeat((byte)7, 32).ToArray();
        var hasher = new SecretHasher(pepper);

        var hash = hasher.Hash("gk_test");

        hash.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(pepper, "gk_test"u8)));
        hash.Length.ShouldBe(64);
    }

    private static string Expected(string prefix, byte[] random)
    {
        var digest = System.Security.Cryptography.SHA256.HashData([.. System.Text.Encoding.ASCII.GetBytes(prefix + "_"), .. random]);
        return prefix + "_" + Base58.Encode([.. random, .. digest[..4]]);
    }

    private const string KnownZeros = "gk_1111111111111111111111115JWJNL";
    private const string KnownCounting = "gk_18uEYg7a7p8DdMuZugMSsYkUUiRiLz2GBu8Xa";
    private const string KnownAcmeCounting = "acme_18uEYg7a7p8DdMuZugMSsYkUUiRiLz2LCVqnw";
}
