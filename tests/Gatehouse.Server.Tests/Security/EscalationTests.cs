using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Security;

/// <summary>
/// The escalation rule: no route lets a caller obtain a credential or an effect beyond what it
/// holds — through creating, rotating, updating, disabling or revoking keys, roles, settings or
/// replays. Each refusal is checked to have changed nothing.
/// </summary>
public sealed class EscalationTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_key_writer_cannot_rotate_revoke_update_or_disable_a_stronger_key()
    {
        var orgId = await _server.CreateOrgAsync();
        var (adminId, adminKey) = await _server.CreateKeyAsync(orgId, new { name = "admin", permissions = new[] { "*" } });
        var writer = await _server.OrgClientAsync(orgId, "api_keys:write", "api_keys:read");
        var keysBefore = (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength();

        var attempts = new[]
        {
            await writer.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{adminId}/rotate", new { gracePeriodSeconds = 60 }),
            await writer.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{adminId}"),
            await writer.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{adminId}", new { name = "renamed" }),
            await writer.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{adminId}", new { enabled = false }),
        };

        foreach (var attempt in attempts)
        {
            attempt.StatusCode.ShouldBe(403, attempt.Text);
            attempt.ErrorCode.ShouldBe("FORBIDDEN");
            attempt.Text.ShouldNotContain("\"key\"");
        }

        var admin = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{adminId}");
        admin.Str("name").ShouldBe("admin");
        admin.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        admin.Data.GetProperty("expiresAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(keysBefore);
        (await _server.CreateClient(adminKey).GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_key_writer_rotates_updates_and_revokes_keys_within_its_own_permissions()
    {
        var orgId = await _server.CreateOrgAsync();
        var writer = await _server.OrgClientAsync(orgId, "api_keys:write", "api_keys:read");
        var (readerId, _) = await _server.CreateKeyAsync(orgId, new { name = "reader", permissions = new[] { "api_keys:read", "deploy:write" } });

        var rotated = await writer.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{readerId}/rotate", new { });
        rotated.StatusCode.ShouldBe(200, rotated.Text);
        var successor = rotated.Str("id");
        (await writer.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{successor}", new { name = "renamed" })).StatusCode.ShouldBe(200);
        (await writer.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{successor}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_key_cannot_grant_platform_permissions_it_lacks_through_a_role_it_creates_or_edits()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "roles:write", "roles:read", "api_keys:write");
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "deployer", permissions = new[] { "deploy:write" } });
        var roleId = role.Str("id");

        var created = await caller.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "owner", permissions = new[] { "*" } });
        created.StatusCode.ShouldBe(403, created.Text);
        var raised = await caller.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { permissions = new[] { "deploy:write", "orgs:write" } });
        raised.StatusCode.ShouldBe(403, raised.Text);
        raised.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("orgs:write");

        var roles = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles");
        roles.Data.GetArrayLength().ShouldBe(1);
        roles.Data[0].GetProperty("permissions").Strings().ShouldBe(["deploy:write"]);

        // Custom permissions are the organization's own: granting them is not an escalation.
        var custom = await caller.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { permissions = new[] { "deploy:write", "deploy:read" } });
        custom.StatusCode.ShouldBe(200, custom.Text);
    }

    [Fact]
    public async Task A_role_change_that_would_raise_or_strip_a_key_the_caller_could_not_change_is_refused()
    {
        var orgId = await _server.CreateOrgAsync();
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "shared", permissions = new[] { "deploy:write" } });
        var roleId = role.Str("id");
        // A key holding the role and a platform power the caller lacks.
        var (strongId, strongKey) = await _server.CreateKeyAsync(orgId, new { name = "strong", permissions = new[] { "orgs:write" }, roles = new[] { "shared" } });
        var caller = await _server.OrgClientAsync(orgId, "roles:write", "roles:read", "api_keys:read");

        var widened = await caller.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { permissions = new[] { "deploy:write", "deploy:read" } });
        widened.StatusCode.ShouldBe(403, widened.Text);
        var renamed = await caller.PatchAsync($"/api/v1/orgs/{orgId}/roles/{roleId}", new { name = "renamed" });
        renamed.StatusCode.ShouldBe(403, renamed.Text);
        var deleted = await caller.DeleteAsync($"/api/v1/orgs/{orgId}/roles/{roleId}");
        deleted.StatusCode.ShouldBe(403, deleted.Text);

        var stored = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/roles/{roleId}");
        stored.Str("name").ShouldBe("shared");
        stored.Data.GetProperty("permissions").Strings().ShouldBe(["deploy:write"]);
        var verdict = await _server.Root.VerifyAsync(new { key = strongKey, permissions = "deploy:write" });
        verdict.Code().ShouldBe("VALID");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{strongId}")).Data.GetProperty("roles").Strings().ShouldBe(["shared"]);
    }

    [Fact]
    public async Task A_restricted_key_cannot_issue_itself_a_looser_key_that_calls_this_api()
    {
        var orgId = await _server.CreateOrgAsync();
        var expiresAt = DateTime.UtcNow.Date.AddDays(2);
        var (_, restrictedKey) = await _server.CreateKeyAsync(orgId, new
        {
            name = "restricted",
            permissions = new[] { "api_keys:write", "api_keys:read" },
            ipAllowlist = new[] { "127.0.0.0/8" },
            expiresAt,
        });
        var restricted = _server.CreateClient(restrictedKey);

        var unbounded = await restricted.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "escape", permissions = new[] { "api_keys:read" }, ipAllowlist = new[] { "127.0.0.0/8" } });
        unbounded.StatusCode.ShouldBe(403, unbounded.Text);
        unbounded.Body.GetProperty("error").GetProperty("details").GetProperty("field").GetString().ShouldBe("expiresAt");
        var anywhere = await restricted.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "escape", permissions = new[] { "api_keys:read" }, expiresAt });
        anywhere.StatusCode.ShouldBe(403, anywhere.Text);
        anywhere.Body.GetProperty("error").GetProperty("details").GetProperty("field").GetString().ShouldBe("ipAllowlist");
        var wider = await restricted.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "escape", permissions = new[] { "api_keys:read" }, expiresAt, ipAllowlist = new[] { "0.0.0.0/0" } });
        wider.StatusCode.ShouldBe(403, wider.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?q=escape")).Data.GetArrayLength().ShouldBe(0);

        // As tight as the issuer, or only the organization's own permissions: allowed.
        var bounded = await restricted.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "bounded", permissions = new[] { "api_keys:read" }, expiresAt, ipAllowlist = new[] { "127.0.0.1/32" } });
        bounded.StatusCode.ShouldBe(201, bounded.Text);
        var customer = await restricted.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "customer", permissions = new[] { "deploy:write" } });
        customer.StatusCode.ShouldBe(201, customer.Text);
    }

    [Fact]
    public async Task A_key_cannot_loosen_its_own_restrictions_but_can_tighten_them()
    {
        var orgId = await _server.CreateOrgAsync();
        var expiresAt = DateTime.UtcNow.Date.AddDays(2);
        var (selfId, selfKey) = await _server.CreateKeyAsync(orgId, new
        {
            name = "self",
            permissions = new[] { "api_keys:write", "api_keys:read" },
            ipAllowlist = new[] { "127.0.0.0/8" },
            expiresAt,
            remaining = 10,
            ratelimits = new[] { new { name = "calls", limit = 10, durationMs = 60_000 } },
        });
        var self = _server.CreateClient(selfKey);
        var path = $"/api/v1/orgs/{orgId}/api-keys/{selfId}";

        var loosenings = new object[]
        {
            new { ipAllowlist = Array.Empty<string>() },
            new { ipAllowlist = new[] { "0.0.0.0/0" } },
            new { expiresAt = (DateTime?)null },
            new { expiresAt = expiresAt.AddDays(30) },
            new { remaining = (long?)null },
            new { remaining = 1_000_000 },
            new { refill = new { interval = "daily", amount = 1000 } },
            new { ratelimits = Array.Empty<object>() },
            new { ratelimits = new[] { new { name = "calls", limit = 1_000_000, durationMs = 60_000 } } },
        };
        foreach (var loosening in loosenings)
        {
            var response = await self.PatchAsync(path, loosening);
            response.StatusCode.ShouldBe(403, $"{System.Text.Json.JsonSerializer.Serialize(loosening)} → {response.Text}");
        }

        var stored = await _server.Root.GetAsync(path);
        stored.Data.GetProperty("ipAllowlist").Strings().ShouldBe(["127.0.0.0/8"]);
        stored.Data.GetProperty("remaining").GetInt64().ShouldBe(10);
        stored.Data.GetProperty("ratelimits")[0].GetProperty("limit").GetInt64().ShouldBe(10);

        var tightened = await self.PatchAsync(path, new { remaining = 5, ipAllowlist = new[] { "127.0.0.1/32" } });
        tightened.StatusCode.ShouldBe(200, tightened.Text);
        tightened.Data.GetProperty("remaining").GetInt64().ShouldBe(5);
    }

    [Fact]
    public async Task Rate_limits_and_key_prefix_of_an_organization_are_root_only_and_gkr_is_reserved()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "*");

        var limits = await admin.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { rateLimits = new { perMinute = 1_000_000 } } });
        limits.StatusCode.ShouldBe(403, limits.Text);
        var prefix = await admin.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { keyPrefix = "acme" } });
        prefix.StatusCode.ShouldBe(403, prefix.Text);
        var org = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}");
        org.Data.GetProperty("settings").GetProperty("rateLimits").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        org.Data.GetProperty("settings").GetProperty("keyPrefix").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);

        (await admin.PatchAsync($"/api/v1/orgs/{orgId}", new { name = "Renamed" })).StatusCode.ShouldBe(200);
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { keyPrefix = "acme" } })).StatusCode.ShouldBe(200);

        var rootPrefix = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}", new { settings = new { keyPrefix = "gkr" } });
        rootPrefix.StatusCode.ShouldBe(422, rootPrefix.Text);
        var keyPrefix = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "lookalike", permissions = Array.Empty<string>(), prefix = "gkr" });
        keyPrefix.StatusCode.ShouldBe(422, keyPrefix.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).Data.GetProperty("settings").GetProperty("keyPrefix").GetString().ShouldBe("acme");
    }

    [Fact]
    public async Task A_webhook_carries_only_events_its_creator_may_read()
    {
        var orgId = await _server.CreateOrgAsync();
        var hooks = await _server.OrgClientAsync(orgId, "webhooks:write", "webhooks:read", "api_keys:read");

        var everything = await hooks.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/all", events = new[] { "*" } });
        everything.StatusCode.ShouldBe(403, everything.Text);
        var vault = await hooks.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/vault", events = new[] { "credential.*" } });
        vault.StatusCode.ShouldBe(403, vault.Text);
        vault.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("credentials:read");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks")).Data.GetArrayLength().ShouldBe(0);

        var keys = await hooks.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "http://127.0.0.1:9/keys", events = new[] { "api_key.*" } });
        keys.StatusCode.ShouldBe(201, keys.Text);
        var widened = await hooks.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{keys.Str("id")}", new { events = new[] { "api_key.*", "role.created" } });
        widened.StatusCode.ShouldBe(403, widened.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{keys.Str("id")}")).Data.GetProperty("events").Strings().ShouldBe(["api_key.*"]);
    }

    [Fact]
    public async Task Deleting_an_organization_needs_everything_its_keys_hold()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.CreateKeyAsync(orgId, new { name = "admin", permissions = new[] { "*" } });
        var writer = await _server.OrgClientAsync(orgId, "orgs:write", "orgs:read");

        var deleted = await writer.DeleteAsync($"/api/v1/orgs/{orgId}");
        deleted.StatusCode.ShouldBe(403, deleted.Text);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task An_idempotent_replay_goes_only_to_the_credential_that_made_the_request_and_only_while_it_may()
    {
        var orgId = await _server.CreateOrgAsync();
        var (firstId, firstKey) = await _server.CreateKeyAsync(orgId, new { name = "first", permissions = new[] { "api_keys:write" } });
        var first = _server.CreateClient(firstKey);
        var second = await _server.OrgClientAsync(orgId, "api_keys:write");
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = "create-" + Guid.NewGuid().ToString("N") };
        var body = new { name = "issued", permissions = new[] { "deploy:write" } };

        var original = await first.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, headers);
        original.StatusCode.ShouldBe(201, original.Text);
        var replay = await first.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, headers);
        replay.Header("Idempotent-Replayed").ShouldBe("true");
        replay.Str("key").ShouldBe(original.Str("key"));

        var other = await second.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, headers);
        other.StatusCode.ShouldBe(201, other.Text);
        other.Header("Idempotent-Replayed").ShouldBeNull();
        other.Str("key").ShouldNotBe(original.Str("key"));

        // The first key loses its permission: the stored secret is no longer handed to it.
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{firstId}", new { permissions = new[] { "api_keys:read" } })).StatusCode.ShouldBe(200);
        var denied = await first.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, headers);
        denied.StatusCode.ShouldBe(403, denied.Text);
        denied.Text.ShouldNotContain(original.Str("key"));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_in_the_same_words_as_an_unknown_one()
    {
        var orgId = await _server.CreateOrgAsync();
        var (revokedId, revokedKey) = await _server.CreateKeyAsync(orgId, new { name = "gone", permissions = new[] { "orgs:read" } });
        var (disabledId, disabledKey) = await _server.CreateKeyAsync(orgId, new { name = "off", permissions = new[] { "orgs:read" } });
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}")).StatusCode.ShouldBe(200);
        (await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/api-keys/{disabledId}", new { enabled = false })).StatusCode.ShouldBe(200);
        var unknownKey = Gatehouse.Crypto.ApiKeyFormat.Generate("gk");

        var answers = new List<ApiResponse>();
        foreach (var key in new[] { revokedKey, disabledKey, unknownKey })
        {
            answers.Add(await _server.CreateClient(key).GetAsync($"/api/v1/orgs/{orgId}"));
        }

        foreach (var answer in answers)
        {
            answer.StatusCode.ShouldBe(401);
            answer.ErrorCode.ShouldBe("INVALID_API_KEY");
        }

        answers.Select(a => a.Body.GetProperty("error").GetProperty("message").GetString()).Distinct().Count().ShouldBe(1);
    }
}
