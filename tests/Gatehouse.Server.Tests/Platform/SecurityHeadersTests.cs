namespace Gatehouse.Server.Tests.Platform;

/// <summary>nosniff everywhere, no-store on every API answer (several carry a secret), a CSP for the reference page, HSTS only over https.</summary>
public sealed class SecurityHeadersTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_response_is_nosniff_and_API_responses_are_no_store()
    {
        var orgId = await _server.CreateOrgAsync();
        var responses = new[]
        {
            await _server.Anonymous.GetAsync("/api/v1/health"),
            await _server.Anonymous.GetAsync("/api/v1/orgs"),
            await _server.Root.GetAsync("/api/v1/no-such-route"),
            await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/orgs", "{broken"),
            await _server.Root.GetAsync($"/api/v1/orgs/{orgId}"),
            await _server.Anonymous.GetAsync("/health"),
            await _server.Anonymous.GetAsync("/metrics"),
        };

        foreach (var response in responses)
        {
            response.Header("X-Content-Type-Options").ShouldBe("nosniff", response.ToString());
            response.Header("Cache-Control").ShouldBe("no-store", response.ToString());
            response.Header("X-Frame-Options").ShouldBe("DENY");
            response.Header("Content-Security-Policy").ShouldBe("default-src 'none'; frame-ancestors 'none'");
            response.Header("Strict-Transport-Security").ShouldBeNull("plain http never gets HSTS");
        }
    }

    [Fact]
    public async Task Responses_that_carry_a_secret_and_their_replays_are_no_store()
    {
        var orgId = await _server.CreateOrgAsync();
        var idempotent = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString("N") };
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = new[] { "p" } }, idempotent);
        var replay = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys", new { name = "k", permissions = new[] { "p" } }, idempotent);
        created.StatusCode.ShouldBe(201, created.Text);
        replay.Str("key").ShouldBe(created.Str("key"));
        var keyId = created.Str("id");
        var hook = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = "https://hooks.example/x", events = new[] { "*" }, enabled = false });
        var credential = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials",
            "{\"integrationId\":\"stripe\",\"authType\":\"api_key\",\"name\":\"n\",\"data\":{\"apiKey\":\"ak_secret_value\"}}");
        credential.StatusCode.ShouldBe(201, credential.Text);

        var secretBearing = new[]
        {
            created,
            replay,
            await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/api-keys/{keyId}/rotate", new { }),
            hook,
            await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks/{hook.Str("id")}/rotate-secret", new { }),
            await _server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/stripe"),
        };

        foreach (var response in secretBearing)
        {
            response.StatusCode.ShouldBeLessThan(300, response.Text);
            response.Header("Cache-Control").ShouldBe("no-store", response.ToString());
            response.Header("X-Content-Type-Options").ShouldBe("nosniff");
        }
    }

    [Fact]
    public async Task The_reference_page_has_a_same_origin_CSP_and_may_not_be_framed()
    {
        foreach (var path in new[] { "/docs/index.html", "/docs/index.js", "/docs/swagger-ui-bundle.js" })
        {
            using var response = await _server.Anonymous.Http.GetAsync(path);
            ((int)response.StatusCode).ShouldBe(200, path);
            var csp = string.Join(",", response.Headers.GetValues("Content-Security-Policy"));
            csp.ShouldContain("default-src 'none'");
            csp.ShouldContain("script-src 'self'");
            csp.ShouldContain("connect-src 'self'");
            csp.ShouldContain("frame-ancestors 'none'");
            csp.ShouldNotContain("unsafe-eval");
            string.Join(",", response.Headers.GetValues("X-Frame-Options")).ShouldBe("DENY");
            string.Join(",", response.Headers.GetValues("X-Content-Type-Options")).ShouldBe("nosniff");
        }

        // The page runs under script-src 'self': it must not depend on an inline script.
        var html = await _server.Anonymous.Http.GetStringAsync("/docs/index.html");
        System.Text.RegularExpressions.Regex.Count(html, "<script(?![^>]*\\ssrc=)[^>]*>").ShouldBe(0, html);
    }
}
