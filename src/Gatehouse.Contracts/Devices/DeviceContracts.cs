using System.ComponentModel.DataAnnotations;

namespace Gatehouse.Contracts.Devices;

/// <summary>Register a device app: a site that sends its users through device verification.</summary>
public sealed record CreateDeviceAppRequest
{
    /// <summary>Unique in the organization.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>Absolute http(s) URLs; a flow may only return to one of these, compared exactly.</summary>
    [Required]
    public List<string>? RedirectUrls { get; init; }

    /// <summary>Origins (<c>scheme://host[:port]</c>) whose pages may call the browser endpoints.</summary>
    public List<string>? AllowedOrigins { get; init; }

    /// <summary>How long a device-bound session lives (default 86 400).</summary>
    [Range(60, 2_592_000)]
    public int? SessionTtlSeconds { get; init; }

    /// <summary>How old a session proof's challenge may be (default 60).</summary>
    [Range(5, 3600)]
    public int? ProofMaxAgeSeconds { get; init; }

    /// <summary>
    /// Whether the hosted page's agent makes the device key a WebAuthn credential of a platform
    /// authenticator: <c>off</c> (default: a WebCrypto key), <c>preferred</c> (WebAuthn where the browser
    /// has a user-verifying platform authenticator, else WebCrypto) or <c>required</c> (browsers without one are refused).
    /// </summary>
    public string? Webauthn { get; init; }
}

/// <summary>Fields to change; absent fields stay. Lists replace the stored list.</summary>
public sealed record UpdateDeviceAppRequest
{
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    public List<string>? RedirectUrls { get; init; }

    public List<string>? AllowedOrigins { get; init; }

    [Range(60, 2_592_000)]
    public int? SessionTtlSeconds { get; init; }

    [Range(5, 3600)]
    public int? ProofMaxAgeSeconds { get; init; }

    /// <summary><c>off</c>, <c>preferred</c> or <c>required</c> (see the create request).</summary>
    public string? Webauthn { get; init; }
}

/// <summary>A device app as the API shows it; <c>gatewayUuid</c> is the same value as <c>id</c>.</summary>
public sealed record DeviceAppView(
    string Id, string GatewayUuid, string OrgId, string Name, IReadOnlyList<string> RedirectUrls, IReadOnlyList<string> AllowedOrigins,
    int SessionTtlSeconds, int ProofMaxAgeSeconds, DateTime CreatedAt, DateTime UpdatedAt, string Webauthn = "off");

/// <summary>A public ECDSA P-256 key as WebCrypto exports it (<c>ext</c> and <c>key_ops</c> included). A private part (<c>d</c>) is refused.</summary>
public sealed record DevicePublicKeyJwk
{
    public string? Kty { get; init; }
    public string? Crv { get; init; }
    public string? X { get; init; }
    public string? Y { get; init; }
    public string? D { get; init; }
    public string? Alg { get; init; }
    public string? Kid { get; init; }
    public string? Use { get; init; }
    public bool? Ext { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("key_ops")]
    public List<string>? KeyOps { get; init; }
}

/// <summary>Register a device server to server: its user, its app and its public key.</summary>
public sealed record RegisterDeviceRequest
{
    /// <summary>A user of the organization (<c>usr_…</c>) or the app's own user id.</summary>
    [Required, StringLength(256, MinimumLength = 1)]
    public string? UserId { get; init; }

    /// <summary>The device app (<c>gatewayUuid</c> is accepted too).</summary>
    public string? AppId { get; init; }

    public string? GatewayUuid { get; init; }

    [Required]
    public DevicePublicKeyJwk? PublicKeyJwk { get; init; }

    [StringLength(100)]
    public string? Name { get; init; }
}

/// <summary>
/// A device as the API shows it: never its key. <c>keyType</c> is <c>webcrypto-p256</c> (a browser
/// profile's non-extractable key; <c>keyThumbprint</c> is its RFC 7638 thumbprint) or <c>webauthn</c> (a
/// credential of an authenticator; <c>keyThumbprint</c> is the SHA-256 of its credential id, <c>aaguid</c>
/// the authenticator model it reported, <c>userVerified</c> whether its last ceremony verified the user).
/// </summary>
public sealed record DeviceView(
    string Id, string OrgId, string AppId, string UserId, string? Name, string Status, string KeyType, string KeyThumbprint,
    DateTime CreatedAt, DateTime? LastSeenAt, DateTime? RevokedAt, string? Aaguid = null, bool? UserVerified = null);

/// <summary>Start a device-bound session for a user on one of their devices.</summary>
public sealed record CreateDeviceSessionRequest
{
    [Required, StringLength(256, MinimumLength = 1)]
    public string? UserId { get; init; }

    [Required, StringLength(64, MinimumLength = 1)]
    public string? DeviceId { get; init; }

    /// <summary>The app's own session id, echoed back.</summary>
    [StringLength(256)]
    public string? ExternalSessionId { get; init; }
}

/// <summary>A device-bound session; <c>status</c> is <c>active</c>, <c>ended</c> or <c>expired</c>.</summary>
public sealed record DeviceSessionView(
    string Id, string OrgId, string AppId, string UserId, string DeviceId, string? ExternalSessionId, string Status,
    DateTime CreatedAt, DateTime ExpiresAt, DateTime? EndedAt, string? EndReason);

/// <summary>
/// The device's proof over a fresh challenge: for a WebCrypto device <c>nonce</c> (from <c>POST /device/challenge</c>
/// with the session id) and <c>signature</c>; for a WebAuthn device <c>webauthn</c>, an assertion over the
/// challenge of <c>POST /device/webauthn/assert-options</c> with the session id. <c>GatehouseAgent.prove</c> makes either.
/// </summary>
public sealed record SessionProof
{
    public string? Nonce { get; init; }

    /// <summary>Base64url ECDSA P-256 SHA-256 signature (IEEE P1363, as WebCrypto makes it) of <c>gatehouse-session:{sessionId}:{nonce}</c>.</summary>
    public string? Signature { get; init; }

    /// <summary>A WebAuthn device's assertion (as the agent sends it).</summary>
    public WebAuthnAssertion? Webauthn { get; init; }
}

/// <summary>A WebAuthn assertion (<c>navigator.credentials.get</c>), binary members in base64url.</summary>
public sealed record WebAuthnAssertion
{
    public string? Id { get; init; }
    public string? RawId { get; init; }

    /// <summary>Always <c>public-key</c>.</summary>
    public string? Type { get; init; }
    public WebAuthnAssertionResponse? Response { get; init; }
    public Dictionary<string, System.Text.Json.JsonElement>? ClientExtensionResults { get; init; }
}

/// <summary>The authenticator's answer to an assertion, in base64url.</summary>
public sealed record WebAuthnAssertionResponse
{
    public string? AuthenticatorData { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("clientDataJSON")]
    public string? ClientDataJson { get; init; }
    public string? Signature { get; init; }
    public string? UserHandle { get; init; }
}

/// <summary>A new WebAuthn credential (<c>navigator.credentials.create</c>), binary members in base64url.</summary>
public sealed record WebAuthnAttestation
{
    public string? Id { get; init; }
    public string? RawId { get; init; }

    /// <summary>Always <c>public-key</c>.</summary>
    public string? Type { get; init; }
    public WebAuthnAttestationResponse? Response { get; init; }
    public Dictionary<string, System.Text.Json.JsonElement>? ClientExtensionResults { get; init; }
}

/// <summary>The authenticator's answer to a registration, in base64url.</summary>
public sealed record WebAuthnAttestationResponse
{
    public string? AttestationObject { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("clientDataJSON")]
    public string? ClientDataJson { get; init; }
    public List<string>? Transports { get; init; }
}

public sealed record ValidateDeviceSessionRequest
{
    public SessionProof? Proof { get; init; }
}

/// <summary><c>reason</c> when not valid: <c>ended</c>, <c>expired</c>, <c>device_revoked</c>, <c>proof_required</c>, <c>invalid_proof</c>.</summary>
public sealed record ValidateDeviceSessionResponse(bool Valid, string? Reason, DeviceSessionView Session);

/// <summary>Ask for the URL that sends a user through device verification.</summary>
public sealed record DeviceAuthUrlRequest
{
    public string? AppId { get; init; }

    /// <summary>The same as <c>appId</c> (the name Relock integrations use).</summary>
    public string? GatewayUuid { get; init; }

    [Required, StringLength(256, MinimumLength = 1)]
    public string? UserId { get; init; }

    /// <summary>The app's own session id: echoed by verify, so the app can tie the answer to its session.</summary>
    [StringLength(256)]
    public string? SessionId { get; init; }

    /// <summary>Exactly one of the app's registered redirect URLs.</summary>
    [Required, StringLength(2048, MinimumLength = 1)]
    public string? RedirectUrl { get; init; }
}

public sealed record DeviceAuthUrlResponse(string Url, string RequestId, DateTime ExpiresAt);

/// <summary>Exchange the one-time token the hosted page put on the redirect for a device-bound session.</summary>
public sealed record DeviceAuthVerifyRequest
{
    [Required]
    public string? Token { get; init; }

    [Required, StringLength(256, MinimumLength = 1)]
    public string? UserId { get; init; }

    /// <summary>Optional: the app the token must be for.</summary>
    public string? AppId { get; init; }

    public string? GatewayUuid { get; init; }
}

public sealed record DeviceSessionSummary(string Id, DateTime ExpiresAt);

public sealed record DeviceAuthVerifyResponse(
    bool Verified, string DeviceId, string UserId, string? SessionId, bool NewDevice, DeviceSessionSummary Session, string RefreshToken);

public sealed record DeviceAuthRefreshRequest
{
    [Required]
    public string? RefreshToken { get; init; }
}

public sealed record DeviceAuthRefreshResponse(DeviceSessionSummary Session, string RefreshToken);

/// <summary>
/// A body of the browser endpoints (<c>/device/challenge</c>, <c>/device/register</c>, <c>/device/prove</c>);
/// which fields count depends on the endpoint. The agent sends them; apps do not need to.
/// </summary>
public sealed record DeviceBrowserRequest
{
    /// <summary>The auth request id (the <c>request</c> of the hosted-page URL).</summary>
    public string? Request { get; init; }

    /// <summary>For a session proof's challenge.</summary>
    public string? SessionId { get; init; }
    public string? Nonce { get; init; }
    public string? DeviceId { get; init; }

    /// <summary>Base64url ECDSA P-256 SHA-256 signature (r‖s) of <c>gatehouse-device-auth:{request}:{nonce}</c>.</summary>
    public string? Signature { get; init; }
    public DevicePublicKeyJwk? PublicKeyJwk { get; init; }

    /// <summary>For <c>/device/webauthn/register</c>: the new credential.</summary>
    public WebAuthnAttestation? Attestation { get; init; }

    /// <summary>For <c>/device/webauthn/assert</c>: the assertion over the challenge of the options.</summary>
    public WebAuthnAssertion? Assertion { get; init; }
}

/// <summary>
/// A challenge: sign it within <c>expiresAt</c>. <c>keySlot</c> names where the agent keeps the key of this
/// app and user; <c>webauthn</c> is the app's setting (<c>off</c>, <c>preferred</c>, <c>required</c>).
/// </summary>
public sealed record DeviceChallengeResponse(string Nonce, string AppId, string KeySlot, DateTime ExpiresAt, string Webauthn = "off");

/// <summary>
/// Options for <c>navigator.credentials.create</c> or <c>.get</c> (binary members in base64url), with a
/// single-use challenge valid until <c>expiresAt</c>; <c>keySlot</c> as in <see cref="DeviceChallengeResponse"/>.
/// </summary>
public sealed record WebAuthnOptionsResponse(System.Text.Json.JsonElement Options, string KeySlot, DateTime ExpiresAt);

/// <summary>A proven device: the page goes to <c>redirectUrl</c>, which carries the one-time token.</summary>
public sealed record DeviceBrowserResult(string DeviceId, bool NewDevice, string RedirectUrl);

/// <summary>A refusal of a browser endpoint; <c>redirectUrl</c> (without a token) when the app should hear of it.</summary>
public sealed record DeviceBrowserError(string Error, string Message, string? RedirectUrl = null);
