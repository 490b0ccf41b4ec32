namespace Gatehouse.Server.Tests.Platform;

public sealed class RequestIdTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_client_request_id_is_kept_in_the_header_and_meta()
    {
        var response = await _server.Root.GetAsync("/api/v1/orgs", new Dictionary<string, string> { ["X-Request-Id"] = "trace-abc-123" });

        response.Header("X-Request-Id").ShouldBe("trace-abc-123");
        response.Body.GetProperty("meta").GetProperty("requestId").GetString().ShouldBe("trace-abc-123");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("tab\there")]
    public async Task An_unacceptable_request_id_is_replaced(string incoming)
    {
        var response = await _server.Root.GetAsync("/api/v1/orgs", new Dictionary<string, string> { ["X-Request-Id"] = incoming });

        response.Header("X-Request-Id").ShouldStartWith("req_");
    }

    [Fact]
    public async Task A_request_id_over_128_characters_is_replaced()
    {
        var response = await _server.Root.GetAsync("/api/v1/orgs", new Dictionary<string, string> { ["X-Request-Id"] = new string('a', 129) });

        response.Header("X-Request-Id").ShouldStartWith("req_");
    }

    [Fact]
    public async Task Errors_and_unknown_routes_carry_a_request_id_too()
    {
        var response = await _server.Anonymous.GetAsync("/api/v1/orgs");

        response.StatusCode.ShouldBe(401);
        var id = response.Header("X-Request-Id");
        id.ShouldNotBeNullOrEmpty();
        response.Body.GetProperty("meta").GetProperty("requestId").GetString().ShouldBe(id);
    }
}
