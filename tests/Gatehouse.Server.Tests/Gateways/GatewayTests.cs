using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Pki;
using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Gateways;

public sealed class GatewayTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_gateway_is_registered_listed_changed_given_a_new_token_and_deleted()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "gateways:write");

        // The GateKey path: the organization comes from the key.
        var created = await admin.PostAsync("/api/v1/admin/gateways", new { name = "us-east-1", description = "US East", hostname = "VPN-US.example.org", port = 1194, protocol = "udp", vpn_type = "openvpn" });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("id").ShouldStartWith("gw_");
        created.Str("token").ShouldStartWith("gkg_");
        created.Str("vpn_type").ShouldBe("openvpn");
        created.Str("hostname").ShouldBe("vpn-us.example.org");
        created.Str("status").ShouldBe("pending");
        var id = created.Str("id");
        var agent = new SimulatedGateway(_server, created.Str("token"));

        var list = await admin.GetAsync("/api/v1/admin/gateways");
        list.StatusCode.ShouldBe(200);
        list.Data.GetArrayLength().ShouldBe(1);
        list.Text.ShouldNotContain(agent.Token);
        list.Data[0].TryGetProperty("token", out _).ShouldBeFalse();
        (await admin.GetAsync($"/api/v1/admin/gateways/{id}")).Str("name").ShouldBe("us-east-1");

        var updated = await admin.PutAsync($"/api/v1/admin/gateways/{id}", new { port = 443, protocol = "tcp" });
        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Data.GetProperty("port").GetInt32().ShouldBe(443);
        updated.Str("name").ShouldBe("us-east-1");

        (await agent.HeartbeatAsync()).StatusCode.ShouldBe(200);
        var rotated = await admin.PostAsync($"/api/v1/admin/gateways/{id}/rotate-token", new { });
        rotated.StatusCode.ShouldBe(200, rotated.Text);
        (await agent.HeartbeatAsync()).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        var renewed = new SimulatedGateway(_server, rotated.Str("token"));
        (await renewed.HeartbeatAsync()).StatusCode.ShouldBe(200);

        (await admin.DeleteAsync($"/api/v1/admin/gateways/{id}")).StatusCode.ShouldBe(200);
        (await renewed.HeartbeatAsync()).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        (await admin.GetAsync($"/api/v1/admin/gateways/{id}")).ErrorCode.ShouldBe("NOT_FOUND");

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=50");
        audit.Text.ShouldNotContain(agent.Token);
        audit.Text.ShouldNotContain(renewed.Token);
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("gateway.create");
        actions.ShouldContain("gateway.rotate_token");
        actions.ShouldContain("gateway.online");
        actions.ShouldContain("gateway.delete");
    }

    [Fact]
    public async Task Gateway_errors_answer_with_their_codes()
    {
        var orgId = await _server.CreateOrgAsync();
        var path = $"/api/v1/orgs/{orgId}/admin/gateways";
        var good = new { name = "gw", hostname = "gw.example.org", port = 51820, protocol = "udp", vpn_type = "wireguard" };
        (await _server.Root.PostAsync(path, good)).StatusCode.ShouldBe(201);
        (await _server.Root.PostAsync(path, good)).ErrorCode.ShouldBe("CONFLICT");

        var bad = await _server.Root.PostAsync(path, new { name = "x", hostname = "not a host", port = 0, protocol = "sctp", vpn_type = "ipsec" });
        bad.ErrorCode.ShouldBe("VALIDATION_FAILED");
        bad.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString())
            .ShouldBe(["hostname", "port", "protocol", "vpn_type"], ignoreOrder: true);
        (await _server.Root.PostAsync(path, new { name = "y" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await _server.Root.PostAsync(path, new { name = "z", hostname = "h", port = 1, protocol = "udp", vpn_type = "openvpn", vpnType = "x" })).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Root.PutAsync(path + "/gw_00000000000000000000000000", new { port = 1 })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.PostAsync(path + "/gw_00000000000000000000000000/rotate-token", new { })).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.DeleteAsync(path + "/gw_00000000000000000000000000")).ErrorCode.ShouldBe("NOT_FOUND");

        var reader = await _server.OrgClientAsync(orgId, "gateways:read");
        (await reader.PostAsync(path, good)).ErrorCode.ShouldBe("FORBIDDEN");
        (await reader.GetAsync(path)).ErrorCode.ShouldBe("FORBIDDEN");
        (await _server.Anonymous.GetAsync(path)).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        // The root key names no organization: the GateKey path asks which one.
        (await _server.Root.GetAsync("/api/v1/admin/gateways")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await _server.Root.GetAsync("/api/v1/admin/gateways", new Dictionary<string, string> { ["X-Tenant-Id"] = orgId })).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Another_organizations_gateways_networks_and_rules_are_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (gatewayId, agentB) = await _server.CreateGatewayAsync(orgB, "b-gw");
        var networkId = await _server.CreateNetworkAsync(orgB, "b-net", "10.9.0.0/16", gatewayId);
        var ruleId = await _server.CreateRuleAsync(orgB, new { name = "b-rule", subjects = new[] { "*" }, network_id = networkId, action = "allow" });
        var adminA = await _server.OrgClientAsync(orgA, "gateways:write");

        foreach (var (kind, id) in new[] { ("gateways", gatewayId), ("networks", networkId), ("access-rules", ruleId) })
        {
            (await adminA.GetAsync($"/api/v1/admin/{kind}/{id}")).ErrorCode.ShouldBe("NOT_FOUND");
            (await adminA.PutAsync($"/api/v1/admin/{kind}/{id}", new { name = "taken" })).ErrorCode.ShouldBeOneOf("NOT_FOUND", "VALIDATION_FAILED");
            (await adminA.DeleteAsync($"/api/v1/admin/{kind}/{id}")).ErrorCode.ShouldBe("NOT_FOUND");
            (await adminA.GetAsync($"/api/v1/orgs/{orgB}/admin/{kind}/{id}")).ErrorCode.ShouldBe("NOT_FOUND");
        }

        (await adminA.PostAsync($"/api/v1/admin/gateways/{gatewayId}/rotate-token", new { })).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.PostAsync("/api/v1/admin/networks", new { name = "n", cidr = "10.8.0.0/16", gateway_ids = new[] { gatewayId } })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await adminA.PostAsync("/api/v1/admin/access-rules", new { name = "r", subjects = new[] { "*" }, network_id = networkId, action = "allow" })).ErrorCode.ShouldBe("VALIDATION_FAILED");

        // B's gateway token is B's: it cannot act on A.
        (await _server.CreateClient(null).PostAsync($"/api/v1/orgs/{orgA}/gateway/heartbeat", new { }, new Dictionary<string, string> { ["X-Gateway-Token"] = agentB.Token }))
            .ErrorCode.ShouldBe("NOT_FOUND");

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/admin/gateways/{gatewayId}")).Str("name").ShouldBe("b-gw");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/admin/networks/{networkId}")).Str("name").ShouldBe("b-net");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/admin/access-rules/{ruleId}")).Str("name").ShouldBe("b-rule");
    }

    [Fact]
    public async Task Networks_never_overlap_and_a_targeted_network_cannot_be_deleted()
    {
        var orgId = await _server.CreateOrgAsync();
        var (gatewayId, _) = await _server.CreateGatewayAsync(orgId, "gw");
        var path = $"/api/v1/orgs/{orgId}/admin/networks";
        var created = await _server.Root.PostAsync(path, new { name = "office", cidr = "10.20.3.4/16", gateway_ids = new[] { gatewayId } });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("cidr").ShouldBe("10.20.0.0/16");
        created.Data.GetProperty("gateway_ids")[0].GetString().ShouldBe(gatewayId);
        var networkId = created.Str("id");

        (await _server.Root.PostAsync(path, new { name = "inner", cidr = "10.20.5.0/24" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await _server.Root.PostAsync(path, new { name = "outer", cidr = "10.0.0.0/8" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await _server.Root.PostAsync(path, new { name = "office", cidr = "10.30.0.0/16" })).ErrorCode.ShouldBe("CONFLICT");
        (await _server.Root.PostAsync(path, new { name = "bad", cidr = "10.0.0.0/33" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await _server.Root.PostAsync(path, new { name = "v6", cidr = "fd00::/8" })).StatusCode.ShouldBe(201);
        (await _server.Root.PutAsync($"{path}/{networkId}", new { name = "office", cidr = "10.20.0.0/15" })).StatusCode.ShouldBe(200);

        var ruleId = await _server.CreateRuleAsync(orgId, new { name = "uses", subjects = new[] { "*" }, network_id = networkId, action = "allow" });
        (await _server.Root.DeleteAsync($"{path}/{networkId}")).ErrorCode.ShouldBe("CONFLICT");
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/admin/access-rules/{ruleId}")).StatusCode.ShouldBe(200);
        (await _server.Root.DeleteAsync($"{path}/{networkId}")).StatusCode.ShouldBe(200);
        (await _server.Root.GetAsync(path)).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Concurrent_overlapping_networks_admit_exactly_one()
    {
        var orgId = await _server.CreateOrgAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/networks", new { name = "n" + i, cidr = "172.16.0.0/12" })));

        answers.Count(a => a.StatusCode == 201).ShouldBe(1);
        answers.Where(a => a.StatusCode != 201).ShouldAllBe(a => a.ErrorCode == "VALIDATION_FAILED");
    }

    [Fact]
    public async Task Access_rule_errors_answer_with_their_codes()
    {
        var orgId = await _server.CreateOrgAsync();
        var path = $"/api/v1/orgs/{orgId}/admin/access-rules";
        var created = await _server.Root.PostAsync(path, new { name = "web", subjects = new[] { "*" }, cidr = "10.0.0.0/8", ports = new[] { "80", "8000-8100" }, protocol = "tcp", action = "allow", priority = 5 });
        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("id").ShouldStartWith("acr_");
        var id = created.Str("id");

        async Task<string[]> FieldsOf(object body)
        {
            var answer = await _server.Root.PostAsync(path, body);
            answer.ErrorCode.ShouldBe("VALIDATION_FAILED", answer.Text);
            return [.. answer.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()!)];
        }

        (await FieldsOf(new { name = "a", subjects = new[] { "nobody" }, cidr = "10.0.0.0/8", action = "allow" })).ShouldBe(["subjects[0]"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "user:usr_00000000000000000000000000" }, cidr = "10.0.0.0/8", action = "allow" })).ShouldBe(["subjects[0]"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "*" }, action = "allow" })).ShouldBe(["network_id"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "*" }, cidr = "10.0.0.0/8", network_id = "net_x", action = "allow" })).ShouldBe(["network_id"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "*" }, network_id = "net_00000000000000000000000000", action = "allow" })).ShouldBe(["network_id"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "*" }, cidr = "10.0.0.0/8", ports = new[] { "0", "9-1", "x" }, action = "allow" })).ShouldBe(["ports[0]", "ports[1]", "ports[2]"]);
        (await FieldsOf(new { name = "a", subjects = new[] { "*" }, cidr = "10.0.0.0/8", protocol = "gre", action = "permit" })).ShouldBe(["protocol", "action"], ignoreOrder: true);
        (await FieldsOf(new { name = "a", subjects = Array.Empty<string>(), cidr = "10.0.0.0/8", action = "deny" })).ShouldBe(["subjects"]);
        (await _server.Root.PostAsync(path, new { name = "web", subjects = new[] { "*" }, cidr = "10.0.0.0/8", action = "deny" })).ErrorCode.ShouldBe("CONFLICT");

        var replaced = await _server.Root.PutAsync($"{path}/{id}", new { name = "web", subjects = new[] { "group:ops" }, cidr = "10.0.0.0/8", action = "deny" });
        replaced.StatusCode.ShouldBe(200, replaced.Text);
        replaced.Str("action").ShouldBe("deny");
        replaced.Data.GetProperty("ports")[0].GetString().ShouldBe("*");
        replaced.Data.GetProperty("priority").GetInt32().ShouldBe(100);
        (await _server.Root.GetAsync(path)).Data.GetArrayLength().ShouldBe(1);
        (await _server.Root.PutAsync($"{path}/acr_00000000000000000000000000", new { name = "x", subjects = new[] { "*" }, cidr = "10.0.0.0/8", action = "deny" })).ErrorCode.ShouldBe("NOT_FOUND");
        var reader = await _server.OrgClientAsync(orgId, "gateways:read");
        (await reader.GetAsync(path)).ErrorCode.ShouldBe("FORBIDDEN");
    }

    [Fact]
    public async Task A_simulated_gateway_provisions_heartbeats_verifies_connects_and_polls_rules()
    {
        var orgId = await _server.CreateOrgAsync();
        var aliceId = await _server.CreateUserAsync(orgId, UserSteps.NewEmail("alice"));
        var (gatewayId, agent) = await _server.CreateGatewayAsync(orgId, "sim", "gw.sim.example.org");
        var networkId = await _server.CreateNetworkAsync(orgId, "lan", "192.168.10.0/24", gatewayId);

        var beat = await agent.HeartbeatAsync();
        beat.StatusCode.ShouldBe(200, beat.Text);
        beat.Str("status").ShouldBe("online");
        beat.Data.GetProperty("next_heartbeat_seconds").GetInt32().ShouldBe(30);
        var seen = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}");
        seen.Str("status").ShouldBe("online");
        seen.Str("agent_version").ShouldBe("1.4.2");
        seen.Data.GetProperty("connected_clients").GetInt32().ShouldBe(3);

        // Its server certificate: only for its own hostname, and openssl accepts it for that name.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gw.sim.example.org", key, HashAlgorithmName.SHA256);
        var provisioned = await agent.PostAsync("provision", new { csr = request.CreateSigningRequestPem() });
        provisioned.StatusCode.ShouldBe(200, provisioned.Text);
        var foreign = new CertificateRequest("CN=bank.example.com", key, HashAlgorithmName.SHA256);
        (await agent.PostAsync("provision", new { csr = foreign.CreateSigningRequestPem() })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await agent.PostAsync("provision", new { csr = "garbage" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        var dir = Directory.CreateTempSubdirectory("gatehouse-gw-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "ca.pem"), provisioned.Str("ca"));
            await File.WriteAllTextAsync(Path.Combine(dir, "server.pem"), provisioned.Str("certificate"));
            var (ok, output) = await PkiTests.OpensslAsync(dir, "verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "-verify_hostname", "gw.sim.example.org", "server.pem");
            ok.ShouldBeTrue(output);
            (ok, output) = await PkiTests.OpensslAsync(dir, "verify", "-CAfile", "ca.pem", "-verify_hostname", "other.example.org", "server.pem");
            ok.ShouldBeFalse(output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        // A client: no rule yet, then allowed, then revoked.
        var client = await PkiTests.IssueClientAsync(_server, orgId, "alice", aliceId);
        var verdict = await agent.VerifyAsync(client.Serial);
        verdict.Data.GetProperty("allowed").GetBoolean().ShouldBeFalse();
        verdict.Str("reason").ShouldBe("no_rule");
        var before = await agent.AllRulesAsync();
        (await agent.AllRulesAsync()).Str("version").ShouldBe(before.Str("version"));

        await _server.CreateRuleAsync(orgId, new { name = "lan", subjects = new[] { "user:" + aliceId }, network_id = networkId, ports = new[] { "22" }, protocol = "tcp", action = "allow" });
        verdict = await agent.VerifyAsync(client.Serial);
        verdict.Data.GetProperty("allowed").GetBoolean().ShouldBeTrue(verdict.Text);
        verdict.Str("user_id").ShouldBe(aliceId);
        (await agent.PostAsync("verify", new { serial = client.Serial, user_id = "usr_someone_else" })).Str("reason").ShouldBe("user_mismatch");
        var after = await agent.AllRulesAsync();
        after.Str("version").ShouldNotBe(before.Str("version"));
        after.Data.GetProperty("rules")[0].GetProperty("cidr").GetString().ShouldBe("192.168.10.0/24");
        var rules = await agent.ClientRulesAsync(client.Serial);
        rules.Data.GetProperty("rules").GetArrayLength().ShouldBe(1);

        var connected = await agent.PostAsync("connect", new { serial = client.Serial, client_ip = "203.0.113.9", virtual_ip = "10.8.0.2" });
        connected.StatusCode.ShouldBe(201, connected.Text);
        connected.Str("user_id").ShouldBe(aliceId);
        var disconnected = await agent.PostAsync("disconnect", new { serial = client.Serial, client_ip = "203.0.113.9", bytes_in = 1200, bytes_out = 3400 });
        disconnected.StatusCode.ShouldBe(200, disconnected.Text);
        disconnected.Data.GetProperty("bytes_out").GetInt64().ShouldBe(3400);
        (await agent.PostAsync("disconnect", new { serial = client.Serial, client_ip = "203.0.113.9" })).ErrorCode.ShouldBe("NOT_FOUND");
        (await agent.PostAsync("connect", new { serial = client.Serial, client_ip = "not-an-ip" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await agent.PostAsync("verify", new { })).ErrorCode.ShouldBe("VALIDATION_FAILED");

        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/pki/revoke", new { serial = client.Serial, reason = "key_compromise" })).StatusCode.ShouldBe(200);
        verdict = await agent.VerifyAsync(client.Serial);
        verdict.Data.GetProperty("allowed").GetBoolean().ShouldBeFalse();
        verdict.Str("reason").ShouldBe("revoked");
        (await agent.ClientRulesAsync(client.Serial)).Data.GetProperty("rules").GetArrayLength().ShouldBe(0);
        (await agent.VerifyAsync("ABCDEF")).Str("reason").ShouldBe("unknown_client");
        (await agent.PostAsync("verify", new { public_key = Convert.ToBase64String(new byte[32]) })).Str("reason").ShouldBe("unknown_client");
        var malformedKey = await agent.PostAsync("verify", new { public_key = "k" });
        malformedKey.StatusCode.ShouldBe(422, malformedKey.Text);
        malformedKey.Fields().ShouldBe(["public_key"]);

        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=100");
        var actions = audit.Data.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        actions.ShouldContain("gateway.client_connect");
        actions.ShouldContain("gateway.client_disconnect");
        actions.ShouldContain("pki.issue");
    }

    [Fact]
    public async Task Only_a_gateway_token_may_call_the_agent_routes()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "*");
        foreach (var route in new[] { "heartbeat", "verify", "connect", "disconnect", "provision", "client-rules", "all-rules" })
        {
            (await admin.PostAsync("/api/v1/gateway/" + route, new { })).ErrorCode.ShouldBe("FORBIDDEN", route);
            (await _server.Anonymous.PostAsync($"/api/v1/orgs/{orgId}/gateway/" + route, new { })).ErrorCode.ShouldBe("AUTHENTICATION_FAILED", route);
        }

        var forged = new SimulatedGateway(_server, "gkg_" + new string('A', 43));
        (await forged.HeartbeatAsync()).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
    }

    [Fact]
    public async Task A_user_sees_the_gateways_its_rules_reach_and_an_administrator_sees_all()
    {
        var orgId = await _server.CreateOrgAsync();
        var email = UserSteps.NewEmail("vpn");
        var userId = await _server.CreateUserAsync(orgId, email, permissions: ["gateways:read"]);
        var (reachable, _) = await _server.CreateGatewayAsync(orgId, "reachable");
        var (hidden, _) = await _server.CreateGatewayAsync(orgId, "hidden");
        var networkId = await _server.CreateNetworkAsync(orgId, "lan", "10.50.0.0/16", reachable);
        await _server.CreateRuleAsync(orgId, new { name = "mine", subjects = new[] { "user:" + userId }, network_id = networkId, action = "allow" });

        var session = _server.CookielessClient((await _server.LoginAsync(email, orgId: orgId)).Token);
        var mine = await session.GetAsync("/api/v1/gateways");
        mine.StatusCode.ShouldBe(200, mine.Text);
        mine.Data.EnumerateArray().Select(g => g.GetProperty("id").GetString()).ShouldBe([reachable]);
        mine.Data[0].TryGetProperty("last_heartbeat", out _).ShouldBeTrue();
        mine.Data[0].TryGetProperty("vpn_type", out _).ShouldBeTrue();

        var key = await _server.OrgClientAsync(orgId, "gateways:read");
        (await key.GetAsync("/api/v1/gateways")).Data.EnumerateArray().Select(g => g.GetProperty("id").GetString()).ShouldBe([reachable, hidden], ignoreOrder: true);
        (await (await _server.OrgClientAsync(orgId, "orgs:read")).GetAsync("/api/v1/gateways")).ErrorCode.ShouldBe("FORBIDDEN");
    }
}
