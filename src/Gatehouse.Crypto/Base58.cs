using System.Numerics;

namespace Gatehouse.Crypto;

/// <summary>Bitcoin-alphabet base58: no 0, O, I or l, so keys survive being read aloud or retyped.</summary>
public static class Base58
{
    public const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    private static readonly sbyte[] DecodeMap = BuildDecodeMap();

    public static string Encode(ReadOnlySpan<byte> data)
    {
        var leadingZeros = 0;
        while (leadingZeros < data.Length && data[leadingZeros] == 0)
        {
            leadingZeros++;
        }

        var value = new BigInteger(data, isUnsigned: true, isBigEndian: true);
        var chars = new List<char>(data.Length * 138 / 100 + 1);
        while (value > 0)
        {
            value = BigInteger.DivRem(value, 58, out var remainder);
            chars.Add(Alphabet[(int)remainder]);
        }

        for (var i = 0; i < leadingZeros; i++)
        {
            chars.Add(Alphabet[0]);
        }

        chars.Reverse();
        return new string([.. chars]);
    }

    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        BigInteger value = 0;
        var leadingOnes = 0;
        var counting = true;
        foreach (var c in text)
        {
            var digit = c < 128 ? DecodeMap[c] : (sbyte)-1;
            if (digit < 0)
            {
                return false;
            }

            if (counting && digit == 0)
            {
                leadingOnes++;
            }
            else
            {
                counting = false;
            }

            value = value * 58 + digit;
        }

        var body = value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true);
        bytes = new byte[leadingOnes + body.Length];
        body.CopyTo(bytes, leadingOnes);
        return true;
    }

    /// <summary>
    /// Decodes into exactly <paramref name="output"/>.Length bytes without allocating (the key
    /// check runs on every request). False when a character is outside the alphabet, the value
    /// does not fit, or the text is not the canonical encoding of those bytes (leading '1's must
    /// match leading zero bytes one for one).
    /// </summary>
    public static bool TryDecodeFixed(ReadOnlySpan<char> text, Span<byte> output)
    {
        // Big-endian 32-bit limbs, fed five digits at a time (58^5 < 2^32): a tenth of the
        // multiply-adds of a byte-at-a-time decode. This runs on every verify, twice.
        var limbCount = (output.Length + 3) / 4;
        Span<uint> limbs = limbCount <= 16 ? stackalloc uint[16] : new uint[limbCount];
        limbs = limbs[..limbCount];
        limbs.Clear();
        for (var i = 0; i < text.Length;)
        {
            ulong multiplier = 1;
            ulong carry = 0;
            for (var taken = 0; taken < 5 && i < text.Length; taken++, i++)
            {
                var c = text[i];
                var digit = c < 128 ? DecodeMap[c] : -1;
                if (digit < 0)
                {
                    return false;
                }

                carry = carry * 58 + (uint)digit;
                multiplier *= 58;
            }

            for (var j = limbCount - 1; j >= 0; j--)
            {
                carry += limbs[j] * multiplier;
                limbs[j] = (uint)carry;
                carry >>= 32;
            }

            if (carry != 0)
            {
                return false;
            }
        }

        // The limbs hold up to three bytes more than the output: those must be zero.
        var excess = limbCount * 4 - output.Length;
        if (excess > 0 && limbs[0] >> (8 * (4 - excess)) != 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[limbCount * 4];
        for (var j = 0; j < limbCount; j++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes[(j * 4)..], limbs[j]);
        }

        bytes[excess..].CopyTo(output);

        var leadingOnes = 0;
        while (leadingOnes < text.Length && text[leadingOnes] == Alphabet[0])
        {
            leadingOnes++;
        }

        var leadingZeros = 0;
        while (leadingZeros < output.Length && output[leadingZeros] == 0)
        {
            leadingZeros++;
        }

        // The canonical text of these bytes has one '1' per leading zero byte, then the digits of
        // the rest; a value needing fewer bytes than the output is padded with zero bytes, which
        // the canonical text would show as '1's.
        return leadingOnes == leadingZeros && text.Length > 0;
    }

    public static bool IsBase58(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c >= 128 || DecodeMap[c] < 0)
            {
                return false;
            }
        }

        return true;
    }

    private static sbyte[] BuildDecodeMap()
    {
        var map = new sbyte[128];
        Array.Fill(map, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++)
        {
            map[Alphabet[i]] = (sbyte)i;
        }

        return map;
    }
}
