using System.Buffers.Binary;
using System.Text;

namespace Gatehouse.Crypto;

/// <summary>
/// Associated data built from several fields, each prefixed with its 4-byte big-endian length, so
/// fields can never shift into one another ("ab","c" ≠ "a","bc").
/// </summary>
public static class AssociatedData
{
    public static byte[] Of(params string[] fields)
    {
        var parts = fields.Select(Encoding.UTF8.GetBytes).ToArray();
        var output = new byte[parts.Sum(p => 4 + p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            BinaryPrimitives.WriteInt32BigEndian(output.AsSpan(offset, 4), part.Length);
            part.CopyTo(output, offset + 4);
            offset += 4 + part.Length;
        }

        return output;
    }

    /// <summary>What a wrapped data key is bound to: its organization and version.</summary>
    public static byte[] ForDataKey(string orgId, uint version) => Of("gatehouse/dek", orgId, version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>What a credential's ciphertext is bound to: organization, credential and credential version.</summary>
    public static byte[] ForCredential(string orgId, string credentialId, int version) =>
        Of("gatehouse/credential", orgId, credentialId, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>
/// One organization's data keys (DEKs), unwrapped, by version. New data is sealed under the
/// current version; data under any version still held can be opened. The key version travels in
/// the ciphertext header (<see cref="SealedBox"/>), so records name the key they need.
/// </summary>
public sealed class OrgKeyring
{
    private readonly IReadOnlyDictionary<uint, byte[]> _keys;

    public OrgKeyring(string orgId, IReadOnlyDictionary<uint, byte[]> keys, uint currentVersion)
    {
        if (!keys.ContainsKey(currentVersion))
        {
            throw new ArgumentException("The current version must be among the keys.", nameof(currentVersion));
        }

        OrgId = orgId;
        _keys = keys;
        CurrentVersion = currentVersion;
    }

    public string OrgId { get; }
    public uint CurrentVersion { get; }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData) =>
        SealedBox.Seal(_keys[CurrentVersion], CurrentVersion, plaintext, associatedData);

    /// <summary>Opens data sealed under any held version; throws <see cref="System.Security.Cryptography.CryptographicException"/> otherwise.</summary>
    public byte[] Open(ReadOnlySpan<byte> sealedBox, ReadOnlySpan<byte> associatedData)
    {
        if (!SealedBox.TryReadKeyVersion(sealedBox, out var version) || !_keys.TryGetValue(version, out var key))
        {
            throw new System.Security.Cryptography.CryptographicException("No data key of this organization can open the record.");
        }

        return SealedBox.Open(key, sealedBox, associatedData);
    }
}
