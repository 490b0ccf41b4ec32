using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Client;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Contracts.Gateways;
using Gatehouse.Contracts.Orgs;
using Gatehouse.Contracts.Pki;

namespace Gatehouse.Server.Tests.Sdk;

/// <summary>The .NET client's gateway, PKI and gateway-agent calls against the real server (snake_case on the wire).</summary>
public sealed class SdkGatewayTests(SharedServer shared) : IDisposable
{
    private readonly GatehouseClient _root = SdkHarness.Client(shared.Server, GatehouseServer.RootKey);

    private GatehouseServer Server => shared.Server;

    public void Dispose() => _root.Dispose();

    private async Task<string> OrgAsync() => (await _root.Organizations.CreateAsync(new CreateOrgRequest { Name = "SDK GW " + Guid.NewGuid().ToString("N")[..8] })).Id;

    private GatewayAgentClient Agent(string token) =>
        new(new GatehouseClientOptions { BaseUrl = Server.BaseAddress.ToString(), InitialRetryDelay = TimeSpan.FromMilliseconds(10) }, token);

    private static CreateGatewayRequest NewGateway(string name, string hostname = "vpn.sdk.example.org") =>
        new() { Name = name, Description = "sdk", Hostname = hostname, Port = 1194, Protocol = "udp", VpnType = "openvpn" };

    [Fact]
    public async Task Gateways_networks_and_access_rules_round_trip()
    {
        var orgId = await OrgAsync();
        var created = await _root.Gateways.CreateAsync(orgId, NewGateway("edge-1"));
        created.Token.ShouldStartWith("gkg_");
        created.VpnType.ShouldBe("openvpn");
        created.Status.ShouldBe("pending");

        (await _root.Gateways.GetAsync(orgId, created.Id)).Hostname.ShouldBe("vpn.sdk.example.org");
        (await _root.Gateways.ListAsync(orgId)).Items.Single().Id.ShouldBe(created.Id);
        (await _root.Gateways.UpdateAsync(orgId, created.Id, new UpdateGatewayRequest { Description = "moved", Port = 1195 })).Port.ShouldBe(1195);
        var rotated = await _root.Gateways.RotateTokenAsync(orgId, created.Id);
        rotated.Token.ShouldStartWith("gkg_");
        rotated.Token.ShouldNotBe(created.Token);

        var network = await _root.Gateways.CreateNetworkAsync(orgId, new NetworkRequest { Name = "lan", Cidr = "10.60.0.0/16", GatewayIds = [created.Id] });
        network.GatewayIds.ShouldBe([created.Id]);
        (await _root.Gateways.GetNetworkAsync(orgId, network.Id)).Cidr.ShouldBe("10.60.0.0/16");
        (await _root.Gateways.ListNetworksAsync(orgId)).Items.Single().Id.ShouldBe(network.Id);
        (await _root.Gateways.UpdateNetworkAsync(orgId, network.Id, new NetworkRequest { Name = "lan-2", Cidr = "10.61.0.0/16", GatewayIds = [created.Id] })).Name.ShouldBe("lan-2");

        var rule = await _root.Gateways.CreateAccessRuleAsync(orgId,
            new AccessRuleRequest { Name = "ssh", Subjects = ["*"], NetworkId = network.Id, Ports = ["22"], Protocol = "tcp", Action = "allow", Priority = 10 });
        rule.NetworkId.ShouldBe(network.Id);
        (await _root.Gateways.GetAccessRuleAsync(orgId, rule.Id)).Ports.ShouldBe(["22"]);
        (await _root.Gateways.ListAccessRulesAsync(orgId)).Items.Single().Id.ShouldBe(rule.Id);
        (await _root.Gateways.UpdateAccessRuleAsync(orgId, rule.Id,
            new AccessRuleRequest { Name = "ssh", Subjects = ["*"], Cidr = "10.61.1.0/24", Action = "deny", Priority = 5 })).Action.ShouldBe("deny");

        var reader = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "reader", Permissions = ["gateways:read"] });
        using var readerClient = SdkHarness.Client(Server, reader.Key);
        (await readerClient.Gateways.ListAvailableAsync(orgId)).Items.Select(g => g.Id).ShouldBe([created.Id]);

        (await _root.Gateways.DeleteAccessRuleAsync(orgId, rule.Id)).Id.ShouldBe(rule.Id);
        (await _root.Gateways.DeleteNetworkAsync(orgId, network.Id)).Id.ShouldBe(network.Id);
        (await _root.Gateways.DeleteAsync(orgId, created.Id)).Id.ShouldBe(created.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Gateways.GetAsync(orgId, created.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Gateways.GetNetworkAsync(orgId, network.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Gateways.GetAccessRuleAsync(orgId, rule.Id));
    }

    [Fact]
    public async Task Gateway_errors_are_typed_403_422_and_another_organizations_gateway_is_404_and_unchanged()
    {
        var orgId = await OrgAsync();
        var invalid = await Should.ThrowAsync<GatehouseValidationException>(() =>
            _root.Gateways.CreateAsync(orgId, NewGateway("bad") with { Protocol = "sctp" }));
        invalid.Fields.Select(f => f.Field).ShouldContain("protocol");
        await Should.ThrowAsync<GatehouseValidationException>(() =>
            _root.Gateways.CreateNetworkAsync(orgId, new NetworkRequest { Name = "bad", Cidr = "10.0.0.0/33" }));

        var reader = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "reader", Permissions = ["gateways:read"] });
        using var readerClient = SdkHarness.Client(Server, reader.Key);
        await Should.ThrowAsync<GatehouseForbiddenException>(() => readerClient.Gateways.ListAsync(orgId));
        await Should.ThrowAsync<GatehouseForbiddenException>(() => readerClient.Gateways.CreateAsync(orgId, NewGateway("nope")));

        var orgB = await OrgAsync();
        var gatewayOfB = await _root.Gateways.CreateAsync(orgB, NewGateway("b-edge"));
        var networkOfB = await _root.Gateways.CreateNetworkAsync(orgB, new NetworkRequest { Name = "b-lan", Cidr = "10.70.0.0/16" });
        var adminOfA = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "a-admin", Permissions = ["gateways:write", "gateways:read"] });
        using var clientA = SdkHarness.Client(Server, adminOfA.Key);

        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.GetAsync(orgB, gatewayOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.UpdateAsync(orgB, gatewayOfB.Id, new UpdateGatewayRequest { Name = "taken" }));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.RotateTokenAsync(orgB, gatewayOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.DeleteAsync(orgB, gatewayOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.GetAsync(orgId, gatewayOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.DeleteAsync(orgId, gatewayOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.DeleteNetworkAsync(orgId, networkOfB.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientA.Gateways.ListAvailableAsync(orgB));

        // Nothing changed at B: the gateway keeps its name and token, the network stays.
        (await _root.Gateways.GetAsync(orgB, gatewayOfB.Id)).Name.ShouldBe("b-edge");
        (await _root.Gateways.GetNetworkAsync(orgB, networkOfB.Id)).Name.ShouldBe("b-lan");
        using var agentOfB = Agent(gatewayOfB.Token);
        (await agentOfB.HeartbeatAsync()).Status.ShouldBe("online");
    }

    [Fact]
    public async Task The_agent_client_heartbeats_provisions_verifies_connects_and_polls_rules_with_its_token()
    {
        var orgId = await OrgAsync();
        var gateway = await _root.Gateways.CreateAsync(orgId, NewGateway("agent", "gw.sdk.example.org"));
        using var agent = Agent(gateway.Token);

        var beat = await agent.HeartbeatAsync(new HeartbeatRequest { Version = "2.0.0", ConnectedClients = 1, Load = 0.5 });
        beat.Status.ShouldBe("online");
        beat.NextHeartbeatSeconds.ShouldBeGreaterThan(0);
        var seen = await _root.Gateways.GetAsync(orgId, gateway.Id);
        seen.AgentVersion.ShouldBe("2.0.0");
        seen.ConnectedClients.ShouldBe(1);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=gw.sdk.example.org", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var provisioned = await agent.ProvisionAsync(new ProvisionRequest { Csr = csr });
        provisioned.Certificate.ShouldStartWith("-----BEGIN CERTIFICATE-----");
        provisioned.Ca.Trim().ShouldBe((await _root.Pki.GetCaPemAsync(orgId)).Trim(), StringCompareShould.IgnoreLineEndings);
        var foreign = new CertificateRequest("CN=bank.example.com", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        await Should.ThrowAsync<GatehouseValidationException>(() => agent.ProvisionAsync(new ProvisionRequest { Csr = foreign }));

        var verdict = await agent.VerifyAsync(new VerifyClientRequest { Serial = "0ABCDEF1" });
        verdict.Allowed.ShouldBeFalse();
        verdict.Reason.ShouldBe("unknown_client");
        (await agent.ClientRulesAsync(new ClientRulesRequest { Serial = "0ABCDEF1" })).Rules.ShouldBeEmpty();
        var rules = await agent.AllRulesAsync();
        rules.Version.ShouldNotBeNullOrEmpty();
        (await agent.AllRulesAsync()).Version.ShouldBe(rules.Version);

        var connected = await agent.ConnectAsync(new ConnectionRequest { Serial = "0ABCDEF1", ClientIp = "203.0.113.7", VirtualIp = "10.8.0.9" });
        connected.GatewayId.ShouldBe(gateway.Id);
        connected.VirtualIp.ShouldBe("10.8.0.9");
        connected.DisconnectedAt.ShouldBeNull();
        var disconnected = await agent.DisconnectAsync(new ConnectionRequest { Serial = "0ABCDEF1", ClientIp = "203.0.113.7", BytesIn = 10, BytesOut = 20 });
        disconnected.Id.ShouldBe(connected.Id);
        disconnected.BytesOut.ShouldBe(20);
        disconnected.DisconnectReason.ShouldBe("reported");
        await Should.ThrowAsync<GatehouseNotFoundException>(() => agent.DisconnectAsync(new ConnectionRequest { Serial = "0ABCDEF1", ClientIp = "203.0.113.7" }));
        var invalid = await Should.ThrowAsync<GatehouseValidationException>(() => agent.ConnectAsync(new ConnectionRequest { Serial = "0ABCDEF1", ClientIp = "not-an-ip" }));
        invalid.Fields.Select(f => f.Field).ShouldContain("client_ip");

        // A rotated token stops at once; a made-up one never worked; an API key is not a gateway (403).
        var rotated = await _root.Gateways.RotateTokenAsync(orgId, gateway.Id);
        await Should.ThrowAsync<GatehouseAuthenticationException>(() => agent.HeartbeatAsync());
        using var rotatedAgent = Agent(rotated.Token);
        (await rotatedAgent.HeartbeatAsync()).Status.ShouldBe("online");
        var apiKey = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "not-a-gateway", Permissions = ["gateways:write"] });
        using var impostor = new GatewayAgentClient(new GatehouseClientOptions { BaseUrl = Server.BaseAddress.ToString() }, apiKey.Key);
        (await Should.ThrowAsync<GatehouseForbiddenException>(() => impostor.HeartbeatAsync())).Code.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task Pki_publishes_the_ca_and_crl_checks_serials_and_revokes_with_typed_errors()
    {
        var orgId = await OrgAsync();
        var gateway = await _root.Gateways.CreateAsync(orgId, NewGateway("pki", "pki.sdk.example.org"));
        using var agent = Agent(gateway.Token);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var provisioned = await agent.ProvisionAsync(new ProvisionRequest { Csr = new CertificateRequest("CN=pki.sdk.example.org", key, HashAlgorithmName.SHA256).CreateSigningRequestPem() });

        var anonymous = SdkHarness.Client(Server, null);
        using var _ = anonymous;
        (await anonymous.Pki.GetCaPemAsync(orgId)).ShouldStartWith("-----BEGIN CERTIFICATE-----");
        CertificateRevocationListBuilder.Load(await anonymous.Pki.GetCrlAsync(orgId), out var number);
        number.ShouldBe(1);
        (await anonymous.Pki.GetCrlPemAsync(orgId)).ShouldStartWith("-----BEGIN X509 CRL-----");
        var status = await anonymous.Pki.CheckAsync(orgId, provisioned.Serial);
        status.Status.ShouldBe("good");
        (await anonymous.Pki.CheckAsync(orgId, "0ABC")).Status.ShouldBe("unknown");
        await Should.ThrowAsync<GatehouseNotFoundException>(() => anonymous.Pki.GetCrlAsync("no-such-org"));
        await Should.ThrowAsync<GatehouseApiException>(() => anonymous.Pki.CheckAsync(orgId, "not-hex"));

        // Another organization's PKI administrator: 404, and the certificate stays good.
        var orgB = await OrgAsync();
        var adminOfB = await _root.ApiKeys.CreateAsync(orgB, new CreateApiKeyRequest { Name = "b-pki", Permissions = ["pki:write"] });
        using var clientB = SdkHarness.Client(Server, adminOfB.Key);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "superseded" }));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.Pki.RevokeAsync(orgB, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "superseded" }));
        var reader = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "pki-reader", Permissions = ["pki:read"] });
        using var readerClient = SdkHarness.Client(Server, reader.Key);
        await Should.ThrowAsync<GatehouseForbiddenException>(() => readerClient.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "superseded" }));
        var badReason = await Should.ThrowAsync<GatehouseValidationException>(() => _root.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "bored" }));
        badReason.Fields.Select(f => f.Field).ShouldContain("reason");
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = "ABCDEF", Reason = "superseded" }));
        (await anonymous.Pki.CheckAsync(orgId, provisioned.Serial)).Status.ShouldBe("good");

        var revoked = await _root.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "key_compromise" });
        revoked.Status.ShouldBe("revoked");
        revoked.CrlNumber.ShouldBe(2);
        var after = await anonymous.Pki.CheckAsync(orgId, provisioned.Serial);
        after.Status.ShouldBe("revoked");
        after.Reason.ShouldBe("key_compromise");
        after.RevokedAt.ShouldNotBeNull();
        CertificateRevocationListBuilder.Load(await anonymous.Pki.GetCrlAsync(orgId), out number);
        number.ShouldBe(2);
        await Should.ThrowAsync<GatehouseConflictException>(() => _root.Pki.RevokeAsync(orgId, new RevokeCertificateRequest { Serial = provisioned.Serial, Reason = "superseded" }));
    }

    [Fact]
    public async Task Vpn_configs_mesh_hubs_and_the_geo_fence_round_trip_with_typed_errors()
    {
        var orgId = await OrgAsync();
        var gateway = await _root.Gateways.CreateAsync(orgId, new CreateGatewayRequest
        {
            Name = "wg",
            Hostname = "wg.sdk.example.org",
            Port = 51820,
            Protocol = "udp",
            VpnType = "wireguard",
            PublicKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        });
        var network = await _root.Gateways.CreateNetworkAsync(orgId, new NetworkRequest { Name = "hq", Cidr = "10.80.0.0/16", GatewayIds = [gateway.Id] });

        var hub = await _root.MeshHubs.CreateAsync(orgId, new MeshHubRequest { Name = "core", GatewayId = gateway.Id, NetworkIds = [network.Id] });
        hub.NetworkIds.ShouldBe([network.Id]);
        (await _root.MeshHubs.GetAsync(orgId, hub.Id)).Name.ShouldBe("core");
        (await _root.MeshHubs.ListAsync(orgId)).Items.Single().Id.ShouldBe(hub.Id);
        (await _root.MeshHubs.ListAvailableAsync(orgId)).Items.Select(h => h.Id).ShouldContain(hub.Id);
        (await _root.MeshHubs.UpdateAsync(orgId, hub.Id, new MeshHubRequest { Name = "core-2", Description = "HQ", GatewayId = gateway.Id, NetworkIds = [network.Id] }))
            .Description.ShouldBe("HQ");
        var spoke = await _root.MeshHubs.AddSpokeAsync(orgId, hub.Id, new MeshSpokeRequest { Name = "site-a", LocalCidrs = ["192.168.50.0/24"] });
        spoke.DownloadUrl.ShouldContain(spoke.ConfigId);
        (await _root.VpnConfigs.DownloadAsync(orgId, spoke.ConfigId)).ShouldContain("[Interface]");
        await Should.ThrowAsync<GatehouseApiException>(() => _root.VpnConfigs.DownloadAsync(orgId, spoke.ConfigId));
        var listed = await _root.VpnConfigs.ListAsync(orgId, new VpnConfigListQuery { GatewayId = gateway.Id });
        listed.Items.Single().Id.ShouldBe(spoke.ConfigId);
        (await _root.VpnConfigs.ListAsync(orgId, new VpnConfigListQuery { GatewayId = "gw_none" })).Items.ShouldBeEmpty();
        (await _root.VpnConfigs.RevokeAsync(orgId, spoke.ConfigId, new RevokeConfigRequest { Reason = "superseded" })).Status.ShouldBe("revoked");

        (await _root.VpnConfigs.GetSettingsAsync(orgId)).RequireDevice.ShouldBeFalse();
        (await _root.VpnConfigs.PutSettingsAsync(orgId, new ConfigSettingsRequest { RequireDevice = true })).RequireDevice.ShouldBeTrue();

        (await _root.GeoFence.GetAsync(orgId)).Mode.ShouldBe("off");
        (await _root.GeoFence.PutAsync(orgId, new GeoFenceRequest { Mode = "deny", Countries = ["de"] })).Countries.ShouldBe(["DE"]);
        var decision = await _root.GeoFence.CheckAsync(orgId, new GeoFenceCheckRequest { Ip = "10.0.0.1" });
        decision.Ip.ShouldBe("10.0.0.1");
        decision.Mode.ShouldBe("deny");
        var invalid = await Should.ThrowAsync<GatehouseValidationException>(() => _root.GeoFence.PutAsync(orgId, new GeoFenceRequest { Mode = "block" }));
        invalid.Fields.Select(f => f.Field).ShouldBe(["mode"]);

        // Another organization's administrator: 404 everywhere, and nothing changes here.
        var orgB = await OrgAsync();
        var adminOfB = await _root.ApiKeys.CreateAsync(orgB, new CreateApiKeyRequest { Name = "b-admin", Permissions = ["gateways:write", "configs:read"] });
        using var clientB = SdkHarness.Client(Server, adminOfB.Key);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.MeshHubs.DeleteAsync(orgId, hub.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.MeshHubs.GetAsync(orgB, hub.Id));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.GeoFence.PutAsync(orgId, new GeoFenceRequest { Mode = "off" }));
        await Should.ThrowAsync<GatehouseNotFoundException>(() => clientB.VpnConfigs.ListAsync(orgId));
        var reader = await _root.ApiKeys.CreateAsync(orgId, new CreateApiKeyRequest { Name = "reader", Permissions = ["gateways:read"] });
        using var readerClient = SdkHarness.Client(Server, reader.Key);
        await Should.ThrowAsync<GatehouseForbiddenException>(() => readerClient.GeoFence.GetAsync(orgId));
        (await _root.GeoFence.GetAsync(orgId)).Mode.ShouldBe("deny");
        (await _root.MeshHubs.DeleteAsync(orgId, hub.Id)).Id.ShouldBe(hub.Id);
        await Should.ThrowAsync<GatehouseNotFoundException>(() => _root.MeshHubs.GetAsync(orgId, hub.Id));
    }
}
