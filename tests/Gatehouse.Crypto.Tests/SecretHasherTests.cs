namespace Gatehouse.Crypto.Tests;

/// <summary>
/// The stored hash of a secret (API keys, root keys): HMAC-SHA-256 under the pepper, over the
/// secret's UTF-8 bytes, as 64 lower-case hex characters. Keys in databases are looked up by it.
/// </summary>
/// <remarks>
/// Expected values from Python's <c>hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()</c>;
/// the first also from <c>printf 'gk_test' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07</c>.
/// </remarks>
public sealed class SecretHasherTests
{
    private static readonly byte[] Sevens = Enumerable.Repeat((byte)7, 32).ToArray();
    private static readonly byte[] Counting = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];

    [Theory]
    [InlineData("sevens", "gk_test", "ed96d8695d632e0fc243977f3d178a2e7dd9f9ae1bff014d611fb48a83803d1d")]
    [InlineData("counting", "gk_5HpHagT65TZzG1PH3CSu63k8DbpvD8s5ip4nEB3kEsreAbuatmU", "308d8cd91e3afd8d32e75615920479f7de4fbc3fd4df1ae32f8bf8177ff4541c")]
    [InlineData("counting", "clé — 🔑", "67470037a37d81b56864cc141f5b7bd9d6c5422d454dbacbc7e89e901bb30079")]
    public void Hashes_give_the_known_answers(string pepper, string secret, string expected)
    {
        var hasher = new SecretHasher(pepper == "sevens" ? Sevens : Counting);

        hasher.Hash(secret).ShouldBe(expected);
        hasher.Digest(secret).ToHex().ShouldBe(expected);
        hasher.Digest(secret).ShouldBe(SecretDigest.FromHex(expected.ToUpperInvariant()));
    }

    [Fact]
    public void A_digest_is_its_32_bytes_in_order()
    {
        var digest = new SecretHasher(Sevens).Digest("gk_test");
        var bytes = new byte[SecretDigest.Size];

        digest.CopyTo(bytes);

        bytes.ShouldBe(Convert.FromHexString("ed96d8695d632e0fc243977f3d178a2e7dd9f9ae1bff014d611fb48a83803d1d"));
        new SecretDigest(bytes).ShouldBe(digest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ed96d8695d632e0fc243977f3d178a2e7dd9f9ae1bff014d611fb48a83803d1")]
    [InlineData("ed96d8695d632e0fc243977f3d178a2e7dd9f9ae1bff014d611fb48a83803d1d00")]
    [InlineData("zz96d8695d632e0fc243977f3d178a2e7dd9f9ae1bff014d611fb48a83803d1d")]
    public void Anything_but_64_hex_characters_is_not_a_digest(string text) =>
        Should.Throw<FormatException>(() => SecretDigest.FromHex(text));

    [Fact]
    public void The_pepper_matters_and_a_short_one_is_refused()
    {
        new SecretHasher(Sevens).Hash("gk_test").ShouldNotBe(new SecretHasher(Counting).Hash("gk_test"));
        Should.Throw<ArgumentException>(() => new SecretHasher(new byte[31]));
    }

    [Fact]
    public void New_peppers_are_32_random_bytes()
    {
        var pepper = SecretHasher.NewPepper();

        pepper.Length.ShouldBe(SecretHasher.PepperSize);
        SecretHasher.NewPepper().ShouldNotBe(pepper);
        new SecretHasher(pepper).Hash("x").Length.ShouldBe(64);
    }
}
