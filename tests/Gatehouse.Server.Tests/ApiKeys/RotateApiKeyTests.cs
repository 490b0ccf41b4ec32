namespace Gatehouse.Server.Tests.ApiKeys;

public sealed class RotateApiKeyTests(SharedServer shared)
{
    [Fact]
    public async Task The_new_key_has_the_same_settings_and_the_old_one_works_until_the_grace_ends_then_is_EXPIRED()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (oldId, oldKey) = await server.CreateKeyAsync(orgId, new
        {
            name = "svc",
            permissions = new[] { "docs:read" },
            ownerId = "u",
            meta = new { tier = 1 },
            ratelimits = new[] { new { name = "default", limit = 100, durationMs = 60000 } },
            ipAllowlist = new[] { "10.0.0.0/8" },
        });

        var rotated = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{oldId}/rotate", new { gracePeriodSeconds = 60 });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        var newId = rotated.Str("id");
        var newKey = rotated.Str("key");
        newId.ShouldNotBe(oldId);
        newKey.ShouldNotBe(oldKey);
        rotated.Str("name").ShouldBe("svc");
        rotated.Str("ownerId").ShouldBe("u");
        rotated.Str("rotatedFrom").ShouldBe(oldId);
        rotated.Data.GetProperty("permissions").Strings().ShouldBe(["docs:read"]);
        rotated.Data.GetProperty("ipAllowlist").Strings().ShouldBe(["10.0.0.0/8"]);
        rotated.Data.GetProperty("ratelimits")[0].GetProperty("limit").GetInt64().ShouldBe(100);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{oldId}")).Str("expiresAt").ShouldBe("2026-11-22T10:01:00Z");

        (await server.Root.VerifyAsync(new { key = oldKey, ip = "10.1.1.1" })).Code().ShouldBe("VALID");
        (await server.Root.VerifyAsync(new { key = newKey, ip = "10.1.1.1" })).Code().ShouldBe("VALID");
        clock.Advance(TimeSpan.FromSeconds(61));
        (await server.Root.VerifyAsync(new { key = oldKey, ip = "10.1.1.1" })).Code().ShouldBe("EXPIRED");
        (await server.Root.VerifyAsync(new { key = newKey, ip = "10.1.1.1" })).Code().ShouldBe("VALID");
        var audit = await server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().ReadAuditChangesAsync(orgId);
        audit.ShouldContain(a => a.StartsWith("api_key.rotate", StringComparison.Ordinal) && a.Contains(newId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_grace_the_old_key_fails_at_once_as_EXPIRED()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = new FakeClock() });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId);
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");

        var rotated = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate");

        rotated.StatusCode.ShouldBe(200);
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("EXPIRED");
        (await server.Root.VerifyAsync(new { key = rotated.Str("key") })).Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task The_grace_never_extends_past_the_old_keys_own_expiry()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), expiresAt = "2026-11-22T10:00:30Z" });

        var rotated = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate", new { gracePeriodSeconds = 3600 });

        rotated.Str("expiresAt").ShouldBe("2026-11-22T10:00:30Z");
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{id}")).Str("expiresAt").ShouldBe("2026-11-22T10:00:30Z");
        clock.Advance(TimeSpan.FromSeconds(31));
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("EXPIRED");
    }

    [Fact]
    public async Task Bad_grace_is_422_unknown_or_revoked_is_404_expired_is_409_and_missing_permission_is_403()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var (id, key) = await server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), expiresAt = "2026-11-22T11:00:00Z" });
        var (revokedId, _) = await server.CreateKeyAsync(orgId);
        await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}");
        var reader = await server.OrgClientAsync(orgId, "api_keys:read");

        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate", new { gracePeriodSeconds = -1 })).StatusCode.ShouldBe(422);
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{revokedId}/rotate")).StatusCode.ShouldBe(404);
        (await reader.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate")).StatusCode.ShouldBe(403);
        (await server.Root.VerifyAsync(new { key })).Code().ShouldBe("VALID");
        clock.Advance(TimeSpan.FromHours(2));
        (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{id}/rotate")).StatusCode.ShouldBe(409);
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.GetArrayLength().ShouldBe(2);
    }

    [Fact]
    public async Task A_key_inside_its_rotation_grace_cannot_be_rotated_again_and_names_its_successor()
    {
        var server = shared.Server;
        var orgId = await server.CreateOrgAsync();
        var (oldId, oldKey) = await server.CreateKeyAsync(orgId);
        var first = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{oldId}/rotate", new { gracePeriodSeconds = 3600 });
        var successorId = first.Str("id");

        var again = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{oldId}/rotate", new { gracePeriodSeconds = 3600 });
        var ofSuccessor = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{successorId}/rotate", new { gracePeriodSeconds = 3600 });

        again.StatusCode.ShouldBe(409, again.Text);
        again.ErrorCode.ShouldBe("CONFLICT");
        again.Body.GetProperty("error").GetProperty("details").GetProperty("successorId").GetString().ShouldBe(successorId);
        again.Body.GetProperty("error").GetProperty("message").GetString()!.ShouldContain(successorId);
        ofSuccessor.StatusCode.ShouldBe(200, ofSuccessor.Text);
        ofSuccessor.Str("rotatedFrom").ShouldBe(successorId);
        // The refused rotation changed nothing: the old key still works and its lineage has one branch.
        (await server.Root.VerifyAsync(new { key = oldKey })).Code().ShouldBe("VALID");
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Data.EnumerateArray()
            .Count(k => k.GetProperty("rotatedFrom").GetString() == oldId).ShouldBe(1);
    }
}
