using System.ComponentModel.DataAnnotations;

namespace Gatehouse.Contracts.Users;

/// <summary>
/// The organization's OpenID Connect provider, replacing the stored settings. The client secret is
/// write-only: required the first time, kept when absent later.
/// </summary>
public sealed record PutSsoSettingsRequest
{
    /// <summary>Whether users may log in through the provider; false keeps the settings but refuses logins.</summary>
    public bool? Enabled { get; init; }

    /// <summary>The provider's issuer (https; http only on a loopback address, for development and tests). Its discovery document is read at the first login.</summary>
    [Required, StringLength(2048, MinimumLength = 8)]
    public string? Issuer { get; init; }

    /// <summary>The client id registered at the provider.</summary>
    [Required, StringLength(512, MinimumLength = 1)]
    public string? ClientId { get; init; }

    /// <summary>The client secret registered at the provider: sealed under the organization's data key, never returned. Not used with <c>private_key_jwt</c>.</summary>
    public string? ClientSecret { get; init; }

    /// <summary>
    /// How Gatehouse authenticates at the provider's token endpoint: <c>client_secret_basic</c> (the default),
    /// <c>client_secret_post</c>, or <c>private_key_jwt</c> (a JWT signed with a P-256 key Gatehouse makes and keeps;
    /// register the <c>clientJwks</c> of the answer, or the <c>jwksUri</c>, at the provider).
    /// </summary>
    public string? ClientAuthMethod { get; init; }

    /// <summary>
    /// With <c>private_key_jwt</c>: make a new client key. It is published in the JWKS at once and signs from
    /// <c>clientKeyRotatesAt</c> (10 minutes later by default), when it replaces the current key.
    /// </summary>
    public bool? RotateClientKey { get; init; }

    /// <summary>Scopes to ask for; <c>openid</c> is always included. Default <c>openid email profile</c>.</summary>
    public List<string>? Scopes { get; init; }

    /// <summary>The ID-token claim whose values the role mappings match (a string or an array of strings). Default <c>groups</c>.</summary>
    public string? RoleClaim { get; init; }

    /// <summary>A user whose role claim holds <c>value</c> gets <c>role</c>; evaluated at every login.</summary>
    public List<SsoRoleMapping>? RoleMappings { get; init; }

    /// <summary>Roles every user who logs in through the provider holds.</summary>
    public List<string>? DefaultRoles { get; init; }

    /// <summary>Direct permissions given to users created by their first login.</summary>
    public List<string>? DefaultPermissions { get; init; }
}

/// <summary>One claim value and the role it gives.</summary>
public sealed record SsoRoleMapping
{
    [Required]
    public string? Value { get; init; }

    [Required]
    public string? Role { get; init; }
}

/// <summary>The organization's single sign-on settings, without the client secret.</summary>
public sealed record SsoSettingsView(
    string OrgId,
    bool Enabled,
    string Issuer,
    string ClientId,
    bool HasClientSecret,
    IReadOnlyList<string> Scopes,
    string RoleClaim,
    IReadOnlyList<SsoRoleMapping> RoleMappings,
    IReadOnlyList<string> DefaultRoles,
    IReadOnlyList<string> DefaultPermissions,
    string RedirectUri,
    string LoginUrl,
    string ClientAuthMethod,
    Gatehouse.Contracts.OAuth.JwkSet? ClientJwks,
    string? JwksUri,
    DateTime? ClientKeyRotatesAt,
    DateTime CreatedAt,
    DateTime UpdatedAt);

