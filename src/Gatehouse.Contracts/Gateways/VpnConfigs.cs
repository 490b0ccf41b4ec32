using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace Gatehouse.Contracts.Gateways;

/// <summary>
/// Ask for a VPN config to a gateway. <c>protocol</c> is <c>openvpn</c> or <c>wireguard</c> and must
/// match the gateway's <c>vpn_type</c>. For WireGuard, <c>public_key</c> (base64, 32 bytes) keeps the
/// private key on the client: the server never sees it. An API key with <c>configs:write</c> names
/// the user in <c>user_id</c>; a user session generates its own.
/// </summary>
public sealed record GenerateConfigRequest
{
    [Required, JsonPropertyName("gateway_id")]
    public string? GatewayId { get; init; }

    [Required]
    public string? Protocol { get; init; }

    [JsonPropertyName("public_key")]
    public string? PublicKey { get; init; }

    [JsonPropertyName("user_id")]
    public string? UserId { get; init; }
}

/// <summary>Where to fetch the config, once, before <c>expires_at</c>.</summary>
public sealed record GeneratedConfigView(string ConfigId, string DownloadUrl, DateTime ExpiresAt);

/// <summary>
/// A VPN config as its owner and administrators see it (never its keys). <c>status</c>:
/// <c>pending</c> (not downloaded yet), <c>active</c>, <c>expired</c> (not downloaded in time, or its
/// certificate lapsed) or <c>revoked</c>.
/// </summary>
public sealed record VpnConfigView(
    string Id, string UserId, string GatewayId, string Protocol, string Status, string? DeviceId, string? HubId, string? Address, string? PublicKey,
    string? Serial, DateTime CreatedAt, DateTime ExpiresAt, DateTime? DownloadedAt, DateTime? CertificateExpiresAt, DateTime? RevokedAt, string? RevocationReason);

/// <summary>Why an administrator revokes a config (default <c>unspecified</c>; the RFC 5280 names of <c>/admin/pki/revoke</c>).</summary>
public sealed record RevokeConfigRequest
{
    public string? Reason { get; init; }
}

/// <summary>An organization's VPN config policy.</summary>
public sealed record ConfigSettingsRequest
{
    /// <summary>Configs only for user sessions that passed device verification; the config is bound to that device.</summary>
    [Required, JsonPropertyName("require_device")]
    public bool? RequireDevice { get; init; }
}

public sealed record ConfigSettingsView(bool RequireDevice, DateTime? UpdatedAt);

/// <summary>
/// A mesh hub: a WireGuard gateway that joins the organization's networks site to site, hub and
/// spoke. <c>network_ids</c> are the networks the hub routes between its spokes.
/// </summary>
public sealed record MeshHubRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [StringLength(1000)]
    public string? Description { get; init; }

    [Required, JsonPropertyName("gateway_id")]
    public string? GatewayId { get; init; }

    [JsonPropertyName("network_ids")]
    public List<string>? NetworkIds { get; init; }
}

public sealed record MeshHubView(
    string Id, string Name, string? Description, string GatewayId, IReadOnlyList<string> NetworkIds, IReadOnlyList<string> Cidrs, string Endpoint, string Status,
    int Spokes, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>A site joining a hub: its own subnets (<c>local_cidrs</c>) and, optionally, its own WireGuard public key.</summary>
public sealed record MeshSpokeRequest
{
    [Required, StringLength(100, MinimumLength = 1)]
    public string? Name { get; init; }

    [JsonPropertyName("local_cidrs")]
    public List<string>? LocalCidrs { get; init; }

    [JsonPropertyName("public_key")]
    public string? PublicKey { get; init; }
}

/// <summary>Geo-fencing: <c>off</c>, <c>allow</c> (only the listed countries) or <c>deny</c> (all but them); ISO 3166-1 alpha-2 codes.</summary>
public sealed record GeoFenceRequest
{
    [Required]
    public string? Mode { get; init; }

    public List<string>? Countries { get; init; }
}

public sealed record GeoFenceView(string Mode, IReadOnlyList<string> Countries, string Source, DateTime? UpdatedAt);

public sealed record GeoFenceCheckRequest
{
    [Required]
    public string? Ip { get; init; }
}

/// <summary>What the fence decides for one address: the country it maps to (null when unknown) and whether it passes.</summary>
public sealed record GeoFenceCheckView(string Ip, string? Country, bool Allowed, string Mode, string? Reason);
