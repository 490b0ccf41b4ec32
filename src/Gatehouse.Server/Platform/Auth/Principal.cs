namespace Gatehouse.Server.Platform.Auth;

/// <summary>Which kind of actor a principal is. Each kind has its own credential and resolver.</summary>
public enum ActorKind
{
    /// <summary>The platform's root key: every permission, every organization.</summary>
    Root,

    /// <summary>An organization's API key with platform permissions.</summary>
    ApiKey,

    /// <summary>An OAuth 2.0 client, through an access token it obtained.</summary>
    OAuthClient,

    /// <summary>A person, through a session token of a login.</summary>
    UserSession,

    /// <summary>A registered device, through a device-bound session.</summary>
    Device,

    /// <summary>A network gateway, through its certificate or token.</summary>
    Gateway,
}

/// <summary>How the credential was proven, as the audit trail and the SDKs name it.</summary>
public enum AuthenticationMethod
{
    /// <summary>A shared secret compared by its keyed hash (root and API keys).</summary>
    SecretKey,

    /// <summary>A signed access token (JWT) verified against the issuer's key.</summary>
    BearerToken,

    /// <summary>An opaque session token issued at login.</summary>
    SessionToken,

    /// <summary>A client certificate presented in the TLS handshake.</summary>
    ClientCertificate,
}

/// <summary>
/// The key a credential is bound to, when it is bound (DPoP, mutual TLS, a device key): a request
/// must prove possession of it, so a stolen token alone is useless.
/// </summary>
public sealed record ProofOfPossession(string Method, string Thumbprint);

/// <summary>
/// Who is calling: the kind of actor, the credential that proved it, its organization (none for
/// root), its permission set, how it authenticated, and — when the credential carries them — the
/// restrictions it passes on (a credential it issues may not be looser) and the key it is bound to.
/// Every credential kind resolves to this one shape, so authorization, rate limits, idempotency
/// and the audit trail need not know which kind it was (docs/decisions/0008-one-identity-model.md).
/// </summary>
public sealed record Principal(ActorKind Kind, string CredentialId, string? OrgId, IReadOnlyCollection<string> Permissions, AuthenticationMethod Method)
{
    public CredentialRestrictions? Restrictions { get; init; }

    /// <summary>The key the credential is bound to; null for bearer credentials.</summary>
    public ProofOfPossession? Binding { get; init; }

    /// <summary>The actor behind the credential when it is not the credential itself (the user of a session).</summary>
    public string? SubjectId { get; init; }

    /// <summary>A platform administrator's session (a user of no organization): it acts like the root key.</summary>
    public bool ActsAsRoot { get; init; }

    public bool IsRoot => Kind == ActorKind.Root || ActsAsRoot;

    /// <summary>The owner of the credential (a user or service account), when it has one: a personal or service account key.</summary>
    public string? OwnerId { get; init; }

    /// <summary>
    /// Whom every credential this principal creates belongs to: the owner of its credential, or the
    /// user of a session. Null for unowned credentials (root, organization admin keys), which may
    /// name any owner. An owned principal may not create unowned credentials or another owner's,
    /// so disabling or deleting the owner reaches everything it issued (decision 0011).
    /// </summary>
    public string? IssuingOwner => OwnerId ?? (Kind == ActorKind.UserSession ? SubjectId : null);

    /// <summary>The stored name of the credential kind: audit actor types and idempotency scopes use it.</summary>
    public string CredentialType => Kind switch
    {
        ActorKind.Root => "root_key",
        ActorKind.ApiKey => "api_key",
        ActorKind.OAuthClient => "oauth_client",
        ActorKind.UserSession => "user",
        ActorKind.Device => "device",
        _ => "gateway",
    };

    /// <summary>Admin keys (<c>*</c> or <c>admin:*</c>) get the admin rate-limit policy.</summary>
    public bool IsAdmin => IsRoot || Permissions.Contains(Permission.All) || Permissions.Contains(Permission.AdminAll);

    public bool CanAccessOrg(string orgId) => IsRoot || string.Equals(OrgId, orgId, StringComparison.Ordinal);

    public bool Has(string permission) => IsRoot || Permission.Grants(Permissions, permission);

    /// <summary>The audit actor of this principal: the subject when there is one, else the credential.</summary>
    public (string Type, string Id) Actor => (CredentialType, SubjectId ?? CredentialId);
}

/// <summary>When a credential stops working and where it may be used from (an empty allowlist: anywhere).</summary>
public sealed record CredentialRestrictions(DateTime? ExpiresAt, IReadOnlyList<System.Net.IPNetwork> IpAllowlist);

/// <summary>What came of the credential on a request.</summary>
public sealed record CredentialOutcome(Principal? Principal, string? FailureCode, string? FailureMessage, bool Presented)
{
    public static readonly CredentialOutcome None = new(null, null, null, false);

    public static CredentialOutcome Success(Principal principal) => new(principal, null, null, true);

    public static CredentialOutcome Failure(string code, string message) => new(null, code, message, true);
}

/// <summary>The shape of a presented credential, which decides the resolvers that look at it.</summary>
public enum CredentialShape
{
    /// <summary>An opaque secret (root key, API key, session token): looked up by its keyed hash.</summary>
    OpaqueSecret,

    /// <summary>Three base64url segments joined by dots: a signed token, verified by signature, never hashed.</summary>
    Jwt,
}

/// <summary>
/// Turns a presented credential into a principal. One implementation per credential kind. The
/// dispatch is explicit: the credential's <see cref="CredentialShape"/> picks the resolvers that
/// may look at it, and among them the registration order decides (the root key first, in
/// constant time; then the features' resolvers in the order Program lists the features). The
/// first that recognises the credential decides.
/// </summary>
public interface ICredentialResolver
{
    /// <summary>The shape of credential this resolver understands.</summary>
    CredentialShape Shape { get; }

    /// <summary>Null when this resolver does not recognise the credential; otherwise its verdict.</summary>
    ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken);
}

/// <summary>
/// A credential as presented. An opaque secret carries its keyed hash, computed once for every
/// resolver of that shape; a signed token carries none (<see cref="Digest"/> is default).
/// </summary>
public readonly record struct PresentedCredential(string Text, CredentialShape Shape, Gatehouse.Crypto.SecretDigest Digest)
{
    /// <summary>A JWT: exactly two dots, three non-empty base64url segments, the header starting <c>eyJ</c> (<c>{"</c>).</summary>
    public static CredentialShape ShapeOf(string text)
    {
        if (!text.StartsWith("eyJ", StringComparison.Ordinal))
        {
            return CredentialShape.OpaqueSecret;
        }

        var first = text.IndexOf('.', StringComparison.Ordinal);
        var last = text.LastIndexOf('.');
        if (first <= 0 || last == first || last == text.Length - 1 || text.AsSpan(first + 1, last - first - 1).Contains('.') || last - first == 1)
        {
            return CredentialShape.OpaqueSecret;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return CredentialShape.OpaqueSecret;
            }
        }

        return CredentialShape.Jwt;
    }
}
