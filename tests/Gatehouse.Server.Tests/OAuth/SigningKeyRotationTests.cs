using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// Rotating the platform's token signing keys with overlap: a new key is published before it
/// signs, tokens signed by the old key keep validating until they expire, and the old key leaves
/// the JWKS once the longest token it could have signed has expired. Each test owns its server and
/// clock, since the keys are platform-wide.
/// </summary>
public sealed class SigningKeyRotationTests
{
    private const string RotatePath = "/api/v1/admin/oauth/signing-keys/rotate";
    private const string KeysPath = "/api/v1/admin/oauth/signing-keys";

    private static async Task<string> SigningKidAsync(GatehouseServer server, RegisteredClient client) =>
        OAuthSteps.DecodeJwt(await server.AccessTokenAsync(client)).Header.GetProperty("kid").GetString()!;

    /// <summary>Runs, by hand, every background job that looks after OAuth signing keys (if the server keeps them in a job), and waits for each run.</summary>
    private static async Task RunSigningKeyJobsAsync(GatehouseServer server)
    {
        var jobs = await server.Root.GetAsync("/api/v1/admin/jobs");
        jobs.StatusCode.ShouldBe(200, jobs.Text);
        var names = jobs.Data.EnumerateArray().Select(j => j.GetProperty("name").GetString()!)
            .Where(n => n.Contains("oauth", StringComparison.OrdinalIgnoreCase) || n.Contains("signing", StringComparison.OrdinalIgnoreCase)).ToList();
        foreach (var name in names)
        {
            var trigger = await server.Root.PostAsync("/api/v1/admin/jobs/trigger", new { job = name });
            trigger.StatusCode.ShouldBeOneOf([202, 409], trigger.Text);
            if (trigger.StatusCode == 202)
            {
                var runId = trigger.Str("runId");
                await Eventually.TrueAsync(async () => (await server.Root.GetAsync($"/api/v1/admin/jobs/runs/{runId}")).Str("state") is "succeeded" or "failed",
                    $"the {name} run to finish");
            }
        }
    }

    [Fact]
    public async Task A_rotated_key_is_published_before_it_signs_and_the_old_key_stays_until_its_tokens_have_expired()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["oauth_clients:read"], tokenTtlSeconds: 3600);
        var oldToken = await server.AccessTokenAsync(client);
        var oldKid = OAuthSteps.DecodeJwt(oldToken).Header.GetProperty("kid").GetString()!;
        var before = await server.PublishedKidsAsync();
        before.ShouldContain(oldKid);

        var rotated = await server.Root.PostAsync(RotatePath, new { algorithm = "ES256", activateAfterSeconds = 600 });

        rotated.StatusCode.ShouldBeOneOf([200, 201], rotated.Text);
        var published = await server.PublishedKidsAsync();
        var added = published.Except(before).ToList();
        added.Count.ShouldBe(1, string.Join(", ", published));
        var newKid = added[0];
        published.ShouldContain(oldKid);
        (await server.JwksAsync()).Keys.Single(k => k.Kid == newKid).Kty.ShouldBe("EC");

        // Published but not yet signing.
        (await SigningKidAsync(server, client)).ShouldBe(oldKid);
        clock.Advance(TimeSpan.FromSeconds(599));
        (await SigningKidAsync(server, client)).ShouldBe(oldKid);

        clock.Advance(TimeSpan.FromSeconds(1));
        var newToken = await server.AccessTokenAsync(client);
        OAuthSteps.DecodeJwt(newToken).Header.GetProperty("kid").GetString().ShouldBe(newKid);
        (await server.ValidateAgainstJwksAsync(newToken, checkLifetime: false)).IsValid.ShouldBeTrue();

        // The token the old key signed keeps working until its own expiry, and its key stays published.
        (await server.IntrospectAsync(client, oldToken)).IsActive().ShouldBeTrue();
        (await server.CreateClient(oldToken).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
        (await server.ValidateAgainstJwksAsync(oldToken, checkLifetime: false)).IsValid.ShouldBeTrue();
        clock.Advance(TimeSpan.FromSeconds(2999));
        (await server.CreateClient(oldToken).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
        await RunSigningKeyJobsAsync(server);
        (await server.PublishedKidsAsync()).ShouldContain(oldKid);

        clock.Advance(TimeSpan.FromSeconds(1));
        (await server.IntrospectAsync(client, oldToken)).IsExactlyInactive().ShouldBeTrue();
        (await server.CreateClient(oldToken).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(401);

        // After the longest lifetime any token could have (86 400 s) since the old key last signed, it is gone.
        clock.Advance(TimeSpan.FromSeconds(86400 + 600));
        await RunSigningKeyJobsAsync(server);
        await Eventually.TrueAsync(async () => !(await server.PublishedKidsAsync()).Contains(oldKid), "the retired key to leave the JWKS");
        (await server.PublishedKidsAsync()).ShouldContain(newKid);
        var latest = await server.AccessTokenAsync(client);
        OAuthSteps.DecodeJwt(latest).Header.GetProperty("kid").GetString().ShouldBe(newKid);
        (await server.CreateClient(latest).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task An_rs256_rotation_publishes_an_rsa_key_that_rs256_clients_sign_with_once_active()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var rsaClient = await server.CreateSecretClientAsync(orgId, ["oauth_clients:read"], signingAlgorithm: "RS256");
        var ecClient = await server.CreateSecretClientAsync(orgId, ["oauth_clients:read"]);
        var ecKid = await SigningKidAsync(server, ecClient);
        var before = await server.PublishedKidsAsync();

        var rotated = await server.Root.PostAsync(RotatePath, new { algorithm = "RS256", activateAfterSeconds = 0 });

        rotated.StatusCode.ShouldBeOneOf([200, 201], rotated.Text);
        var newKid = (await server.PublishedKidsAsync()).Except(before).Single();
        var newKey = (await server.JwksAsync()).Keys.Single(k => k.Kid == newKid);
        newKey.Kty.ShouldBe("RSA");
        newKey.Alg.ShouldBe("RS256");
        clock.Advance(TimeSpan.FromSeconds(1));
        var token = await server.AccessTokenAsync(rsaClient);
        var header = OAuthSteps.DecodeJwt(token).Header;
        header.GetProperty("alg").GetString().ShouldBe("RS256");
        header.GetProperty("kid").GetString().ShouldBe(newKid);
        (await server.CreateClient(token).GetAsync(OAuthSteps.ClientsPath(orgId))).StatusCode.ShouldBe(200);
        // The ES256 key is untouched by an RS256 rotation.
        (await SigningKidAsync(server, ecClient)).ShouldBe(ecKid);
    }

    [Fact]
    public async Task The_key_list_shows_public_data_only_and_a_bad_algorithm_is_422()
    {
        await using var server = await GatehouseServer.StartAsync();

        var list = await server.Root.GetAsync(KeysPath);
        var badAlgorithm = await server.Root.PostAsync(RotatePath, new { algorithm = "HS256" });
        var negative = await server.Root.PostAsync(RotatePath, new { activateAfterSeconds = -1 });
        var unknown = await server.Root.PostAsync(RotatePath, new { algorithim = "ES256" });

        list.StatusCode.ShouldBe(200, list.Text);
        foreach (var kid in await server.PublishedKidsAsync())
        {
            list.Text.ShouldContain(kid);
        }

        list.Text.ShouldNotContain("\"d\":");
        list.Text.ShouldNotContain("PRIVATE KEY");
        badAlgorithm.ErrorCode.ShouldBe("VALIDATION_FAILED", badAlgorithm.Text);
        negative.ErrorCode.ShouldBe("VALIDATION_FAILED", negative.Text);
        unknown.ErrorCode.ShouldBe("INVALID_REQUEST", unknown.Text);
    }

    [Fact]
    public async Task Only_root_may_list_or_rotate_signing_keys()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var orgAdmin = await server.OrgClientAsync(orgId, "*");
        var client = await server.CreateSecretClientAsync(orgId, ["*"]);
        var token = server.CreateClient(await server.AccessTokenAsync(client));
        var before = await server.PublishedKidsAsync();

        foreach (var caller in new[] { orgAdmin, token })
        {
            (await caller.GetAsync(KeysPath)).StatusCode.ShouldBe(403);
            var rotate = await caller.PostAsync(RotatePath, new { algorithm = "ES256" });
            rotate.StatusCode.ShouldBe(403, rotate.Text);
            rotate.ErrorCode.ShouldBe("FORBIDDEN");
        }

        (await server.Anonymous.GetAsync(KeysPath)).StatusCode.ShouldBe(401);
        (await server.Anonymous.PostAsync(RotatePath, new { })).StatusCode.ShouldBe(401);
        (await server.PublishedKidsAsync()).ShouldBe(before);
    }
}
