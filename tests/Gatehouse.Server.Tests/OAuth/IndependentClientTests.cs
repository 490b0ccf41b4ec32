using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// A client that knows only the standards drives the authorization server: tests/oauth-client/client.mjs
/// (oauth4webapi for the protocol, jose for the tokens) discovers the metadata, obtains a
/// client-credentials token with client_secret_basic, client_secret_post and private_key_jwt,
/// verifies each against the published JWKS, uses it on this API, introspects it, revokes it, and
/// sees introspection and the API turn it away; then it checks that the refusals (wrong secret,
/// a scope beyond the client, a replayed assertion, introspection without a client) are errors the
/// library recognises, and that a DPoP-bound token (RFC 9449) works only with a proof of its key.
/// Our own tests cannot catch a reading of an RFC that
/// only our own code shares; a library written by others against the same RFCs can.
/// </summary>
public sealed class IndependentClientTests
{
    private static readonly string[] Methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"];

    [Fact]
    public async Task A_standards_client_obtains_verifies_uses_introspects_and_revokes_tokens_with_each_authentication_method_and_reads_every_refusal()
    {
        var node = ExternalTools.FindOnPath("node");
        var npm = ExternalTools.FindOnPath("npm");
        if (node is null || npm is null)
        {
            Assert.Skip("node and npm are not installed (Debian: apt-get install nodejs npm)");
        }

        var project = Path.Combine(ExternalTools.RepositoryRoot(), "tests", "oauth-client");
        if (!File.Exists(Path.Combine(project, "node_modules", "oauth4webapi", "package.json"))
            || !File.Exists(Path.Combine(project, "node_modules", "jose", "package.json")))
        {
            await ExternalTools.RunAsync(npm, project, null, "ci", "--no-audit", "--no-fund");
        }

        // A server of its own: the script's refusals count against the per-IP budget of failed client
        // authentications, which other tests on a shared server spend from the same loopback address.
        await using var server = await GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:OAuth:FailedAuthPerIpPerMinute"] = "1000000" },
        });
        var orgId = await server.CreateOrgAsync();
        var (basicId, basicSecret) = await CreateClientAsync(server, orgId, new { name = "standards basic", scopes = new[] { "api_keys:read", "audit:read" } });
        var (postId, postSecret) = await CreateClientAsync(server, orgId, new
        {
            name = "standards post",
            scopes = new[] { "api_keys:read", "audit:read" },
            tokenEndpointAuthMethod = "client_secret_post",
        });

        // The client's key pair is made here, as a real client would make its own: the public half is
        // registered with the client, the private half only ever reaches the script.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (publicJwk, privateJwk) = ToJwks(key, kid: "standards-" + Guid.NewGuid().ToString("N")[..8]);
        var (privateKeyId, noSecret) = await CreateClientAsync(server, orgId, new
        {
            name = "standards private key",
            scopes = new[] { "api_keys:read" },
            tokenEndpointAuthMethod = "private_key_jwt",
            jwks = new { keys = new[] { publicJwk } },
        });
        noSecret.ShouldBeNull("a private_key_jwt client has no secret");

        var output = await ExternalTools.RunAsync(node, project, new Dictionary<string, string>
        {
            ["GATEHOUSE_URL"] = server.BaseAddress.GetLeftPart(UriPartial.Authority),
            ["ORG_ID"] = orgId,
            ["CLIENT_ID"] = basicId,
            ["CLIENT_SECRET"] = basicSecret!,
            ["POST_CLIENT_ID"] = postId,
            ["POST_CLIENT_SECRET"] = postSecret!,
            ["PK_CLIENT_ID"] = privateKeyId,
            ["PRIVATE_JWK"] = JsonSerializer.Serialize(privateJwk),
        }, "client.mjs");

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.ShouldContain(line => line.StartsWith("ok discovery: issuer " + server.BaseAddress.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal), output);
        foreach (var method in Methods)
        {
            foreach (var step in new[] { "token", "verify", "api", "introspect", "revoke", "introspect revoked", "api revoked" })
            {
                lines.ShouldContain(line => line.StartsWith($"ok {step} {method}:", StringComparison.Ordinal), output);
            }
        }

        foreach (var refusal in new[]
        {
            "refuse wrong secret client_secret_basic: 401 invalid_client, Basic realm=\"gatehouse\"",
            "refuse wrong secret client_secret_post: 401 invalid_client",
            "refuse scope beyond the client: 400 invalid_scope",
            "refuse replayed assertion private_key_jwt: first use 200, second use 401 invalid_client",
            "refuse unauthenticated introspection: 401 invalid_client",
        })
        {
            lines.ShouldContain("ok " + refusal, output);
        }

        // The server advertises DPoP, so the script must have exercised it rather than skipped it.
        foreach (var dpopStep in new[]
        {
            "token dpop: token_type DPoP",
            "verify dpop: cnf.jkt is the thumbprint of the proof key",
            "api dpop: GET api-keys with a proof 200",
            "api dpop as bearer: GET api-keys as Bearer 401",
            "introspect dpop: active true, token_type DPoP",
            "revoke dpop: revoked; GET api-keys with a proof 401",
        })
        {
            lines.ShouldContain(line => line.StartsWith("ok " + dpopStep, StringComparison.Ordinal), output);
        }

        lines.ShouldContain("ok api revoked private_key_jwt: GET api-keys 401", output);
        lines.ShouldContain("ok token client_secret_post: expires_in 3600, scope \"api_keys:read\"", output);
        lines.Last().ShouldBe("ok done: 3 client authentication methods", output);
    }

    private static async Task<(string ClientId, string? Secret)> CreateClientAsync(GatehouseServer server, string orgId, object body)
    {
        var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/oauth-clients", body);
        created.StatusCode.ShouldBe(201, created.Text);
        var secret = created.Data.TryGetProperty("clientSecret", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return (created.Str("clientId"), secret);
    }

    private static (Dictionary<string, string> Public, Dictionary<string, string> Private) ToJwks(ECDsa key, string kid)
    {
        var parameters = key.ExportParameters(includePrivateParameters: true);
        var publicJwk = new Dictionary<string, string>
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = Base64Url.EncodeToString(parameters.Q.X),
            ["y"] = Base64Url.EncodeToString(parameters.Q.Y),
            ["kid"] = kid,
            ["use"] = "sig",
            ["alg"] = "ES256",
        };
        var privateJwk = new Dictionary<string, string>(publicJwk) { ["d"] = Base64Url.EncodeToString(parameters.D) };
        return (publicJwk, privateJwk);
    }
}
