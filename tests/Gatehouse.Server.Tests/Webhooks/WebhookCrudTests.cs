namespace Gatehouse.Server.Tests.Webhooks;

public sealed class WebhookCrudTests(Audit.KeyedServer keyed) : IClassFixture<Audit.KeyedServer>
{
    private readonly GatehouseServer _server = keyed.Server;

    [Fact]
    public async Task Create_returns_the_secret_once_and_reads_never_show_it()
    {
        var orgId = await _server.CreateOrgAsync();

        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://example.test/hook?token=abc", events = new[] { "role.*", "org.updated" }, description = "ops" });

        created.StatusCode.ShouldBe(201, created.Text);
        var id = created.Str("id");
        id.ShouldStartWith("whk_");
        var secret = created.Str("secret");
        secret.ShouldStartWith("whsec_");
        Convert.FromBase64String(secret["whsec_".Length..]).Length.ShouldBe(32);
        created.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        created.Data.GetProperty("events").Strings().ShouldBe(["role.*", "org.updated"]);
        var got = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}");
        got.StatusCode.ShouldBe(200);
        got.Str("url").ShouldBe("https://example.test/hook?token=abc");
        got.Text.ShouldNotContain("whsec_");
        got.Data.TryGetProperty("secret", out _).ShouldBeFalse();
        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks");
        list.Data.GetArrayLength().ShouldBe(1);
        list.Text.ShouldNotContain(secret[6..]);
        var audit = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=webhook.create");
        audit.Data[0].GetProperty("changes").GetProperty("url").GetString().ShouldBe("https://example.test/hook?***");
        audit.Text.ShouldNotContain("token=abc");
    }

    [Fact]
    public async Task Update_changes_fields_and_delete_removes_the_endpoint()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateWebhookAsync(orgId, "https://example.test/a", "*");

        var updated = await _server.Root.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{id}", new { url = "https://example.test/b", events = new[] { "api_key.created" }, enabled = false, description = "new" });

        updated.StatusCode.ShouldBe(200, updated.Text);
        updated.Str("url").ShouldBe("https://example.test/b");
        updated.Data.GetProperty("enabled").GetBoolean().ShouldBeFalse();
        updated.Data.GetProperty("events").Strings().ShouldBe(["api_key.created"]);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks?enabled=false")).Data.GetArrayLength().ShouldBe(1);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks?enabled=true")).Data.GetArrayLength().ShouldBe(0);
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/test")).StatusCode.ShouldBe(409);

        var deleted = await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{id}");
        deleted.StatusCode.ShouldBe(200);
        deleted.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}")).StatusCode.ShouldBe(404);
        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{id}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Invalid_fields_are_422_and_nothing_is_stored()
    {
        var orgId = await _server.CreateOrgAsync();

        var missing = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { });
        var badEvents = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://example.test", events = new[] { "role.created", "nope.*", "x" } });
        var empty = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://example.test", events = Array.Empty<string>() });
        var notUrl = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "not a url", events = new[] { "*" } });
        var ftp = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "ftp://example.test/x", events = new[] { "*" } });
        var userInfo = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://user:pw@example.test/x", events = new[] { "*" } });

        foreach (var response in new[] { missing, badEvents, empty, notUrl, ftp, userInfo })
        {
            response.StatusCode.ShouldBe(422, response.Text);
            response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        }

        Fields(missing).ShouldBe(["url", "events"], ignoreOrder: true);
        Fields(badEvents).ShouldBe(["events[1]", "events[2]"], ignoreOrder: true);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks")).Data.GetArrayLength().ShouldBe(0);
        (await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/webhooks", "{\"url\": 5}")).StatusCode.ShouldBe(400);
    }

    [Fact]
    public async Task Rotate_secret_returns_a_new_secret_and_keeps_the_old_for_the_grace_period()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, secret) = await _server.CreateWebhookAsync(orgId, "https://example.test/a", "*");

        var rotated = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/rotate-secret", new { gracePeriodSeconds = 3600 });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Str("secret").ShouldStartWith("whsec_");
        rotated.Str("secret").ShouldNotBe(secret);
        rotated.Data.GetProperty("previousSecretExpiresAt").GetString().ShouldNotBeNull();
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/rotate-secret", new { gracePeriodSeconds = 604801 })).StatusCode.ShouldBe(422);
        var noGrace = await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/webhooks/{id}/rotate-secret", null, null);
        noGrace.StatusCode.ShouldBe(200);
        noGrace.Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
    }

    [Fact]
    public async Task The_event_catalog_lists_every_type_for_any_credential()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await (await keyed.ClientAsync(orgId, "roles:read")).GetAsync("/api/v1/webhook-events");

        response.StatusCode.ShouldBe(200);
        var types = response.Data.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ToList();
        types.ShouldContain("api_key.created");
        types.ShouldContain("api_key.revoked");
        types.ShouldContain("role.deleted");
        types.ShouldContain("webhook.test");
        types.ShouldNotContain("credential.revealed");
        response.Data.EnumerateArray().ShouldAllBe(e => e.GetProperty("description").GetString()!.Length > 0);
        (await _server.Anonymous.GetAsync("/api/v1/webhook-events")).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Routes_need_a_credential_and_the_webhooks_permission()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateWebhookAsync(orgId, "https://example.test/a", "*");
        var reader = (await keyed.ClientAsync(orgId, "webhooks:read"));
        var body = new { url = "https://example.test/b", events = new[] { "*" } };

        (await _server.Anonymous.GetAsync($"/api/v1/orgs/{orgId}/webhooks")).StatusCode.ShouldBe(401);
        (await (await keyed.ClientAsync(orgId, "roles:read")).GetAsync($"/api/v1/orgs/{orgId}/webhooks")).StatusCode.ShouldBe(403);
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}")).StatusCode.ShouldBe(200);
        (await reader.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/deliveries")).StatusCode.ShouldBe(200);
        var denied = new[]
        {
            await reader.PostAsync($"/api/v1/orgs/{orgId}/webhooks", body),
            await reader.PatchAsync($"/api/v1/orgs/{orgId}/webhooks/{id}", new { enabled = false }),
            await reader.DeleteAsync($"/api/v1/orgs/{orgId}/webhooks/{id}"),
            await reader.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/rotate-secret"),
            await reader.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/test"),
        };
        denied.ShouldAllBe(r => r.StatusCode == 403);
        // Subscribing to every event is reading every resource: the writer needs the read permissions too.
        (await (await keyed.ClientAsync(orgId, "webhooks:write")).PostAsync($"/api/v1/orgs/{orgId}/webhooks", body)).StatusCode.ShouldBe(403);
        (await (await keyed.ClientAsync(orgId, "webhooks:write", "read")).PostAsync($"/api/v1/orgs/{orgId}/webhooks", body)).StatusCode.ShouldBe(201);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}")).Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task Another_organizations_webhook_is_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateWebhookAsync(orgB, "https://example.test/b", "*");
        var delivery = (await _server.Root.PostAsync($"/api/v1/orgs/{orgB}/webhooks/{id}/test")).Str("id");
        var keyOfA = (await keyed.ClientAsync(orgA, "webhooks:*"));

        var responses = new[]
        {
            await keyOfA.GetAsync($"/api/v1/orgs/{orgA}/webhooks/{id}"),
            await keyOfA.PatchAsync($"/api/v1/orgs/{orgA}/webhooks/{id}", new { enabled = false }),
            await keyOfA.PostAsync($"/api/v1/orgs/{orgA}/webhooks/{id}/rotate-secret"),
            await keyOfA.PostAsync($"/api/v1/orgs/{orgA}/webhooks/{id}/test"),
            await keyOfA.GetAsync($"/api/v1/orgs/{orgA}/webhooks/{id}/deliveries"),
            await keyOfA.PostAsync($"/api/v1/orgs/{orgA}/webhooks/{id}/deliveries/{delivery}/redeliver"),
            await keyOfA.DeleteAsync($"/api/v1/orgs/{orgA}/webhooks/{id}"),
            await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/webhooks/{id}"),
            await keyOfA.DeleteAsync($"/api/v1/orgs/{orgB}/webhooks/{id}"),
        };

        responses.ShouldAllBe(r => r.StatusCode == 404);
        var still = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/webhooks/{id}");
        still.Data.GetProperty("enabled").GetBoolean().ShouldBeTrue();
        still.Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        (await _server.DeliveriesAsync(orgB, id)).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Deliveries_reject_a_bad_status_filter_and_redeliver_of_an_unknown_delivery_is_404()
    {
        var orgId = await _server.CreateOrgAsync();
        var (id, _) = await _server.CreateWebhookAsync(orgId, "https://example.test/a", "*");

        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/deliveries?status=weird")).StatusCode.ShouldBe(400);
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/deliveries?limit=0")).StatusCode.ShouldBe(400);
        (await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{id}/deliveries/wdl_01KAAAAAAAAAAAAAAAAAAAAAAA/redeliver")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Deleting_the_organization_erases_its_webhooks_and_stats_count_them()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.CreateWebhookAsync(orgId, "https://example.test/a", "*");
        await _server.CreateWebhookAsync(orgId, "https://example.test/b", "*");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/stats")).Text.ShouldContain("\"webhooks\":2");

        (await _server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        using var scope = _server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<Gatehouse.Server.Platform.Storage.GatehouseDb>();
        db.Set<Gatehouse.Server.Features.Webhooks.WebhookEndpoint>().Count(w => w.OrgId == orgId).ShouldBe(0);
        db.Set<Gatehouse.Server.Features.Webhooks.WebhookDelivery>().Count(d => d.OrgId == orgId).ShouldBe(0);
    }

    private static string[] Fields(ApiResponse response) =>
        [.. response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()!)];
}
