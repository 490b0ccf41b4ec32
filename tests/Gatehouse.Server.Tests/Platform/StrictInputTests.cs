using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// A request says exactly what it means: a JSON member or a query parameter the route does not
/// know, or a member given twice, is 400 INVALID_REQUEST naming it, and nothing is done.
/// </summary>
public sealed class StrictInputTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_misspelt_field_creates_nothing_and_names_the_field()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/api-keys", "{\"name\":\"metered\",\"remainig\":5}");

        ShouldName(response, "remainig", "unknown");
        var list = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys");
        list.Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(0);
    }

    [Theory]
    [InlineData("{\"name\":\"k\",\"remaining\":5,\"refill\":{\"interval\":\"daily\",\"amont\":5}}", "refill.amont")]
    [InlineData("{\"name\":\"k\",\"ratelimits\":[{\"name\":\"a\",\"limit\":1,\"durationMs\":1000,\"extra\":1}]}", "ratelimits[0].extra")]
    public async Task A_misspelt_nested_field_is_named_by_its_path(string body, string field)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/api-keys", body);

        ShouldName(response, field, "unknown");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task A_misspelt_field_inside_a_PATCH_object_changes_nothing()
    {
        var orgId = await _server.CreateOrgAsync();
        var (keyId, _) = await _server.CreateKeyAsync(orgId, new { name = "k", permissions = Array.Empty<string>(), remaining = 10, refill = new { interval = "daily", amount = 10 } });

        var response = await _server.Root.SendRawAsync(HttpMethod.Patch, $"/api/v1/orgs/{orgId}/api-keys/{keyId}", "{\"name\":\"renamed\",\"refill\":{\"interval\":\"daily\",\"amont\":3}}");

        ShouldName(response, "refill.amont", "unknown");
        var key = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}");
        key.Str("name").ShouldBe("k");
        key.Data.GetProperty("refill").GetProperty("amount").GetInt64().ShouldBe(10);
    }

    [Fact]
    public async Task An_unknown_field_of_a_PATCH_is_rejected()
    {
        var orgId = await _server.CreateOrgAsync();
        var role = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "reader", permissions = new[] { "docs:read" } });

        var response = await _server.Root.SendRawAsync(HttpMethod.Patch, $"/api/v1/orgs/{orgId}/roles/{role.Str("id")}", "{\"descripton\":\"typo\"}");

        ShouldName(response, "descripton", "unknown");
    }

    [Theory]
    [InlineData("{\"name\":\"a\",\"name\":\"b\"}", "name")]
    [InlineData("{\"name\":\"a\",\"meta\":{\"team\":1,\"team\":2}}", "meta.team")]
    public async Task A_field_given_twice_is_rejected(string body, string field)
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/api-keys", body);

        ShouldName(response, field, "duplicate");
        (await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys")).Body.GetProperty("meta").GetProperty("pagination").GetProperty("total").GetInt64().ShouldBe(0);
    }

    [Fact]
    public async Task Free_form_objects_still_take_any_member()
    {
        var orgId = await _server.CreateOrgAsync();

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, $"/api/v1/orgs/{orgId}/api-keys", "{\"name\":\"k\",\"permissions\":[],\"meta\":{\"anything\":{\"nested\":[1,2]},\"else\":true}}");

        response.StatusCode.ShouldBe(201, response.Text);
    }

    [Fact]
    public async Task The_verify_endpoint_rejects_an_unknown_field_and_an_unknown_query_parameter()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        var field = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/keys/verify", $"{{\"key\":\"{key}\",\"permisions\":\"docs:read\"}}");
        var query = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/keys/verify?debug=1", $"{{\"key\":\"{key}\"}}");
        var twice = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/keys/verify", $"{{\"key\":\"{key}\",\"cost\":0,\"key\":\"gh_other\"}}");
        var twiceInTags = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/keys/verify", $"{{\"key\":\"{key}\",\"tags\":{{\"a\":1,\"a\":2}}}}");
        var fine = await _server.Root.VerifyAsync(new { key });

        ShouldName(field, "permisions", "unknown");
        ShouldName(query, "debug", "unknown");
        ShouldName(twice, "key", "duplicate");
        ShouldName(twiceInTags, "tags.a", "duplicate");
        fine.StatusCode.ShouldBe(200, fine.Text);
        fine.Data.GetProperty("valid").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task An_unknown_query_parameter_of_a_list_is_rejected_and_known_ones_still_work()
    {
        var orgId = await _server.CreateOrgAsync();
        await _server.CreateKeyAsync(orgId);

        var typo = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?limt=1");
        var known = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?limit=1&offset=0&sort=createdAt&includeRevoked=true&enabled=true&q=test&ownerId=");
        var badValue = await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/api-keys?limit=500");

        ShouldName(typo, "limt", "unknown");
        known.StatusCode.ShouldBe(200, known.Text);
        badValue.StatusCode.ShouldBe(400, badValue.Text);
        badValue.Body.GetProperty("error").GetProperty("details").GetProperty("parameter").GetString().ShouldBe("limit");
    }

    [Fact]
    public async Task The_credential_is_checked_before_the_query()
    {
        var orgId = await _server.CreateOrgAsync();
        var anonymous = _server.Anonymous;
        var reader = await _server.OrgClientAsync(orgId, "roles:read");

        var unauthenticated = await anonymous.GetAsync($"/api/v1/orgs/{orgId}/api-keys?limt=1");
        var forbidden = await reader.GetAsync($"/api/v1/orgs/{orgId}/api-keys?limt=1");
        var otherOrg = await reader.GetAsync($"/api/v1/orgs/{await _server.CreateOrgAsync()}/roles?limt=1");

        unauthenticated.StatusCode.ShouldBe(401, unauthenticated.Text);
        forbidden.StatusCode.ShouldBe(403, forbidden.Text);
        otherOrg.StatusCode.ShouldBe(404, otherOrg.Text);
    }

    /// <summary>No route is left out: every /api/v1 endpoint, called by root with a parameter it does not declare, answers 400 naming it.</summary>
    [Fact]
    public async Task Every_api_route_rejects_an_undeclared_query_parameter()
    {
        var orgId = await _server.CreateOrgAsync();
        var endpoints = _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.OrdinalIgnoreCase) == true)
            .ToList();
        endpoints.Count.ShouldBeGreaterThan(40);

        var checkedRoutes = new List<string>();
        foreach (var endpoint in endpoints)
        {
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
            {
                var path = endpoint.RoutePattern.RawText!
                    .Replace("{orgId}", orgId, StringComparison.Ordinal)
                    .Replace("{integrationId}", "none", StringComparison.Ordinal);
                path = System.Text.RegularExpressions.Regex.Replace(path, "\\{[^}]+\\}", "missing");
                var body = method is "POST" or "PATCH" or "PUT" ? "{}" : null;
                var response = await _server.Root.SendRawAsync(new HttpMethod(method), $"{path}?zzUnknown=1", body);

                response.StatusCode.ShouldBe(400, $"{method} {path}: {response.Text}");
                response.ErrorCode.ShouldBe("INVALID_REQUEST", $"{method} {path}");
                var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields");
                fields[0].GetProperty("field").GetString().ShouldBe("zzUnknown", $"{method} {path}: {response.Text}");
                fields[0].GetProperty("reason").GetString().ShouldBe("unknown");
                checkedRoutes.Add($"{method} {endpoint.RoutePattern.RawText}");
            }
        }

        TestContext.Current.SendDiagnosticMessage(string.Join("\n", checkedRoutes));
    }

    [Fact]
    public async Task The_OpenAPI_document_declares_the_query_parameters_of_the_lists()
    {
        var document = await _server.Root.GetAsync("/api/v1/openapi.json");
        var parameters = document.Body.GetProperty("paths").GetProperty("/api/v1/orgs/{orgId}/api-keys").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query")
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));

        parameters.Keys.Order().ShouldBe(["enabled", "end", "includeRevoked", "limit", "offset", "ownerId", "page", "q", "sort", "start"]);
        parameters["limit"].GetProperty("type").ToString().ShouldContain("integer");
        parameters["limit"].GetProperty("maximum").GetInt32().ShouldBe(200);
        parameters["enabled"].GetProperty("type").ToString().ShouldContain("boolean");
        parameters["start"].GetProperty("format").GetString().ShouldBe("date-time");
        foreach (var (path, method) in new[] { ("/api/v1/orgs/{orgId}/roles/{roleId}", "delete"), ("/api/v1/orgs/{orgId}/webhooks/{webhookId}", "patch"), ("/api/v1/orgs/{orgId}/api-keys/{keyId}", "delete") })
        {
            document.Body.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty("409", out _).ShouldBeTrue($"{method} {path} declares the concurrent-change 409");
        }
    }

    private static void ShouldName(ApiResponse response, string field, string reason)
    {
        response.StatusCode.ShouldBe(400, response.Text);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields");
        fields.GetArrayLength().ShouldBe(1, response.Text);
        fields[0].GetProperty("field").GetString().ShouldBe(field, response.Text);
        fields[0].GetProperty("reason").GetString().ShouldBe(reason);
        response.Text.ShouldNotContain("Gatehouse.Server"); // no type names from the serializer
        response.Body.ValueKind.ShouldBe(JsonValueKind.Object);
    }
}
