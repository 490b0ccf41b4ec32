namespace Gatehouse.Server.Tests.Platform;

/// <summary>No request, however malformed, gets a 500 or a stack trace: each gets its envelope.</summary>
public sealed class MalformedRequestTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Theory]
    [InlineData("{\"name\":", "INVALID_REQUEST")]
    [InlineData("{\"name\": 12}", "INVALID_REQUEST")]
    [InlineData("[1,2,3]", "INVALID_REQUEST")]
    [InlineData("null", "INVALID_REQUEST")]
    [InlineData("\"just a string\"", "INVALID_REQUEST")]
    [InlineData("{\"name\":\"x\",\"settings\":\"not an object\"}", "INVALID_REQUEST")]
    [InlineData("", "INVALID_REQUEST")]
    public async Task Broken_or_mistyped_JSON_is_400(string body, string code)
    {
        var response = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/orgs", body);

        response.StatusCode.ShouldBe(400, response.Text);
        response.ErrorCode.ShouldBe(code);
        response.Text.ShouldNotContain("   at ");
    }

    [Fact]
    public async Task Unknown_fields_are_rejected_by_name()
    {
        var response = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/orgs", "{\"name\":\"Extra\",\"color\":\"blue\"}");

        response.StatusCode.ShouldBe(400, response.Text);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
        response.Body.GetProperty("error").GetProperty("details").GetProperty("fields")[0].GetProperty("field").GetString().ShouldBe("color");
    }

    [Fact]
    public async Task A_deeply_nested_body_is_400()
    {
        var deep = new string('[', 5000) + new string(']', 5000);
        var body = "{\"name\":\"deep\",\"settings\":{\"keyPrefix\":" + deep + "}}";

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/orgs", body);

        response.StatusCode.ShouldBe(400, response.Text);
        response.ErrorCode.ShouldBe("INVALID_REQUEST");
    }

    [Fact]
    public async Task A_body_over_one_MiB_is_413()
    {
        // Raw socket: the server answers as soon as it sees the length, before the body is sent,
        // which an HttpClient upload would report as a broken pipe instead of reading the answer.
        const int length = 1024 * 1024 + 10;
        var reply = await _server.SendRawTcpAsync(
            $"POST /api/v1/orgs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {GatehouseServer.RootKey}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n{{\"name\":\"");

        reply.ShouldStartWith("HTTP/1.1 413");
        reply.ShouldContain("PAYLOAD_TOO_LARGE");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData(null)]
    public async Task A_body_that_is_not_JSON_is_415(string? contentType)
    {
        var response = await _server.Root.SendRawAsync(HttpMethod.Post, "/api/v1/orgs", "{\"name\":\"x\"}", contentType);

        response.StatusCode.ShouldBe(415, response.Text);
        response.ErrorCode.ShouldBe("UNSUPPORTED_MEDIA_TYPE");
    }

    [Fact]
    public async Task An_unknown_route_is_a_404_envelope()
    {
        var response = await _server.Root.GetAsync("/api/v1/no/such/route");

        response.StatusCode.ShouldBe(404);
        response.ErrorCode.ShouldBe("NOT_FOUND");
        response.Body.GetProperty("success").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task A_wrong_method_is_a_405_envelope()
    {
        var response = await _server.Root.SendRawAsync(HttpMethod.Put, "/api/v1/orgs", "{}");

        response.StatusCode.ShouldBe(405);
        response.ErrorCode.ShouldBe("METHOD_NOT_ALLOWED");
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Odd_authorization_headers_are_401(string header)
    {
        var client = _server.CreateClient(null);
        var response = await client.GetAsync("/api/v1/orgs", new Dictionary<string, string> { ["Authorization"] = header });

        response.StatusCode.ShouldBe(401, response.Text);
    }

    [Fact]
    public async Task A_huge_credential_is_401_not_500()
    {
        var response = await _server.CreateClient(new string('k', 4000)).GetAsync("/api/v1/orgs");

        response.StatusCode.ShouldBe(401);
    }

    [Fact]
    public async Task A_raw_request_with_a_path_traversal_is_404()
    {
        var reply = await _server.SendRawTcpAsync($"GET /api/v1/orgs/../../../../etc/passwd HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {GatehouseServer.RootKey}\r\nConnection: close\r\n\r\n");

        reply.ShouldStartWith("HTTP/1.1 404");
        reply.ShouldNotContain("root:");
    }

    [Theory]
    [InlineData("Authorization: Bearer \u00e9\u00e9\u00e9")]
    [InlineData("X-API-Key: \u00ff\u00fe")]
    [InlineData("X-Request-Id: \u00fcnicode")]
    public async Task Non_ASCII_header_bytes_never_produce_a_server_error(string header)
    {
        var reply = await _server.SendRawTcpAsync($"GET /api/v1/orgs HTTP/1.1\r\nHost: localhost\r\n{header}\r\nConnection: close\r\n\r\n");

        reply.ShouldMatch("^HTTP/1.1 4\\d\\d ");
        reply.ShouldNotContain("   at ");
    }
}
