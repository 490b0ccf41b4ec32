using System.Text.Json;
using Gatehouse.Contracts.OAuth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.OAuth;

/// <summary>The client authentication methods of the token endpoint (RFC 7591 names).</summary>
public static class ClientAuthMethods
{
    public const string SecretBasic = "client_secret_basic";
    public const string SecretPost = "client_secret_post";
    public const string PrivateKeyJwt = "private_key_jwt";

    public static readonly IReadOnlyList<string> All = [SecretBasic, SecretPost, PrivateKeyJwt];

    public static bool UsesSecret(string method) => method != PrivateKeyJwt;
}

/// <summary>
/// An OAuth 2.0 client of one organization: it obtains access tokens with the client-credentials
/// grant, carrying at most its <see cref="Scopes"/>. Its secret is stored as a keyed hash (like an
/// API key), so checking it costs microseconds. It may belong to a service account or a user
/// (<see cref="OwnerId"/>) and then stops while the owner is disabled.
/// </summary>
public sealed class OAuthClient : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    /// <summary>The record id, which is also the OAuth <c>client_id</c>.</summary>
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public List<string> Scopes { get; set; } = [];
    public int TokenTtlSeconds { get; set; }
    public required string AuthMethod { get; init; }
    public required string SigningAlgorithm { get; init; }

    /// <summary>The client's JWK Set (JSON) for <c>private_key_jwt</c>.</summary>
    public string? Jwks { get; set; }
    public string? JwksUri { get; set; }
    public string? SecretHash { get; set; }
    public string? PreviousSecretHash { get; set; }
    public DateTime? PreviousSecretExpiresAt { get; set; }
    public string? ServiceAccountId { get; init; }
    public string? OwnerId { get; init; }
    public bool OwnerSuspended { get; set; }
    public bool Disabled { get; set; }

    /// <summary>
    /// Carried by every token (claim <c>gen</c>) and advanced when the client or its owner is
    /// disabled: tokens of an older generation are dead, so enabling it again does not revive them,
    /// while tokens issued afterwards — even within the same second — work.
    /// </summary>
    public int TokenGeneration { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }

    public bool IsLive => !Disabled && !OwnerSuspended;
}

internal static class OAuthClientViews
{
    public static OAuthClientView View(this OAuthClient client) =>
        new(client.Id, client.Id, client.OrgId, client.Name, client.Description, client.Scopes, client.TokenTtlSeconds, client.AuthMethod,
            client.SigningAlgorithm, ParseJwks(client.Jwks), client.JwksUri, client.ServiceAccountId, client.OwnerId, client.Disabled,
            client.PreviousSecretExpiresAt, client.CreatedAt, client.UpdatedAt);

    public static OAuthClientWithSecret WithSecret(this OAuthClient client, string? secret) =>
        new(client.Id, client.Id, client.OrgId, client.Name, client.Description, client.Scopes, client.TokenTtlSeconds, client.AuthMethod,
            client.SigningAlgorithm, ParseJwks(client.Jwks), client.JwksUri, client.ServiceAccountId, client.OwnerId, client.Disabled,
            client.PreviousSecretExpiresAt, client.CreatedAt, client.UpdatedAt, secret);

    private static JsonElement? ParseJwks(string? jwks) => jwks is null ? null : JsonDocument.Parse(jwks).RootElement.Clone();
}

internal sealed class OAuthClientMapping : IEntityTypeConfiguration<OAuthClient>
{
    public void Configure(EntityTypeBuilder<OAuthClient> builder)
    {
        builder.ToTable("oauth_clients");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Scopes).HasJsonConversion();
    }
}

/// <summary>A platform token-signing key; the private part is sealed under the master key.</summary>
public sealed class OAuthSigningKey
{
    public required string Kid { get; init; }
    public required string Algorithm { get; init; }
    public required byte[] SealedKey { get; set; }
    public required string PublicJwk { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ActivatesAt { get; init; }
}

/// <summary>A revoked access token, remembered until it would have expired.</summary>
public sealed class OAuthRevokedToken
{
    public required string Jti { get; init; }
    public required string OrgId { get; init; }
    public required string ClientId { get; init; }
    public DateTime ExpiresAt { get; init; }
}

/// <summary>A <c>private_key_jwt</c> assertion already used, remembered until it expires.</summary>
public sealed class OAuthUsedAssertion
{
    public required string ClientId { get; init; }
    public required string Jti { get; init; }
    public DateTime ExpiresAt { get; init; }
}

internal sealed class OAuthTokenTablesMapping : IEntityTypeConfiguration<OAuthSigningKey>, IEntityTypeConfiguration<OAuthRevokedToken>, IEntityTypeConfiguration<OAuthUsedAssertion>
{
    public void Configure(EntityTypeBuilder<OAuthSigningKey> builder)
    {
        builder.ToTable("oauth_signing_keys");
        builder.HasKey(k => k.Kid);
    }

    public void Configure(EntityTypeBuilder<OAuthRevokedToken> builder)
    {
        builder.ToTable("oauth_revoked_tokens");
        builder.HasKey(t => t.Jti);
    }

    public void Configure(EntityTypeBuilder<OAuthUsedAssertion> builder)
    {
        builder.ToTable("oauth_used_assertions");
        builder.HasKey(a => new { a.ClientId, a.Jti });
    }
}

/// <summary>Clients are deleted with their organization (their tokens die with the rows); they count towards its stats.</summary>
internal sealed class OAuthClientOrgData(OAuthClientCache cache) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<OAuthClient>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Set<OAuthRevokedToken>().Where(t => t.OrgId == orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        cache.EvictOrg(orgId);
        return Task.CompletedTask;
    }

    /// <summary>Deleting the organization ends every client: the caller must hold each client's scopes.</summary>
    public async Task<IReadOnlyList<IReadOnlyCollection<string>>> RevokedGrantsAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        [.. (await db.Owned<OAuthClient>(orgId).AsNoTracking().Select(c => c.Scopes).ToListAsync(cancellationToken)).Select(s => (IReadOnlyCollection<string>)s)];

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["oauthClients"] = await db.Owned<OAuthClient>(orgId).LongCountAsync(cancellationToken);
}
