using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Tests.Platform;

/// <summary>
/// Credentials are dispatched on their shape: a signed token goes to the token resolvers only and
/// is never hashed or compared with keys; an opaque secret never reaches a token resolver.
/// </summary>
public sealed class IdentityModelTests
{
    private const string TokenShaped = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvY2xfMSJ9.c2lnbmF0dXJl";

    [Theory]
    [InlineData(TokenShaped, CredentialShape.Jwt)]
    [InlineData("eyJhbGciOiJub25lIn0.e30.", CredentialShape.OpaqueSecret)]
    [InlineData("eyJhbGciOiJub25lIn0..sig", CredentialShape.OpaqueSecret)]
    [InlineData("eyJ.a.b.c", CredentialShape.OpaqueSecret)]
    [InlineData("eyJ+a.b.c", CredentialShape.OpaqueSecret)]
    [InlineData("gk_live_3xampleKeyThatIsNotAToken", CredentialShape.OpaqueSecret)]
    [InlineData("abc.def.ghi", CredentialShape.OpaqueSecret)]
    public void The_shape_of_a_credential_is_read_from_its_text(string text, CredentialShape expected)
    {
        PresentedCredential.ShapeOf(text).ShouldBe(expected);
    }

    [Fact]
    public async Task A_token_shaped_credential_reaches_only_token_resolvers_and_an_opaque_one_never_does()
    {
        var tokens = new TokenResolver();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Services = s => s.AddSingleton<ICredentialResolver>(tokens) });
        var orgId = await server.CreateOrgAsync();
        tokens.OrgId = orgId;

        var asClient = await server.CreateClient(TokenShaped).GetAsync($"/api/v1/orgs/{orgId}");
        asClient.StatusCode.ShouldBe(200, asClient.Text);
        tokens.Seen.ShouldBe([TokenShaped]);
        tokens.DigestWasEmpty.ShouldBeTrue();

        // The root key and an unknown opaque secret are settled without the token resolver.
        (await server.Root.GetAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);
        var unknown = await server.CreateClient("gk_not_a_real_key_0123456789abcdef").GetAsync($"/api/v1/orgs/{orgId}");
        unknown.StatusCode.ShouldBe(401);
        tokens.Seen.ShouldBe([TokenShaped]);

        // The principal of the token acts under its own kind: its organization only, and the audit names it.
        var other = await server.CreateOrgAsync();
        (await server.CreateClient(TokenShaped).GetAsync($"/api/v1/orgs/{other}")).StatusCode.ShouldBe(404);
        var patched = await server.CreateClient(TokenShaped).PatchAsync($"/api/v1/orgs/{orgId}", new { name = "Renamed by a client" });
        patched.StatusCode.ShouldBe(200, patched.Text);
        var audit = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/audit-logs?action=org.update");
        var actor = audit.Data[0].GetProperty("actor");
        actor.GetProperty("type").GetString().ShouldBe("oauth_client");
        actor.GetProperty("id").GetString().ShouldBe("ocl_test");
    }

    [Fact]
    public async Task A_token_shaped_credential_with_no_token_resolver_is_refused_like_any_unknown_credential()
    {
        await using var server = await GatehouseServer.StartAsync();
        var response = await server.CreateClient(TokenShaped).GetAsync("/api/v1/permissions");

        response.StatusCode.ShouldBe(401);
        response.ErrorCode.ShouldBe("INVALID_API_KEY");
    }

    [Fact]
    public async Task A_root_key_with_the_shape_of_a_token_stops_the_server()
    {
        var ex = await Should.ThrowAsync<Gatehouse.Server.Platform.Hosting.StartupException>(() => GatehouseServer.StartAsync(new ServerOptions
        {
            Settings = new Dictionary<string, string?> { ["Gatehouse:RootKey"] = TokenShaped },
        }));

        ex.Message.ShouldContain("GATEHOUSE_ROOT_KEY");
    }

    /// <summary>Stands for the OAuth access-token resolver to come: recognises one token, as a client of one organization.</summary>
    private sealed class TokenResolver : ICredentialResolver
    {
        public string OrgId { get; set; } = "";

        public List<string> Seen { get; } = [];

        public bool DigestWasEmpty { get; private set; }

        public CredentialShape Shape => CredentialShape.Jwt;

        public ValueTask<CredentialOutcome?> ResolveAsync(PresentedCredential credential, Microsoft.AspNetCore.Http.HttpContext httpContext, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                Seen.Add(credential.Text);
            }

            DigestWasEmpty = credential.Digest.Equals(default(Gatehouse.Crypto.SecretDigest));
            return ValueTask.FromResult<CredentialOutcome?>(credential.Text == TokenShaped
                ? CredentialOutcome.Success(new Principal(ActorKind.OAuthClient, "ocl_test", OrgId, ["orgs:read", "orgs:write"], AuthenticationMethod.BearerToken))
                : null);
        }
    }
}
