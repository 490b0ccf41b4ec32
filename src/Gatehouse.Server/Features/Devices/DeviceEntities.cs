using Gatehouse.Contracts.Devices;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Devices;

/// <summary>A site that sends its users through device verification (Relock's "gateway").</summary>
public sealed class DeviceApp : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public List<string> RedirectUrls { get; set; } = [];
    public List<string> AllowedOrigins { get; set; } = [];
    public int SessionTtlSeconds { get; set; }
    public int ProofMaxAgeSeconds { get; set; }

    /// <summary><c>off</c>, <c>preferred</c> or <c>required</c>: see <see cref="WebAuthnMode"/>.</summary>
    public string Webauthn { get; set; } = WebAuthnMode.Off;
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A browser profile (or any holder of a P-256 key), or a WebAuthn credential, trusted for one user of one app.</summary>
public sealed class Device : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string AppId { get; init; }
    public required string UserId { get; init; }
    public string? Name { get; set; }

    /// <summary><see cref="DeviceKeys.KeyType"/> or <see cref="WebAuthnDevices.KeyType"/>.</summary>
    public string KeyType { get; init; } = DeviceKeys.KeyType;

    /// <summary>The public key as canonical JWK JSON (kty, crv, x, y); empty for a WebAuthn device.</summary>
    public required string PublicKeyJwk { get; init; }

    /// <summary>RFC 7638 thumbprint of the key (WebAuthn: SHA-256 of the credential id): unique per app, so one key is one device.</summary>
    public required string KeyThumbprint { get; init; }

    /// <summary>WebAuthn: the credential id, base64url.</summary>
    public string? CredentialId { get; init; }

    /// <summary>WebAuthn: the credential's COSE public key, base64url.</summary>
    public string? CosePublicKey { get; init; }

    /// <summary>WebAuthn: the highest signature counter seen; a non-zero counter that does not grow is refused.</summary>
    public long SignCount { get; set; }

    /// <summary>WebAuthn: the authenticator model's AAGUID as it reported it (not attested).</summary>
    public string? Aaguid { get; init; }

    /// <summary>WebAuthn: whether the authenticator verified the user at the last ceremony.</summary>
    public bool UserVerified { get; set; }

    /// <summary>WebAuthn: the relying party id (the hosted page's host) the credential is scoped to.</summary>
    public string? RpId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? LastSeenAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

/// <summary>A session bound to one device: it validates only with a proof signed by that device's key.</summary>
public sealed class DeviceSession : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string AppId { get; init; }
    public required string UserId { get; init; }
    public required string DeviceId { get; init; }
    public string? ExternalSessionId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? EndedAt { get; set; }
    public string? EndReason { get; set; }
}

/// <summary>A refresh token of a session, by its keyed hash. A used one stays, so its reuse is recognised.</summary>
public sealed class DeviceRefreshToken : IOrgOwned
{
    public required string Hash { get; init; }
    public required string OrgId { get; init; }
    public required string SessionId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? UsedAt { get; set; }
}

/// <summary>
/// One pass through the hosted page: created by <c>POST /device-auth/url</c>, completed by the
/// browser's proof (which issues the one-time token), consumed by verify.
/// </summary>
public sealed class DeviceAuthRequest : IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string AppId { get; init; }
    public required string UserId { get; init; }
    public string? ExternalSessionId { get; init; }
    public required string RedirectUrl { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public string? DeviceId { get; set; }
    public bool NewDevice { get; set; }
    public string? TokenHash { get; set; }
    public DateTime? TokenExpiresAt { get; set; }
    public DateTime? CompletedAt { get; set; }
    public DateTime? UsedAt { get; set; }
}

/// <summary>A single-use challenge nonce, by its keyed hash, for one auth request or one session.</summary>
public sealed class DeviceChallenge : IOrgOwned
{
    public required string Hash { get; init; }
    public required string OrgId { get; init; }
    public required string AppId { get; init; }
    public string? RequestId { get; init; }
    public string? SessionId { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public DateTime? UsedAt { get; set; }
}

internal static class DeviceViewMapping
{
    extension(DeviceAppView)
    {
        public static DeviceAppView From(DeviceApp app) =>
            new(app.Id, app.Id, app.OrgId, app.Name, app.RedirectUrls, app.AllowedOrigins, app.SessionTtlSeconds, app.ProofMaxAgeSeconds, app.CreatedAt, app.UpdatedAt, app.Webauthn);
    }

    extension(DeviceView)
    {
        public static DeviceView From(Device device) =>
            new(device.Id, device.OrgId, device.AppId, device.UserId, device.Name, device.RevokedAt is null ? "active" : "revoked", device.KeyType,
                device.KeyThumbprint, device.CreatedAt, device.LastSeenAt, device.RevokedAt,
                device.KeyType == WebAuthnDevices.KeyType ? device.Aaguid : null, device.KeyType == WebAuthnDevices.KeyType ? device.UserVerified : null);
    }

    extension(DeviceSessionView)
    {
        public static DeviceSessionView From(DeviceSession session, DateTime now) =>
            new(session.Id, session.OrgId, session.AppId, session.UserId, session.DeviceId, session.ExternalSessionId,
                session.EndedAt is not null ? "ended" : now >= session.ExpiresAt ? "expired" : "active",
                session.CreatedAt, session.ExpiresAt, session.EndedAt, session.EndReason);
    }
}

internal sealed class DeviceMappings :
    IEntityTypeConfiguration<DeviceApp>, IEntityTypeConfiguration<Device>, IEntityTypeConfiguration<DeviceSession>,
    IEntityTypeConfiguration<DeviceRefreshToken>, IEntityTypeConfiguration<DeviceAuthRequest>, IEntityTypeConfiguration<DeviceChallenge>
{
    public void Configure(EntityTypeBuilder<DeviceApp> builder)
    {
        builder.ToTable("device_apps");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.RedirectUrls).HasJsonConversion();
        builder.Property(a => a.AllowedOrigins).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<Device> builder)
    {
        builder.ToTable("devices");
        builder.HasKey(d => d.Id);
    }

    public void Configure(EntityTypeBuilder<DeviceSession> builder)
    {
        builder.ToTable("device_sessions");
        builder.HasKey(s => s.Id);
    }

    public void Configure(EntityTypeBuilder<DeviceRefreshToken> builder)
    {
        builder.ToTable("device_refresh_tokens");
        builder.HasKey(t => t.Hash);
    }

    public void Configure(EntityTypeBuilder<DeviceAuthRequest> builder)
    {
        builder.ToTable("device_auth_requests");
        builder.HasKey(r => r.Id);
    }

    public void Configure(EntityTypeBuilder<DeviceChallenge> builder)
    {
        builder.ToTable("device_challenges");
        builder.HasKey(c => c.Hash);
    }
}

/// <summary>Devices, their apps and sessions are erased with their organization and counted in its stats.</summary>
internal sealed class DeviceOrgData(DeviceSessionCache cache) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<DeviceChallenge>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DeviceAuthRequest>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DeviceRefreshToken>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DeviceSession>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<Device>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DeviceApp>(orgId).ExecuteDeleteAsync(cancellationToken);
        cache.EvictOrg(orgId);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        cache.EvictOrg(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken)
    {
        stats["deviceApps"] = await db.Owned<DeviceApp>(orgId).LongCountAsync(cancellationToken);
        stats["devices"] = await db.Owned<Device>(orgId).LongCountAsync(d => d.RevokedAt == null, cancellationToken);
    }
}
