using System.Text.Json;
using Gatehouse.Server.Tests.Conformance;

namespace Gatehouse.Server.Tests.Devices;

/// <summary>
/// WebAuthn as the device key, over HTTP, with the browser and its authenticator played by
/// <see cref="TestAuthenticator"/>: the four browser endpoints, the session proof, and each way they refuse.
/// </summary>
public sealed class DeviceWebAuthnTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private string OwnOrigin => _server.BaseAddress.GetLeftPart(UriPartial.Authority);

    [Fact]
    public async Task A_credential_registers_a_webauthn_device_is_recognised_again_and_proves_its_sessions()
    {
        var (orgId, appId, backend) = await AppAsync(_server, "preferred");
        using var authenticator = new TestAuthenticator();
        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, challenge, _) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId });
        challenge.GetProperty("webauthn").GetString().ShouldBe("preferred");

        var (optionsStatus, options, _) = await _server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId });
        optionsStatus.ShouldBe(200, options.ToString());
        var creation = options.GetProperty("options");
        creation.GetProperty("rp").GetProperty("id").GetString().ShouldBe(_server.BaseAddress.Host);
        creation.GetProperty("authenticatorSelection").GetProperty("authenticatorAttachment").GetString().ShouldBe("platform");
        creation.GetProperty("user").GetProperty("name").GetString().ShouldBe("alice");
        options.GetProperty("keySlot").GetString().ShouldBe(challenge.GetProperty("keySlot").GetString());
        var (registeredStatus, registered, _) = await _server.BrowserPostAsync("/device/webauthn/register",
            new { request = requestId, attestation = authenticator.Attest(creation, OwnOrigin) });
        registeredStatus.ShouldBe(200, registered.ToString());
        registered.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        var first = await backend.PostAsync("/api/v1/device-auth/verify", new { token = TokenOf(registered), userId = "alice" });
        first.StatusCode.ShouldBe(200, first.Text);
        first.Data.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        authenticator.DeviceId = first.Str("deviceId");

        var device = await backend.GetAsync($"/api/v1/orgs/{orgId}/devices/{authenticator.DeviceId}");
        device.Str("keyType").ShouldBe("webauthn");
        device.Str("aaguid").ShouldBe(authenticator.Aaguid.ToString());
        device.Data.GetProperty("userVerified").GetBoolean().ShouldBeTrue();
        device.Text.ShouldNotContain(authenticator.Id, Case.Sensitive, "the credential id is not shown, only its hash");

        var second = await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin);
        second.GetProperty("newDevice").GetBoolean().ShouldBeFalse();
        second.GetProperty("deviceId").GetString().ShouldBe(authenticator.DeviceId);
        var sessionId = second.GetProperty("session").GetProperty("id").GetString()!;

        var proof = await ProofAsync(_server, sessionId, authenticator, OwnOrigin);
        var valid = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = new { webauthn = proof } });
        valid.StatusCode.ShouldBe(200, valid.Text);
        valid.Data.GetProperty("valid").GetBoolean().ShouldBeTrue(valid.Text);
        var replayed = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = new { webauthn = proof } });
        replayed.Str("reason").ShouldBe("invalid_proof", "a challenge is used once");
        (await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = new { } })).Str("reason").ShouldBe("proof_required");
        var signed = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = new { nonce = "n", signature = "s" } });
        signed.Str("reason").ShouldBe("proof_required", "a WebAuthn device's session takes no WebCrypto signature");

        using var otherAuthenticator = new TestAuthenticator();
        var third = await SignInAsync(_server, backend, appId, "alice", otherAuthenticator, OwnOrigin);
        third.GetProperty("newDevice").GetBoolean().ShouldBeTrue();
        third.GetProperty("deviceId").GetString().ShouldNotBe(authenticator.DeviceId);

        var actions = await _server.AuditActionsAsync(orgId);
        actions.Count(a => a == "device.register").ShouldBe(2);
        actions.Count(a => a == "device_auth.verify").ShouldBe(3);
        var logs = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200&sort=createdAt");
        logs.Text.ShouldContain("\"keyType\":\"webauthn\"");
    }

    [Fact]
    public async Task Through_the_apps_proxy_the_relying_party_is_the_apps_origin_and_other_origins_are_refused()
    {
        var (_, appId, backend) = await AppAsync(_server, "required");
        using var authenticator = new TestAuthenticator();
        var requestId = await backend.AuthUrlAsync(appId, "alice");

        var (foreign, refused, _) = await _server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId }, origin: "https://evil.example");
        foreign.ShouldBe(403);
        refused.GetProperty("error").GetString().ShouldBe("origin_not_allowed");

        var (status, options, response) = await _server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId }, origin: DeviceSteps.AppOrigin);
        status.ShouldBe(200, options.ToString());
        response.Headers.GetValues("Access-Control-Allow-Origin").Single().ShouldBe(DeviceSteps.AppOrigin);
        var creation = options.GetProperty("options");
        creation.GetProperty("rp").GetProperty("id").GetString().ShouldBe("app.example");

        // Made on another origin than the page's: refused, and the challenge stays usable.
        var (phished, phishedAnswer, _) = await _server.BrowserPostAsync("/device/webauthn/register",
            new { request = requestId, attestation = authenticator.Attest(creation, "https://evil.example") }, origin: DeviceSteps.AppOrigin);
        phished.ShouldBe(401);
        phishedAnswer.GetProperty("error").GetString().ShouldBe("invalid_attestation");
        var (registered, answer, _) = await _server.BrowserPostAsync("/device/webauthn/register",
            new { request = requestId, attestation = authenticator.Attest(creation, DeviceSteps.AppOrigin) }, origin: DeviceSteps.AppOrigin);
        registered.ShouldBe(200, answer.ToString());

        // The credential belongs to app.example: on Gatehouse's own origin it is unknown, as a WebCrypto key of another origin would be.
        authenticator.DeviceId = answer.GetProperty("deviceId").GetString();
        var next = await backend.AuthUrlAsync(appId, "alice");
        var (elsewhere, unknown, _) = await _server.BrowserPostAsync("/device/webauthn/assert-options", new { request = next, deviceId = authenticator.DeviceId });
        elsewhere.ShouldBe(404);
        unknown.GetProperty("error").GetString().ShouldBe("unknown_device");
        (await SignInAsync(_server, backend, appId, "alice", authenticator, DeviceSteps.AppOrigin)).GetProperty("newDevice").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task Missing_foreign_and_reused_challenges_and_garbage_answers_are_refused_and_change_nothing()
    {
        var (orgId, appId, backend) = await AppAsync(_server, "preferred");
        using var authenticator = new TestAuthenticator();
        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, options, _) = await _server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId });
        var creation = options.GetProperty("options");

        await ShouldFailAsync("/device/webauthn/register", new { request = requestId }, 400, "invalid_request");
        await ShouldFailAsync("/device/webauthn/register", new { request = requestId, attestation = authenticator.Attest(creation, OwnOrigin, challenge: TestDevice.B64(new byte[32])) },
            400, "invalid_challenge");
        await ShouldFailAsync("/device/webauthn/register", new { request = requestId, attestation = new { id = "x", rawId = "eA", type = "public-key", response = new { attestationObject = "AAAA", clientDataJSON = "e30" } } },
            400, "invalid_challenge");
        var garbage = new
        {
            id = authenticator.Id,
            rawId = authenticator.Id,
            type = "public-key",
            response = new { attestationObject = TestDevice.B64([1, 2, 3, 4, 5]), clientDataJSON = ClientDataOf(authenticator.Attest(creation, OwnOrigin)) },
        };
        await ShouldFailAsync("/device/webauthn/register", new { request = requestId, attestation = garbage }, 401, "invalid_attestation");
        await ShouldFailAsync("/device/webauthn/register", new { request = requestId, attestation = "not an object" }, 400, "invalid_request");
        await ShouldFailAsync("/device/webauthn/register", new { request = "dar_unknown", attestation = authenticator.Attest(creation, OwnOrigin) }, 404, "unknown_request");
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices")).Data.GetArrayLength().ShouldBe(0, "nothing refused made a device");

        // A challenge of another request is not this request's.
        var otherRequest = await backend.AuthUrlAsync(appId, "alice");
        await ShouldFailAsync("/device/webauthn/register", new { request = otherRequest, attestation = authenticator.Attest(creation, OwnOrigin) }, 400, "invalid_challenge");

        var attestation = authenticator.Attest(creation, OwnOrigin);
        var (ok, answer, _) = await _server.BrowserPostAsync("/device/webauthn/register", new { request = requestId, attestation });
        ok.ShouldBe(200, answer.ToString());
        authenticator.DeviceId = answer.GetProperty("deviceId").GetString();
        await ShouldFailAsync("/device/webauthn/register", new { request = requestId, attestation }, 404, "unknown_request");

        // The same credential registered through another request is one device already.
        var (_, otherOptions, _) = await _server.BrowserPostAsync("/device/webauthn/register-options", new { request = otherRequest });
        await ShouldFailAsync("/device/webauthn/register", new { request = otherRequest, attestation = authenticator.Attest(otherOptions.GetProperty("options"), OwnOrigin) }, 409, "already_registered");

        // Assertions: a garbage one and one over a used challenge.
        var (_, assertOptions, _) = await _server.BrowserPostAsync("/device/webauthn/assert-options", new { request = otherRequest, deviceId = authenticator.DeviceId });
        var getOptions = assertOptions.GetProperty("options");
        getOptions.GetProperty("allowCredentials")[0].GetProperty("id").GetString().ShouldBe(authenticator.Id);
        var forged = new
        {
            id = authenticator.Id,
            rawId = authenticator.Id,
            type = "public-key",
            response = new { authenticatorData = TestDevice.B64(new byte[37]), clientDataJSON = ClientDataOf(authenticator.Assert(getOptions, OwnOrigin)), signature = TestDevice.B64(new byte[70]) },
        };
        await ShouldFailAsync("/device/webauthn/assert", new { request = otherRequest, deviceId = authenticator.DeviceId, assertion = forged }, 401, "invalid_assertion");
        await ShouldFailAsync("/device/webauthn/assert", new { request = otherRequest, deviceId = authenticator.DeviceId }, 400, "invalid_request");
        var assertion = authenticator.Assert(getOptions, OwnOrigin);
        (await _server.BrowserPostAsync("/device/webauthn/assert", new { request = otherRequest, deviceId = authenticator.DeviceId, assertion })).Status.ShouldBe(200);
        var third = await backend.AuthUrlAsync(appId, "alice");
        await ShouldFailAsync("/device/webauthn/assert", new { request = third, deviceId = authenticator.DeviceId, assertion }, 400, "invalid_challenge");
        await ShouldFailAsync("/device/webauthn/assert", new { request = third, deviceId = "dev_unknown", assertion }, 404, "unknown_device");
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task An_app_without_webauthn_refuses_its_routes_and_a_required_one_refuses_webcrypto_keys()
    {
        var (_, offApp, offBackend) = await AppAsync(_server, null);
        var offRequest = await offBackend.AuthUrlAsync(offApp, "alice");
        var (_, offChallenge, _) = await _server.BrowserPostAsync("/device/challenge", new { request = offRequest });
        offChallenge.GetProperty("webauthn").GetString().ShouldBe("off");
        await ShouldFailAsync("/device/webauthn/register-options", new { request = offRequest }, 403, "webauthn_disabled");
        await ShouldFailAsync("/device/webauthn/assert-options", new { request = offRequest, deviceId = "dev_x" }, 403, "webauthn_disabled");

        var (orgId, appId, backend) = await AppAsync(_server, "preferred");
        using var browser = new TestDevice();
        await _server.SignInAsync(backend, appId, "alice", browser);
        (await backend.PatchAsync($"/api/v1/orgs/{orgId}/device-apps/{appId}", new { webauthn = "required" })).StatusCode.ShouldBe(200);

        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, challenge, _) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId });
        challenge.GetProperty("webauthn").GetString().ShouldBe("required");
        var nonce = challenge.GetProperty("nonce").GetString()!;
        var signature = browser.Sign($"gatehouse-device-auth:{requestId}:{nonce}");
        await ShouldFailAsync("/device/prove", new { request = requestId, nonce, deviceId = browser.DeviceId, signature }, 403, "webauthn_required");
        using var newBrowser = new TestDevice();
        await ShouldFailAsync("/device/register",
            new { request = requestId, nonce, publicKeyJwk = newBrowser.PublicJwk, signature = newBrowser.Sign($"gatehouse-device-auth:{requestId}:{nonce}") }, 403, "webauthn_required");
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices")).Data.GetArrayLength().ShouldBe(1);

        // A WebCrypto device has no credential to assert, and a WebAuthn device no key to sign with.
        await ShouldFailAsync("/device/webauthn/assert-options", new { request = requestId, deviceId = browser.DeviceId }, 404, "unknown_device");
        using var authenticator = new TestAuthenticator();
        await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin);
        var (_, fresh, _) = await _server.BrowserPostAsync("/device/challenge", new { request = requestId });
        var freshNonce = fresh.GetProperty("nonce").GetString()!;
        await ShouldFailAsync("/device/prove", new { request = requestId, nonce = freshNonce, deviceId = authenticator.DeviceId, signature = browser.Sign($"gatehouse-device-auth:{requestId}:{freshNonce}") },
            404, "unknown_device");
    }

    [Fact]
    public async Task A_counter_that_goes_back_is_refused_as_a_possible_clone_on_the_page_and_in_a_session_proof()
    {
        var (orgId, appId, backend) = await AppAsync(_server, "required");
        using var authenticator = new TestAuthenticator();
        await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin);
        var signedIn = await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin);
        var sessionId = signedIn.GetProperty("session").GetProperty("id").GetString()!;

        authenticator.SignCount = 0;
        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, options, _) = await _server.BrowserPostAsync("/device/webauthn/assert-options", new { request = requestId, deviceId = authenticator.DeviceId });
        var (status, refused, _) = await _server.BrowserPostAsync("/device/webauthn/assert",
            new { request = requestId, deviceId = authenticator.DeviceId, assertion = authenticator.Assert(options.GetProperty("options"), OwnOrigin) });
        status.ShouldBe(403, refused.ToString());
        refused.GetProperty("error").GetString().ShouldBe("sign_count_regression");
        refused.GetProperty("redirectUrl").GetString().ShouldBe($"{DeviceSteps.Callback}?error=sign_count_regression&requestId={requestId}");
        var logs = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?limit=200&sort=createdAt");
        logs.Text.ShouldContain("\"reason\":\"sign_count_regression\"");

        authenticator.SignCount = 0;
        var proof = await ProofAsync(_server, sessionId, authenticator, OwnOrigin);
        var validated = await backend.PostAsync($"/api/v1/orgs/{orgId}/sessions/{sessionId}/validate", new { proof = new { webauthn = proof } });
        validated.Data.GetProperty("valid").GetBoolean().ShouldBeFalse();
        validated.Str("reason").ShouldBe("sign_count_regression");
        (await _server.AuditActionsAsync(orgId)).Count(a => a == "device_auth.fail").ShouldBe(2);

        // The genuine authenticator, whose counter is ahead, still works.
        authenticator.SignCount = 100;
        (await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin)).GetProperty("newDevice").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task A_revoked_webauthn_device_is_refused_and_another_organizations_device_is_unknown()
    {
        var (orgId, appId, backend) = await AppAsync(_server, "preferred");
        var (_, otherApp, otherBackend) = await AppAsync(_server, "preferred");
        using var authenticator = new TestAuthenticator();
        using var stranger = new TestAuthenticator();
        await SignInAsync(_server, backend, appId, "alice", authenticator, OwnOrigin);
        await SignInAsync(_server, otherBackend, otherApp, "alice", stranger, OwnOrigin);

        var requestId = await backend.AuthUrlAsync(appId, "alice");
        await ShouldFailAsync("/device/webauthn/assert-options", new { request = requestId, deviceId = stranger.DeviceId }, 404, "unknown_device");
        (await backend.GetAsync($"/api/v1/orgs/{orgId}/devices/{stranger.DeviceId}")).ShouldBeError(404, "NOT_FOUND");

        (await backend.DeleteAsync($"/api/v1/orgs/{orgId}/devices/{authenticator.DeviceId}")).StatusCode.ShouldBe(200);
        var (status, refused, _) = await _server.BrowserPostAsync("/device/webauthn/assert-options", new { request = requestId, deviceId = authenticator.DeviceId });
        status.ShouldBe(403);
        refused.GetProperty("error").GetString().ShouldBe("device_revoked");
        refused.GetProperty("redirectUrl").GetString().ShouldBe($"{DeviceSteps.Callback}?error=device_revoked&requestId={requestId}");
    }

    [Fact]
    public async Task An_expired_challenge_is_refused()
    {
        var clock = new FakeClock(DateTimeOffset.UtcNow);
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var (_, appId, backend) = await AppAsync(server, "preferred");
        using var authenticator = new TestAuthenticator();
        var requestId = await backend.AuthUrlAsync(appId, "alice");
        var (_, options, _) = await server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId });
        options.GetProperty("expiresAt").GetDateTime().ShouldBe(clock.GetUtcNow().UtcDateTime.AddMinutes(5), TimeSpan.FromSeconds(1));

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var origin = server.BaseAddress.GetLeftPart(UriPartial.Authority);
        var (status, refused, _) = await server.BrowserPostAsync("/device/webauthn/register", new { request = requestId, attestation = authenticator.Attest(options.GetProperty("options"), origin) });
        status.ShouldBe(400);
        refused.GetProperty("error").GetString().ShouldBe("invalid_challenge");
    }

    private async Task ShouldFailAsync(string path, object body, int status, string error)
    {
        var (actual, answer, _) = await _server.BrowserPostAsync(path, body);
        actual.ShouldBe(status, answer.ToString());
        answer.GetProperty("error").GetString().ShouldBe(error);
    }

    private static async Task<(string OrgId, string AppId, ApiClient Backend)> AppAsync(GatehouseServer server, string? webauthn)
    {
        var orgId = await server.CreateOrgAsync();
        var appId = await server.CreateAppAsync(orgId, new
        {
            name = "app " + Guid.NewGuid().ToString("N")[..8],
            redirectUrls = new[] { DeviceSteps.Callback },
            allowedOrigins = new[] { DeviceSteps.AppOrigin },
            webauthn,
        });
        return (orgId, appId, await server.DeviceClientAsync(orgId));
    }

    private static string TokenOf(JsonElement answer) =>
        System.Web.HttpUtility.ParseQueryString(new Uri(answer.GetProperty("redirectUrl").GetString()!).Query)["token"]!;

    private static string ClientDataOf(object credential) =>
        JsonSerializer.SerializeToElement(credential).GetProperty("response").GetProperty("clientDataJSON").GetString()!;

    /// <summary>What the agent does with a WebAuthn key: register the first time, assert afterwards; then the app's verify.</summary>
    internal static async Task<JsonElement> SignInAsync(GatehouseServer server, ApiClient backend, string appId, string userId, TestAuthenticator authenticator, string origin)
    {
        var requestId = await backend.AuthUrlAsync(appId, userId);
        var sendOrigin = origin == server.BaseAddress.GetLeftPart(UriPartial.Authority) ? null : origin;
        JsonElement answer;
        if (authenticator.DeviceId is null)
        {
            var (_, options, _) = await server.BrowserPostAsync("/device/webauthn/register-options", new { request = requestId }, sendOrigin);
            (_, answer, _) = await server.BrowserPostAsync("/device/webauthn/register", new { request = requestId, attestation = authenticator.Attest(options.GetProperty("options"), origin) }, sendOrigin);
        }
        else
        {
            var (_, options, _) = await server.BrowserPostAsync("/device/webauthn/assert-options", new { request = requestId, deviceId = authenticator.DeviceId }, sendOrigin);
            (_, answer, _) = await server.BrowserPostAsync("/device/webauthn/assert",
                new { request = requestId, deviceId = authenticator.DeviceId, assertion = authenticator.Assert(options.GetProperty("options"), origin) }, sendOrigin);
        }

        answer.TryGetProperty("redirectUrl", out _).ShouldBeTrue(answer.ToString());
        authenticator.DeviceId = answer.GetProperty("deviceId").GetString();
        var verified = await backend.PostAsync("/api/v1/device-auth/verify", new { token = TokenOf(answer), userId });
        verified.StatusCode.ShouldBe(200, verified.Text);
        return verified.Data;
    }

    /// <summary>A session proof of a WebAuthn device: options for the session, then the authenticator's assertion.</summary>
    internal static async Task<object> ProofAsync(GatehouseServer server, string sessionId, TestAuthenticator authenticator, string origin)
    {
        var (status, options, _) = await server.BrowserPostAsync("/device/webauthn/assert-options", new { sessionId });
        status.ShouldBe(200, options.ToString());
        return authenticator.Assert(options.GetProperty("options"), origin);
    }
}
