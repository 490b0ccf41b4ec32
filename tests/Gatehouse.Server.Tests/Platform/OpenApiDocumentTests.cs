using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>The OpenAPI document and the server's routes agree, both ways, and the document is valid 3.1.</summary>
public sealed class OpenApiDocumentTests(SharedServer shared)
{
    private static readonly string[] Undocumented = ["/api/v1/openapi.json"];
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_mapped_route_is_documented_and_every_documented_route_is_mapped()
    {
        var document = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        document.StatusCode.ShouldBe(200);
        var documented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in document.Body.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                documented.Add($"{operation.Name.ToUpperInvariant()} {path.Name}");
            }
        }

        var mapped = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            if (Undocumented.Contains(route) || route.StartsWith("/docs", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                mapped.Add($"{method} {route}");
            }
        }

        mapped.Except(documented).ShouldBeEmpty("mapped but not documented");
        documented.Except(mapped).ShouldBeEmpty("documented but not mapped");
    }

    [Fact]
    public async Task The_document_is_valid_OpenAPI_3_1()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        response.Body.GetProperty("openapi").GetString().ShouldStartWith("3.1");

        var result = OpenApiDocument.Parse(response.Text, "json", new OpenApiReaderSettings());

        result.Diagnostic!.Errors.ShouldBeEmpty(string.Join("; ", result.Diagnostic.Errors.Select(e => $"{e.Pointer}: {e.Message}")));
        result.Diagnostic.SpecificationVersion.ShouldBe(OpenApiSpecVersion.OpenApi3_1);
        result.Document!.Paths.Count.ShouldBeGreaterThan(5);
    }

    [Fact]
    public async Task Every_operation_declares_its_responses_and_authenticated_ones_their_security()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var schemes = response.Body.GetProperty("components").GetProperty("securitySchemes");
        schemes.TryGetProperty("bearer", out _).ShouldBeTrue();
        schemes.TryGetProperty("apiKey", out _).ShouldBeTrue();

        foreach (var path in response.Body.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name} {path.Name}";
                operation.Value.TryGetProperty("responses", out var responses).ShouldBeTrue(where);
                responses.EnumerateObject().Count().ShouldBeGreaterThan(0, where);
                var isPublic = path.Name is "/health" or "/metrics" or "/api/v1/health";
                if (!isPublic && path.Name.StartsWith("/api/v1", StringComparison.Ordinal))
                {
                    operation.Value.TryGetProperty("security", out var security).ShouldBeTrue(where);
                    security.ValueKind.ShouldBe(JsonValueKind.Array, where);
                    responses.TryGetProperty("401", out _).ShouldBeTrue(where);
                    // A body that cannot be read is answered before the credential is checked and counted.
                    foreach (var answer in responses.EnumerateObject().Where(r => r.Name is not ("400" or "413" or "415")))
                    {
                        var headers = answer.Value.GetProperty("headers");
                        foreach (var header in new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset" })
                        {
                            headers.TryGetProperty(header, out _).ShouldBeTrue($"{where} {answer.Name} {header}");
                        }
                    }

                    responses.GetProperty("429").GetProperty("headers").TryGetProperty("Retry-After", out _).ShouldBeTrue(where);
                }
            }
        }
    }

    [Fact]
    public async Task The_reference_page_is_served_with_its_assets_locally()
    {
        var page = await _server.Anonymous.Http.GetAsync("/docs/index.html");
        page.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        var html = await page.Content.ReadAsStringAsync();
        html.ShouldNotContain("cdn.", Case.Insensitive);

        var bundle = await _server.Anonymous.Http.GetAsync("/docs/swagger-ui-bundle.js");
        bundle.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        var init = await _server.Anonymous.Http.GetStringAsync("/docs/index.js");
        init.ShouldContain("/api/v1/openapi.json");
    }
}

public sealed class OpenApiIdempotencyTests(SharedServer shared)
{
    [Fact]
    public async Task Every_api_POST_documents_the_Idempotency_Key_header()
    {
        var response = await shared.Server.Anonymous.GetAsync("/api/v1/openapi.json");
        var posts = response.Body.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/v1", StringComparison.Ordinal) && p.Value.TryGetProperty("post", out _))
            .Select(p => (p.Name, Post: p.Value.GetProperty("post"))).ToList();

        posts.ShouldNotBeEmpty();
        foreach (var (path, post) in posts)
        {
            post.TryGetProperty("parameters", out var parameters).ShouldBeTrue(path);
            parameters.EnumerateArray().Any(p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("in").GetString() == "header").ShouldBeTrue(path);
        }
    }
}
