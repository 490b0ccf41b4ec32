using Gatehouse.Contracts.Users;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Users;

/// <summary>An organization's OpenID Connect provider: who it is, how to authenticate to it, and what its users become.</summary>
public sealed class SsoSettings : IOrgOwned, IVersioned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string OrgId { get; init; }
    public bool Enabled { get; set; }
    public required string Issuer { get; set; }
    public required string ClientId { get; set; }

    /// <summary>The client secret sealed under the organization's data key (<see cref="SsoSecrets"/>).</summary>
    public required byte[] SealedClientSecret { get; set; }

    /// <summary>The data-key version the secret (or the client key) is sealed under: it keeps that version from being retired.</summary>
    public int KeyVersion { get; set; }

    /// <summary>How Gatehouse authenticates to the provider's token endpoint (<see cref="SsoClientAuth"/>).</summary>
    public string ClientAuthMethod { get; set; } = SsoClientAuth.ClientSecretBasic;

    /// <summary>For <c>private_key_jwt</c>: the PKCS#8 P-256 private key, sealed under the organization's data key.</summary>
    public byte[]? SealedClientKey { get; set; }

    /// <summary>For <c>private_key_jwt</c>: the public half as a JWK (with its kid), which the provider is given.</summary>
    public string? ClientPublicJwk { get; set; }

    /// <summary>A rotated key, published at once and signing from <see cref="NextClientKeyActivatesAt"/> (then it replaces the current one).</summary>
    public byte[]? SealedNextClientKey { get; set; }

    public string? NextClientPublicJwk { get; set; }

    public DateTime? NextClientKeyActivatesAt { get; set; }

    /// <summary>Whether the rotated key has taken over signing at <paramref name="now"/>.</summary>
    public bool NextClientKeyActive(DateTime now) => SealedNextClientKey is not null && NextClientKeyActivatesAt <= now;

    /// <summary>The key that signs at <paramref name="now"/>: its sealed private half and public JWK.</summary>
    public (byte[]? Sealed, string? PublicJwk) SigningClientKey(DateTime now) =>
        NextClientKeyActive(now) ? (SealedNextClientKey, NextClientPublicJwk) : (SealedClientKey, ClientPublicJwk);

    /// <summary>The public keys a provider must know at <paramref name="now"/>: the signing one, and a rotated one not yet signing.</summary>
    public IReadOnlyList<string> PublishedClientJwks(DateTime now) =>
        NextClientKeyActive(now) ? [NextClientPublicJwk!]
        : [.. new[] { ClientPublicJwk, NextClientPublicJwk }.OfType<string>()];

    /// <summary>Makes a rotated key that has taken over the current one, so the next rotation starts from it.</summary>
    public void PromoteNextClientKey(DateTime now)
    {
        if (NextClientKeyActive(now))
        {
            (SealedClientKey, ClientPublicJwk) = (SealedNextClientKey, NextClientPublicJwk);
            DropNextClientKey();
        }
    }

    public void DropNextClientKey() => (SealedNextClientKey, NextClientPublicJwk, NextClientKeyActivatesAt) = (null, null, null);

    public List<string> Scopes { get; set; } = [];
    public required string RoleClaim { get; set; }
    public List<SsoRoleMapping> RoleMappings { get; set; } = [];
    public List<string> DefaultRoles { get; set; } = [];
    public List<string> DefaultPermissions { get; set; } = [];

    /// <summary>The platform permissions of the caller who last saved the settings; a first login never links an existing user holding more.</summary>
    public List<string> ConfiguredWith { get; set; } = [];

    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>Every role a login through these settings can give.</summary>
    public IEnumerable<string> GrantableRoles => DefaultRoles.Concat(RoleMappings.Select(m => m.Role!)).Distinct(StringComparer.Ordinal);
}

/// <summary>A login in flight, from the redirect to the provider until its callback (single use).</summary>
public sealed class SsoLoginState : IOrgOwned
{
    /// <summary>The keyed hash of the <c>state</c> parameter; the state itself is never stored.</summary>
    public required string Id { get; init; }

    public required string OrgId { get; init; }

    /// <summary>The issuer the login was started with: settings changed meanwhile do not redirect the answer elsewhere.</summary>
    public required string Issuer { get; init; }

    /// <summary>The keyed hash of the browser-binding cookie: the callback must come from the browser that started.</summary>
    public required string BrowserHash { get; init; }

    public required string ReturnTo { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public DateTime? UsedAt { get; set; }
}

/// <summary>A provider's account (issuer and subject) known as a user of the organization.</summary>
public sealed class UserIdentity : IOrgOwned
{
    public required string OrgId { get; init; }
    public required string Issuer { get; init; }
    public required string Subject { get; init; }
    public required string UserId { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime LastLoginAt { get; set; }
}

internal sealed class SsoSettingsMapping : IEntityTypeConfiguration<SsoSettings>
{
    public void Configure(EntityTypeBuilder<SsoSettings> builder)
    {
        builder.ToTable("sso_settings");
        builder.HasKey(s => s.OrgId);
        builder.Property(s => s.Scopes).HasJsonConversion();
        builder.Property(s => s.RoleMappings).HasJsonConversion();
        builder.Property(s => s.DefaultRoles).HasJsonConversion();
        builder.Property(s => s.DefaultPermissions).HasJsonConversion();
        builder.Property(s => s.ConfiguredWith).HasJsonConversion();
        builder.Ignore(s => s.GrantableRoles);
    }
}

internal sealed class SsoLoginStateMapping : IEntityTypeConfiguration<SsoLoginState>
{
    public void Configure(EntityTypeBuilder<SsoLoginState> builder)
    {
        builder.ToTable("sso_login_states");
        builder.HasKey(s => s.Id);
        builder.HasIndex(s => s.ExpiresAt);
    }
}

internal sealed class UserIdentityMapping : IEntityTypeConfiguration<UserIdentity>
{
    public void Configure(EntityTypeBuilder<UserIdentity> builder)
    {
        builder.ToTable("user_identities");
        builder.HasKey(i => new { i.OrgId, i.Issuer, i.Subject });
        builder.HasIndex(i => i.UserId);
    }
}

/// <summary>A client secret sealed under an older data-key version keeps that version from being retired.</summary>
internal sealed class SsoDataKeyUser : IDataKeyUser
{
    public Task<bool> UsesAsync(GatehouseDb db, string orgId, int keyVersion, CancellationToken cancellationToken) =>
        db.Owned<SsoSettings>(orgId).AnyAsync(s => s.KeyVersion == keyVersion, cancellationToken);
}

/// <summary>Seals and opens client secrets, bound to their organization.</summary>
internal static class SsoSecrets
{
    public static byte[] Aad(string orgId) => Gatehouse.Crypto.AssociatedData.Of("gatehouse/sso-client-secret", orgId);

    /// <summary>The associated data of the sealed <c>private_key_jwt</c> key: a secret's ciphertext never opens as a key, nor one org's as another's.</summary>
    public static byte[] KeyAad(string orgId) => Gatehouse.Crypto.AssociatedData.Of("gatehouse/sso-client-key", orgId);
}

/// <summary>The token-endpoint authentication methods (OpenID Connect Core §9) Gatehouse can use with a provider.</summary>
public static class SsoClientAuth
{
    /// <summary>The secret in an HTTP Basic header (RFC 6749 §2.3.1); a provider that lists only <c>client_secret_post</c> gets that instead.</summary>
    public const string ClientSecretBasic = "client_secret_basic";

    /// <summary>The secret in the form body.</summary>
    public const string ClientSecretPost = "client_secret_post";

    /// <summary>A short-lived JWT signed with a key Gatehouse holds (RFC 7523): no shared secret at all.</summary>
    public const string PrivateKeyJwt = "private_key_jwt";

    public static readonly IReadOnlyList<string> All = [ClientSecretBasic, ClientSecretPost, PrivateKeyJwt];
}
