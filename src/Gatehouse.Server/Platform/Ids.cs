namespace Gatehouse.Server.Platform;

/// <summary>
/// Opaque, prefixed, time-sortable ids: <c>{prefix}_{26 chars}</c>, the 26 chars being a
/// UUIDv7 in Crockford base32, so ids sort by creation time as strings in every database.
/// </summary>
public static class Ids
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(string prefix) => New(prefix, Guid.CreateVersion7());

    /// <summary>
    /// A time-ordered id whose random part comes from a fast generator rather than the operating
    /// system's: for request ids, made on every request, which must be unique but need not be unguessable.
    /// </summary>
    public static string NewUnguarded(string prefix, DateTimeOffset at)
    {
        Span<byte> bytes = stackalloc byte[16];
#pragma warning disable RS0030, CA5394 // Request ids must be unique, not unguessable: the OS generator would cost on every request.
        Random.Shared.NextBytes(bytes);
#pragma warning restore RS0030, CA5394
        var millis = (ulong)at.ToUnixTimeMilliseconds();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, (millis << 16) | (bytes[6] & 0x0Fu) << 8 | 0x7000u | bytes[7]);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return New(prefix, new Guid(bytes, bigEndian: true));
    }

    public static string New(string prefix, DateTimeOffset at) => New(prefix, Guid.CreateVersion7(at));

    private static string New(string prefix, Guid guid)
    {
        Span<byte> bytes = stackalloc byte[16];
        guid.TryWriteBytes(bytes, bigEndian: true, out _);
        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        Span<char> chars = stackalloc char[prefix.Length + 1 + 26];
        prefix.CopyTo(chars);
        chars[prefix.Length] = '_';
        for (var i = 25; i >= 0; i--)
        {
            chars[prefix.Length + 1 + i] = Crockford[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    /// <summary>Cheap shape check so path ids like <c>../../etc</c> never reach a query.</summary>
    public static bool LooksLike(string? id, string prefix)
    {
        if (id is null || id.Length != prefix.Length + 27 || !id.StartsWith(prefix, StringComparison.Ordinal) || id[prefix.Length] != '_')
        {
            return false;
        }

        foreach (var c in id.AsSpan(prefix.Length + 1))
        {
            if (!Crockford.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
