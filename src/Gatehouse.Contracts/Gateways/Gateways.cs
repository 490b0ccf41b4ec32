using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Gatehouse.Contracts.Gateways;

/// <summary>Register a gateway; the answer carries its agent token, shown this once.</summary>
public sealed record CreateGatewayRequest
{
    /// <summary>Unique in the organization.</summary>
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    /// <summary>The name or address clients dial.</summary>
    [Required, StringLength(253, MinimumLength = 1)]
    public string? Hostname { get; init; }

    [Required, Range(1, 65535)]
    public int? Port { get; init; }

    /// <summary><c>udp</c> or <c>tcp</c>.</summary>
    [Required]
    public string? Protocol { get; init; }

    /// <summary><c>openvpn</c> or <c>wireguard</c>.</summary>
    [Required, JsonPropertyName("vpn_type")]
    public string? VpnType { get; init; }

    /// <summary>A WireGuard gateway's public key (base64, 32 bytes); the agent may also report it with its heartbeat.</summary>
    [JsonPropertyName("public_key")]
    public string? PublicKey { get; init; }

    /// <summary>An OpenVPN gateway's <c>tls-crypt</c> static key (PEM, "OpenVPN Static key V1"): write-only, kept encrypted, put into client configs.</summary>
    [JsonPropertyName("tls_crypt_key")]
    public string? TlsCryptKey { get; init; }
}

/// <summary>Fields to change (absent fields stay).</summary>
public sealed record UpdateGatewayRequest
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Hostname { get; init; }
    public int? Port { get; init; }
    public string? Protocol { get; init; }

    [JsonPropertyName("vpn_type")]
    public string? VpnType { get; init; }

    [JsonPropertyName("public_key")]
    public string? PublicKey { get; init; }

    /// <summary>A new tls-crypt key; an empty string removes it.</summary>
    [JsonPropertyName("tls_crypt_key")]
    public string? TlsCryptKey { get; init; }
}

/// <summary>A gateway as administrators see it (snake_case on the wire).</summary>
public sealed record GatewayView(
    string Id, string Name, string? Description, string Hostname, int Port, string Protocol, string VpnType, string Status,
    DateTime? LastHeartbeat, string? AgentVersion, int? ConnectedClients, double? Load, DateTime CreatedAt, DateTime UpdatedAt,
    string? PublicKey = null, bool HasTlsCrypt = false);

/// <summary>A gateway with its agent token: the answer of create and rotate-token, the only time the token is shown.</summary>
public sealed record GatewayWithToken(
    string Id, string Name, string? Description, string Hostname, int Port, string Protocol, string VpnType, string Status,
    DateTime? LastHeartbeat, DateTime CreatedAt, DateTime UpdatedAt, string Token);

/// <summary>A gateway as a user sees it in <c>GET /gateways</c>.</summary>
public sealed record AvailableGatewayView(
    string Id, string Name, string? Description, string Hostname, int Port, string Protocol, string VpnType, string Status, DateTime? LastHeartbeat);

/// <summary>A network behind gateways; CIDRs never overlap within an organization.</summary>
public sealed record NetworkRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    /// <summary>IPv4 or IPv6 CIDR, e.g. <c>10.1.0.0/16</c>.</summary>
    [Required, StringLength(64, MinimumLength = 1)]
    public string? Cidr { get; init; }

    [JsonPropertyName("gateway_ids")]
    public List<string>? GatewayIds { get; init; }
}

public sealed record NetworkView(string Id, string Name, string Cidr, IReadOnlyList<string> GatewayIds, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>
/// An access rule. <c>subjects</c>: <c>user:&lt;user id&gt;</c>, <c>group:&lt;role name&gt;</c> or <c>*</c>;
/// the target is <c>network_id</c> or <c>cidr</c> (exactly one); <c>ports</c>: <c>*</c>, <c>443</c> or
/// <c>8000-8100</c> (default <c>*</c>); <c>protocol</c>: <c>tcp</c>, <c>udp</c>, <c>icmp</c> or <c>any</c>
/// (default); <c>action</c>: <c>allow</c> or <c>deny</c>; <c>priority</c>: lower first (default 100).
/// </summary>
public sealed record AccessRuleRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [Required]
    public List<string>? Subjects { get; init; }

    [JsonPropertyName("network_id")]
    public string? NetworkId { get; init; }

    public string? Cidr { get; init; }
    public List<string>? Ports { get; init; }
    public string? Protocol { get; init; }

    [Required]
    public string? Action { get; init; }

    [Range(0, 100_000)]
    public int? Priority { get; init; }
}

public sealed record AccessRuleView(
    string Id, string Name, IReadOnlyList<string> Subjects, string? NetworkId, string? Cidr, IReadOnlyList<string> Ports, string Protocol, string Action,
    int Priority, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>What a gateway agent reports with each heartbeat.</summary>
public sealed record HeartbeatRequest
{
    [StringLength(64)]
    public string? Version { get; init; }

    [JsonPropertyName("connected_clients"), Range(0, 1_000_000)]
    public int? ConnectedClients { get; init; }

    [Range(0, 1_000_000)]
    public double? Load { get; init; }

    /// <summary>The gateway's WireGuard public key, when it has one: configs name it as their peer.</summary>
    [JsonPropertyName("public_key")]
    public string? PublicKey { get; init; }
}

public sealed record HeartbeatView(string Status, int NextHeartbeatSeconds);

/// <summary>A certificate signing request (PEM) for the gateway's server certificate.</summary>
public sealed record ProvisionRequest
{
    [Required, StringLength(16_384, MinimumLength = 1)]
    public string? Csr { get; init; }
}

public sealed record ProvisionView(string Certificate, string Ca, string Serial, DateTime ExpiresAt);

/// <summary>A connecting client: its certificate serial (OpenVPN) or WireGuard public key, and optionally the user it claims.</summary>
public sealed record VerifyClientRequest
{
    [StringLength(64)]
    public string? Serial { get; init; }

    [JsonPropertyName("public_key"), StringLength(64)]
    public string? PublicKey { get; init; }

    [JsonPropertyName("user_id"), StringLength(64)]
    public string? UserId { get; init; }

    /// <summary>The address the client connects from (an IPv4 or IPv6 address): the organization's geo-fence decides on it.</summary>
    [JsonPropertyName("client_ip")]
    public string? ClientIp { get; init; }
}

/// <summary>Whether the client may connect; <c>reason</c> when not: <c>unknown_client</c>, <c>revoked</c>, <c>expired</c>, <c>user_disabled</c>, <c>user_mismatch</c>, <c>no_rule</c>, <c>device_revoked</c>, <c>geo_fence</c>.</summary>
public sealed record VerifyClientView(bool Allowed, string? Reason, string? UserId);

/// <summary>The client whose rules a gateway asks for.</summary>
public sealed record ClientRulesRequest
{
    [StringLength(64)]
    public string? Serial { get; init; }

    [JsonPropertyName("public_key"), StringLength(64)]
    public string? PublicKey { get; init; }
}

/// <summary>No fields: every rule the calling gateway enforces.</summary>
public sealed record AllRulesRequest;

/// <summary>One rule as a gateway enforces it: the first match decides, in the order given; nothing matching is denied.</summary>
public sealed record EnforcedRule(string Cidr, IReadOnlyList<string> Ports, string Protocol, string Action);

/// <summary>One rule with the subjects it applies to (all-rules).</summary>
public sealed record EnforcedSubjectRule(IReadOnlyList<string> Subjects, string Cidr, IReadOnlyList<string> Ports, string Protocol, string Action, int Priority);

/// <summary><c>version</c> changes whenever the rules do: a gateway polls and refreshes only on a change.</summary>
public sealed record ClientRulesView(string Version, string? UserId, IReadOnlyList<EnforcedRule> Rules);

public sealed record AllRulesView(string Version, IReadOnlyList<EnforcedSubjectRule> Rules);

/// <summary>A client connected or disconnected.</summary>
public sealed record ConnectionRequest
{
    [StringLength(64)]
    public string? Serial { get; init; }

    [JsonPropertyName("public_key"), StringLength(64)]
    public string? PublicKey { get; init; }

    [Required, JsonPropertyName("client_ip"), StringLength(64, MinimumLength = 1)]
    public string? ClientIp { get; init; }

    [JsonPropertyName("virtual_ip"), StringLength(64)]
    public string? VirtualIp { get; init; }

    [JsonPropertyName("bytes_in"), Range(0, long.MaxValue)]
    public long? BytesIn { get; init; }

    [JsonPropertyName("bytes_out"), Range(0, long.MaxValue)]
    public long? BytesOut { get; init; }
}

public sealed record ConnectionView(
    string Id, string GatewayId, string? UserId, string ClientIp, string? VirtualIp, long BytesIn, long BytesOut, DateTime ConnectedAt, DateTime? DisconnectedAt,
    string? DisconnectReason);
