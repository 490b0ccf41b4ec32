using System.Diagnostics;
using System.Net;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Devices;
using Gatehouse.Server.Tests.Users;

namespace Gatehouse.Server.Tests.Gateways;

public sealed class VpnConfigTests(VpnServer fixture) : IClassFixture<VpnServer>
{
    private readonly GatehouseServer _server = fixture.Server;

    [Fact]
    public async Task An_openvpn_config_is_downloaded_once_loads_in_openvpn_passes_verify_and_is_revoked_by_delete()
    {
        // A closed loopback port over TCP: openvpn parses the profile, loads CA, certificate and key, then fails to connect.
        var closedPort = ClosedLoopbackPort();
        var vpn = await _server.VpnOrgAsync("openvpn", hostname: "127.0.0.1", port: closedPort, protocol: "tcp");
        var generated = await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn");
        generated.StatusCode.ShouldBe(201, generated.Text);
        var configId = generated.Str("config_id");
        configId.ShouldStartWith("cfg_");
        generated.Str("download_url").ShouldBe("/api/v1/configs/download/" + configId);
        generated.Data.GetProperty("expires_at").GetDateTime().ShouldBeGreaterThan(DateTime.UtcNow);

        (await vpn.User.GetAsync("/api/v1/configs")).Data[0].GetProperty("status").GetString().ShouldBe("pending");
        var file = await vpn.User.GetAsync(generated.Str("download_url"));
        file.StatusCode.ShouldBe(200, file.Text);
        file.Header("Content-Type").ShouldNotBeNull().ShouldStartWith("application/x-openvpn-profile");
        file.Header("Cache-Control").ShouldBe("no-store");
        foreach (var line in new[] { "client", "dev tun", $"remote 127.0.0.1 {closedPort} tcp", "remote-cert-tls server", "verify-x509-name 127.0.0.1 name", "data-ciphers AES-256-GCM:CHACHA20-POLY1305" })
        {
            file.Text.Split('\n').ShouldContain(line);
        }

        file.Text.ShouldContain("<ca>\n-----BEGIN CERTIFICATE-----");
        file.Text.ShouldContain("<cert>\n-----BEGIN CERTIFICATE-----");
        file.Text.ShouldContain("<key>\n-----BEGIN PRIVATE KEY-----");
        file.Text.ShouldNotContain("<tls-crypt>");

        // Once: the second download finds nothing.
        (await vpn.User.GetAsync(generated.Str("download_url"))).ErrorCode.ShouldBe("NOT_FOUND");
        var listed = (await vpn.User.GetAsync("/api/v1/configs")).Data[0];
        listed.GetProperty("status").GetString().ShouldBe("active");
        var serial = listed.GetProperty("serial").GetString()!;
        listed.TryGetProperty("key", out _).ShouldBeFalse();

        await OpenVpnAcceptsAsync(file.Text);

        var verdict = await vpn.Agent.PostAsync("verify", new { serial });
        verdict.Data.GetProperty("allowed").GetBoolean().ShouldBeTrue(verdict.Text);
        verdict.Str("user_id").ShouldBe(vpn.UserId);

        var deleted = await vpn.User.DeleteAsync("/api/v1/configs/" + configId);
        deleted.StatusCode.ShouldBe(200, deleted.Text);
        deleted.Str("status").ShouldBe("revoked");
        (await vpn.Agent.PostAsync("verify", new { serial })).Str("reason").ShouldBe("revoked");
        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/{serial}?org={vpn.OrgId}")).Str("status").ShouldBe("revoked");

        var actions = await _server.AuditActionsAsync(vpn.OrgId);
        actions.ShouldContain("vpn_config.generate");
        actions.ShouldContain("vpn_config.download");
        actions.ShouldContain("vpn_config.revoke");
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{vpn.OrgId}/audit-logs?limit=100");
        audit.Text.ShouldNotContain("PRIVATE KEY");
    }

    [Fact]
    public async Task A_gateway_tls_crypt_key_is_write_only_and_lands_in_the_profile()
    {
        var vpn = await _server.VpnOrgAsync("openvpn");
        const string TlsCrypt = "-----BEGIN OpenVPN Static key V1-----\n00112233445566778899aabbccddeeff\n-----END OpenVPN Static key V1-----";
        var updated = await _server.Root.PutAsync($"/api/v1/orgs/{vpn.OrgId}/admin/gateways/{vpn.GatewayId}", new { tls_crypt_key = TlsCrypt });
        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Data.GetProperty("has_tls_crypt").GetBoolean().ShouldBeTrue();
        updated.Text.ShouldNotContain("00112233445566778899aabbccddeeff");
        (await _server.Root.PutAsync($"/api/v1/orgs/{vpn.OrgId}/admin/gateways/{vpn.GatewayId}", new { tls_crypt_key = "not a key" })).ErrorCode.ShouldBe("VALIDATION_FAILED");

        var (_, file) = await vpn.User.GenerateAndDownloadAsync(vpn.GatewayId, "openvpn");
        file.ShouldContain("<tls-crypt>\n" + TlsCrypt + "\n</tls-crypt>");
    }

    [Fact]
    public async Task A_wireguard_config_with_a_server_made_key_passes_wg_checks_and_verify()
    {
        var vpn = await _server.VpnOrgAsync("wireguard", cidr: "10.66.5.0/24");
        var (configId, file) = await vpn.User.GenerateAndDownloadAsync(vpn.GatewayId, "wireguard");
        var privateKey = VpnSteps.Setting(file, "PrivateKey").ShouldNotBeNull();
        var address = VpnSteps.Setting(file, "Address").ShouldNotBeNull();
        address.ShouldEndWith("/32");
        IPNetwork.Parse(vpn.Cidr).Contains(IPAddress.Parse(address[..^3])).ShouldBeTrue(address);
        VpnSteps.Setting(file, "AllowedIPs").ShouldBe(vpn.Cidr);
        VpnSteps.Setting(file, "Endpoint").ShouldBe("vpn.example.org:1194");
        var gateway = await _server.Root.GetAsync($"/api/v1/orgs/{vpn.OrgId}/admin/gateways/{vpn.GatewayId}");
        VpnSteps.Setting(file, "PublicKey").ShouldBe(gateway.Str("public_key"));

        var listed = (await vpn.User.GetAsync("/api/v1/configs")).Data[0];
        var publicKey = listed.GetProperty("public_key").GetString()!;
        listed.GetProperty("address").GetString().ShouldBe(address[..^3]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{vpn.OrgId}/audit-logs?limit=100")).Text.ShouldNotContain(privateKey);

        await WireGuardAcceptsAsync(file, privateKey, publicKey);

        (await vpn.Agent.PostAsync("verify", new { public_key = publicKey })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
        var rules = await vpn.Agent.PostAsync("client-rules", new { public_key = publicKey });
        rules.Str("user_id").ShouldBe(vpn.UserId);
        rules.Data.GetProperty("rules")[0].GetProperty("cidr").GetString().ShouldBe(vpn.Cidr);

        var revoked = await _server.Root.PostAsync($"/api/v1/orgs/{vpn.OrgId}/admin/configs/{configId}/revoke", new { reason = "key_compromise" });
        revoked.StatusCode.ShouldBe(200, revoked.Text);
        revoked.Str("revocation_reason").ShouldBe("key_compromise");
        revoked.Data.GetProperty("address").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        (await vpn.Agent.PostAsync("verify", new { public_key = publicKey })).Str("reason").ShouldBe("revoked");
        (await vpn.Agent.PostAsync("client-rules", new { public_key = publicKey })).Data.GetProperty("rules").GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_wireguard_config_for_the_clients_own_key_holds_no_private_key()
    {
        var vpn = await _server.VpnOrgAsync("wireguard", cidr: "10.66.6.0/24");
        var clientKey = VpnSteps.NewWireGuardKey();
        (await vpn.Agent.PostAsync("verify", new { public_key = clientKey })).Str("reason").ShouldBe("unknown_client");
        var (_, file) = await vpn.User.GenerateAndDownloadAsync(vpn.GatewayId, "wireguard", clientKey);
        VpnSteps.Setting(file, "PrivateKey").ShouldBeNull();
        file.ShouldContain("# PrivateKey");
        (await vpn.User.GetAsync("/api/v1/configs")).Data[0].GetProperty("public_key").GetString().ShouldBe(clientKey);
        (await vpn.Agent.PostAsync("verify", new { public_key = clientKey })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
        (await vpn.User.GenerateAsync(vpn.GatewayId, "wireguard", clientKey)).ErrorCode.ShouldBe("CONFLICT");
    }

    [Fact]
    public async Task Fifty_concurrent_wireguard_generations_get_fifty_distinct_addresses()
    {
        var vpn = await _server.VpnOrgAsync("wireguard", cidr: "10.88.0.0/24");
        var issuer = await _server.OrgClientAsync(vpn.OrgId, "configs:write");
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            issuer.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "wireguard", user_id = vpn.UserId })));
        answers.ShouldAllBe(a => a.StatusCode == 201, string.Join("\n", answers.Where(a => a.StatusCode != 201).Select(a => a.Text).Take(3)));

        var listed = await _server.Root.GetAsync($"/api/v1/orgs/{vpn.OrgId}/admin/configs?limit=100");
        var addresses = listed.Data.EnumerateArray().Select(c => c.GetProperty("address").GetString()!).ToList();
        addresses.Count.ShouldBe(50);
        addresses.Distinct().Count().ShouldBe(50);
        addresses.ShouldAllBe(a => IPNetwork.Parse("10.88.0.0/24").Contains(IPAddress.Parse(a)) && a != "10.88.0.0" && a != "10.88.0.1" && a != "10.88.0.255");
    }

    [Fact]
    public async Task Generation_errors_answer_with_their_codes()
    {
        var vpn = await _server.VpnOrgAsync("openvpn");
        var user = vpn.User;
        FieldsOf(await user.PostAsync("/api/v1/configs/generate", new { })).ShouldBe(["gateway_id", "protocol"], ignoreOrder: true);
        FieldsOf(await user.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "ipsec" })).ShouldBe(["protocol"]);
        FieldsOf(await user.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", public_key = VpnSteps.NewWireGuardKey() })).ShouldBe(["public_key"]);
        FieldsOf(await user.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "wireguard", public_key = "short" })).ShouldBe(["public_key"]);
        FieldsOf(await user.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", user_id = "usr_someone_else" })).ShouldBe(["user_id"]);
        FieldsOf(await user.GenerateAsync(vpn.GatewayId, "wireguard")).ShouldBe(["protocol"]);
        (await user.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", gatewayId = "x" })).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await user.GenerateAsync("gw_00000000000000000000000000", "openvpn")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Anonymous.PostAsync($"/api/v1/orgs/{vpn.OrgId}/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn" })).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");

        // A gateway no rule lets the user through.
        var (hiddenId, _) = await _server.CreateGatewayAsync(vpn.OrgId, "hidden");
        var refused = await user.GenerateAsync(hiddenId, "openvpn");
        refused.ErrorCode.ShouldBe("FORBIDDEN");
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("no_rule");

        // Keys: configs:write, naming the user.
        var reader = await _server.OrgClientAsync(vpn.OrgId, "gateways:read");
        (await reader.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", user_id = vpn.UserId })).ErrorCode.ShouldBe("FORBIDDEN");
        var issuer = await _server.OrgClientAsync(vpn.OrgId, "configs:write");
        FieldsOf(await issuer.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn" })).ShouldBe(["user_id"]);
        FieldsOf(await issuer.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", user_id = "usr_00000000000000000000000000" })).ShouldBe(["user_id"]);
        var forUser = await issuer.PostAsync("/api/v1/configs/generate", new { gateway_id = vpn.GatewayId, protocol = "openvpn", user_id = vpn.UserId });
        forUser.StatusCode.ShouldBe(201, forUser.Text);

        // A WireGuard gateway that has no key yet, or no network to take addresses from.
        var bare = await _server.Root.PostAsync($"/api/v1/orgs/{vpn.OrgId}/admin/gateways", new { name = "wg-bare", hostname = "wg.example.org", port = 51820, protocol = "udp", vpn_type = "wireguard" });
        await _server.CreateRuleAsync(vpn.OrgId, new { name = "all", subjects = new[] { "*" }, cidr = "10.200.0.0/16", action = "allow" });
        FieldsOf(await user.GenerateAsync(bare.Str("id"), "wireguard")).ShouldBe(["gateway_id"]);
        var agent = new SimulatedGateway(_server, bare.Str("token"));
        (await agent.HeartbeatAsync(new { public_key = VpnSteps.NewWireGuardKey() })).StatusCode.ShouldBe(200);
        FieldsOf(await user.GenerateAsync(bare.Str("id"), "wireguard")).ShouldBe(["gateway_id"]);
        (await agent.HeartbeatAsync(new { public_key = "nope" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
    }

    [Fact]
    public async Task Download_list_delete_and_revoke_errors_and_another_users_configs()
    {
        var vpn = await _server.VpnOrgAsync("openvpn");
        var otherEmail = UserSteps.NewEmail("other");
        await _server.CreateUserAsync(vpn.OrgId, otherEmail, permissions: ["gateways:read"]);
        var other = _server.CookielessClient((await _server.LoginAsync(otherEmail, orgId: vpn.OrgId)).Token);
        var generated = await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn");
        var configId = generated.Str("config_id");

        // Another user of the same organization neither downloads, sees nor deletes it.
        (await other.GetAsync(generated.Str("download_url"))).ErrorCode.ShouldBe("NOT_FOUND");
        (await other.GetAsync("/api/v1/configs")).Data.GetArrayLength().ShouldBe(0);
        (await other.DeleteAsync("/api/v1/configs/" + configId)).ErrorCode.ShouldBe("NOT_FOUND");
        (await vpn.User.GetAsync("/api/v1/configs/download/cfg_00000000000000000000000000")).ErrorCode.ShouldBe("NOT_FOUND");
        (await vpn.User.DeleteAsync("/api/v1/configs/cfg_00000000000000000000000000")).ErrorCode.ShouldBe("NOT_FOUND");
        (await vpn.User.GetAsync("/api/v1/configs?limit=0")).ErrorCode.ShouldBe("INVALID_REQUEST");
        (await vpn.User.GetAsync("/api/v1/admin/configs")).ErrorCode.ShouldBe("FORBIDDEN");
        (await (await _server.OrgClientAsync(vpn.OrgId, "orgs:read")).GetAsync("/api/v1/configs")).ErrorCode.ShouldBe("FORBIDDEN");

        var admin = await _server.OrgClientAsync(vpn.OrgId, "configs:read", "gateways:write");
        (await admin.PostAsync($"/api/v1/admin/configs/{configId}/revoke", new { reason = "bored" })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        (await admin.PostAsync("/api/v1/admin/configs/cfg_00000000000000000000000000/revoke", new { })).ErrorCode.ShouldBe("NOT_FOUND");
        (await (await _server.OrgClientAsync(vpn.OrgId, "gateways:read")).PostAsync($"/api/v1/admin/configs/{configId}/revoke", new { })).ErrorCode.ShouldBe("FORBIDDEN");
        var byUser = await admin.GetAsync($"/api/v1/admin/configs?user_id={vpn.UserId}");
        byUser.Data.GetArrayLength().ShouldBe(1);
        (await admin.GetAsync("/api/v1/admin/configs?gateway_id=gw_none")).Data.GetArrayLength().ShouldBe(0);
        var revoked = await admin.PostAsync($"/api/v1/admin/configs/{configId}/revoke", new { });
        revoked.Str("status").ShouldBe("revoked");
        (await admin.PostAsync($"/api/v1/admin/configs/{configId}/revoke", new { })).StatusCode.ShouldBe(200);
        (await vpn.User.GetAsync(generated.Str("download_url"))).ErrorCode.ShouldBe("NOT_FOUND");
    }

    [Fact]
    public async Task Another_organizations_configs_are_404_and_unchanged()
    {
        var a = await _server.VpnOrgAsync("openvpn");
        var b = await _server.VpnOrgAsync("openvpn");
        var generated = await b.User.GenerateAsync(b.GatewayId, "openvpn");
        var configId = generated.Str("config_id");
        var adminA = await _server.OrgClientAsync(a.OrgId, "*");

        (await a.User.GetAsync(generated.Str("download_url"))).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.GetAsync(generated.Str("download_url"))).ErrorCode.ShouldBe("NOT_FOUND");
        (await a.User.DeleteAsync("/api/v1/configs/" + configId)).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.PostAsync($"/api/v1/admin/configs/{configId}/revoke", new { })).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.GetAsync($"/api/v1/orgs/{b.OrgId}/admin/configs")).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.GetAsync("/api/v1/admin/configs")).Data.GetArrayLength().ShouldBe(0);
        (await a.User.GenerateAsync(b.GatewayId, "openvpn")).ErrorCode.ShouldBe("NOT_FOUND");
        (await adminA.PostAsync("/api/v1/configs/generate", new { gateway_id = a.GatewayId, protocol = "openvpn", user_id = b.UserId })).ErrorCode.ShouldBe("VALIDATION_FAILED");

        // B's config is still pending and downloads for B.
        (await b.User.GetAsync("/api/v1/configs")).Data[0].GetProperty("status").GetString().ShouldBe("pending");
        (await b.User.GetAsync(generated.Str("download_url"))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Config_generation_is_limited_per_user()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Gateways:ConfigGenerationPerMinute"] = "2" } });
        var vpn = await server.VpnOrgAsync("openvpn");
        (await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn")).StatusCode.ShouldBe(201);
        (await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn")).StatusCode.ShouldBe(201);
        var limited = await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn");
        limited.ErrorCode.ShouldBe("RATE_LIMIT_EXCEEDED");
        int.Parse(limited.Header("Retry-After").ShouldNotBeNull(), System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
        (await vpn.User.GetAsync("/api/v1/configs")).Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task Device_verified_access_binds_configs_to_the_device_and_a_revoked_device_revokes_them()
    {
        var vpn = await _server.VpnOrgAsync("openvpn");
        var admin = await _server.OrgClientAsync(vpn.OrgId, "gateways:write");
        (await admin.GetAsync("/api/v1/admin/configs/settings")).Data.GetProperty("require_device").GetBoolean().ShouldBeFalse();
        (await admin.PutAsync("/api/v1/admin/configs/settings", new { })).ErrorCode.ShouldBe("VALIDATION_FAILED");
        var set = await admin.PutAsync("/api/v1/admin/configs/settings", new { require_device = true });
        set.StatusCode.ShouldBe(200, set.Text);
        set.Data.GetProperty("require_device").GetBoolean().ShouldBeTrue();

        var refused = await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn");
        refused.ErrorCode.ShouldBe("FORBIDDEN");
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("device_verification_required");

        // The app sends this login session through device verification: a device-bound session names it.
        var login = await _server.LoginAsync(vpn.Email, orgId: vpn.OrgId);
        var session = _server.CookielessClient(login.Token);
        var appId = await _server.CreateAppAsync(vpn.OrgId);
        using var device = new TestDevice();
        var devices = await _server.DeviceClientAsync(vpn.OrgId);
        var deviceId = (await devices.PostAsync($"/api/v1/orgs/{vpn.OrgId}/devices", new { userId = vpn.UserId, appId, publicKeyJwk = device.PublicJwk })).Str("id");
        (await devices.PostAsync($"/api/v1/orgs/{vpn.OrgId}/sessions", new { userId = vpn.UserId, deviceId, externalSessionId = login.SessionId })).StatusCode.ShouldBe(201);

        var (configId, _) = await session.GenerateAndDownloadAsync(vpn.GatewayId, "openvpn");
        var config = (await session.GetAsync("/api/v1/configs")).Data.EnumerateArray().Single(c => c.GetProperty("id").GetString() == configId);
        config.GetProperty("device_id").GetString().ShouldBe(deviceId);
        var serial = config.GetProperty("serial").GetString()!;
        (await vpn.Agent.PostAsync("verify", new { serial })).Data.GetProperty("allowed").GetBoolean().ShouldBeTrue();
        (await vpn.User.GenerateAsync(vpn.GatewayId, "openvpn")).ErrorCode.ShouldBe("FORBIDDEN");

        (await devices.DeleteAsync($"/api/v1/orgs/{vpn.OrgId}/devices/{deviceId}")).StatusCode.ShouldBe(200);
        (await vpn.Agent.PostAsync("verify", new { serial })).Str("reason").ShouldBe("revoked");
        (await _server.Anonymous.GetAsync($"/api/v1/pki/check/{serial}?org={vpn.OrgId}")).Str("status").ShouldBe("revoked");
        (await session.GetAsync("/api/v1/configs")).Data.EnumerateArray().Single(c => c.GetProperty("id").GetString() == configId)
            .GetProperty("status").GetString().ShouldBe("revoked");
        (await session.GenerateAsync(vpn.GatewayId, "openvpn")).ErrorCode.ShouldBe("FORBIDDEN");
    }

    private static string[] FieldsOf(ApiResponse response)
    {
        response.ErrorCode.ShouldBe("VALIDATION_FAILED", response.Text);
        return response.Fields();
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Debian's openvpn reads the profile: options parse, CA, certificate and key load, then it tries the (closed) remote.</summary>
    private static async Task OpenVpnAcceptsAsync(string profile)
    {
        const string OpenVpn = "/usr/sbin/openvpn";
        Assert.SkipUnless(File.Exists(OpenVpn), "openvpn is not installed (apt-get install openvpn): the profile was not run through it.");
        var dir = Directory.CreateTempSubdirectory("gatehouse-ovpn-").FullName;
        try
        {
            var path = Path.Combine(dir, "client.ovpn");
            await File.WriteAllTextAsync(path, profile);
            var start = new ProcessStartInfo(OpenVpn, ["--config", path, "--verb", "4", "--connect-retry-max", "1", "--connect-timeout", "2", "--route-noexec", "--ifconfig-noexec"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = dir,
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }

            var log = await output + await errors;
            log.ShouldNotContain("Options error", Case.Sensitive, log);
            log.ShouldNotContain("Cannot load", Case.Sensitive, log);
            log.ShouldNotContain("Cannot open", Case.Sensitive, log);
            // Got as far as dialing the remote: everything before it (parse, certificate and key loading) passed.
            log.ShouldMatch(@"(Attempting to establish TCP connection with|TCP: connect to) \[AF_INET\]127\.0\.0\.1:\d+", log);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>wg-quick strips the config to what `wg setconf` reads; every line is one wg knows, and the private key is the listed public key's.</summary>
    private static async Task WireGuardAcceptsAsync(string config, string privateKey, string publicKey)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/wg-quick") && File.Exists("/usr/bin/wg"), "wireguard-tools is not installed (apt-get install wireguard-tools): the config was not run through wg-quick.");
        var dir = Directory.CreateTempSubdirectory("gatehouse-wg-").FullName;
        try
        {
            // wg-quick takes the interface name from the file name.
            var path = Path.Combine(dir, "gh0.conf");
            await File.WriteAllTextAsync(path, config);
            var stripped = await ExternalTools.RunAsync("/usr/bin/wg-quick", dir, null, "strip", path);
            stripped.ShouldNotContain("Address");
            var known = new[] { "PrivateKey", "ListenPort", "FwMark", "PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive" };
            foreach (var line in stripped.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
            {
                if (line.StartsWith('['))
                {
                    line.ShouldBeOneOf("[Interface]", "[Peer]");
                    continue;
                }

                var key = line[..line.IndexOf('=', StringComparison.Ordinal)].Trim();
                known.ShouldContain(key, line);
            }

            var derived = await RunWithInputAsync("/usr/bin/wg", privateKey + "\n", "pubkey");
            derived.Trim().ShouldBe(publicKey);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> RunWithInputAsync(string program, string input, params string[] arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
        return output;
    }
}
