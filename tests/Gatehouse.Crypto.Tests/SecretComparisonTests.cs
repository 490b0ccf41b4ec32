namespace Gatehouse.Crypto.Tests;

public sealed class SecretComparisonTests
{
    [Fact]
    public void Bytes_are_equal_only_when_every_byte_and_the_length_match()
    {
        SecretComparison.AreEqual([1, 2, 3], [1, 2, 3]).ShouldBeTrue();
        SecretComparison.AreEqual([1, 2, 3], [1, 2, 4]).ShouldBeFalse();
        SecretComparison.AreEqual([1, 2, 3], [1, 2]).ShouldBeFalse();
        SecretComparison.AreEqual(ReadOnlySpan<byte>.Empty, ReadOnlySpan<byte>.Empty).ShouldBeTrue();
    }

    [Fact]
    public void Text_is_compared_ordinally_and_a_missing_value_never_matches()
    {
        SecretComparison.AreEqual("ab12", "ab12").ShouldBeTrue();
        SecretComparison.AreEqual("ab12", "AB12").ShouldBeFalse();
        SecretComparison.AreEqual("ab12", "ab1").ShouldBeFalse();
        SecretComparison.AreEqual("é", "e\u0301").ShouldBeFalse();
        SecretComparison.AreEqual("ab12".AsSpan(), "xab12".AsSpan(1)).ShouldBeTrue();
        SecretComparison.AreEqual(null, "ab12").ShouldBeFalse();
        SecretComparison.AreEqual("ab12", null).ShouldBeFalse();
        SecretComparison.AreEqual((string?)null, null).ShouldBeFalse();
    }
}
