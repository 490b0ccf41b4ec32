using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>A VPN gateway of an organization. Its agent authenticates with a token kept only as a keyed hash.</summary>
public sealed class Gateway : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public required string Hostname { get; set; }
    public int Port { get; set; }

    /// <summary><c>udp</c> or <c>tcp</c>.</summary>
    public required string Protocol { get; set; }

    /// <summary><c>openvpn</c> or <c>wireguard</c>.</summary>
    public required string VpnType { get; set; }

    public required string TokenHash { get; set; }

    /// <summary><c>pending</c> (never heard from), <c>online</c> or <c>offline</c>.</summary>
    public required string Status { get; set; }

    public DateTime? LastHeartbeat { get; set; }

    /// <summary>The gateway's WireGuard public key (set by an administrator or reported by the agent).</summary>
    public string? PublicKey { get; set; }

    /// <summary>The OpenVPN tls-crypt key, sealed under the organization's data key version <see cref="TlsCryptKeyVersion"/>.</summary>
    public byte[]? TlsCryptKey { get; set; }

    public int? TlsCryptKeyVersion { get; set; }
    public string? AgentVersion { get; set; }
    public int? ConnectedClients { get; set; }
    public double? Load { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A network reachable through some of the organization's gateways.</summary>
public sealed class GatewayNetwork : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }

    /// <summary>Canonical form (<c>10.1.0.0/16</c>): the base address with host bits cleared.</summary>
    public required string Cidr { get; set; }

    public List<string> GatewayIds { get; set; } = [];
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One access rule: who (subjects) may or may not reach what (a network or CIDR, ports, protocol).</summary>
public sealed class AccessRule : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }

    /// <summary><c>user:&lt;id or email&gt;</c>, <c>group:&lt;role name&gt;</c> or <c>*</c>.</summary>
    public List<string> Subjects { get; set; } = [];

    public string? NetworkId { get; set; }
    public string? Cidr { get; set; }

    /// <summary><c>*</c>, single ports (<c>443</c>) and ranges (<c>8000-8100</c>).</summary>
    public List<string> Ports { get; set; } = [];

    /// <summary><c>tcp</c>, <c>udp</c>, <c>icmp</c> or <c>any</c>.</summary>
    public required string Protocol { get; set; }

    /// <summary><c>allow</c> or <c>deny</c>.</summary>
    public required string Action { get; set; }

    public int Priority { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A client session a gateway reported: opened by connect, closed by disconnect.</summary>
public sealed class GatewayConnection : IOrgOwned
{
    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string GatewayId { get; init; }
    public string? UserId { get; init; }

    /// <summary>The client's certificate serial or WireGuard public key.</summary>
    public required string ClientKey { get; init; }

    public required string ClientIp { get; init; }
    public string? VirtualIp { get; init; }
    public long BytesIn { get; set; }
    public long BytesOut { get; set; }
    public DateTime ConnectedAt { get; init; }
    public DateTime? DisconnectedAt { get; set; }

    /// <summary>Why it ended: <see cref="DisconnectReasons"/>; null while open.</summary>
    public string? DisconnectReason { get; set; }
}

/// <summary>Why a gateway connection ended.</summary>
public static class DisconnectReasons
{
    /// <summary>The gateway's agent reported the disconnection.</summary>
    public const string Reported = "reported";

    /// <summary>The gateway missed 3 heartbeats: the offline job closed its open connections.</summary>
    public const string GatewayOffline = "gateway_offline";
}

internal sealed class GatewayMapping : IEntityTypeConfiguration<Gateway>
{
    public void Configure(EntityTypeBuilder<Gateway> builder)
    {
        builder.ToTable("gateways");
        builder.HasKey(g => g.Id);
    }
}

internal sealed class GatewayNetworkMapping : IEntityTypeConfiguration<GatewayNetwork>
{
    public void Configure(EntityTypeBuilder<GatewayNetwork> builder)
    {
        builder.ToTable("gateway_networks");
        builder.HasKey(n => n.Id);
        builder.Property(n => n.GatewayIds).HasJsonConversion();
    }
}

internal sealed class AccessRuleMapping : IEntityTypeConfiguration<AccessRule>
{
    public void Configure(EntityTypeBuilder<AccessRule> builder)
    {
        builder.ToTable("access_rules");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Subjects).HasJsonConversion();
        builder.Property(r => r.Ports).HasJsonConversion();
    }
}

internal sealed class GatewayConnectionMapping : IEntityTypeConfiguration<GatewayConnection>
{
    public void Configure(EntityTypeBuilder<GatewayConnection> builder)
    {
        builder.ToTable("gateway_connections");
        builder.HasKey(c => c.Id);
    }
}

/// <summary>Gateways, networks, rules and connections go with the organization.</summary>
internal sealed class GatewayOrgData : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<GatewayConnection>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<VpnConfig>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<MeshHub>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<VpnSettings>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<AccessRule>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<GatewayNetwork>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<Gateway>(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken)
    {
        stats["gateways"] = await db.Owned<Gateway>(orgId).LongCountAsync(cancellationToken);
        stats["accessRules"] = await db.Owned<AccessRule>(orgId).LongCountAsync(cancellationToken);
        stats["vpnConfigs"] = await db.Owned<VpnConfig>(orgId).LongCountAsync(c => c.RevokedAt == null, cancellationToken);
    }
}
