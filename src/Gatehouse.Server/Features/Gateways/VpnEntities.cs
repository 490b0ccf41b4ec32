using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>
/// A VPN config a user (or a mesh spoke) connects with. Nothing secret is stored: an OpenVPN key
/// and certificate, or a WireGuard key pair the server makes, are created at the one download and
/// exist only in that response. What stays is what a gateway's verify needs: the certificate serial
/// or the WireGuard public key, the allocated address, the device it is bound to, and revocation.
/// </summary>
public sealed class VpnConfig : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }

    /// <summary>The user it is for; for a mesh spoke, the principal that created it.</summary>
    public required string UserId { get; init; }

    public required string GatewayId { get; init; }

    /// <summary><c>openvpn</c> or <c>wireguard</c>.</summary>
    public required string Protocol { get; init; }

    /// <summary>The verified device the session came through, when the organization requires one.</summary>
    public string? DeviceId { get; init; }

    /// <summary>The mesh hub, for a spoke's config; its name is <see cref="SpokeName"/>.</summary>
    public string? HubId { get; init; }

    public string? SpokeName { get; init; }
    public List<string> LocalCidrs { get; set; } = [];

    /// <summary>The network whose pool <see cref="Address"/> comes from (WireGuard).</summary>
    public string? NetworkId { get; init; }

    /// <summary>Unique per network while the config lives (a unique index); released on revocation.</summary>
    public string? Address { get; set; }

    /// <summary>The client's WireGuard public key: sent at generation, or made at download.</summary>
    public string? PublicKey { get; set; }

    public string? Serial { get; set; }
    public DateTime CreatedAt { get; init; }

    /// <summary>The download deadline.</summary>
    public DateTime ExpiresAt { get; init; }

    public DateTime? DownloadedAt { get; set; }
    public DateTime? CertificateExpiresAt { get; set; }
    public DateTime? RevokedAt { get; set; }
    public string? RevocationReason { get; set; }
}

/// <summary>A WireGuard gateway that joins networks site to site (hub and spoke).</summary>
public sealed class MeshHub : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public required string GatewayId { get; set; }
    public List<string> NetworkIds { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>An organization's VPN policy: the geo-fence and whether configs need a verified device. No row: everything off.</summary>
public sealed class VpnSettings : IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string OrgId { get; init; }

    /// <summary><c>off</c>, <c>allow</c> or <c>deny</c>.</summary>
    public required string GeoMode { get; set; }

    public List<string> GeoCountries { get; set; } = [];
    public bool RequireDevice { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class VpnMappings : IEntityTypeConfiguration<VpnConfig>, IEntityTypeConfiguration<MeshHub>, IEntityTypeConfiguration<VpnSettings>
{
    public void Configure(EntityTypeBuilder<VpnConfig> builder)
    {
        builder.ToTable("vpn_configs");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.LocalCidrs).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<MeshHub> builder)
    {
        builder.ToTable("mesh_hubs");
        builder.HasKey(h => h.Id);
        builder.Property(h => h.NetworkIds).HasJsonConversion();
    }

    public void Configure(EntityTypeBuilder<VpnSettings> builder)
    {
        builder.ToTable("vpn_settings");
        builder.HasKey(s => s.OrgId);
        builder.Property(s => s.GeoCountries).HasJsonConversion();
    }
}

/// <summary>A gateway's tls-crypt key sealed under an older data-key version keeps that version from being retired.</summary>
internal sealed class GatewayDataKeyUser : Vault.IDataKeyUser
{
    public Task<bool> UsesAsync(GatehouseDb db, string orgId, int keyVersion, CancellationToken cancellationToken) =>
        db.Owned<Gateway>(orgId).AnyAsync(g => g.TlsCryptKeyVersion == keyVersion, cancellationToken);
}
