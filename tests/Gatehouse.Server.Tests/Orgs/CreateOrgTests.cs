namespace Gatehouse.Server.Tests.Orgs;

public sealed class CreateOrgTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Root_creates_an_organization_with_a_derived_slug()
    {
        var name = "Acme Corp " + Guid.NewGuid().ToString("N")[..6];
        var response = await _server.Root.PostAsync("/api/v1/orgs", new { name });

        response.StatusCode.ShouldBe(201, response.Text);
        response.Body.GetProperty("success").GetBoolean().ShouldBeTrue();
        response.Str("id").ShouldStartWith("org_");
        response.Str("name").ShouldBe(name);
        response.Str("slug").ShouldStartWith("acme-corp-");
        response.Body.GetProperty("meta").GetProperty("requestId").GetString().ShouldStartWith("req_");

        var fetched = await _server.Root.GetAsync($"/api/v1/orgs/{response.Str("id")}");
        fetched.StatusCode.ShouldBe(200);
        fetched.Str("name").ShouldBe(name);
    }

    [Fact]
    public async Task A_missing_name_is_422_with_the_field()
    {
        var response = await _server.Root.PostAsync("/api/v1/orgs", new { slug = "x" });

        response.StatusCode.ShouldBe(422);
        response.ErrorCode.ShouldBe("VALIDATION_FAILED");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("field").GetString().ShouldBe("name");
    }

    [Fact]
    public async Task Bad_settings_are_422_naming_each_field()
    {
        var response = await _server.Root.PostAsync("/api/v1/orgs", new { name = "x", slug = "Not A Slug", settings = new { keyPrefix = "UPPER_", rateLimits = new { perMinute = 0 } } });

        response.StatusCode.ShouldBe(422);
        var fields = response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("field").GetString()).ToList();
        fields.ShouldBe(["slug", "settings.keyPrefix", "settings.rateLimits.perMinute"], ignoreOrder: true);
    }

    [Fact]
    public async Task An_explicit_slug_that_is_taken_is_409_and_creates_nothing()
    {
        var slug = "taken-" + Guid.NewGuid().ToString("N")[..8];
        (await _server.Root.PostAsync("/api/v1/orgs", new { name = "First", slug })).StatusCode.ShouldBe(201);

        var second = await _server.Root.PostAsync("/api/v1/orgs", new { name = "Second", slug });

        second.StatusCode.ShouldBe(409);
        second.ErrorCode.ShouldBe("CONFLICT");
        var list = await _server.Root.GetAsync("/api/v1/orgs?limit=200&q=" + slug);
        list.Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Without_a_credential_it_is_401_with_WWW_Authenticate()
    {
        var response = await _server.Anonymous.PostAsync("/api/v1/orgs", new { name = "x" });

        response.StatusCode.ShouldBe(401);
        response.ErrorCode.ShouldBe("AUTHENTICATION_FAILED");
        response.Header("WWW-Authenticate").ShouldNotBeNull();
    }

    [Fact]
    public async Task An_unknown_key_is_401_INVALID_API_KEY()
    {
        var response = await _server.CreateClient("gk_definitelyNotAKey1234567890123456789").PostAsync("/api/v1/orgs", new { name = "x" });

        response.StatusCode.ShouldBe(401);
        response.ErrorCode.ShouldBe("INVALID_API_KEY");
    }
}
