using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Devices;
using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Gateways;

public sealed class GeoFenceAndMeshTests(VpnServer fixture) : IClassFixture<VpnServer>
{
    private readonly GatehouseServer _server = fixture.Server;

    public static TheoryData<string, string?, string, bool> Decisions => new()
    {
        // ip, country per the test CSV, mode, allowed (allow-list [FR, US, CA] or deny-list of the same)
        { "10.1.2.3", "FR", "allow", true },
        { "10.2.0.1", "DE", "allow", false },
        { "203.0.113.9", "US", "allow", true },
        { "198.51.100.7", "GB", "allow", false },
        { "8.8.8.8", null, "allow", false },
        { "2001:db8:1::5", "CA", "allow", true },
        { "2001:db8:2::1", "JP", "allow", false },
        { "::ffff:203.0.113.1", "US", "allow", true },
        { "10.1.2.3", "FR", "deny", false },
        { "10.2.0.1", "DE", "deny", true },
        { "8.8.8.8", null, "deny", true },
        { "2001:db8:1::5", "CA", "deny", false },
        { "127.0.0.1", "NL", "deny", true },
        { "10.2.0.1", "DE", "off", true },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public async Task The_geo_fence_decides_each_address_as_the_csv_says(string ip, string? country, string mode, bool allowed)
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "gateways:write");
        var set = await admin.PutAsync("/api/v1/admin/geo-fence", mode == "off" ? new { mode, countries = Array.Empty<string>() } : new { mode, countries = new[] { "fr", "US", "CA" } });
        set.StatusCode.ShouldBe(200, set.Text);

        var check = await admin.PostAsync("/api/v1/admin/geo-fence/check", new { ip });
        check.StatusCode.ShouldBe(200, check.Text);
        (check.Data.GetProperty("country").ValueKind == System.Text.Json.JsonValueKind.Null ? null : check.Str("country")).ShouldBe(country);
        check.Data.GetProperty("allowed").GetBoolean().ShouldBe(allowed, check.Text);
        check.Str("mode").ShouldBe(mode);
    }

    [Fact]
    public async Task The_geo_fence_is_set_validated_audited_and_kept_per_organization()
    {
        var orgId = await _server.CreateOrgAsync();
        var other = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "gateways:write");
        var initial = await admin.GetAsync("/api/v1/admin/geo-fence");
        initial.Str("mode").ShouldBe("off");
        initial.Str("source").ShouldBe("csv");

        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "block" })).Fields().ShouldBe(["mode"]);
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "allow", countries = new[] { "Germany", "D" } })).Fields().ShouldBe(["countries[0]", "countries[1]"]);
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "deny", countries = Array.Empty<string>() })).Fields().ShouldBe(["countries"]);
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { countries = new[] { "DE" } })).Fields().ShouldBe(["mode"]);
        (await admin.PostAsync("/api/v1/admin/geo-fence/check", new { ip = "not-an-ip" })).Fields().ShouldBe(["ip"]);
        (await admin.PostAsync("/api/v1/admin/geo-fence/check", new { })).Fields().ShouldBe(["ip"]);
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "deny", countries = new[] { "de", "DE", "fr" } })).Data.GetProperty("countries").EnumerateArray()
            .Select(c => c.GetString()).ShouldBe(["DE", "FR"]);

        var reader = await _server.OrgClientAsync(orgId, "gateways:read");
        (await reader.GetAsync("/api/v1/admin/geo-fence")).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.PostAsync("/api/v1/admin/geo-fence/check", new { ip = "10.0.0.1" })).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/admin/geo-fence")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");

        // Another organization: 404, and its fence is untouched.
        (await admin.GetAsync($"/api/v1/orgs/{other}/admin/geo-fence")).ErrorCode.ShouldBe("NOT_FOUND");
        (await admin.PutAsync($"/api/v1/orgs/{other}/admin/geo-fence", new { mode = "deny", countries = new[] { "NL" } })).ErrorCode.ShouldBe("NOT_FOUND");
        (await admin.PostAsync($"/api/v1/orgs/{other}/admin/geo-fence/check", new { ip = "10.0.0.1" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/admin/geo-fence")).Str("mode").ShouldBe("off");
        (await _server.AuditActionsAsync(orgId)).ShouldContain("geo_fence.update");
    }

    [Fact]
    public async Task A_fenced_organization_refuses_login_configs_and_connections_from_outside()
    {
        var vpn = await _server.VpnOrgAsync("openvpn");
        var (_, _) = (vpn.OrgId, vpn.UserId);
        var generated = await vpn.User.GenerateAndDownloadAsync(vpn.GatewayId, "openvpn");
        var serial = (await vpn.User.GetAsync("/api/v1/configs")).Data[0].GetProperty("serial").GetString()!;
        (await vpn.Agent.PostAsync("verify", new { serial, client_ip = "10.2.0.1" })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();

        // The tests connect from loopback, which the CSV places in NL.
        var admin = await _server.OrgClientAsync(vpn.OrgId, "gateways:write");
        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "deny", countries = new[] { "NL", "DE" } })).StatusCode.ShouldBe(200);

        var login = await _server.TryLoginAsync(vpn.Email, UserSteps.Password, vpn.OrgId);
        login.ErrorCode.ShouldBe("FORBIDDEN", login.Text);
        login.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("geo_fence");
        login.Body.GetProperty("error").GetProperty("details").GetProperty("country").GetString().ShouldBe("NL");
        // A wrong password still says nothing but "wrong".
        (await _server.TryLoginAsync(vpn.Email, "not-the-password-at-all", vpn.OrgId)).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");

        var refused = await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn");
        refused.ErrorCode.ShouldBe("FORBIDDEN");
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("geo_fence");

        (await vpn.Agent.PostAsync("verify", new { serial, client_ip = "10.2.0.1" })).Str("reason").ShouldBe("geo_fence");
        (await vpn.Agent.PostAsync("verify", new { serial, client_ip = "203.0.113.5" })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
        (await vpn.Agent.PostAsync("verify", new { serial, client_ip = "nowhere" })).ErrorCode.ShouldBe("VALIDATION_FAILED");

        var actions = await _server.AuditActionsAsync(vpn.OrgId);
        actions.ShouldContain("auth.login_failed");

        (await admin.PutAsync("/api/v1/admin/geo-fence", new { mode = "off" })).StatusCode.ShouldBe(200);
        (await _server.TryLoginAsync(vpn.Email, UserSteps.Password, vpn.OrgId)).StatusCode.ShouldBe(200);
        generated.File.ShouldNotBeEmpty();
    }

    [Fact]
    public async Task A_mesh_hub_joins_networks_and_its_spokes_get_wireguard_configs()
    {
        var vpn = await _server.VpnOrgAsync("wireguard", cidr: "10.99.0.0/24");
        var second = await _server.CreateNetworkAsync(vpn.OrgId, "branch", "172.20.0.0/16");
        var admin = await _server.OrgClientAsync(vpn.OrgId, "gateways:write", "configs:read");

        var created = await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "core", description = "HQ", gateway_id = vpn.GatewayId, network_ids = new[] { vpn.NetworkId, second } });
        created.StatusCode.ShouldBe(201, created.Text);
        var hubId = created.Str("id");
        hubId.ShouldStartWith("hub_");
        created.Data.GetProperty("cidrs").EnumerateArray().Select(c => c.GetString()).ShouldBe([vpn.Cidr, "172.20.0.0/16"]);
        created.Str("endpoint").ShouldBe("vpn.example.org:1194");

        (await admin.GetAsync("/api/v1/admin/mesh/hubs")).Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync($"/api/v1/admin/mesh/hubs/{hubId}")).Str("name").ShouldBe("core");
        (await vpn.User.GetAsync("/api/v1/mesh/hubs")).Data.EnumerateArray().Select(h => h.GetProperty("id").GetString()).ShouldBe([hubId]);

        var spokeA = await admin.PostAsync($"/api/v1/admin/mesh/hubs/{hubId}/spokes", new { name = "site-a", local_cidrs = new[] { "192.168.10.0/24" } });
        spokeA.StatusCode.ShouldBe(201, spokeA.Text);
        var fileA = await admin.GetAsync(spokeA.Str("download_url"));
        fileA.StatusCode.ShouldBe(200, fileA.Text);
        VpnSteps.Setting(fileA.Text, "AllowedIPs").ShouldBe($"{vpn.Cidr}, 172.20.0.0/16");
        var spokeB = await admin.PostAsync($"/api/v1/admin/mesh/hubs/{hubId}/spokes", new { name = "site-b", local_cidrs = new[] { "192.168.20.0/24" } });
        var fileB = await admin.GetAsync(spokeB.Str("download_url"));
        VpnSteps.Setting(fileB.Text, "AllowedIPs").ShouldBe($"{vpn.Cidr}, 172.20.0.0/16, 192.168.10.0/24");
        (await admin.PostAsync($"/api/v1/admin/mesh/hubs/{hubId}/spokes", new { name = "site-a" })).ErrorCode.ShouldBe("CONFLICT");
        (await admin.GetAsync($"/api/v1/admin/mesh/hubs/{hubId}")).Data.GetProperty("spokes").GetInt32().ShouldBe(2);

        var spokeKey = (await admin.GetAsync($"/api/v1/admin/configs?limit=100")).Data.EnumerateArray()
            .Single(c => c.GetProperty("id").GetString() == spokeA.Str("config_id")).GetProperty("public_key").GetString()!;
        (await vpn.Agent.PostAsync("verify", new { public_key = spokeKey })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
        var rules = await vpn.Agent.PostAsync("client-rules", new { public_key = spokeKey });
        rules.Data.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("cidr").GetString()).ShouldBe([vpn.Cidr, "172.20.0.0/16", "192.168.20.0/24"]);

        var renamed = await admin.PutAsync($"/api/v1/admin/mesh/hubs/{hubId}", new { name = "core-2", gateway_id = vpn.GatewayId, network_ids = new[] { vpn.NetworkId } });
        renamed.StatusCode.ShouldBe(200, renamed.Text);
        renamed.Data.GetProperty("network_ids").GetArrayLength().ShouldBe(1);

        (await admin.DeleteAsync($"/api/v1/admin/mesh/hubs/{hubId}")).StatusCode.ShouldBe(200);
        (await vpn.Agent.PostAsync("verify", new { public_key = spokeKey })).Str("reason").ShouldBe("revoked");
        (await admin.GetAsync($"/api/v1/admin/mesh/hubs/{hubId}")).ErrorCode.ShouldBe("NOT_FOUND");
        var actions = await _server.AuditActionsAsync(vpn.OrgId);
        actions.ShouldContain("mesh_hub.create");
        actions.ShouldContain("mesh_hub.add_spoke");
        actions.ShouldContain("mesh_hub.delete");
    }

    [Fact]
    public async Task Mesh_hub_errors_and_another_organizations_hubs()
    {
        var vpn = await _server.VpnOrgAsync("wireguard", cidr: "10.98.0.0/24");
        var other = await _server.VpnOrgAsync("wireguard", cidr: "10.97.0.0/24");
        var admin = await _server.OrgClientAsync(vpn.OrgId, "gateways:write");
        var (openVpnGateway, _) = await _server.CreateGatewayAsync(vpn.OrgId, "ovpn");

        (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { })).Fields().ShouldBe(["name", "gateway_id"], ignoreOrder: true);
        (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "h", gateway_id = openVpnGateway })).Fields().ShouldBe(["gateway_id"]);
        (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "h", gateway_id = other.GatewayId })).Fields().ShouldBe(["gateway_id"]);
        (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "h", gateway_id = vpn.GatewayId, network_ids = new[] { other.NetworkId } })).Fields().ShouldBe(["network_ids[0]"]);
        var hubId = (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "h", gateway_id = vpn.GatewayId })).Str("id");
        (await admin.PostAsync("/api/v1/admin/mesh/hubs", new { name = "h", gateway_id = vpn.GatewayId })).ErrorCode.ShouldBe("CONFLICT");
        (await admin.PostAsync($"/api/v1/admin/mesh/hubs/{hubId}/spokes", new { name = "s", local_cidrs = new[] { "nope" }, public_key = "x" })).Fields()
            .ShouldBe(["local_cidrs[0]", "public_key"], ignoreOrder: true);
        (await admin.PutAsync("/api/v1/admin/mesh/hubs/hub_00000000000000000000000000", new { name = "x", gateway_id = vpn.GatewayId })).ErrorCode.ShouldBe("NOT_FOUND");
        (await admin.PostAsync("/api/v1/admin/mesh/hubs/hub_00000000000000000000000000/spokes", new { name = "s" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await vpn.User.GetAsync("/api/v1/admin/mesh/hubs")).ErrorCode.ShouldBe("FORBIDDEN");
        (await (await _server.OrgClientAsync(vpn.OrgId, "orgs:read")).GetAsync("/api/v1/mesh/hubs")).ErrorCode.ShouldBe("FORBIDDEN");

        // Another organization's hub: 404 everywhere, unchanged.
        var otherAdmin = await _server.OrgClientAsync(other.OrgId, "gateways:write");
        (await otherAdmin.GetAsync($"/api/v1/admin/mesh/hubs/{hubId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await otherAdmin.PutAsync($"/api/v1/admin/mesh/hubs/{hubId}", new { name = "taken", gateway_id = other.GatewayId })).ErrorCode.ShouldBe("NOT_FOUND");
        (await otherAdmin.DeleteAsync($"/api/v1/admin/mesh/hubs/{hubId}")).ErrorCode.ShouldBe("NOT_FOUND");
        (await otherAdmin.PostAsync($"/api/v1/admin/mesh/hubs/{hubId}/spokes", new { name = "s" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await otherAdmin.GetAsync($"/api/v1/orgs/{vpn.OrgId}/mesh/hubs")).ErrorCode.ShouldBe("NOT_FOUND");
        (await otherAdmin.GetAsync("/api/v1/admin/mesh/hubs")).Data.GetArrayLength().ShouldBe(0);
        (await admin.GetAsync($"/api/v1/admin/mesh/hubs/{hubId}")).Str("name").ShouldBe("h");
    }
}
