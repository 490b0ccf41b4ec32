using Gatehouse.Server.Platform.Auth;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Server.Tests.Security.Adversarial;

/// <summary>One mapped operation of the running server: a method on a route pattern, with what it demands.</summary>
public sealed record Operation(string Method, string Pattern, string? Name, AccessRequirement? Requirement, bool GuardsEscalation)
{
    public IReadOnlyList<string> Parameters { get; } =
        [.. Pattern.Split('/').Where(s => s.StartsWith('{')).Select(s => s.Trim('{', '}'))];

    public bool HasBody => Method is "POST" or "PATCH" or "PUT";

    public bool IsMutating => Method is "POST" or "PATCH" or "PUT" or "DELETE";

    /// <summary>The path with each <c>{parameter}</c> replaced by what <paramref name="value"/> gives for it.</summary>
    public string Path(Func<string, string> value) =>
        "/" + string.Join('/', Pattern.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.StartsWith('{') ? Uri.EscapeDataString(value(s.Trim('{', '}'))) : s));

    public override string ToString() => $"{Method} {Pattern}";

    /// <summary>Every /api/v1 operation the server has mapped, and seed 003's /v1 aliases, read from its route table.</summary>
    public static IReadOnlyList<Operation> Of(GatehouseServer server) =>
        [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => (Endpoint: e, Pattern: "/" + (e.RoutePattern.RawText ?? "").TrimStart('/')))
            .Where(e => e.Pattern.StartsWith("/api/v1", StringComparison.Ordinal) || e.Pattern.StartsWith("/v1/", StringComparison.Ordinal))
            .SelectMany(e => (e.Endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(method => new Operation(
                method,
                e.Pattern,
                e.Endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName,
                e.Endpoint.Metadata.GetMetadata<AccessRequirement>(),
                e.Endpoint.Metadata.GetMetadata<EscalationGuardMetadata>() is not null)))
            .OrderBy(o => o.Pattern, StringComparer.Ordinal).ThenBy(o => o.Method, StringComparer.Ordinal)];

    /// <summary>
    /// A well-formed body for each operation that takes one, by operation name. A new operation
    /// with a body fails the suites until it is given one here: that is how it gets covered.
    /// </summary>
    public static object? SampleBody(Operation operation, World world) => (operation.Name ?? operation.Pattern) switch
    {
        "CreateOrg" => new { name = "Adversarial org" },
        "UpdateOrg" or "LockteraUpdateOrg" => new { name = "Renamed" },
        "CreateApiKey" or "LockteraCreateApiKey" => new { name = "sample", permissions = new[] { "deploy:write" } },
        "UpdateApiKey" => new { name = "renamed" },
        "RotateApiKey" => new { gracePeriodSeconds = 0 },
        "ValidateApiKey" => new { key = world.SampleSecret },
        "/api/v1/keys/verify" => new { key = world.SampleSecret },
        "CreateRole" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], permissions = new[] { "deploy:write" } },
        "UpdateRole" => new { description = "changed" },
        "CreateWebhook" => new { url = "http://127.0.0.1:9/hook", events = new[] { "api_key.created" } },
        "UpdateWebhook" => new { description = "changed" },
        "RotateWebhookSecret" => new { gracePeriodSeconds = 0 },
        "TestWebhook" or "RedeliverWebhook" or "RotateDataKeys" => new { },
        "CreateCredential" => new { integrationId = "sample", authType = "api_key", name = "sample-" + Guid.NewGuid().ToString("N")[..8], data = new { apiKey = "sk_sample" } },
        "UpdateCredential" => new { name = "renamed-" + Guid.NewGuid().ToString("N")[..8] },
        "SetRateLimitOverride" => new { @namespace = "sample", identifier = "user-1", limit = 10, durationMs = 60_000 },
        "StandaloneRateLimit" or "RateLimit" => new { @namespace = "sample", identifier = "user-1", limit = 10, durationMs = 60_000 },
        "CreateUser" => new { email = $"sample-{Guid.NewGuid():N}@example.org", name = "Sample", permissions = new[] { "deploy:read" } },
        "CreateAnyUser" => new { orgId = world.A.OrgId, email = $"sample-{Guid.NewGuid():N}@example.org", name = "Sample" },
        "UpdateUser" => new { name = "Renamed" },
        "LoginWithPassword" => new { email = "nobody@example.org", password = "not-the-password-0" },
        "Logout" => new { all = false },
        "ChangePassword" => new { currentPassword = World.UserPassword, newPassword = "a-new-long-passphrase-9" },
        "CreateServiceAccount" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], permissions = new[] { "deploy:read" } },
        "AdminCreateServiceAccount" or "AdminCreateServiceAccountAlias" => new { orgId = world.A.OrgId, name = "sample-" + Guid.NewGuid().ToString("N")[..8], permissions = new[] { "deploy:read" } },
        "UpdateServiceAccount" => new { description = "changed" },
        "CreateServiceAccountKey" => new { name = "sample", permissions = new[] { "deploy:read" } },
        "CreateOAuthClient" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], scopes = new[] { "deploy:read" } },
        "UpdateOAuthClient" => new { description = "changed" },
        "RotateOAuthClientSecret" => new { gracePeriodSeconds = 0 },
        "RotateSigningKey" => new { algorithm = "ES256", activateAfterSeconds = 3600 },
        "CreateDeviceApp" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], redirectUrls = new[] { "https://sample.example/cb" } },
        "UpdateDeviceApp" => new { sessionTtlSeconds = 3600 },
        "RegisterDevice" => new { userId = "sample", appId = world.A["appId"], publicKeyJwk = SampleDeviceKey() },
        "CreateDeviceSession" => new { userId = "resident", deviceId = world.A["deviceId"] },
        "ValidateDeviceSession" => new { },
        "CreateDeviceAuthUrl" => new { appId = world.A["appId"], userId = "resident", sessionId = "sample", redirectUrl = "https://resident.example/cb" },
        "VerifyDeviceAuthToken" => new { token = "gdt_sample", userId = "resident" },
        "RefreshDeviceSession" => new { refreshToken = "gdr_sample" },
        "CreateGateway" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], hostname = "gw.example.org", port = 1194, protocol = "udp", vpn_type = "openvpn" },
        "UpdateGateway" => new { description = "changed" },
        "RotateGatewayToken" => new { },
        "CreateNetwork" or "UpdateNetwork" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], cidr = "10.99.0.0/16" },
        "CreateAccessRule" or "UpdateAccessRule" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], subjects = new[] { "*" }, cidr = "10.99.0.0/16", action = "allow" },
        "RevokeCertificate" => new { serial = "0ABCDEF0", reason = "superseded" },
        "GatewayHeartbeat" or "GatewayAllRules" => new { },
        "GatewayVerifyClient" or "GatewayClientRules" => new { serial = "0ABCDEF0" },
        "GatewayClientConnected" or "GatewayClientDisconnected" => new { serial = "0ABCDEF0", client_ip = "192.0.2.1" },
        "GatewayProvision" => new { csr = "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----" },
        "GenerateVpnConfig" => new { gateway_id = world.A["gatewayId"], protocol = "openvpn", user_id = world.A["userId"] },
        "RevokeVpnConfig" => new { reason = "superseded" },
        "UpdateVpnConfigSettings" => new { require_device = false },
        "CreateMeshHub" or "UpdateMeshHub" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], gateway_id = world.A["wgGatewayId"] },
        "AddMeshSpoke" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], local_cidrs = new[] { "192.168.77.0/24" } },
        "UpdateGeoFence" => new { mode = "off" },
        "CheckGeoFence" => new { ip = "192.0.2.1" },
        "CreateStorageConfig" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8], provider = "local" },
        "UpdateStorageConfig" => new { name = "renamed-" + Guid.NewGuid().ToString("N")[..8] },
        "CreateContainer" => new { name = "sample" },
        "UpdateContainer" => new { name = "renamed" },
        "TestStorageConfig" or "UploadFile" => new { },
        "CreateShare" => new { recipients = new[] { "resident@example.org" } },
        "CreateDrmRule" or "ReplaceDrmRule" => new { name = "sample", maxOpens = 1 },
        "CreateContact" or "ReplaceContact" => new { email = $"sample-{Guid.NewGuid():N}@example.org", name = "Sample" },
        "CreateTag" or "ReplaceTag" => new { name = "sample-" + Guid.NewGuid().ToString("N")[..8] },
        "RecordConsent" => new { subject = "sample@example.org", purpose = "sample", policyVersion = "1", granted = true },
        "EraseConsentSubject" => new { subject = "resident@example.org" },
        "PutCustomization" => new { logoUrl = "https://example.org/sample.png" },
        "PutSsoSettings" => new { issuer = "https://127.0.0.1:9", clientId = "sample", clientSecret = "sample-client-secret-0123456789" },
        "ReportClientError" => new { code = "sample", message = "sample" },
        "GiveShareConsent" => new { granted = true },
        _ when !operation.HasBody => null,
        _ => throw new InvalidOperationException($"{operation} ({operation.Name}) has no sample body: add one to Operation.SampleBody so the adversarial suites cover it."),
    };

    private static object SampleDeviceKey()
    {
        using var key = new Devices.TestDevice();
        return key.PublicJwk;
    }
}
