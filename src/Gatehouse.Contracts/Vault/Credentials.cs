using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace Gatehouse.Contracts.Vault;

/// <summary>Store a credential of a third-party integration.</summary>
public sealed record CreateCredentialRequest
{
    /// <summary>Your name for the integration, <c>[a-zA-Z0-9_.:-]{1,128}</c>; an integration may hold several credentials.</summary>
    [Required, RegularExpression(IntegrationIdPattern)]
    public string? IntegrationId { get; init; }

    /// <summary>The rule on <see cref="IntegrationId"/>, which the server applies as declared here.</summary>
    public const string IntegrationIdPattern = "^[a-zA-Z0-9_.:-]{1,128}$";

    /// <summary>oauth2_bearer, oauth2_client_credentials, api_key, basic_auth, bearer_token, jwt, saml or custom.</summary>
    [Required]
    public string? AuthType { get; init; }

    [Required, StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>The secret fields the auth type requires; stored only encrypted, returned only by reveal.</summary>
    public Dictionary<string, JsonElement>? Data { get; init; }

    /// <summary>Non-secret metadata, returned by every read.</summary>
    public Dictionary<string, JsonElement>? Metadata { get; init; }

    public DateTime? ExpiresAt { get; init; }
}

/// <summary>Change a credential; new <c>data</c> makes a new version (the previous one is kept).</summary>
public sealed record UpdateCredentialRequest
{
    [StringLength(200, MinimumLength = 1)]
    public string? Name { get; init; }

    public Dictionary<string, JsonElement>? Data { get; init; }
    public Dictionary<string, JsonElement>? Metadata { get; init; }
    public DateTime? ExpiresAt { get; init; }
}

/// <summary>One stored version of a credential's data.</summary>
public sealed record CredentialVersionView(int Version, int KeyVersion, DateTime CreatedAt);

/// <summary>A credential's metadata: never its secret data.</summary>
public sealed record CredentialView(
    string Id, string OrgId, string IntegrationId, string Name, string AuthType, IReadOnlyDictionary<string, JsonElement>? Metadata,
    DateTime? ExpiresAt, bool Expired, int Version, IReadOnlyList<CredentialVersionView>? Versions, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A revealed credential: its metadata and the decrypted data of its current version (null when expired).</summary>
public sealed record RevealedCredential(CredentialView Credential, IReadOnlyDictionary<string, JsonElement>? Data);
