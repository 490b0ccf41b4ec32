using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Gatehouse.Contracts.OAuth;

/// <summary>Register an OAuth 2.0 client of the organization in the path (client-credentials grant).</summary>
public sealed record CreateOAuthClientRequest
{
    /// <summary>Unique in the organization, 1–100 characters.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>The permissions its tokens may carry (space-free permission strings); a token request may ask for fewer.</summary>
    [Required]
    public List<string>? Scopes { get; init; }

    /// <summary>Lifetime of its access tokens, 60–86 400 seconds (default 3 600).</summary>
    [Range(60, 86_400)]
    public int? TokenTtlSeconds { get; init; }

    /// <summary><c>client_secret_basic</c> (default), <c>client_secret_post</c> or <c>private_key_jwt</c>.</summary>
    [StringLength(32)]
    public string? TokenEndpointAuthMethod { get; init; }

    /// <summary>How its access tokens are signed: <c>ES256</c> (default) or <c>RS256</c>.</summary>
    [StringLength(8)]
    public string? SigningAlgorithm { get; init; }

    /// <summary>For <c>private_key_jwt</c>: the client's public keys, a JWK Set <c>{"keys": […]}</c>.</summary>
    public JsonElement? Jwks { get; init; }

    /// <summary>For <c>private_key_jwt</c>: where the client publishes its JWK Set (https).</summary>
    [StringLength(2048)]
    public string? JwksUri { get; init; }

    /// <summary>The service account the client belongs to: its scopes stay within the account's permissions, and it stops with the account.</summary>
    [StringLength(64)]
    public string? ServiceAccountId { get; init; }
}

/// <summary>Fields to change; absent fields stay. <c>disabled: true</c> stops the client and every token it holds.</summary>
public sealed record UpdateOAuthClientRequest
{
    [StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    public List<string>? Scopes { get; init; }

    [Range(60, 86_400)]
    public int? TokenTtlSeconds { get; init; }

    public bool? Disabled { get; init; }

    /// <summary>Replaces the JWK Set of a <c>private_key_jwt</c> client.</summary>
    public JsonElement? Jwks { get; init; }

    /// <summary>Replaces the JWK Set URL of a <c>private_key_jwt</c> client.</summary>
    [StringLength(2048)]
    public string? JwksUri { get; init; }
}

/// <summary>Issue a new client secret; the old one keeps working for the grace period.</summary>
public sealed record RotateOAuthClientSecretRequest
{
    /// <summary>0 (default: the old secret stops now) to 604 800 seconds.</summary>
    [Range(0, 604_800)]
    public int? GracePeriodSeconds { get; init; }
}

/// <summary>
/// An OAuth client (never its secret). <c>clientId</c> is what the client sends to the token endpoint;
/// it equals <c>id</c>. <c>ownerId</c> is the service account or user it belongs to, when it belongs to one.
/// </summary>
public sealed record OAuthClientView(
    string Id, string ClientId, string OrgId, string Name, string? Description, IReadOnlyList<string> Scopes, int TokenTtlSeconds,
    string TokenEndpointAuthMethod, string SigningAlgorithm, JsonElement? Jwks, string? JwksUri, string? ServiceAccountId, string? OwnerId,
    bool Disabled, DateTime? PreviousSecretExpiresAt, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>An OAuth client with its secret (<c>gcs_…</c>), returned once by create and rotate-secret; null for <c>private_key_jwt</c>.</summary>
public sealed record OAuthClientWithSecret(
    string Id, string ClientId, string OrgId, string Name, string? Description, IReadOnlyList<string> Scopes, int TokenTtlSeconds,
    string TokenEndpointAuthMethod, string SigningAlgorithm, JsonElement? Jwks, string? JwksUri, string? ServiceAccountId, string? OwnerId,
    bool Disabled, DateTime? PreviousSecretExpiresAt, DateTime CreatedAt, DateTime UpdatedAt, string? ClientSecret);

/// <summary>A token-signing key of the platform (never its private part).</summary>
public sealed record SigningKeyView(string Kid, string Algorithm, string Status, DateTime CreatedAt, DateTime ActivatesAt, DateTime? RetiredAt, DateTime? UnpublishAt);

/// <summary>Start a new signing key; the current one of that algorithm retires once the new one signs.</summary>
public sealed record RotateSigningKeyRequest
{
    /// <summary><c>ES256</c> (default) or <c>RS256</c>.</summary>
    [StringLength(8)]
    public string? Algorithm { get; init; }

    /// <summary>How long the new key is published before it signs, 0–86 400 seconds (default: the configured lead time). 0 is for an emergency: verifiers that cached the JWKS will refetch on an unknown kid.</summary>
    [Range(0, 86_400)]
    public int? ActivateAfterSeconds { get; init; }
}
