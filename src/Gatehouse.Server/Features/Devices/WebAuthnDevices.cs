using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fido2NetLib;
using Fido2NetLib.Exceptions;
using Fido2NetLib.Objects;
using Gatehouse.Contracts.Devices;

namespace Gatehouse.Server.Features.Devices;

/// <summary>A device app's <c>webauthn</c> setting: whether the hosted page's agent makes the device key a WebAuthn credential.</summary>
public static class WebAuthnMode
{
    /// <summary>The agent keeps a WebCrypto key (the default).</summary>
    public const string Off = "off";

    /// <summary>WebAuthn where the browser reports a user-verifying platform authenticator, else WebCrypto.</summary>
    public const string Preferred = "preferred";

    /// <summary>WebAuthn only: browsers without a platform authenticator, and WebCrypto devices, are refused.</summary>
    public const string Required = "required";

    public static bool IsKnown(string? mode) => mode is Off or Preferred or Required;
}

/// <summary>The relying party of one WebAuthn ceremony: the page's origin and its host, the RP id.</summary>
internal sealed record RelyingParty(string Origin, string Id);

/// <summary>A credential the authenticator made, as a device stores it.</summary>
internal sealed record WebAuthnCredential(string CredentialId, string CosePublicKey, uint SignCount, string Aaguid, bool UserVerified, string RpId);

/// <summary>The outcome of an assertion: the new counter and user-verification flag, or why it was refused.</summary>
internal sealed record WebAuthnAssertionOutcome(uint SignCount, bool UserVerified, string? Problem)
{
    public const string SignCountRegression = "sign_count_regression";

    public bool CounterRegressed => Problem == SignCountRegression;
}

/// <summary>
/// WebAuthn as a device key (decision 0026), on Fido2: the options of a registration or an assertion
/// over a challenge of the device challenge store, and their verification. The challenge is the 32
/// random bytes whose base64url text is a <see cref="DeviceChallenge"/> nonce, so the client data of
/// an answer names its challenge and the store decides whether it is live, unused and of this request.
/// Attestation is not asked for (<c>none</c>): the AAGUID a device shows is what the authenticator
/// says of itself.
/// </summary>
internal static class WebAuthnDevices
{
    public const string KeyType = "webauthn";
    private const uint CeremonyTimeoutMs = 120_000;

    /// <summary>
    /// The page's origin, hence the relying party: Gatehouse's own origin (its <c>PublicUrl</c>, or the
    /// request's scheme and host when none is set) or one of the app's allowed origins when the page is
    /// served through the app's first-party proxy. Any other origin is null: never trusted.
    /// A request without Origin (not a browser) is taken as Gatehouse's own origin.
    /// </summary>
    public static RelyingParty? PageRelyingParty(HttpContext httpContext, DeviceApp app, DevicesOptions options)
    {
        var own = OwnOrigins(httpContext, options);
        var origin = httpContext.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            origin = own[0];
        }
        else if (!own.Contains(origin, StringComparer.OrdinalIgnoreCase) && !app.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri) ? new RelyingParty(DeviceAppOperations.NormalizeOrigin(origin), uri.IdnHost) : null;
    }

    /// <summary>The origins a session proof's page may have run on: Gatehouse's own and the app's allowed origins.</summary>
    public static IReadOnlySet<string> ProofOrigins(HttpContext httpContext, DevicesOptions options, IEnumerable<string> allowedOrigins) =>
        new HashSet<string>(OwnOrigins(httpContext, options).Concat(allowedOrigins), StringComparer.OrdinalIgnoreCase);

    private static string[] OwnOrigins(HttpContext httpContext, DevicesOptions options)
    {
        var requested = $"{httpContext.Request.Scheme}://{httpContext.Request.Host.Value}";
        return options.PublicUrl is { } publicUrl && Uri.TryCreate(publicUrl, UriKind.Absolute, out _)
            ? [DeviceAppOperations.NormalizeOrigin(publicUrl), requested]
            : [requested];
    }

    /// <summary>The user handle of a user of an app: a hash, so the authenticator never stores the user id itself.</summary>
    public static byte[] UserHandle(string appId, string userId) => SHA256.HashData(Encoding.UTF8.GetBytes("gatehouse-webauthn-user\n" + appId + "\n" + userId));

    public static string Thumbprint(byte[] credentialId) => DeviceKeys.Base64Url(SHA256.HashData(credentialId));

    private static Fido2Configuration Configuration(string rpId, IReadOnlySet<string> origins) => new()
    {
        RPID = rpId,
        RPName = "Gatehouse",
        Origins = origins,
        Timeout = CeremonyTimeoutMs,
    };

    private static CredentialCreateOptions CreationOptions(Fido2Configuration configuration, byte[] challenge, DeviceApp app, string userId) =>
        CredentialCreateOptions.Create(
            configuration,
            challenge,
            new Fido2User { Id = UserHandle(app.Id, userId), Name = userId.Length > 64 ? userId[..64] : userId, DisplayName = app.Name },
            new AuthenticatorSelection
            {
                AuthenticatorAttachment = AuthenticatorAttachment.Platform,
                ResidentKey = ResidentKeyRequirement.Discouraged,
                UserVerification = UserVerificationRequirement.Preferred,
            },
            AttestationConveyancePreference.None,
            [],
            null,
            PubKeyCredParam.Defaults);

    private static AssertionOptions AssertionOptionsFor(Fido2Configuration configuration, byte[] challenge, string credentialId) =>
        AssertionOptions.Create(configuration, challenge, [new PublicKeyCredentialDescriptor(Base64Url.DecodeFromChars(credentialId))], UserVerificationRequirement.Preferred, null);

    /// <summary>The options of <c>navigator.credentials.create</c> for <paramref name="nonce"/>, as JSON.</summary>
    public static JsonElement RegistrationOptionsJson(RelyingParty rp, string nonce, DeviceApp app, string userId)
    {
        var options = CreationOptions(Configuration(rp.Id, new HashSet<string> { rp.Origin }), Base64Url.DecodeFromChars(nonce), app, userId);
        return JsonDocument.Parse(options.ToJson()).RootElement.Clone();
    }

    /// <summary>The options of <c>navigator.credentials.get</c> for the device's credential and <paramref name="nonce"/>, as JSON.</summary>
    public static JsonElement AssertionOptionsJson(Device device, string nonce)
    {
        var options = AssertionOptionsFor(Configuration(device.RpId!, new HashSet<string>()), Base64Url.DecodeFromChars(nonce), device.CredentialId!);
        return JsonDocument.Parse(options.ToJson()).RootElement.Clone();
    }

    /// <summary>The challenge an answer's client data names (base64url, as the nonce of the challenge store), or null when it names none.</summary>
    public static string? ChallengeOf(string? clientDataJson)
    {
        if (clientDataJson is not { Length: > 0 and <= 4096 } text || !TryDecode(text, out var bytes))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("challenge", out var challenge) && challenge.ValueKind == JsonValueKind.String
                && challenge.GetString() is { Length: > 0 and <= 100 } value
                ? value
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Verifies a registration over <paramref name="nonce"/> for the page's relying party: the credential, or the reason it is refused.</summary>
    public static async Task<(WebAuthnCredential? Credential, string? Problem)> VerifyRegistrationAsync(
        RelyingParty rp, string nonce, DeviceApp app, string userId, WebAuthnAttestation attestation, CancellationToken cancellationToken)
    {
        if (ToRaw(attestation) is not { } raw)
        {
            return (null, "the attestation is not a well-formed WebAuthn credential");
        }

        var configuration = Configuration(rp.Id, new HashSet<string> { rp.Origin });
        var options = CreationOptions(configuration, Base64Url.DecodeFromChars(nonce), app, userId);
        try
        {
            var parsed = AuthenticatorAttestationResponse.Parse(raw);
            var credential = await parsed.VerifyAsync(options, configuration, (_, _) => Task.FromResult(true), null, null, cancellationToken);
            return (new WebAuthnCredential(DeviceKeys.Base64Url(credential.Id), DeviceKeys.Base64Url(credential.PublicKey), credential.SignCount,
                credential.AaGuid.ToString(), parsed.AttestationObject.AuthData.UserVerified, rp.Id), null);
        }
        catch (Exception exception) when (IsRefusal(exception))
        {
            return (null, Describe(exception));
        }
    }

    /// <summary>Verifies an assertion of <paramref name="device"/> over <paramref name="nonce"/>, made on one of <paramref name="origins"/>.</summary>
    public static async Task<WebAuthnAssertionOutcome> VerifyAssertionAsync(
        Device device, IReadOnlySet<string> origins, string nonce, WebAuthnAssertion assertion, CancellationToken cancellationToken)
    {
        if (ToRaw(assertion) is not { } raw)
        {
            return new WebAuthnAssertionOutcome(0, false, "the assertion is not a well-formed WebAuthn assertion");
        }

        var configuration = Configuration(device.RpId!, origins);
        var options = AssertionOptionsFor(configuration, Base64Url.DecodeFromChars(nonce), device.CredentialId!);
        var userHandle = UserHandle(device.AppId, device.UserId);
        try
        {
            var parsed = AuthenticatorAssertionResponse.Parse(raw);
            var result = await parsed.VerifyAsync(options, configuration, Base64Url.DecodeFromChars(device.CosePublicKey!), (uint)device.SignCount,
                (owner, _) => Task.FromResult(CryptographicOperations.FixedTimeEquals(owner.UserHandle, userHandle)), null, null, cancellationToken);
            return new WebAuthnAssertionOutcome(result.SignCount, parsed.AuthenticatorData.UserVerified, null);
        }
        catch (Fido2VerificationException exception) when (exception.Code == Fido2ErrorCode.InvalidSignCount)
        {
            return new WebAuthnAssertionOutcome(0, false, WebAuthnAssertionOutcome.SignCountRegression);
        }
        catch (Exception exception) when (IsRefusal(exception))
        {
            return new WebAuthnAssertionOutcome(0, false, Describe(exception));
        }
    }

    /// <summary>
    /// What a malformed or forged answer makes Fido2 or its CBOR and COSE readers throw: a refusal of
    /// the answer, never a server error.
    /// </summary>
    private static bool IsRefusal(Exception exception) =>
        exception is Fido2VerificationException or FormatException or ArgumentException or InvalidOperationException or CryptographicException
            or NotSupportedException or IndexOutOfRangeException or OverflowException or System.Formats.Cbor.CborContentException or JsonException;

    private static string Describe(Exception exception) =>
        exception is Fido2VerificationException ? exception.Message : "the authenticator's answer could not be read";

    private static AuthenticatorAttestationRawResponse? ToRaw(WebAuthnAttestation attestation)
    {
        if (attestation.Type != "public-key" || attestation.Id is not { Length: > 0 and <= 1400 } id || !TryDecode(attestation.RawId, out var rawId)
            || !TryDecode(attestation.Response?.AttestationObject, out var attestationObject) || !TryDecode(attestation.Response?.ClientDataJson, out var clientData))
        {
            return null;
        }

        return new AuthenticatorAttestationRawResponse
        {
            Id = id,
            RawId = rawId,
            Type = PublicKeyCredentialType.PublicKey,
            Response = new AuthenticatorAttestationRawResponse.AttestationResponse
            {
                AttestationObject = attestationObject,
                ClientDataJson = clientData,
                Transports = [],
            },
            ClientExtensionResults = new AuthenticationExtensionsClientOutputs(),
        };
    }

    private static AuthenticatorAssertionRawResponse? ToRaw(WebAuthnAssertion assertion)
    {
        if (assertion.Type != "public-key" || assertion.Id is not { Length: > 0 and <= 1400 } id || !TryDecode(assertion.RawId, out var rawId)
            || !TryDecode(assertion.Response?.AuthenticatorData, out var authenticatorData) || !TryDecode(assertion.Response?.ClientDataJson, out var clientData)
            || !TryDecode(assertion.Response?.Signature, out var signature))
        {
            return null;
        }

        byte[]? userHandle = null;
        if (assertion.Response?.UserHandle is { Length: > 0 } handle && !TryDecode(handle, out userHandle))
        {
            return null;
        }

        return new AuthenticatorAssertionRawResponse
        {
            Id = id,
            RawId = rawId,
            Type = PublicKeyCredentialType.PublicKey,
            Response = new AuthenticatorAssertionRawResponse.AssertionResponse
            {
                AuthenticatorData = authenticatorData,
                ClientDataJson = clientData,
                Signature = signature,
                UserHandle = userHandle,
            },
            ClientExtensionResults = new AuthenticationExtensionsClientOutputs(),
        };
    }

    private static bool TryDecode(string? text, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text) || text.Length > 12_000)
        {
            return false;
        }

        try
        {
            bytes = Base64Url.DecodeFromChars(text);
            return bytes.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
