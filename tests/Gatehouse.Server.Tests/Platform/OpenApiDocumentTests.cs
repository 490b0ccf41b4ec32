using System.Text.Json;
using Gatehouse.Server.Platform.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>The OpenAPI document and the server's routes agree, both ways, and the document is valid 3.1.</summary>
public sealed class OpenApiDocumentTests(SharedServer shared)
{
    private static readonly string[] Undocumented = ["/api/v1/openapi.json"];

    /// <summary>The web console's pages and the Razor components' own redirect helper: HTML for browsers, not API operations.</summary>
    private static bool IsConsole(string route) =>
        route.StartsWith("/console", StringComparison.Ordinal) || route == "/_framework/opaque-redirect";
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
            if (Undocumented.Contains(route) || route.StartsWith("/docs", StringComparison.Ordinal) || IsConsole(route))
            {
                continue;
            }

            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                mapped.Add($"{method} {route}");
            }
        }

        // Flat organization routes are rewritten, not mapped: each organization route has one (API.md §12).
        const string orgRoutes = "/api/v1/orgs/{orgId}/";
        foreach (var operation in mapped.ToList())
        {
            var (method, route) = (operation[..operation.IndexOf(' ', StringComparison.Ordinal)], operation[(operation.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            if (route.StartsWith(orgRoutes, StringComparison.Ordinal))
            {
                mapped.Add($"{method} /api/v1/{route[orgRoutes.Length..]}");
            }
        }

        // The web console's pages are HTML for browsers, not API operations (docs/console.md).
        documented.ShouldNotContain(d => d.Contains(" /console", StringComparison.Ordinal));
        mapped.Except(documented).ShouldBeEmpty("mapped but not documented");
        documented.Except(mapped).ShouldBeEmpty("documented but not mapped");
    }

    [Fact]
    public async Task Every_alias_is_tagged_compat_and_names_its_canonical_route()
    {
        var document = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var paths = document.Body.GetProperty("paths");
        document.Body.GetProperty("tags").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ShouldContain("compat");
        var aliases = 0;
        foreach (var path in paths.EnumerateObject())
        {
            var flat = path.Name.StartsWith("/api/v1/", StringComparison.Ordinal) && paths.TryGetProperty("/api/v1/orgs/{orgId}/" + path.Name["/api/v1/".Length..], out _);
            if (!flat && !path.Name.StartsWith("/v1/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name} {path.Name}";
                operation.Value.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ShouldBe(["compat"], where);
                operation.Value.GetProperty("description").GetString()!.ShouldContain("Alias of `", Case.Sensitive, where);
                if (flat)
                {
                    operation.Value.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ShouldContain("X-Tenant-Id", where);
                    operation.Value.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ShouldNotContain("orgId", where);
                }

                aliases++;
            }
        }

        aliases.ShouldBeGreaterThan(40);
        var delete = paths.GetProperty("/v1/orgs/{orgId}/api_keys/{keyId}").GetProperty("delete").GetProperty("responses");
        delete.TryGetProperty("200", out var deleted).ShouldBeTrue();
        deleted.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString().ShouldBe("#/components/schemas/BareMessage");
    }

    /// <summary>
    /// The query parameters a route accepts (those its handler binds, which the unknown-parameter
    /// check lets through) are exactly those the document lists for it, each with a JSON type.
    /// </summary>
    [Fact]
    public async Task Every_query_parameter_a_route_accepts_is_documented_with_its_type()
    {
        var document = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var paths = document.Body.GetProperty("paths");
        var checkedParameters = 0;
        foreach (var endpoint in _server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            if (Undocumented.Contains(route) || route.StartsWith("/docs", StringComparison.Ordinal) || IsConsole(route))
            {
                continue;
            }

            var accepted = endpoint.Metadata.GetMetadata<System.Reflection.MethodInfo>() is { } handler
                ? QueryParameters.Declared(handler, endpoint.Metadata)
                : new HashSet<string>(endpoint.Metadata.OfType<AcceptsQueryMetadata>().SelectMany(a => a.Names), StringComparer.OrdinalIgnoreCase);
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                var where = $"{method} {route}";
                var operation = paths.GetProperty(route).GetProperty(method.ToLowerInvariant());
                var parameters = operation.TryGetProperty("parameters", out var declared) ? declared.EnumerateArray().ToList() : new List<JsonElement>();
                var documented = parameters.Where(p => p.GetProperty("in").GetString() == "query").ToList();

                documented.Select(p => p.GetProperty("name").GetString()!).Order(StringComparer.OrdinalIgnoreCase)
                    .ShouldBe(accepted.Order(StringComparer.OrdinalIgnoreCase), where);
                foreach (var parameter in documented)
                {
                    parameter.GetProperty("schema").TryGetProperty("type", out _).ShouldBeTrue($"{where} {parameter.GetProperty("name")}");
                    checkedParameters++;
                }

                foreach (var parameter in parameters.Where(p => p.GetProperty("in").GetString() == "path"))
                {
                    parameter.GetProperty("schema").GetProperty("type").GetString().ShouldBe("string", $"{where} {parameter.GetProperty("name")}");
                }
            }
        }

        checkedParameters.ShouldBeGreaterThan(60);
    }

    /// <summary>Names a client generator can use, and the rate-limit headers declared once and referenced.</summary>
    [Fact]
    public async Task Schemas_have_plain_names_and_shared_headers_are_referenced()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var components = response.Body.GetProperty("components");

        components.GetProperty("schemas").EnumerateObject().Select(s => s.Name).Where(name => !System.Text.RegularExpressions.Regex.IsMatch(name, "^[A-Z][A-Za-z0-9]*$") || name.Contains("Of", StringComparison.Ordinal))
            .ShouldBeEmpty();
        components.GetProperty("schemas").TryGetProperty("ApiKeyViewListEnvelope", out _).ShouldBeTrue();
        foreach (var header in new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After" })
        {
            components.GetProperty("headers").GetProperty(header).GetProperty("schema").GetProperty("type").GetString().ShouldBe("integer");
        }

        foreach (var path in response.Body.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                foreach (var answer in operation.Value.GetProperty("responses").EnumerateObject())
                {
                    if (!Resolve(response.Body, answer.Value).TryGetProperty("headers", out var headers))
                    {
                        continue;
                    }

                    foreach (var header in headers.EnumerateObject())
                    {
                        header.Value.GetProperty("$ref").GetString().ShouldBe($"#/components/headers/{header.Name}", $"{operation.Name} {path.Name} {answer.Name}");
                    }
                }
            }
        }
    }

    /// <summary>Timestamps are date-time strings; a response member is required unless the server leaves it out, and nullable only when it can be null.</summary>
    [Fact]
    public async Task Response_schemas_say_what_is_always_there_and_what_can_be_null()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var schemas = response.Body.GetProperty("components").GetProperty("schemas");

        var key = schemas.GetProperty("ApiKeyView");
        var required = key.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ToHashSet();
        required.ShouldBe(key.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet(), ignoreOrder: true);
        var properties = key.GetProperty("properties");
        properties.GetProperty("createdAt").GetProperty("type").GetString().ShouldBe("string");
        properties.GetProperty("createdAt").GetProperty("format").GetString().ShouldBe("date-time");
        properties.GetProperty("id").GetProperty("type").GetString().ShouldBe("string");
        properties.GetProperty("revokedAt").GetProperty("type").EnumerateArray().Select(t => t.GetString()).ShouldBe(["null", "string"], ignoreOrder: true);
        properties.GetProperty("permissions").GetProperty("items").GetProperty("type").GetString().ShouldBe("string");

        var meta = schemas.GetProperty("ResponseMeta");
        meta.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["requestId", "timestamp"], ignoreOrder: true);
        var envelope = schemas.GetProperty("ApiKeyViewListEnvelope");
        envelope.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["success", "data", "meta"], ignoreOrder: true);
        envelope.GetProperty("properties").GetProperty("data").GetProperty("type").GetString().ShouldBe("array");
        schemas.GetProperty("ErrorBody").GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["code", "message"], ignoreOrder: true);
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
                // The CA certificate, the CRL and revocation status are public by design (relying parties fetch them);
                // share links carry their own credential (the token in the path); the service status is public by contract.
                var isPublic = path.Name is "/health" or "/metrics" or "/api/v1/health" or "/api/v1/status"
                    || path.Name.StartsWith("/api/v1/pki/", StringComparison.Ordinal) || path.Name.StartsWith("/api/v1/shares/", StringComparison.Ordinal);
                if (!isPublic && path.Name.StartsWith("/api/v1", StringComparison.Ordinal))
                {
                    operation.Value.TryGetProperty("security", out var security).ShouldBeTrue(where);
                    security.ValueKind.ShouldBe(JsonValueKind.Array, where);
                    responses.TryGetProperty("401", out _).ShouldBeTrue(where);
                    // A body that cannot be read is answered before the credential is checked and counted.
                    foreach (var answer in responses.EnumerateObject().Where(r => r.Name is not ("400" or "413" or "415")))
                    {
                        var headers = Resolve(response.Body, answer.Value).GetProperty("headers");
                        foreach (var header in new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset" })
                        {
                            headers.TryGetProperty(header, out _).ShouldBeTrue($"{where} {answer.Name} {header}");
                        }
                    }

                    Resolve(response.Body, responses.GetProperty("429")).GetProperty("headers").TryGetProperty("Retry-After", out _).ShouldBeTrue(where);
                }
            }
        }
    }

    /// <summary>
    /// The gateway agent routes take the gateway's token in X-Gateway-Token: an apiKey scheme of their own, and
    /// their only security; no other route names it. The public PKI routes need nothing but are rate-limited.
    /// </summary>
    [Fact]
    public async Task Gateway_agent_routes_declare_the_gateway_token_scheme_and_public_pki_routes_none()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var scheme = response.Body.GetProperty("components").GetProperty("securitySchemes").GetProperty("gatewayToken");
        scheme.GetProperty("type").GetString().ShouldBe("apiKey");
        scheme.GetProperty("in").GetString().ShouldBe("header");
        scheme.GetProperty("name").GetString().ShouldBe("X-Gateway-Token");

        var agentOperations = 0;
        var publicPki = 0;
        foreach (var path in response.Body.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var where = $"{operation.Name} {path.Name}";
                var schemes = operation.Value.TryGetProperty("security", out var security)
                    ? security.EnumerateArray().Select(requirement => string.Join('+', requirement.EnumerateObject().Select(p => p.Name))).ToList()
                    : null;
                if (path.Name.StartsWith("/api/v1/gateway/", StringComparison.Ordinal) || path.Name.StartsWith("/api/v1/orgs/{orgId}/gateway/", StringComparison.Ordinal))
                {
                    agentOperations++;
                    schemes.ShouldBe(["gatewayToken"], where);
                    operation.Value.GetProperty("description").GetString()!.ShouldContain("X-Gateway-Token", Case.Sensitive, where);
                    operation.Value.GetProperty("responses").TryGetProperty("401", out _).ShouldBeTrue(where);
                    operation.Value.GetProperty("responses").TryGetProperty("429", out _).ShouldBeTrue(where);
                }
                else if (path.Name.StartsWith("/api/v1/pki/", StringComparison.Ordinal))
                {
                    publicPki++;
                    schemes.ShouldBe([""], where);
                    Resolve(response.Body, operation.Value.GetProperty("responses").GetProperty("429")).GetProperty("headers").TryGetProperty("Retry-After", out _).ShouldBeTrue(where);
                }
                else
                {
                    (schemes ?? []).ShouldNotContain("gatewayToken", where);
                }
            }
        }

        // heartbeat, verify, connect, disconnect, provision, client-rules, all-rules, at the org path and the flat one.
        agentOperations.ShouldBe(14);
        publicPki.ShouldBe(4);
    }

    /// <summary>
    /// GateKey's routes answer in snake_case: what they send is what their documented schemas name,
    /// member for member, for successes and errors alike (a client generated from the document reads them).
    /// </summary>
    [Fact]
    public async Task Snake_case_routes_document_the_member_names_they_send()
    {
        var document = (await _server.Anonymous.GetAsync("/api/v1/openapi.json")).Body;
        var orgId = await _server.CreateOrgAsync();
        var created = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/admin/gateways", new { name = "doc-gw", hostname = "gw.example.org", port = 1194, protocol = "udp", vpn_type = "openvpn" });
        created.StatusCode.ShouldBe(201, created.Text);
        var gatewayId = created.Data.GetProperty("id").GetString()!;

        var checks = new (string Method, string Template, string Path, string Status)[]
        {
            ("post", "/api/v1/orgs/{orgId}/admin/gateways", $"/api/v1/orgs/{orgId}/admin/gateways", "201"),
            ("get", "/api/v1/orgs/{orgId}/admin/gateways", $"/api/v1/orgs/{orgId}/admin/gateways", "200"),
            ("get", "/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}", $"/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}", "200"),
            ("get", "/api/v1/orgs/{orgId}/admin/gateways/{gatewayId}", $"/api/v1/orgs/{orgId}/admin/gateways/gw_00000000000000000000000000", "404"),
        };
        foreach (var (method, template, path, status) in checks)
        {
            var answer = method == "post" ? created : await _server.Root.GetAsync(path);
            ((int)answer.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture).ShouldBe(status, answer.Text);
            var declared = Resolve(document, document.GetProperty("paths").GetProperty(template).GetProperty(method).GetProperty("responses").GetProperty(status));
            var schema = declared.GetProperty("content").GetProperty("application/json").GetProperty("schema");
            ShouldDocument(document, schema, answer.Body, $"{method} {template} {status}");
        }
    }

    /// <summary>Every member of <paramref name="value"/> is a property of <paramref name="schema"/>, recursively through objects and arrays.</summary>
    private static void ShouldDocument(JsonElement document, JsonElement schema, JsonElement value, string where)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            schema = document.GetProperty("components").GetProperty("schemas").GetProperty(reference.GetString()!.Split('/')[^1]);
        }

        if (schema.TryGetProperty("oneOf", out var choices) || schema.TryGetProperty("anyOf", out choices))
        {
            foreach (var choice in choices.EnumerateArray().Where(c => !(c.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "null")))
            {
                ShouldDocument(document, choice, value, where);
            }

            return;
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            foreach (var item in value.EnumerateArray())
            {
                ShouldDocument(document, items, item, where + "[]");
            }
        }
        else if (value.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties))
        {
            foreach (var member in value.EnumerateObject())
            {
                properties.TryGetProperty(member.Name, out var property).ShouldBeTrue($"{where}: '{member.Name}' is sent but not documented");
                ShouldDocument(document, property, member.Value, $"{where}.{member.Name}");
            }
        }
    }

    /// <summary>Error answers are declared once under components.responses and referenced: no operation repeats one inline.</summary>
    [Fact]
    public async Task Error_answers_are_shared_components()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var shared = response.Body.GetProperty("components").GetProperty("responses");
        Resolve(response.Body, shared.GetProperty("NotFound")).GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()
            .ShouldBe("#/components/schemas/ErrorEnvelope");
        var inline = new List<string>();
        var referenced = 0;
        foreach (var path in response.Body.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                foreach (var answer in operation.Value.GetProperty("responses").EnumerateObject().Where(a => a.Name[0] is '4' or '5'))
                {
                    if (answer.Value.TryGetProperty("$ref", out var reference))
                    {
                        shared.TryGetProperty(reference.GetString()!.Split('/')[^1], out _).ShouldBeTrue(reference.GetString());
                        referenced++;
                    }
                    else
                    {
                        inline.Add($"{operation.Name} {path.Name} {answer.Name}");
                    }
                }
            }
        }

        inline.ShouldBeEmpty();
        referenced.ShouldBeGreaterThan(300);
    }

    /// <summary>A response, or the shared response a <c>$ref</c> names.</summary>
    internal static JsonElement Resolve(JsonElement document, JsonElement answer) =>
        answer.TryGetProperty("$ref", out var reference)
            ? document.GetProperty("components").GetProperty("responses").GetProperty(reference.GetString()!.Split('/')[^1])
            : answer;

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

/// <summary>
/// The rules a request schema declares (required members, lengths, patterns) are the rules the
/// server applies: each is broken in turn on every create route and must be answered 422 naming
/// the member, and a body missing everything names exactly the members the schema requires.
/// </summary>
public sealed class OpenApiRequestRulesTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task Every_declared_request_rule_is_the_rule_the_server_enforces()
    {
        var document = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var schemas = document.Body.GetProperty("components").GetProperty("schemas");
        var orgId = await _server.CreateOrgAsync();
        // The gateway agent routes answer only a gateway's own token: they are sent with one.
        var (_, gateway) = await Gateways.GatewaySteps.CreateGatewayAsync(_server, orgId, "rules-gateway");
        var agent = _server.CreateClient(null);
        var agentHeaders = new Dictionary<string, string> { ["X-Gateway-Token"] = gateway.Token };
        Task<ApiResponse> PostAsync(string route, string body) => route.Contains("/gateway/", StringComparison.Ordinal)
            ? agent.SendRawAsync(HttpMethod.Post, route, body, headers: agentHeaders)
            : _server.Root.SendRawAsync(HttpMethod.Post, route, body);
        var checkedRules = new List<string>();
        foreach (var path in document.Body.GetProperty("paths").EnumerateObject())
        {
            var route = path.Name.Replace("{orgId}", orgId, StringComparison.Ordinal);
            if (!path.Name.StartsWith("/api/v1/orgs", StringComparison.Ordinal) || route.Contains('{', StringComparison.Ordinal)
                || !path.Value.TryGetProperty("post", out var post) || !post.TryGetProperty("requestBody", out var body))
            {
                continue;
            }

            var reference = body.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
            var schema = schemas.GetProperty(reference.Split('/')[^1]);
            var required = schema.TryGetProperty("required", out var names) ? names.EnumerateArray().Select(n => n.GetString()!).ToHashSet() : [];

            // A body whose members are all optional (a gateway's heartbeat) may be empty; any other empty body is refused naming exactly what it lacks.
            if (required.Count > 0)
            {
                var empty = await PostAsync(route, "{}");
                empty.StatusCode.ShouldBe(422, $"{path.Name}: {empty.Text}");
                Fields(empty).Where(f => f.Reason == "required").Select(f => f.Field).ToHashSet().ShouldBe(required, ignoreOrder: true, $"{path.Name}: {empty.Text}");
                checkedRules.AddRange(required.Select(name => $"{path.Name} {name} required"));
            }

            // A body with no members at all (a gateway's request for every rule) has nothing to break.
            var properties = schema.TryGetProperty("properties", out var declared) ? declared.EnumerateObject().ToList() : [];
            foreach (var property in properties)
            {
                var broken = property.Value.TryGetProperty("maxLength", out var maxLength) ? new string('a', maxLength.GetInt32() + 1)
                    : property.Value.TryGetProperty("pattern", out _) ? "Not Allowed!"
                    : null;
                if (broken is null)
                {
                    continue;
                }

                var response = await PostAsync(route, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { [property.Name] = broken }));
                response.StatusCode.ShouldBe(422, $"{path.Name} {property.Name}: {response.Text}");
                Fields(response).Where(f => f.Field == property.Name && f.Reason != "required").ShouldNotBeEmpty($"{path.Name} {property.Name}: {response.Text}");
                checkedRules.Add($"{path.Name} {property.Name} {(maxLength.ValueKind == JsonValueKind.Number ? "maxLength" : "pattern")}");
            }
        }

        checkedRules.Count.ShouldBeGreaterThan(12, string.Join("\n", checkedRules));
        TestContext.Current.SendDiagnosticMessage(string.Join("\n", checkedRules));
    }

    /// <summary>
    /// The change routes: every length or pattern a PATCH body declares is refused (422 naming the
    /// member) when broken, on a resource that exists, and the resource is left as it was.
    /// </summary>
    [Fact]
    public async Task Every_declared_change_rule_is_the_rule_the_server_enforces()
    {
        var document = await _server.Anonymous.GetAsync("/api/v1/openapi.json");
        var schemas = document.Body.GetProperty("components").GetProperty("schemas");
        var orgId = await _server.CreateOrgAsync();
        var org = $"/api/v1/orgs/{orgId}";
        var role = await _server.Root.PostAsync($"{org}/roles", new { name = "rules-role", permissions = new[] { "api_keys:read" } });
        var key = await _server.Root.PostAsync($"{org}/api-keys", new { name = "rules-key" });
        var hook = await _server.Root.PostAsync($"{org}/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "*" }, enabled = false });
        var credential = await _server.Root.PostAsync($"{org}/credentials", new { integrationId = "rules", authType = "api_key", name = "rules-credential", data = new { apiKey = "x" } });
        var user = await _server.Root.PostAsync($"{org}/users", new { email = $"rules-{Guid.NewGuid():N}@example.org", name = "Rules" });
        var account = await _server.Root.PostAsync($"{org}/service-accounts", new { name = "rules-account", permissions = new[] { "api_keys:read" } });
        var client = await _server.Root.PostAsync($"{org}/oauth-clients", new { name = "rules-client", scopes = new[] { "api_keys:read" } });
        var deviceApp = await _server.Root.PostAsync($"{org}/device-apps", new { name = "rules-app", redirectUrls = new[] { "https://rules.example/cb" } });
        var storage = await _server.Root.PostAsync($"{org}/storage-configs", new { name = "rules-storage", provider = "local" });
        var container = await _server.Root.PostAsync($"{org}/containers", new { name = "rules-container" });
        var ids = new Dictionary<string, string>
        {
            ["{appId}"] = deviceApp.Str("id"),
            ["{clientId}"] = client.Str("id"),
            ["{orgId}"] = orgId,
            ["{userId}"] = user.Str("id"),
            ["{serviceAccountId}"] = account.Data.GetProperty("serviceAccount").GetProperty("id").GetString()!,
            ["{roleId}"] = role.Str("id"),
            ["{keyId}"] = key.Str("id"),
            ["{webhookId}"] = hook.Str("id"),
            ["{integrationId}"] = "rules",
            ["{credentialId}"] = credential.Str("id"),
            ["{storageConfigId}"] = storage.Str("id"),
            ["{containerId}"] = container.Str("id"),
        };
        var checkedRules = new List<string>();
        foreach (var path in document.Body.GetProperty("paths").EnumerateObject())
        {
            if (!path.Name.StartsWith("/api/v1/orgs/{orgId}", StringComparison.Ordinal)
                || !path.Value.TryGetProperty("patch", out var patch) || !patch.TryGetProperty("requestBody", out var body))
            {
                continue;
            }

            var route = ids.Aggregate(path.Name, (text, id) => text.Replace(id.Key, id.Value, StringComparison.Ordinal));
            route.ShouldNotContain("{", customMessage: $"{path.Name}: make a resource for this change route");
            var before = (await _server.Root.GetAsync(route)).Body.GetProperty("data").GetRawText();
            var reference = body.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
            foreach (var property in schemas.GetProperty(reference.Split('/')[^1]).GetProperty("properties").EnumerateObject())
            {
                var broken = property.Value.TryGetProperty("maxLength", out var maxLength) ? new string('a', maxLength.GetInt32() + 1)
                    : property.Value.TryGetProperty("pattern", out _) ? "Not Allowed!"
                    : null;
                if (broken is null)
                {
                    continue;
                }

                var response = await _server.Root.SendRawAsync(HttpMethod.Patch, route, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { [property.Name] = broken }));
                response.StatusCode.ShouldBe(422, $"{path.Name} {property.Name}: {response.Text}");
                Fields(response).Where(f => f.Field == property.Name).ShouldNotBeEmpty($"{path.Name} {property.Name}: {response.Text}");
                checkedRules.Add($"PATCH {path.Name} {property.Name}");
            }

            (await _server.Root.GetAsync(route)).Body.GetProperty("data").GetRawText().ShouldBe(before, path.Name);
        }

        checkedRules.Count.ShouldBeGreaterThanOrEqualTo(8, string.Join("\n", checkedRules));
        TestContext.Current.SendDiagnosticMessage(string.Join("\n", checkedRules));
    }

    private static List<(string Field, string Reason)> Fields(ApiResponse response) =>
        [.. response.Body.GetProperty("error").GetProperty("details").GetProperty("fields").EnumerateArray()
            .Select(f => (f.GetProperty("field").GetString()!, f.GetProperty("reason").GetString()!))];
}
