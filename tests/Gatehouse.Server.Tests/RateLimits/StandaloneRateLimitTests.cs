using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.RateLimits;

public sealed class StandaloneRateLimitTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Counts_uses_until_the_limit_then_answers_success_false()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "ratelimit:use");
        var body = new { @namespace = "email.send", identifier = "user_1", limit = 3, durationMs = 60_000 };

        var results = new List<ApiResponse>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(await client.PostAsync("/api/v1/ratelimit", body));
        }

        results.ShouldAllBe(r => r.StatusCode == 200);
        results.Select(r => r.Data.GetProperty("success").GetBoolean()).ShouldBe([true, true, true, false]);
        results.Select(r => r.Data.GetProperty("remaining").GetInt64()).ShouldBe([2, 1, 0, 0]);
        results[0].Data.GetProperty("limit").GetInt64().ShouldBe(3);
        // The same timestamp format as every response: ISO-8601 UTC ending in Z, never an offset or a number.
        results[0].Data.GetProperty("resetAt").GetString()!.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$");
        results[0].Body.GetProperty("meta").GetProperty("timestamp").GetString()!.ShouldMatch(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$");
    }

    [Fact]
    public async Task Identifiers_and_organizations_are_counted_apart()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        var a = await _server.OrgClientAsync(orgA, "ratelimit:use");
        var b = await _server.OrgClientAsync(orgB, "ratelimit:use");

        (await a.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "x", limit = 1, durationMs = 60_000 })).Data.GetProperty("success").GetBoolean().ShouldBeTrue();
        (await a.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "y", limit = 1, durationMs = 60_000 })).Data.GetProperty("success").GetBoolean().ShouldBeTrue();
        (await b.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "x", limit = 1, durationMs = 60_000 })).Data.GetProperty("success").GetBoolean().ShouldBeTrue();
        (await a.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "x", limit = 1, durationMs = 60_000 })).Data.GetProperty("success").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task An_override_replaces_the_limit_in_the_request()
    {
        var orgId = await _server.CreateOrgAsync();
        var admin = await _server.OrgClientAsync(orgId, "ratelimit:use", "ratelimit:write", "ratelimit:read");
        var set = await admin.PutAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides", new { @namespace = "api", identifier = "vip", limit = 5, durationMs = 60_000 });
        set.StatusCode.ShouldBe(200, set.Text);

        var first = await admin.PostAsync("/api/v1/ratelimit", new { @namespace = "api", identifier = "vip", limit = 1, durationMs = 1000 });

        first.Data.GetProperty("limit").GetInt64().ShouldBe(5);
        first.Data.GetProperty("remaining").GetInt64().ShouldBe(4);
        var list = await admin.GetAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides?namespace=api");
        list.Data.GetArrayLength().ShouldBe(1);
        (await admin.DeleteAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides?namespace=api&identifier=vip")).StatusCode.ShouldBe(200);
        (await admin.DeleteAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides?namespace=api&identifier=vip")).StatusCode.ShouldBe(404);
        (await admin.DeleteAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides?namespace=api")).StatusCode.ShouldBe(400);
    }

    [Fact]
    public async Task Invalid_input_is_422_naming_each_field()
    {
        var orgId = await _server.CreateOrgAsync();
        var client = await _server.OrgClientAsync(orgId, "ratelimit:use", "ratelimit:write");

        var response = await client.PostAsync("/api/v1/ratelimit", new { @namespace = "has space", limit = 0, durationMs = 10, cost = -1 });
        var put = await client.PutAsync($"/api/v1/orgs/{orgId}/ratelimit-overrides", new { @namespace = "n" });

        response.StatusCode.ShouldBe(422);
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => f.GetProperty("field").GetString()).ShouldBe(["identifier", "namespace", "limit", "durationMs", "cost"], ignoreOrder: true);
        put.StatusCode.ShouldBe(422);
    }

    [Fact]
    public async Task Root_must_name_the_organization_and_permissions_are_checked()
    {
        var orgId = await _server.CreateOrgAsync();
        var body = new { @namespace = "n", identifier = "i", limit = 1, durationMs = 60_000 };

        (await _server.Root.PostAsync("/api/v1/ratelimit", body)).StatusCode.ShouldBe(422);
        (await _server.Root.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "i", limit = 1, durationMs = 60_000, orgId })).StatusCode.ShouldBe(200);
        (await _server.Root.PostAsync("/api/v1/ratelimit", new { @namespace = "n", identifier = "i", limit = 1, durationMs = 60_000, orgId = "org_01KAAAAAAAAAAAAAAAAAAAAAAA" })).StatusCode.ShouldBe(404);
        var noPermission = await (await _server.OrgClientAsync(orgId, "orgs:read")).PostAsync("/api/v1/ratelimit", body);
        noPermission.StatusCode.ShouldBe(403);
        noPermission.Body.GetProperty("error").GetProperty("details").GetProperty("required").GetString().ShouldBe("ratelimit:use");
        (await _server.Anonymous.PostAsync("/api/v1/ratelimit", body)).StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task Another_organizations_overrides_are_404_and_unchanged()
    {
        var orgA = await _server.CreateOrgAsync();
        var orgB = await _server.CreateOrgAsync();
        await _server.Root.PutAsync($"/api/v1/orgs/{orgB}/ratelimit-overrides", new { @namespace = "n", identifier = "i", limit = 7, durationMs = 60_000 });
        var keyOfA = await _server.OrgClientAsync(orgA, "ratelimit:read", "ratelimit:write");

        (await keyOfA.GetAsync($"/api/v1/orgs/{orgB}/ratelimit-overrides")).StatusCode.ShouldBe(404);
        (await keyOfA.PutAsync($"/api/v1/orgs/{orgB}/ratelimit-overrides", new { @namespace = "n", identifier = "i", limit = 1, durationMs = 60_000 })).StatusCode.ShouldBe(404);
        (await keyOfA.DeleteAsync($"/api/v1/orgs/{orgB}/ratelimit-overrides?namespace=n&identifier=i")).StatusCode.ShouldBe(404);
        var still = await _server.Root.GetAsync($"/api/v1/orgs/{orgB}/ratelimit-overrides");
        still.Data[0].GetProperty("limit").GetInt64().ShouldBe(7);
    }

    [Fact]
    public async Task Sixty_four_concurrent_clients_sending_four_times_the_limit_are_admitted_up_to_the_limit()
    {
        const int limit = 500;
        var orgId = await _server.CreateOrgAsync();
        var clients = new List<ApiClient>();
        for (var i = 0; i < 4; i++)
        {
            clients.Add(await _server.OrgClientAsync(orgId, "ratelimit:use"));
        }

        var body = new { @namespace = "concurrency", identifier = "one", limit, durationMs = 3_600_000 };
        var admitted = 0;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(async worker =>
        {
            var client = clients[worker % clients.Count];
            for (var i = 0; i < limit * 4 / 64 + 1; i++)
            {
                var response = await client.PostAsync("/api/v1/ratelimit", body);
                if (response.Data.GetProperty("success").GetBoolean())
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        }));

        admitted.ShouldBeInRange((int)(0.99 * limit), limit);
    }
}
