namespace Gatehouse.Crypto.Tests;

public sealed class Base58Tests
{
    // Known answers of the Bitcoin alphabet (the same vectors every base58 implementation publishes).
    [Theory]
    [InlineData("", "")]
    [InlineData("61", "2g")]
    [InlineData("626262", "a3gV")]
    [InlineData("636363", "aPEr")]
    [InlineData("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2")]
    [InlineData("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L")]
    [InlineData("516b6fcd0f", "ABnLTmg")]
    [InlineData("bf4f89001e670274dd", "3SEo3LWLoPntC")]
    [InlineData("572e4794", "3EFU7m")]
    [InlineData("ecac89cad93923c02321", "EJDM8drfXA6uyA")]
    [InlineData("10c8511e", "Rt5zm")]
    [InlineData("00000000000000000000", "1111111111")]
    public void Encodes_and_decodes_the_known_answers(string hex, string encoded)
    {
        var bytes = Convert.FromHexString(hex);

        Base58.Encode(bytes).ShouldBe(encoded);
        Base58.TryDecode(encoded, out var decoded).ShouldBeTrue();
        decoded.ShouldBe(bytes);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("O")]
    [InlineData("I")]
    [InlineData("l")]
    [InlineData("abc+")]
    [InlineData("é")]
    public void Rejects_characters_outside_the_alphabet(string text)
    {
        Base58.TryDecode(text, out _).ShouldBeFalse();
        Base58.IsBase58(text).ShouldBeFalse();
    }

    [Fact]
    public void Round_trips_random_data_with_leading_zeros()
    {
        var random = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[random.Next(0, 40)];
            random.NextBytes(bytes);
            if (bytes.Length > 2 && i % 3 == 0)
            {
                bytes[0] = 0;
                bytes[1] = 0;
            }

            Base58.TryDecode(Base58.Encode(bytes), out var decoded).ShouldBeTrue();
            decoded.ShouldBe(bytes, Convert.ToHexString(bytes));
        }
    }
}

public sealed class Base58FixedWidthTests
{
    [Fact]
    public void Fixed_width_decoding_round_trips_28_byte_payloads_including_leading_zeros()
    {
        var random = new Random(11);
        for (var i = 0; i < 500; i++)
        {
            var bytes = new byte[28];
            random.NextBytes(bytes);
            if (i % 4 == 0)
            {
                bytes[0] = 0;
            }

            var decoded = new byte[28];
            Base58.TryDecodeFixed(Base58.Encode(bytes), decoded).ShouldBeTrue();
            decoded.ShouldBe(bytes);
        }
    }

    [Fact]
    public void Non_canonical_overflowing_or_foreign_text_is_refused()
    {
        var bytes = new byte[28];
        new Random(3).NextBytes(bytes);
        bytes[0] = 0xff;
        var encoded = Base58.Encode(bytes);
        var output = new byte[28];

        Base58.TryDecodeFixed("1" + encoded, output).ShouldBeFalse();
        Base58.TryDecodeFixed(encoded + "z", output).ShouldBeFalse();
        Base58.TryDecodeFixed(encoded[..^1] + "0", output).ShouldBeFalse();
        Base58.TryDecodeFixed("", output).ShouldBeFalse();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(30)]
    public void Widths_that_are_not_whole_limbs_decode_exactly_and_refuse_one_more_byte(int width)
    {
        var random = new Random(width);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[width];
            random.NextBytes(bytes);
            var decoded = new byte[width];
            Base58.TryDecodeFixed(Base58.Encode(bytes), decoded).ShouldBeTrue();
            decoded.ShouldBe(bytes);

            // The same value one byte wider cannot fit back into this width.
            var wider = new byte[width + 1];
            wider[0] = (byte)(1 + random.Next(255));
            bytes.CopyTo(wider, 1);
            Base58.TryDecodeFixed(Base58.Encode(wider), decoded).ShouldBeFalse();
        }
    }
}
