using System.Buffers;
using System.Text;
using System.Text.Json;
using Gatehouse.Contracts;
using Gatehouse.Contracts.ApiKeys;
using Gatehouse.Server.Features.ApiKeys;
using Microsoft.Extensions.Options;

namespace Gatehouse.Server.Tests.ApiKeys;

/// <summary>
/// The verify route is written by hand (VerifyEndpoint): these hold it to the contract every
/// generated route keeps — the body's errors, the envelope, Idempotency-Key — and hold its
/// verdict writer to the bytes the serializer writes.
/// </summary>
public sealed class VerifyEndpointTests(SharedServer shared)
{
    private const string Path = "/api/v1/keys/verify";
    private readonly GatehouseServer _server = shared.Server;

    public static TheoryData<string> Verdicts => [.. SampleVerdicts.Keys];

    [Theory]
    [MemberData(nameof(Verdicts))]
    public void The_verdict_is_written_byte_for_byte_as_the_serializer_writes_its_envelope(string sample)
    {
        var options = _server.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var writer = new VerdictWriter(options, TimeProvider.System);
        var verdict = SampleVerdicts[sample];
        var now = new DateTime(2026, 11, 28, 8, 30, 15, DateTimeKind.Utc);
        const string requestId = "req-\"quoted\"\\slash<&>";

        var expected = JsonSerializer.Serialize(new Envelope<KeyVerdict>(verdict, new ResponseMeta(requestId, now)), options);

        Write(writer, verdict, requestId, now).ShouldBe(expected);
        // A second time, from the fields cached on the key record.
        Write(writer, verdict, requestId, now).ShouldBe(expected);
    }

    [Theory]
    [InlineData("req_01M8PKJBXCFMCBRTMM9JNP4K1A")]
    [InlineData("client-<id>&'+`~ {}")]
    [InlineData("needs \"escaping\"")]
    [InlineData("back\\slash")]
    public void A_plain_valid_verdict_is_written_byte_for_byte_whatever_the_request_id(string requestId)
    {
        // The VALID verdict of a key without credits or limits is written from bytes kept per key.
        var options = _server.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        var writer = new VerdictWriter(options, TimeProvider.System);
        var verdict = KeyVerifier.Describe(Key(meta: """{"plan":"pro"}""", ownerId: "o", expiresAt: null), VerifyCodes.Valid, remaining: null, limits: []);
        var now = new DateTime(2026, 11, 30, 17, 0, 1, DateTimeKind.Utc);

        var expected = JsonSerializer.Serialize(new Envelope<KeyVerdict>(verdict, new ResponseMeta(requestId, now)), options);

        Write(writer, verdict, requestId, now).ShouldBe(expected);
        Write(writer, verdict, requestId, now).ShouldBe(expected);
    }

    [Theory]
    [InlineData("""{"key":"gk_abc","permissions":"a AND b","cost":3,"ip":"10.0.0.1"}""", "gk_abc", "a AND b", 3L, "10.0.0.1")]
    [InlineData("""{"ip":null,"key":"gk_abc"}""", "gk_abc", null, null, null)]
    [InlineData("""{ "cost" : null , "key" : "" }""", "", null, null, null)]
    [InlineData("""{}""", null, null, null, null)]
    public void The_usual_body_is_read_as_the_serializer_reads_it(string body, string? key, string? permissions, long? cost, string? ip)
    {
        var read = VerifyEndpoint.TryReadPlain(new System.Buffers.ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body)));

        read.ShouldBe(new VerifyApiKeyRequest { Key = key, Permissions = permissions, Cost = cost, Ip = ip });
        read.ShouldBe(JsonSerializer.Deserialize<VerifyApiKeyRequest>(body, _server.Services.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions));
    }

    [Theory]
    [InlineData("""{"key":"a","key":"b"}""")]
    [InlineData("""{"Key":"a"}""")]
    [InlineData("""{"key":"a\u0000"}""")]
    [InlineData("""{"key":"\u0061"}""")]
    [InlineData("""{"key":1}""")]
    [InlineData("""{"cost":1.5}""")]
    [InlineData("""{"cost":"1"}""")]
    [InlineData("""{"key":"a","tags":{}}""")]
    [InlineData("""{"key":"a","ratelimits":[]}""")]
    [InlineData("""{"key":"a"} {}""")]
    [InlineData("""{"key":"a",}""")]
    [InlineData("{\"key\":\"a")]
    [InlineData("""null""")]
    [InlineData("""[]""")]
    public void Any_other_body_is_left_to_the_strict_reader(string body)
    {
        VerifyEndpoint.TryReadPlain(new System.Buffers.ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(body))).ShouldBeNull();
    }

    [Fact]
    public async Task The_exact_path_skips_route_matching_but_keeps_its_route_label_and_other_spellings_and_methods_are_routed()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);
        var before = await VerifySeriesCountAsync();

        var exact = await _server.Root.SendAsync(HttpMethod.Post, Path, new { key });
        var otherCase = await _server.Root.SendAsync(HttpMethod.Post, "/API/v1/Keys/Verify", new { key });
        var get = await _server.Root.SendRawAsync(HttpMethod.Get, Path, null, contentType: null);

        exact.StatusCode.ShouldBe(200, exact.Text);
        exact.Code().ShouldBe("VALID");
        otherCase.StatusCode.ShouldBe(200, otherCase.Text);
        otherCase.Code().ShouldBe("VALID");
        get.StatusCode.ShouldBe(405, get.Text);
        // Both verifies are counted under the route's own label, however they reached the handler.
        await Eventually.TrueAsync(async () => await VerifySeriesCountAsync() >= before + 2, "two more verifies under http_route=\"/api/v1/keys/verify\"");
    }

    private async Task<long> VerifySeriesCountAsync()
    {
        var text = await _server.Anonymous.Http.GetStringAsync("/metrics");
        return MetricsScrape.Lines(text, "http_server_request_duration_seconds_count", "http_request_method=\"POST\"", "http_route=\"/api/v1/keys/verify\"", "http_response_status_code=\"200\"")
            .Sum(line => long.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Without_a_body_it_is_400_and_null_is_400()
    {
        var empty = await _server.Root.SendRawAsync(HttpMethod.Post, Path, null, contentType: null);
        var jsonNull = await _server.Root.SendRawAsync(HttpMethod.Post, Path, "null");

        empty.StatusCode.ShouldBe(400, empty.Text);
        empty.ErrorCode.ShouldBe("INVALID_REQUEST");
        empty.Body.GetProperty("error").GetProperty("message").GetString().ShouldBe("A JSON request body is required.");
        jsonNull.StatusCode.ShouldBe(400, jsonNull.Text);
        jsonNull.Body.GetProperty("error").GetProperty("message").GetString().ShouldBe("A JSON request body is required.");
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_in_the_envelope()
    {
        var response = await _server.Root.SendRawAsync(HttpMethod.Post, Path, "key=abc", contentType: "text/plain");

        response.StatusCode.ShouldBe(415, response.Text);
        response.ErrorCode.ShouldBe("UNSUPPORTED_MEDIA_TYPE");
        response.Header("X-Request-Id").ShouldNotBeNullOrEmpty();
    }

    [Theory]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("Application/JSON")]
    [InlineData("application/vnd.gatehouse+json")]
    public async Task Every_json_media_type_is_read(string contentType)
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);

        var response = await _server.Root.SendRawAsync(HttpMethod.Post, Path, JsonSerializer.Serialize(new { key }), contentType);

        response.StatusCode.ShouldBe(200, response.Text);
        response.Code().ShouldBe("VALID");
    }

    [Fact]
    public async Task Malformed_or_mistyped_json_is_400_saying_where()
    {
        var malformed = await _server.Root.SendRawAsync(HttpMethod.Post, Path, "{\"key\": \"abc\",");
        var mistyped = await _server.Root.SendRawAsync(HttpMethod.Post, Path, "{\"key\": 5}");

        malformed.StatusCode.ShouldBe(400, malformed.Text);
        malformed.ErrorCode.ShouldBe("INVALID_REQUEST");
        malformed.Body.GetProperty("error").GetProperty("message").GetString()!.ShouldContain("not valid JSON");
        mistyped.StatusCode.ShouldBe(400, mistyped.Text);
        mistyped.Body.GetProperty("error").GetProperty("message").GetString().ShouldBe("The field at $.key has the wrong type.");
        mistyped.Body.GetProperty("error").GetProperty("details").GetProperty("path").GetString().ShouldBe("$.key");
    }

    [Fact]
    public async Task The_body_is_read_before_the_credential_is_checked_like_every_other_route()
    {
        var response = await _server.Anonymous.SendRawAsync(HttpMethod.Post, Path, "{");

        response.StatusCode.ShouldBe(400, response.Text);
    }

    [Fact]
    public async Task A_verdict_carries_its_length_the_request_id_and_the_rate_limit_headers()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");

        var response = await verifier.SendAsync(HttpMethod.Post, Path, new { key }, new Dictionary<string, string> { ["X-Request-Id"] = "trace-42" });

        response.StatusCode.ShouldBe(200, response.Text);
        response.Header("Content-Length").ShouldBe(Encoding.UTF8.GetByteCount(response.Text).ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Header("X-Request-Id").ShouldBe("trace-42");
        response.Body.GetProperty("meta").GetProperty("requestId").GetString().ShouldBe("trace-42");
        var limit = long.Parse(response.Header("X-RateLimit-Limit")!, System.Globalization.CultureInfo.InvariantCulture);
        long.Parse(response.Header("X-RateLimit-Remaining")!, System.Globalization.CultureInfo.InvariantCulture).ShouldBeLessThan(limit);
        response.Header("X-RateLimit-Reset").ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task A_retried_verify_with_an_idempotency_key_replays_and_spends_once()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId, new { name = "metered", permissions = Array.Empty<string>(), remaining = 5 });
        var verifier = await _server.OrgClientAsync(orgId, "api_keys:verify");
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };

        var first = await verifier.SendAsync(HttpMethod.Post, Path, new { key, cost = 2 }, headers);
        var retry = await verifier.SendAsync(HttpMethod.Post, Path, new { key, cost = 2 }, headers);
        var otherBody = await verifier.SendAsync(HttpMethod.Post, Path, new { key, cost = 1 }, headers);
        var plain = await verifier.VerifyAsync(new { key, cost = 0 });

        first.StatusCode.ShouldBe(200, first.Text);
        first.Data.GetProperty("remaining").GetInt64().ShouldBe(3);
        retry.StatusCode.ShouldBe(200);
        retry.Header("Idempotent-Replayed").ShouldBe("true");
        retry.Text.ShouldBe(first.Text);
        otherBody.StatusCode.ShouldBe(409);
        plain.Data.GetProperty("remaining").GetInt64().ShouldBe(3);
    }

    [Fact]
    public async Task An_idempotency_key_does_not_get_past_the_credential_check()
    {
        var orgId = await _server.CreateOrgAsync();
        var (_, key) = await _server.CreateKeyAsync(orgId);
        var reader = await _server.OrgClientAsync(orgId, "api_keys:read");
        var headers = new Dictionary<string, string> { ["Idempotency-Key"] = Guid.NewGuid().ToString() };

        var anonymous = await _server.Anonymous.SendAsync(HttpMethod.Post, Path, new { key }, headers);
        var forbidden = await reader.SendAsync(HttpMethod.Post, Path, new { key }, headers);

        anonymous.StatusCode.ShouldBe(401, anonymous.Text);
        forbidden.StatusCode.ShouldBe(403, forbidden.Text);
    }

    private static string Write(VerdictWriter writer, KeyVerdict verdict, string requestId, DateTime now)
    {
        var output = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.Write(json, output, verdict, requestId, now);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static readonly Dictionary<string, KeyVerdict> SampleVerdicts = new()
    {
        ["not found"] = KeyVerifier.NotFound,
        ["valid, everything set"] = KeyVerifier.Describe(
            Key(meta: """{"plan":"pro","nested":{"a":[1,2.5,true,null]},"text":"<b>&'é\u2028"}""", ownerId: "user \"1\"", expiresAt: new DateTime(2027, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc)),
            VerifyCodes.Valid, remaining: 41, limits: []),
        ["valid, nothing optional"] = KeyVerifier.Describe(Key(meta: null, ownerId: null, expiresAt: null), VerifyCodes.Valid, remaining: null, limits: []),
        ["rate limited, with limit states"] = KeyVerifier.Describe(
            Key(meta: "{}", ownerId: null, expiresAt: new DateTime(2027, 1, 2, 3, 4, 5, DateTimeKind.Utc)),
            VerifyCodes.RateLimited, remaining: 0,
            limits: [new RateLimitState("burst", 10, 1000, 0, new DateTimeOffset(2026, 11, 28, 8, 31, 0, TimeSpan.Zero), true),
                new RateLimitState("daily \"quota\"", 1000, 86_400_000, 990, new DateTimeOffset(2026, 11, 29, 0, 0, 0, 123, TimeSpan.Zero), false)]),
        ["revoked"] = KeyVerifier.Describe(Key(meta: null, ownerId: "o", expiresAt: null), VerifyCodes.Revoked, remaining: null, limits: []),
    };

    private static CachedKey Key(string? meta, string? ownerId, DateTime? expiresAt) => new()
    {
        Id = "key_01",
        OrgId = "org_01",
        Name = "svc <prod> & \"more\"",
        OwnerId = ownerId,
        Meta = meta is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(meta),
        Permissions = ["docs:read", "docs:write"],
        Roles = ["editor"],
        EffectivePermissions = new HashSet<string>(["docs:read", "docs:write"]),
        Enabled = true,
        ExpiresAt = expiresAt,
        RateLimits = [],
        IpAllowlist = [],
    };
}

/// <summary>Verify keeps RequestTimeoutSeconds itself (it opts out of the middleware): a verify that waits too long is 503.</summary>
public sealed class VerifyTimeoutTests
{
    [Fact]
    public async Task A_verify_that_waits_past_the_request_timeout_is_503_and_its_work_is_cancelled()
    {
        var stalled = new StalledResolver();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:RequestTimeoutSeconds"] = "1" },
            Services = services => services.AddSingleton<Gatehouse.Server.Platform.Auth.ICredentialResolver>(stalled),
        });
        var caller = server.CreateClient("stalling-credential-for-the-timeout-test");

        var response = await caller.VerifyAsync(new { key = "gk_anything" });

        response.StatusCode.ShouldBe(503, response.Text);
        response.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");
        stalled.Cancelled.ShouldBeTrue();
    }

    /// <summary>Stands for a database that stops answering: waits until its token is cancelled.</summary>
    private sealed class StalledResolver : Gatehouse.Server.Platform.Auth.ICredentialResolver
    {
        public bool Cancelled { get; private set; }

        public Gatehouse.Server.Platform.Auth.CredentialShape Shape => Gatehouse.Server.Platform.Auth.CredentialShape.OpaqueSecret;

        public async ValueTask<Gatehouse.Server.Platform.Auth.CredentialOutcome?> ResolveAsync(
            Gatehouse.Server.Platform.Auth.PresentedCredential credential, Microsoft.AspNetCore.Http.HttpContext httpContext, CancellationToken cancellationToken)
        {
            try
            {
                // The stall is the test: only the server's request timeout (1 s, real time) may end it.
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }

            return null;
        }
    }
}
