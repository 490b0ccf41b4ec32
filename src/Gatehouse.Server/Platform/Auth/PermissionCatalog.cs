namespace Gatehouse.Server.Platform.Auth;

/// <summary>One platform permission and what it allows.</summary>
public sealed record PermissionInfo(string Name, string Description);

/// <summary>The platform permissions: what this API checks on its own routes.</summary>
public static class PermissionCatalog
{
    public static readonly IReadOnlyList<PermissionInfo> All =
    [
        new("orgs:read", "Read the organization, its settings and stats."),
        new("orgs:write", "Update or delete the organization."),
        new("roles:read", "List and read roles."),
        new("roles:write", "Create, update and delete roles."),
        new("api_keys:read", "List and read API keys and their usage."),
        new("api_keys:write", "Create, update, rotate and revoke API keys."),
        new("api_keys:verify", "Verify and validate API keys of the organization."),
        new("ratelimit:use", "Use the standalone rate limiter."),
        new("ratelimit:read", "Read rate-limit overrides."),
        new("ratelimit:write", "Set and delete rate-limit overrides."),
        new("audit:read", "Query, export and verify the audit trail."),
        new("webhooks:read", "List webhook endpoints and deliveries."),
        new("webhooks:write", "Create, update, test and delete webhook endpoints."),
        new("credentials:read", "List credential metadata (never the secret data)."),
        new("credentials:reveal", "Read decrypted credential data; every reveal is audited."),
        new("credentials:write", "Create, update and delete credentials."),
        new("oauth_clients:read", "List and read OAuth clients."),
        new("oauth_clients:write", "Create, update, rotate and delete OAuth clients."),
        new("admin:*", "Platform administration across organizations (root only)."),
    ];

    private static readonly HashSet<string> Resources =
        new(All.Select(p => p.Name[..p.Name.IndexOf(':', StringComparison.Ordinal)]), StringComparer.Ordinal);

    // Looked up by the span before the colon, so checking a permission allocates no substring.
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ResourcesBySpan = Resources.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>A platform permission names one of our resources; anything else is the organization's own.</summary>
    public static bool IsPlatform(string permission)
    {
        var colon = permission.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && ResourcesBySpan.Contains(permission.AsSpan(0, colon));
    }
}
