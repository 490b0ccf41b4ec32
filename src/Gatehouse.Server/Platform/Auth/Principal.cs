namespace Gatehouse.Server.Platform.Auth;

/// <summary>
/// Who is calling: the credential, its organization (none for root), its permissions and, for a
/// restricted key, the restrictions it carries (a credential it issues may not be looser).
/// </summary>
public sealed record Principal(string CredentialType, string CredentialId, string? OrgId, IReadOnlyCollection<string> Permissions, CredentialRestrictions? Restrictions = null)
{
    public const string RootType = "root_key";
    public const string ApiKeyType = "api_key";

    public bool IsRoot => CredentialType == RootType;

    /// <summary>Admin keys (<c>*</c> or <c>admin:*</c>) get the admin rate-limit policy.</summary>
    public bool IsAdmin => IsRoot || Permissions.Contains(Permission.All) || Permissions.Contains(Permission.AdminAll);

    public bool CanAccessOrg(string orgId) => IsRoot || string.Equals(OrgId, orgId, StringComparison.Ordinal);

    public bool Has(string permission) => IsRoot || Permission.Grants(Permissions, permission);

    /// <summary>The audit actor of this principal.</summary>
    public (string Type, string Id) Actor => (CredentialType, CredentialId);
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

/// <summary>
/// Turns a presented credential into a principal. One implementation per credential kind
/// (root key, organization API key, later OAuth access tokens); the first that recognises the
/// credential decides.
/// </summary>
public interface ICredentialResolver
{
    /// <summary>Null when this resolver does not recognise the credential; otherwise its verdict.</summary>
    ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, HttpContext httpContext, CancellationToken cancellationToken);
}

/// <summary>A credential as presented, with its keyed hash computed once for every resolver.</summary>
public readonly record struct PresentedCredential(string Text, Gatehouse.Crypto.SecretDigest Digest);
