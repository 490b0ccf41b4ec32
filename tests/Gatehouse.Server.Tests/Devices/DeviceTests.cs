using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Conformance;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>Devices registered server to server, and sessions bound to them, over HTTP.</summary>
public sealed class DeviceTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_device_is_registered_listed_by_user_read_and_revoked_which_ends_its_sessions()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var client = await _server.DeviceClientAsync(orgId);
        using var key = new TestDevice();
        using var other = new TestDevice();

        var registered = await client.PostAsync($"/api/v1/orgs/{orgId}/devices", new { userId = "alice", appId, publicKeyJwk = key.PublicJwk, name = "laptop" });
        registered.StatusCode.ShouldBe(201, registered.Text);
        var deviceId = registered.Str("id");
        deviceId.ShouldStartWith("dev_");
        registered.Str("status").ShouldBe("active");
        registered.Str("keyThumbprint").Length.ShouldBe(43);
        registered.Text.ShouldNotContain("publicKeyJwk");
        (await client.PostAsync($"/api/v1/orgs/{orgId}/devices", new { userId = "bob", gatewayUuid = appId, publicKeyJwk = other.PublicJwk })).StatusCode.ShouldBe(201);

        var alices = await client.GetAsync($"/api/v1/orgs/{orgId}/devices?userId=alice");
        alices.Data.EnumerateArray().Select(d => d.GetProperty("id").GetString()).ShouldBe([deviceId]);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/devices")).Data.GetArrayLength().ShouldBe(2);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/devices/{deviceId}")).Str("name").ShouldBe("laptop");

        var session = await client.PostAsync($"/api/v1/orgs/{orgId}/sessions", new { userId = "alice", deviceId, externalSessionId = "shop-42" });
        session.StatusCode.ShouldBe(201, session.Text);
        var sessionId = session.Str("id");
        session.Str("externalSessionId").ShouldBe("shop-42");
        var proof = await _server.ProofAsync(sessionId, key);

        var revoked = await client.DeleteAsync($"/api/v1/orgs/{orgId}/devices/{deviceId}");

        revoked.StatusCode.ShouldBe(200, revoked.Text);
        revoked.Str("status").ShouldBe("revoked");
        var validation = await client.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof });
        validation.Data.GetProperty("valid").GetBoolean().ShouldBeFalse(validation.Text);
        validation.Data.GetProperty("reason").GetString().ShouldBe("ended");
        (await client.GetAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}")).Str("endReason").ShouldBe("device_revoked");
        (await client.PostAsync($"/api/v1/orgs/{orgId}/sessions", new { userId = "alice", deviceId })).ShouldBeError(422, "VALIDATION_FAILED");
        var actions = await _server.AuditActionsAsync(orgId);
        actions.ShouldContain("device.register");
        actions.ShouldContain("device.revoke");
        actions.ShouldContain("device_session.end");
    }

    [Fact]
    public async Task A_bad_key_an_unknown_app_and_a_second_registration_of_one_key_are_refused()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var client = await _server.DeviceClientAsync(orgId);
        using var key = new TestDevice();
        var path = $"/api/v1/orgs/{orgId}/devices";

        (await client.PostAsync(path, new { userId = "alice", appId, publicKeyJwk = new { kty = "EC", crv = "P-256", x = "AAAA", y = "AAAA" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", appId, publicKeyJwk = new { kty = "EC", crv = "P-384", x = "AAAA", y = "AAAA" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", appId, publicKeyJwk = new { kty = "EC", crv = "P-256", x = TestDevice.B64(new byte[32]), y = TestDevice.B64(new byte[32]), d = "secret" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", appId })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", publicKeyJwk = key.PublicJwk })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", appId = "dap_unknown", publicKeyJwk = key.PublicJwk })).ShouldBeError(404, "GATEWAY_NOT_FOUND");
        (await client.PostAsync(path, new { userId = "alice", gatewayUuid = "dap_unknown", publicKeyJwk = key.PublicJwk })).ShouldBeError(404, "GATEWAY_NOT_FOUND");
        (await client.GetAsync(path)).Data.GetArrayLength().ShouldBe(0);

        (await client.PostAsync(path, new { userId = "alice", appId, publicKeyJwk = key.PublicJwk })).StatusCode.ShouldBe(201);
        (await client.PostAsync(path, new { userId = "bob", appId, publicKeyJwk = key.PublicJwk })).ShouldBeError(409, "CONFLICT");
        (await client.GetAsync($"{path}/dev_unknown")).ShouldBeError(404, "NOT_FOUND");
        (await client.DeleteAsync($"{path}/dev_unknown")).ShouldBeError(404, "NOT_FOUND");
        (await (await _server.OrgClientAsync(orgId, "devices:read")).PostAsync(path, new { userId = "carol", appId, publicKeyJwk = new TestDevice().PublicJwk })).ShouldBeError(403, "FORBIDDEN");
    }

    [Fact]
    public async Task A_session_validates_only_with_a_fresh_single_use_proof_signed_by_its_device()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var client = await _server.DeviceClientAsync(orgId);
        var validator = await _server.OrgClientAsync(orgId, "devices:read");
        using var key = new TestDevice();
        using var stranger = new TestDevice();
        var deviceId = (await client.PostAsync($"/api/v1/orgs/{orgId}/devices", new { userId = "alice", appId, publicKeyJwk = key.PublicJwk })).Str("id");
        var sessionId = (await client.PostAsync($"/api/v1/orgs/{orgId}/sessions", new { userId = "alice", deviceId })).Str("id");
        var validate = $"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate";

        var bare = await validator.PostAsync(validate, new { });
        bare.StatusCode.ShouldBe(200, bare.Text);
        bare.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        bare.Data.GetProperty("reason").GetString().ShouldBe("proof_required");
        bare.Data.GetProperty("session").GetProperty("status").GetString().ShouldBe("active");

        var proof = await _server.ProofAsync(sessionId, key);
        var valid = await validator.PostAsync(validate, new { proof });
        valid.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(valid.Text);

        var replay = await validator.PostAsync(validate, new { proof });
        replay.Data.GetProperty("reason").GetString().ShouldBe("invalid_proof", "a challenge answers once");
        var forged = await validator.PostAsync(validate, new { proof = await _server.ProofAsync(sessionId, stranger) });
        forged.Data.GetProperty("reason").GetString().ShouldBe("invalid_proof", "another key's signature");

        var ended = await client.DeleteAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}");
        ended.StatusCode.ShouldBe(200, ended.Text);
        ended.Str("status").ShouldBe("ended");
        var afterEnd = await validator.PostAsync(validate, new { proof });
        afterEnd.Data.GetProperty("reason").GetString().ShouldBe("ended", "the cached session was evicted when it ended");
        (await validator.PostAsync($"/api/v1/orgs/{orgId}/sessions/ses_unknown/validate", new { })).ShouldBeError(404, "NOT_FOUND");
        (await validator.DeleteAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}")).ShouldBeError(403, "FORBIDDEN");
        (await client.DeleteAsync($"/api/v1/orgs/{orgId}/sessions/ses_unknown")).ShouldBeError(404, "NOT_FOUND");
        (await _server.AuditActionsAsync(orgId)).ShouldContain("device_session.create");
    }

    [Fact]
    public async Task Creating_a_session_needs_a_known_device_of_that_user()
    {
        var orgId = await _server.CreateOrgAsync();
        var appId = await _server.CreateAppAsync(orgId);
        var client = await _server.DeviceClientAsync(orgId);
        using var key = new TestDevice();
        var deviceId = (await client.PostAsync($"/api/v1/orgs/{orgId}/devices", new { userId = "alice", appId, publicKeyJwk = key.PublicJwk })).Str("id");
        var path = $"/api/v1/orgs/{orgId}/sessions";

        (await client.PostAsync(path, new { userId = "alice", deviceId = "dev_unknown" })).ShouldBeError(404, "NOT_FOUND");
        (await client.PostAsync(path, new { userId = "mallory", deviceId })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { deviceId })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { userId = "alice", deviceId, admin = true })).ShouldBeError(400, "INVALID_REQUEST");
        (await (await _server.OrgClientAsync(orgId, "devices:read")).PostAsync(path, new { userId = "alice", deviceId })).ShouldBeError(403, "FORBIDDEN");
    }

    [Fact]
    public async Task Devices_and_sessions_of_another_organization_are_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var appB = await _server.CreateAppAsync(orgB);
        var clientB = await _server.DeviceClientAsync(orgB);
        using var key = new TestDevice();
        var deviceB = (await clientB.PostAsync($"/api/v1/orgs/{orgB}/devices", new { userId = "alice", appId = appB, publicKeyJwk = key.PublicJwk })).Str("id");
        var sessionB = (await clientB.PostAsync($"/api/v1/orgs/{orgB}/sessions", new { userId = "alice", deviceId = deviceB })).Str("id");
        var callerA = await _server.DeviceClientAsync(orgA);
        using var keyA = new TestDevice();

        (await callerA.GetAsync($"/api/v1/orgs/{orgB}/devices")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.GetAsync($"/api/v1/orgs/{orgA}/devices/{deviceB}")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.DeleteAsync($"/api/v1/orgs/{orgA}/devices/{deviceB}")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PostAsync($"/api/v1/orgs/{orgA}/devices", new { userId = "alice", appId = appB, publicKeyJwk = keyA.PublicJwk })).ShouldBeError(404, "GATEWAY_NOT_FOUND");
        (await callerA.PostAsync($"/api/v1/orgs/{orgA}/sessions", new { userId = "alice", deviceId = deviceB })).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PostAsync($"/api/v1/orgs/{orgA}/sessions/{sessionB}/validate", new { })).ShouldBeError(404, "NOT_FOUND");
        (await callerA.DeleteAsync($"/api/v1/orgs/{orgA}/sessions/{sessionB}")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PostAsync($"/api/v1/orgs/{orgB}/sessions/{sessionB}/validate", new { })).ShouldBeError(404, "NOT_FOUND");

        (await clientB.GetAsync($"/api/v1/orgs/{orgB}/devices/{deviceB}")).Str("status").ShouldBe("active");
        (await clientB.GetAsync($"/api/v1/orgs/{orgB}/sessions/{sessionB}")).Str("status").ShouldBe("active");
        (await clientB.GetAsync($"/api/v1/orgs/{orgB}/devices")).Data.GetArrayLength().ShouldBe(1);
    }
}
