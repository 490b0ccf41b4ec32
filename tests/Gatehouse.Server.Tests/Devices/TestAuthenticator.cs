using System.Buffers.Binary;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>
/// A WebAuthn platform authenticator in software, for the HTTP tests: it answers the server's options
/// as a browser and its authenticator would (a P-256 credential, "none" attestation, a signature
/// counter), on an origin the test names. The browser tests use Chromium's virtual authenticator instead.
/// </summary>
public sealed class TestAuthenticator : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(32);

    public Guid Aaguid { get; } = Guid.NewGuid();

    /// <summary>The counter of the next answer minus one; a test sets it back to play a clone.</summary>
    public uint SignCount { get; set; }

    public string? DeviceId { get; set; }

    public string Id => TestDevice.B64(CredentialId);

    /// <summary>The answer of <c>navigator.credentials.create</c> to the options of <c>/device/webauthn/register-options</c>.</summary>
    public object Attest(JsonElement options, string origin, string? challenge = null)
    {
        var rpId = options.GetProperty("rp").GetProperty("id").GetString()!;
        var clientData = ClientData("webauthn.create", challenge ?? options.GetProperty("challenge").GetString()!, origin);
        var authData = new List<byte>(AuthData(rpId, attested: true));
        var aaguid = Aaguid.ToByteArray(bigEndian: true);
        authData.AddRange(aaguid);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)CredentialId.Length);
        authData.AddRange(length);
        authData.AddRange(CredentialId);
        authData.AddRange(CoseKey());

        var attestation = new CborWriter(CborConformanceMode.Ctap2Canonical);
        attestation.WriteStartMap(3);
        attestation.WriteTextString("fmt");
        attestation.WriteTextString("none");
        attestation.WriteTextString("attStmt");
        attestation.WriteStartMap(0);
        attestation.WriteEndMap();
        attestation.WriteTextString("authData");
        attestation.WriteByteString([.. authData]);
        attestation.WriteEndMap();
        return new
        {
            id = Id,
            rawId = Id,
            type = "public-key",
            response = new { attestationObject = TestDevice.B64(attestation.Encode()), clientDataJSON = TestDevice.B64(clientData), transports = new[] { "internal" } },
            clientExtensionResults = new { },
        };
    }

    /// <summary>The answer of <c>navigator.credentials.get</c> to the options of <c>/device/webauthn/assert-options</c>; the counter goes up by one.</summary>
    public object Assert(JsonElement options, string origin, string? challenge = null)
    {
        SignCount++;
        var rpId = options.GetProperty("rpId").GetString()!;
        var clientData = ClientData("webauthn.get", challenge ?? options.GetProperty("challenge").GetString()!, origin);
        var authData = AuthData(rpId, attested: false);
        var signature = _key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new
        {
            id = Id,
            rawId = Id,
            type = "public-key",
            response = new { authenticatorData = TestDevice.B64(authData), clientDataJSON = TestDevice.B64(clientData), signature = TestDevice.B64(signature), userHandle = (string?)null },
            clientExtensionResults = new { },
        };
    }

    private static byte[] ClientData(string type, string challenge, string origin) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type, challenge, origin, crossOrigin = false }));

    /// <summary>rpIdHash, flags (user present and verified; attested credential data on registration), counter.</summary>
    private byte[] AuthData(string rpId, bool attested)
    {
        var data = new byte[37];
        SHA256.HashData(Encoding.UTF8.GetBytes(rpId)).CopyTo(data, 0);
        data[32] = (byte)(0x01 | 0x04 | (attested ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(33), attested ? 0 : SignCount);
        return data;
    }

    /// <summary>The public key as COSE: EC2, ES256, P-256.</summary>
    private byte[] CoseKey()
    {
        var point = _key.ExportParameters(false).Q;
        var cose = new CborWriter(CborConformanceMode.Ctap2Canonical);
        cose.WriteStartMap(5);
        cose.WriteInt32(1);
        cose.WriteInt32(2);
        cose.WriteInt32(3);
        cose.WriteInt32(-7);
        cose.WriteInt32(-1);
        cose.WriteInt32(1);
        cose.WriteInt32(-2);
        cose.WriteByteString(point.X!);
        cose.WriteInt32(-3);
        cose.WriteByteString(point.Y!);
        cose.WriteEndMap();
        return cose.Encode();
    }

    public void Dispose() => _key.Dispose();
}
