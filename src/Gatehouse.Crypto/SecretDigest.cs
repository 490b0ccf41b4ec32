using System.Buffers.Binary;

namespace Gatehouse.Crypto;

/// <summary>
/// The 32-byte HMAC of a secret as a value: the key of in-memory lookups, so a lookup needs no hex
/// string. Its hash code is the first 8 bytes — HMAC output under a secret pepper, so nobody who
/// lacks the pepper can aim collisions at one bucket. Equality is not constant-time: it compares
/// digests, never secrets, and a caller cannot choose the digest of what it presents.
/// </summary>
public readonly struct SecretDigest : IEquatable<SecretDigest>
{
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public SecretDigest(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"A digest is {Size} bytes.", nameof(bytes));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>Parses the stored form: 64 hex characters (either case).</summary>
    public static SecretDigest FromHex(string hex)
    {
        Span<byte> bytes = stackalloc byte[Size];
        if (hex.Length != Size * 2 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            throw new FormatException("A digest is 64 hex characters.");
        }

        return new SecretDigest(bytes);
    }

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    /// <summary>The stored form: 64 lower-case hex characters.</summary>
    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[Size];
        CopyTo(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    public bool Equals(SecretDigest other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is SecretDigest other && Equals(other);

    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    public override string ToString() => ToHex();

    public static bool operator ==(SecretDigest left, SecretDigest right) => left.Equals(right);

    public static bool operator !=(SecretDigest left, SecretDigest right) => !left.Equals(right);
}
