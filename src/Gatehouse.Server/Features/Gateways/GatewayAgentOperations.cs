using System.Net;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Devices;
using Gatehouse.Server.Features.Pki;
using Gatehouse.Server.Features.Users;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>
/// The gateway agent's API (<c>X-Gateway-Token</c>): heartbeat, client verification, connection
/// reports, its server certificate, and the rules it enforces. Only a gateway's own token may call
/// these; the gateway is the one the token belongs to.
/// </summary>
public static class GatewayAgentOperations
{
    public static async Task<Results<ApiOk<HeartbeatView>, ApiError>> Heartbeat(
        string orgId, HeartbeatRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, GatewayOptions options, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: true, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        var validation = new Validation().Optional("version", request.Version, 64);
        if (request.ConnectedClients is < 0)
        {
            validation.Add("connected_clients", "must not be negative");
        }

        if (request.Load is < 0 || (request.Load is { } load && !double.IsFinite(load)))
        {
            validation.Add("load", "must be a non-negative number");
        }

        if (request.PublicKey is not null && !VpnConfigFiles.IsWireGuardKey(request.PublicKey))
        {
            validation.Add("public_key", "must be a WireGuard public key: 32 bytes in base64 (44 characters)");
        }

        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var cameOnline = gateway.Status != GatewayStatus.Online;
        gateway.Status = GatewayStatus.Online;
        gateway.LastHeartbeat = clock.GetUtcNow().UtcDateTime;
        gateway.AgentVersion = request.Version ?? gateway.AgentVersion;
        gateway.ConnectedClients = request.ConnectedClients ?? gateway.ConnectedClients;
        gateway.Load = request.Load ?? gateway.Load;
        gateway.PublicKey = request.PublicKey ?? gateway.PublicKey;
        if (cameOnline)
        {
            changes.Record(GatewayActions.Online, orgId, gateway.Id, new { gateway.Name, version = gateway.AgentVersion });
        }

        await changes.CommitAsync(cancellationToken);
        return new ApiOk<HeartbeatView>(new HeartbeatView(GatewayStatus.Online, options.HeartbeatIntervalSeconds));
    }

    public static async Task<Results<ApiOk<ProvisionView>, ApiError>> Provision(
        string orgId, ProvisionRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities,
        PkiOptions pki, CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        var validation = new Validation().Required("csr", request.Csr, 16_384);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        var parsed = SigningRequests.Read(request.Csr!);
        if (parsed.Error is not null)
        {
            return ApiError.Validation("csr", parsed.Error);
        }

        // The CSR policy: a gateway may ask only for its own hostname (as CN and as SANs).
        var requested = parsed.DnsNames.Select(n => n.ToLowerInvariant()).Concat(parsed.IpAddresses.Select(ip => ip.ToString()))
            .Concat(parsed.CommonName is { Length: > 0 } cn ? [cn.ToLowerInvariant()] : []).Distinct().ToList();
        var foreign = requested.Where(name => name != gateway.Hostname).ToList();
        if (foreign.Count > 0)
        {
            return ApiError.Validation("csr", $"asks for names other than the gateway's hostname {gateway.Hostname}: {string.Join(", ", foreign.Take(5))}");
        }

        var isAddress = IPAddress.TryParse(gateway.Hostname, out var address);
        var signed = await changes.RunAsync(async ct =>
        {
            var issued = await authorities.IssueAsync(db, orgId, parsed.PublicKey!, gateway.Hostname, CertificatePurpose.Server, TimeSpan.FromDays(pki.ServerLifetimeDays),
                gateway.Id, isAddress ? null : [gateway.Hostname], isAddress ? [address!] : null, ct);
            changes.Record(PkiActions.Issue, orgId, issued.Serial, new { kind = "server", gatewayId = gateway.Id, subject = gateway.Hostname, notAfter = issued.NotAfter });
            return issued;
        }, cancellationToken);
        return new ApiOk<ProvisionView>(new ProvisionView(signed.CertificatePem, signed.CaPem, signed.Serial, signed.NotAfter));
    }

    public static async Task<Results<ApiOk<VerifyClientView>, ApiError>> Verify(
        string orgId, VerifyClientRequest request, HttpContext httpContext, GatehouseDb db, OrgCertificateAuthorities authorities, UserLookup users,
        DeviceVerification devices, VpnPolicy policy, GatewayMetrics metrics, CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        if (ClientKeyError(request.Serial, request.PublicKey, request.UserId) is { } invalid)
        {
            return invalid;
        }

        IPAddress? clientIp = null;
        if (request.ClientIp is not null && (request.ClientIp.Length > 64 || !IPAddress.TryParse(request.ClientIp.Trim(), out clientIp)))
        {
            return ApiError.Validation("client_ip", "must be an IP address");
        }

        var client = await IdentifyAsync(db, orgId, request.Serial, request.PublicKey, authorities, users, devices, cancellationToken);
        VerifyClientView answer;
        if (client.Refusal is { } refusal)
        {
            answer = new VerifyClientView(false, refusal, client.User?.Id);
        }
        else if (clientIp is not null && !(await policy.GeoAsync(orgId, clientIp, cancellationToken)).Allowed)
        {
            answer = new VerifyClientView(false, "geo_fence", client.User?.Id);
        }
        else if (client.Spoke is { } spoke)
        {
            // A mesh spoke connects to its hub's gateway only.
            var atHub = spoke.GatewayId == gateway.Id;
            answer = new VerifyClientView(atHub, atHub ? null : "no_rule", null);
        }
        else if (request.UserId is { } claimed && claimed != client.User!.Id)
        {
            answer = new VerifyClientView(false, "user_mismatch", client.User.Id);
        }
        else
        {
            var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
            var allowed = GatewayRules.ForClient(rules, networks, gateway.Id, client.User!).Any(r => r.Action == AccessPolicy.Allow);
            answer = new VerifyClientView(allowed, allowed ? null : "no_rule", client.User!.Id);
        }

        metrics.CountVerify(answer.Allowed ? "allowed" : answer.Reason!);
        return new ApiOk<VerifyClientView>(answer);
    }

    public static async Task<Results<ApiOk<ClientRulesView>, ApiError>> ClientRules(
        string orgId, ClientRulesRequest request, HttpContext httpContext, GatehouseDb db, OrgCertificateAuthorities authorities, UserLookup users,
        DeviceVerification devices, CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        if (ClientKeyError(request.Serial, request.PublicKey) is { } invalid)
        {
            return invalid;
        }

        var client = await IdentifyAsync(db, orgId, request.Serial, request.PublicKey, authorities, users, devices, cancellationToken);
        List<EnforcedRule> enforced = [];
        if (client.Refusal is null && client.Spoke is { } spoke)
        {
            if (spoke.GatewayId == gateway.Id)
            {
                var hub = await db.Owned<MeshHub>(orgId).AsNoTracking().FirstOrDefaultAsync(h => h.Id == spoke.HubId, cancellationToken);
                var networks = await db.Owned<GatewayNetwork>(orgId).AsNoTracking().ToDictionaryAsync(n => n.Id, StringComparer.Ordinal, cancellationToken);
                var others = await MeshHubOperations.SpokeCidrsAsync(db, orgId, spoke.HubId!, spoke.Id, cancellationToken);
                enforced = [.. MeshHubOperations.RoutedCidrs(hub, networks, others).Select(cidr => new EnforcedRule(cidr, [AccessPolicy.Everyone], "any", AccessPolicy.Allow))];
            }
        }
        else if (client.Refusal is null)
        {
            var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
            enforced = GatewayRules.ForClient(rules, networks, gateway.Id, client.User!);
        }

        // A refused client (revoked, expired, disabled, unknown) is subject to nothing: everything is denied.
        return new ApiOk<ClientRulesView>(new ClientRulesView(AccessPolicy.VersionOf(enforced), client.User?.Id, enforced));
    }

    public static async Task<Results<ApiOk<AllRulesView>, ApiError>> AllRules(
        string orgId, AllRulesRequest request, HttpContext httpContext, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        var (rules, networks) = await GatewayRules.LoadAsync(db, orgId, cancellationToken);
        var enforced = GatewayRules.ForGateway(rules, networks, gateway.Id);
        return new ApiOk<AllRulesView>(new AllRulesView(AccessPolicy.VersionOf(enforced), enforced));
    }

    public static async Task<Results<ApiCreated<ConnectionView>, ApiError>> Connect(
        string orgId, ConnectionRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, OrgCertificateAuthorities authorities,
        UserLookup users, DeviceVerification devices, GatewayMetrics metrics, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        if (ConnectionError(request) is { } invalid)
        {
            return invalid;
        }

        var client = await IdentifyAsync(db, orgId, request.Serial, request.PublicKey, authorities, users, devices, cancellationToken);
        var connection = new GatewayConnection
        {
            Id = Ids.New("conn", clock.GetUtcNow()),
            OrgId = orgId,
            GatewayId = gateway.Id,
            UserId = client.User?.Id,
            ClientKey = ClientKeyOf(request.Serial, request.PublicKey),
            ClientIp = request.ClientIp!.Trim(),
            VirtualIp = request.VirtualIp?.Trim(),
            BytesIn = request.BytesIn ?? 0,
            BytesOut = request.BytesOut ?? 0,
            ConnectedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Add(connection);
        changes.Record(GatewayActions.ClientConnected, orgId, connection.Id,
            new { gatewayId = gateway.Id, userId = connection.UserId, clientIp = connection.ClientIp, virtualIp = connection.VirtualIp });
        await changes.CommitAsync(cancellationToken);
        metrics.CountConnection("connected");
        return new ApiCreated<ConnectionView>(View(connection));
    }

    public static async Task<Results<ApiOk<ConnectionView>, ApiError>> Disconnect(
        string orgId, ConnectionRequest request, HttpContext httpContext, GatehouseDb db, ChangeSet changes, GatewayMetrics metrics, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await OwnGatewayAsync(httpContext, db, orgId, tracked: false, cancellationToken) is not { } gateway)
        {
            return NotAGateway();
        }

        if (ConnectionError(request) is { } invalid)
        {
            return invalid;
        }

        var key = ClientKeyOf(request.Serial, request.PublicKey);
        var connection = await db.Owned<GatewayConnection>(orgId)
            .Where(c => c.GatewayId == gateway.Id && c.ClientKey == key && c.DisconnectedAt == null)
            .OrderByDescending(c => c.ConnectedAt).FirstOrDefaultAsync(cancellationToken);
        if (connection is null)
        {
            return ApiError.NotFound("open connection");
        }

        connection.DisconnectedAt = clock.GetUtcNow().UtcDateTime;
        connection.DisconnectReason = DisconnectReasons.Reported;
        connection.BytesIn = request.BytesIn ?? connection.BytesIn;
        connection.BytesOut = request.BytesOut ?? connection.BytesOut;
        changes.Record(GatewayActions.ClientDisconnected, orgId, connection.Id,
            new { gatewayId = gateway.Id, userId = connection.UserId, bytesIn = connection.BytesIn, bytesOut = connection.BytesOut, reason = connection.DisconnectReason });
        await changes.CommitAsync(cancellationToken);
        metrics.CountConnection("disconnected");
        return new ApiOk<ConnectionView>(View(connection));
    }

    private sealed record Identified(UserSummary? User, string? Refusal, VpnConfig? Spoke = null);

    /// <summary>
    /// Who a client is, and why it is refused if it is: unknown, revoked, expired, its user disabled
    /// or gone, or the device its config was bound to revoked. A mesh spoke is identified by its config.
    /// </summary>
    private static async Task<Identified> IdentifyAsync(
        GatehouseDb db, string orgId, string? serial, string? publicKey, OrgCertificateAuthorities authorities, UserLookup users, DeviceVerification devices,
        CancellationToken cancellationToken)
    {
        VpnConfig? config;
        UserSummary? user;
        if (serial is not null && Serials.Normalize(serial) is { } normalized)
        {
            var standing = await authorities.StandingAsync(db, orgId, normalized, cancellationToken);
            if (standing is null || standing.Kind != "client" || standing.OwnerId is null)
            {
                return new Identified(null, "unknown_client");
            }

            user = await users.FindAsync(orgId, standing.OwnerId, cancellationToken);
            if (standing.Revoked || standing.Expired || user is null || user.Disabled)
            {
                return new Identified(user, standing.Revoked ? "revoked" : standing.Expired ? "expired" : "user_disabled");
            }

            config = await db.Owned<VpnConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Serial == normalized, cancellationToken);
        }
        else
        {
            // A WireGuard key is known once its config was downloaded (a client's own key: once it fetched the file naming the peer).
            var key = publicKey?.Trim();
            config = key is null ? null
                : await db.Owned<VpnConfig>(orgId).AsNoTracking().Where(c => c.PublicKey == key && c.DownloadedAt != null)
                    .OrderBy(c => c.RevokedAt == null ? 0 : 1).ThenByDescending(c => c.CreatedAt).FirstOrDefaultAsync(cancellationToken);
            if (config is null)
            {
                return new Identified(null, "unknown_client");
            }

            if (config.HubId is not null)
            {
                return config.RevokedAt is not null ? new Identified(null, "revoked") : new Identified(null, null, config);
            }

            user = await users.FindAsync(orgId, config.UserId, cancellationToken);
            if (config.RevokedAt is not null || user is null || user.Disabled)
            {
                return new Identified(user, config.RevokedAt is not null ? "revoked" : "user_disabled");
            }
        }

        if (config?.DeviceId is { } deviceId && !await devices.IsActiveAsync(orgId, deviceId, cancellationToken))
        {
            return new Identified(user, "device_revoked");
        }

        return new Identified(user, null);
    }

    /// <summary>The client a gateway names: a certificate serial or a WireGuard public key (every problem named at once).</summary>
    private static Validation ClientKeyRules(string? serial, string? publicKey)
    {
        var validation = new Validation().Optional("serial", serial, 64).Optional("public_key", publicKey, 64);
        if (serial is null && publicKey is null)
        {
            validation.Add("serial", "give the client's certificate serial or its WireGuard public_key");
        }

        if (serial is { Length: <= 64 } && Serials.Normalize(serial) is null)
        {
            validation.Add("serial", "must be a certificate serial in hex");
        }

        if (publicKey is { Length: <= 64 } && !IsWireGuardKey(publicKey))
        {
            validation.Add("public_key", "must be a WireGuard public key: 32 bytes in base64 (44 characters)");
        }

        return validation;
    }

    private static ApiError? ClientKeyError(string? serial, string? publicKey, string? userId = null)
    {
        var validation = ClientKeyRules(serial, publicKey).Optional("user_id", userId, 64);
        return validation.IsValid ? null : validation.ToError();
    }

    private static bool IsWireGuardKey(string publicKey)
    {
        Span<byte> key = stackalloc byte[33];
        return publicKey.Length == 44 && Convert.TryFromBase64String(publicKey, key, out var written) && written == 32;
    }

    private static ApiError? ConnectionError(ConnectionRequest request)
    {
        var validation = ClientKeyRules(request.Serial, request.PublicKey).Optional("client_ip", request.ClientIp, 64).Optional("virtual_ip", request.VirtualIp, 64);
        if (request.ClientIp is null)
        {
            validation.Add("client_ip", "required");
        }
        else if (request.ClientIp.Length <= 64 && !IPAddress.TryParse(request.ClientIp.Trim(), out _))
        {
            validation.Add("client_ip", "must be an IP address");
        }

        if (request.VirtualIp is { Length: <= 64 } && !IPAddress.TryParse(request.VirtualIp.Trim(), out _))
        {
            validation.Add("virtual_ip", "must be an IP address");
        }

        if (request.BytesIn is < 0 || request.BytesOut is < 0)
        {
            validation.Add("bytes_in", "byte counts must not be negative");
        }

        return validation.IsValid ? null : validation.ToError();
    }

    private static string ClientKeyOf(string? serial, string? publicKey) =>
        serial is not null ? "serial:" + Serials.Normalize(serial) : "wg:" + publicKey!.Trim();

    /// <summary>The calling gateway, when the credential is a gateway token of this organization; null otherwise.</summary>
    private static async Task<Gateway?> OwnGatewayAsync(HttpContext httpContext, GatehouseDb db, string orgId, bool tracked, CancellationToken cancellationToken)
    {
        var principal = httpContext.RequirePrincipal();
        if (principal.Kind != ActorKind.Gateway)
        {
            return null;
        }

        var query = db.Owned<Gateway>(orgId);
        return await (tracked ? query : query.AsNoTracking()).FirstOrDefaultAsync(g => g.Id == principal.CredentialId, cancellationToken);
    }

    private static ApiError NotAGateway() =>
        new(ErrorCodes.Forbidden, "Only a gateway's own token (X-Gateway-Token) may call the gateway agent routes.",
            new Dictionary<string, object?> { ["required"] = "gateway_token" });

    private static ConnectionView View(GatewayConnection c) =>
        new(c.Id, c.GatewayId, c.UserId, c.ClientIp, c.VirtualIp, c.BytesIn, c.BytesOut, c.ConnectedAt, c.DisconnectedAt, c.DisconnectReason);
}
