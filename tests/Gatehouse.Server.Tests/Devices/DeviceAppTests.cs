using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.Conformance;

namespace Gatehouse.Server.Tests.Devices;

public sealed class DeviceAppTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_device_app_is_created_read_listed_updated_and_deleted()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.DeviceClientAsync(orgId);

        var created = await client.PostAsync($"/api/v1/orgs/{orgId}/device-apps",
            new { name = "shop", redirectUrls = new[] { "https://shop.example/cb" }, allowedOrigins = new[] { "https://shop.example" }, proofMaxAgeSeconds = 30 });

        created.StatusCode.ShouldBe(201, created.Text);
        var appId = created.Str("id");
        appId.ShouldStartWith("dap_");
        created.Str("gatewayUuid").ShouldBe(appId);
        created.Data.GetProperty("sessionTtlSeconds").GetInt32().ShouldBe(86_400);
        created.Data.GetProperty("proofMaxAgeSeconds").GetInt32().ShouldBe(30);
        created.Str("webauthn").ShouldBe("off");

        var updated = await client.PatchAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}", new { redirectUrls = new[] { "https://shop.example/cb", "https://shop.example/cb2" }, sessionTtlSeconds = 3600 });
        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Data.GetProperty("redirectUrls").Strings().ShouldBe(["https://shop.example/cb", "https://shop.example/cb2"]);
        updated.Data.GetProperty("sessionTtlSeconds").GetInt32().ShouldBe(3600);
        updated.Str("webauthn").ShouldBe("off", "an absent field stays");
        var hardware = await client.PatchAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}", new { webauthn = "required" });
        hardware.StatusCode.ShouldBe(200, hardware.Text);
        hardware.Str("webauthn").ShouldBe("required");
        (await client.PatchAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}", new { webauthn = "always" })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.GetAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}")).Str("webauthn").ShouldBe("required");
        (await client.GetAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}")).Str("name").ShouldBe("shop");
        (await client.GetAsync($"/api/v1/orgs/{orgId}/device-apps")).Data.GetArrayLength().ShouldBe(1);

        (await client.DeleteAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}")).StatusCode.ShouldBe(200);
        (await client.GetAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}")).ShouldBeError(404, "NOT_FOUND");
        (await client.DeleteAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}")).ShouldBeError(404, "NOT_FOUND");
        (await _server.AuditActionsAsync(orgId)).ShouldContain("device_app.delete");
    }

    [Fact]
    public async Task Each_rule_of_an_app_is_422_and_a_duplicate_name_is_409()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.DeviceClientAsync(orgId);
        var path = $"/api/v1/orgs/{orgId}/device-apps";

        (await client.PostAsync(path, new { redirectUrls = new[] { "https://a.example/cb" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x" })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = Array.Empty<string>() })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "/relative" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb#frag" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "javascript:alert(1)" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, allowedOrigins = new[] { "https://a.example/path" } })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, sessionTtlSeconds = 59 })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, proofMaxAgeSeconds = 3601 })).ShouldBeError(422, "VALIDATION_FAILED");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, colour = "red" })).ShouldBeError(400, "INVALID_REQUEST");
        var webauthn = await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, webauthn = "Preferred" });
        webauthn.ShouldBeError(422, "VALIDATION_FAILED");
        webauthn.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("field").GetString().ShouldBe("webauthn");
        (await client.PostAsync(path, new { name = "x", redirectUrls = new[] { "https://a.example/cb" }, webauthn = 1 })).ShouldBeError(400, "INVALID_REQUEST");
        (await client.GetAsync(path)).Data.GetArrayLength().ShouldBe(0);

        (await client.PostAsync(path, new { name = "dup", redirectUrls = new[] { "https://a.example/cb" } })).StatusCode.ShouldBe(201);
        (await client.PostAsync(path, new { name = "dup", redirectUrls = new[] { "https://a.example/cb" } })).ShouldBeError(409, "CONFLICT");
    }

    [Fact]
    public async Task Reading_is_not_writing_and_no_key_is_401()
    {
        var orgId = await _server.CreateOrgAsync();
        var reader = await _server.OrgClientAsync(orgId, "devices:read");

        var refused = await reader.PostAsync($"/api/v1/orgs/{orgId}/device-apps", new { name = "x", redirectUrls = new[] { "https://a.example/cb" } });

        refused.ShouldBeError(403, "FORBIDDEN");
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/device-apps")).StatusCode.ShouldBe(200);
        (await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/device-apps")).ShouldBeError(401, "AUTHENTICATION_FAILED");
    }

    [Fact]
    public async Task An_app_of_another_organization_is_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var appB = await _server.CreateAppAsync(orgB);
        var callerA = await _server.DeviceClientAsync(orgA);

        (await callerA.GetAsync($"/api/v1/orgs/{orgB}/device-apps")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.GetAsync($"/api/v1/orgs/{orgA}/device-apps/{appB}")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PatchAsync($"/api/v1/orgs/{orgA}/device-apps/{appB}", new { name = "stolen" })).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PatchAsync($"/api/v1/orgs/{orgA}/device-apps/{appB}", new { webauthn = "required" })).ShouldBeError(404, "NOT_FOUND");
        (await callerA.DeleteAsync($"/api/v1/orgs/{orgA}/device-apps/{appB}")).ShouldBeError(404, "NOT_FOUND");
        (await callerA.PostAsync("/api/v1/device-auth/url", new { appId = appB, userId = "u", sessionId = "s", redirectUrl = DeviceSteps.Callback })).ShouldBeError(404, "GATEWAY_NOT_FOUND");
        var untouched = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/device-apps/{appB}");
        untouched.Str("name").ShouldStartWith("app ");
        untouched.Str("webauthn").ShouldBe("off");
    }
}
