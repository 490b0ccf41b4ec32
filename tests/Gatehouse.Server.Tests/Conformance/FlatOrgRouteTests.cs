using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Conformance;

/// <summary>
/// Flat organization routes (<c>/api/v1/&lt;rest&gt;</c> for <c>/api/v1/orgs/{orgId}/&lt;rest&gt;</c>):
/// which organization they act on, what they refuse, and that an alias is one request of its
/// canonical route — one rate-limit count, one idempotency record, one audit event.
/// </summary>
public sealed class FlatOrgRouteTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    private static Dictionary<string, string> Naming(string tenant, string header = "X-Tenant-Id") => new() { [header] = tenant };

    [Fact]
    public async Task An_org_key_without_a_header_acts_on_its_own_organization()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "api_keys:*");

        var created = await caller.PostAsync("/api/v1/api-keys", new { name = "flat", permissions = new[] { "deploy:read" } });

        created.StatusCode.ShouldBe(201, created.Text);
        created.Str("orgId").ShouldBe(orgId);
        var listed = await caller.GetAsync("/api/v1/api-keys");
        listed.StatusCode.ShouldBe(200, listed.Text);
        listed.Data.EnumerateArray().Select(k => k.GetProperty("id").GetString()).ShouldContain(created.Str("id"));
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{created.Str("id")}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task The_root_key_names_the_organization_by_id_or_slug_in_either_spelling_of_the_header()
    {
        var slug = "flat-" + Guid.NewGuid().ToString("N")[..10];
        var org = await _server.Root.PostAsync("/api/v1/orgs", new { name = "Flat by slug", slug });
        var orgId = org.Str("id");

        foreach (var headers in new[] { Naming(orgId), Naming(slug), Naming(orgId, "x-tenantid"), Naming(slug, "X-TENANT-ID") })
        {
            var stats = await _server.Root.GetAsync("/api/v1/stats", headers);
            stats.StatusCode.ShouldBe(200, $"{string.Join(",", headers)}: {stats.Text}");
        }

        var key = await _server.Root.PostAsync("/api/v1/api-keys", new { name = "by slug", permissions = Array.Empty<string>() }, Naming(slug, "x-tenantid"));
        key.StatusCode.ShouldBe(201, key.Text);
        key.Str("orgId").ShouldBe(orgId);
    }

    [Fact]
    public async Task The_root_key_without_a_header_is_400_and_nothing_is_created()
    {
        var orgs = (await _server.Root.GetAsync("/api/v1/orgs?limit=1")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64();

        var refused = await _server.Root.PostAsync("/api/v1/api-keys", new { name = "whose?", permissions = Array.Empty<string>() });

        refused.StatusCode.ShouldBe(400, refused.Text);
        refused.ErrorCode.ShouldBe("INVALID_REQUEST");
        refused.Body.GetProperty("error").GetProperty("details").GetProperty("header").GetString().ShouldBe("X-Tenant-Id");
        (await _server.Root.GetAsync("/api/v1/orgs?limit=1")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(orgs);
    }

    [Fact]
    public async Task An_org_key_naming_another_or_an_unknown_organization_gets_404_and_nothing_changes()
    {
        var own = await _server.CreateOrgAsync();
        var other = await _server.CreateOrgAsync();
        var (otherKey, _) = await _server.CreateKeyAsync(other, new { name = "theirs", permissions = new[] { "deploy:read" } });
        var caller = await _server.OrgClientAsync(own, "*");
        var before = (await _server.Root.GetAsync($"/api/v1/orgs/{other}/api-keys?includeRevoked=true")).Data.GetRawText();

        foreach (var tenant in new[] { other, "org_" + Guid.NewGuid().ToString("N"), "no-such-slug-" + Guid.NewGuid().ToString("N")[..6] })
        {
            (await caller.GetAsync($"/api/v1/api-keys/{otherKey}", Naming(tenant))).ErrorCode.ShouldBe("NOT_FOUND", tenant);
            var planted = await caller.PostAsync("/api/v1/api-keys", new { name = "planted", permissions = Array.Empty<string>() }, Naming(tenant));
            planted.StatusCode.ShouldBe(404, planted.Text);
            planted.ErrorCode.ShouldBe("NOT_FOUND");
            (await caller.SendAsync(HttpMethod.Delete, $"/api/v1/api-keys/{otherKey}", null, Naming(tenant))).StatusCode.ShouldBe(404);
        }

        (await _server.Root.GetAsync($"/api/v1/orgs/{other}/api-keys?includeRevoked=true")).Data.GetRawText().ShouldBe(before);
    }

    [Fact]
    public async Task Without_a_valid_credential_a_flat_route_is_401_like_its_canonical_route()
    {
        var orgId = await _server.CreateOrgAsync();

        (await _server.Anonymous.GetAsync("/api/v1/api-keys")).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        (await _server.Anonymous.GetAsync("/api/v1/api-keys", Naming(orgId))).ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        var unknown = await _server.CreateClient("gk_" + new string('1', 40)).GetAsync("/api/v1/roles");
        unknown.StatusCode.ShouldBe(401, unknown.Text);
        unknown.ErrorCode.ShouldBe("INVALID_API_KEY");
    }

    [Fact]
    public async Task Routes_that_are_not_organization_routes_are_never_rewritten()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "*");

        (await caller.GetAsync("/api/v1/orgs")).Data.EnumerateArray().Select(o => o.GetProperty("id").GetString()).ShouldBe([orgId]);
        (await caller.GetAsync("/api/v1/permissions")).StatusCode.ShouldBe(200);
        (await caller.GetAsync("/api/v1/admin/health")).ErrorCode.ShouldBe("FORBIDDEN");
        (await caller.GetAsync("/api/v1/health")).StatusCode.ShouldBe(200);
        var verify = await caller.PostAsync("/api/v1/keys/verify", new { key = caller.ApiKey });
        verify.Code().ShouldBe("VALID");
        // Unknown paths stay unknown, whoever asks (the root key is not told to name an organization).
        (await _server.Root.GetAsync("/api/v1/no-such-thing")).ErrorCode.ShouldBe("NOT_FOUND");
        (await _server.Root.GetAsync("/api/v1/api-keys/a/b/c")).ErrorCode.ShouldBe("NOT_FOUND");
        // A wrong method on a flat route is the canonical route's 405.
        (await caller.SendAsync(HttpMethod.Put, "/api/v1/api-keys", new { })).ErrorCode.ShouldBe("METHOD_NOT_ALLOWED");
    }

    [Fact]
    public async Task A_flat_request_counts_once_against_the_rate_limit()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "api_keys:read");

        // Three requests inside one window (a window that rolls over between them is tried again).
        for (var attempt = 1; ; attempt++)
        {
            var answers = new[] { await caller.GetAsync("/api/v1/api-keys"), await caller.GetAsync("/api/v1/api-keys"), await caller.GetAsync($"/api/v1/orgs/{orgId}/api-keys") };
            if (answers.Select(a => a.Header("X-RateLimit-Reset")).Distinct().Count() > 1 && attempt < 3)
            {
                continue;
            }

            var remaining = answers.Select(a => long.Parse(a.Header("X-RateLimit-Remaining")!, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            remaining[1].ShouldBe(remaining[0] - 1);
            remaining[2].ShouldBe(remaining[1] - 1);
            return;
        }
    }

    [Fact]
    public async Task An_idempotent_flat_post_is_one_record_with_its_canonical_route_and_one_audit_event()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "*");
        var idempotency = new Dictionary<string, string> { ["Idempotency-Key"] = "flat-" + Guid.NewGuid().ToString("N") };
        var body = new { name = "once", permissions = new[] { "deploy:read" } };

        var first = await caller.PostAsync("/api/v1/api-keys", body, idempotency);
        var retried = await caller.PostAsync("/api/v1/api-keys", body, idempotency);
        var canonical = await caller.PostAsync($"/api/v1/orgs/{orgId}/api-keys", body, idempotency);

        first.StatusCode.ShouldBe(201, first.Text);
        retried.Header("Idempotent-Replayed").ShouldBe("true");
        canonical.Header("Idempotent-Replayed").ShouldBe("true");
        retried.Str("id").ShouldBe(first.Str("id"));
        canonical.Str("id").ShouldBe(first.Str("id"));
        var actions = await _server.Services.GetRequiredService<Gatehouse.Server.Platform.Storage.DatabaseTarget>().ReadAuditActionsAsync(orgId);
        // One for the caller's own key, one for the flat create.
        actions.Count(a => a == "api_key.create").ShouldBe(2, string.Join(", ", actions));
    }

    [Fact]
    public async Task Realmname_is_accepted_and_ignored_as_a_header_and_a_query_parameter()
    {
        var orgId = await _server.CreateOrgAsync();
        var caller = await _server.OrgClientAsync(orgId, "api_keys:read");

        (await caller.GetAsync("/api/v1/api-keys?realmname=master", new Dictionary<string, string> { ["realmname"] = "master" })).StatusCode.ShouldBe(200);
        (await caller.GetAsync($"/api/v1/orgs/{orgId}/api-keys?realmname=master&limit=5")).StatusCode.ShouldBe(200);
        (await caller.GetAsync("/api/v1/api-keys?realm=master")).ErrorCode.ShouldBe("INVALID_REQUEST");
    }
}
