namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Requests broken at the HTTP level, sent byte by byte: those the web server rejects before the
/// application get the bare status of docs/operations.md; those that reach it get the envelope.
/// </summary>
public sealed class RawRequestTests(SharedServer shared)
{
    private const string Tail = "Host: localhost\r\nConnection: close\r\n";
    private readonly GatehouseServer _server = shared.Server;

    [Theory]
    [InlineData("POST /api/v1/orgs HTTP/1.1\r\n" + Tail + "Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}", 400)]
    [InlineData("POST /api/v1/orgs HTTP/1.1\r\n" + Tail + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400)]
    [InlineData("GET /api/v1/or\0gs HTTP/1.1\r\n" + Tail + "\r\n", 400)]
    [InlineData("GET /api/v1/orgs/%00 HTTP/1.1\r\n" + Tail + "\r\n", 400)]
    [InlineData("GET /api/v1/health HTTP/1.1\r\nConnection: close\r\n\r\n", 400)]
    [InlineData("GET /api/v1/health HTTP/1.1\r\nHost: a b/c\r\nConnection: close\r\n\r\n", 400)]
    [InlineData("GET /api/v1/health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n", 400)]
    [InlineData("GET /api/v1/health HTTP/1.1\r\n" + Tail + "Broken header\r\n\r\n", 400)]
    [InlineData("GET /api/v1/health HTTP/9.9\r\n" + Tail + "\r\n", 505)]
    public async Task Requests_the_web_server_rejects_get_a_bare_status_and_never_reach_the_application(string request, int status)
    {
        var (head, body) = await SendRawAsync(request);

        head.ShouldStartWith($"HTTP/1.1 {status} ");
        head.ShouldContain("Content-Length: 0");
        head.ShouldNotContain("X-Request-Id");
        body.ShouldBeEmpty();
    }

    [Fact]
    public async Task Oversized_request_lines_and_headers_get_414_and_431()
    {
        (await SendRawAsync("GET /api/v1/health?" + new string('q', 40 * 1024) + " HTTP/1.1\r\n" + Tail + "\r\n")).Head.ShouldStartWith("HTTP/1.1 414 ");
        (await SendRawAsync("GET /api/v1/health HTTP/1.1\r\n" + Tail + "X-Huge: " + new string('h', 40 * 1024) + "\r\n\r\n")).Head.ShouldStartWith("HTTP/1.1 431 ");
        (await SendRawAsync("GET /api/v1/health HTTP/1.1\r\n" + Tail + string.Concat(Enumerable.Range(0, 150).Select(i => $"X-H{i}: v\r\n")) + "\r\n")).Head.ShouldStartWith("HTTP/1.1 431 ");
    }

    [Theory]
    [InlineData("GET /api/v1/or\u0001gs HTTP/1.1\r\n" + Tail + "\r\n", 404, "NOT_FOUND")]
    [InlineData("POST /api/v1/orgs HTTP/1.1\r\n" + Tail + "Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "INVALID_REQUEST")]
    [InlineData("POST /api/v1/orgs HTTP/1.1\r\n" + Tail + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "INVALID_REQUEST")]
    [InlineData("POST /api/v1/orgs HTTP/1.1\r\n" + Tail + "Content-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{}", 413, "PAYLOAD_TOO_LARGE")]
    public async Task Malformed_requests_that_reach_the_application_get_the_envelope(string request, int status, string code)
    {
        var (head, body) = await SendRawAsync(request);

        head.ShouldStartWith($"HTTP/1.1 {status} ");
        head.ShouldContain("X-Content-Type-Options: nosniff");
        body.ShouldContain($"\"code\":\"{code}\"");
        body.ShouldContain("\"success\":false");
    }

    private async Task<(string Head, string Body)> SendRawAsync(string request)
    {
        var text = await _server.SendRawTcpAsync(request);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        split.ShouldBeGreaterThan(0, text);
        return (text[..split], text[(split + 4)..]);
    }
}
