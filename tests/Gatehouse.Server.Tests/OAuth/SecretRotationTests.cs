using System.Text.Json;
using Gatehouse.Server.Tests.ApiKeys;
using Gatehouse.Server.Tests.ServiceAccounts;

namespace Gatehouse.Server.Tests.OAuth;

/// <summary>
/// Rotating a client secret: the new secret is shown once, the old one keeps working for exactly
/// the grace period (a fake clock decides), and the route's errors.
/// </summary>
public sealed class SecretRotationTests(SharedServer shared)
{
    private readonly GatehouseServer _shared = shared.Server;

    private static string RotatePath(string orgId, string clientId) => $"{OAuthSteps.ClientsPath(orgId)}/{clientId}/rotate-secret";

    [Fact]
    public async Task During_the_grace_both_secrets_work_and_after_it_only_the_new_one()
    {
        var clock = new FakeClock();
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Clock = clock });
        var orgId = await server.CreateOrgAsync();
        var client = await server.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var rotated = await server.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 300 });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Str("id").ShouldBe(client.Id);
        rotated.Str("name").ShouldBe(client.Created.Str("name"));
        var newSecret = rotated.Str("clientSecret");
        newSecret.ShouldStartWith("gcs_");
        newSecret.ShouldNotBe(client.Secret);
        rotated.Text.ShouldNotContain(client.Secret!);
        rotated.Data.Instant("previousSecretExpiresAt").ShouldBe(clock.GetUtcNow().AddSeconds(300));
        var read = await server.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}");
        read.Data.Instant("previousSecretExpiresAt").ShouldBe(clock.GetUtcNow().AddSeconds(300));
        read.Text.ShouldNotContain(newSecret);

        (await server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
        (await server.TokenWithBasicAsync(client.Id, newSecret)).StatusCode.ShouldBe(200);

        clock.Advance(TimeSpan.FromSeconds(299));
        (await server.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);

        clock.Advance(TimeSpan.FromSeconds(2));
        var old = await server.TokenWithBasicAsync(client.Id, client.Secret!);
        old.StatusCode.ShouldBe(401, old.Text);
        old.OAuthError().ShouldBe("invalid_client");
        (await server.TokenWithPostAsync(client.Id, client.Secret!)).OAuthError().ShouldBe("invalid_client");
        (await server.TokenWithBasicAsync(client.Id, newSecret)).StatusCode.ShouldBe(200);
        (await server.AuditCountAsync(orgId, "oauth_client.rotate_secret", client.Id)).ShouldBe(1);
    }

    [Fact]
    public async Task Without_a_grace_the_old_secret_stops_at_once()
    {
        var orgId = await _shared.CreateOrgAsync();
        var client = await _shared.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var rotated = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 0 });
        var byDefault = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(JsonValueKind.Null);
        byDefault.StatusCode.ShouldBe(200, byDefault.Text);
        byDefault.Data.GetProperty("previousSecretExpiresAt").ValueKind.ShouldBe(JsonValueKind.Null);
        (await _shared.TokenWithBasicAsync(client.Id, client.Secret!)).OAuthError().ShouldBe("invalid_client");
        (await _shared.TokenWithBasicAsync(client.Id, rotated.Str("clientSecret"))).OAuthError().ShouldBe("invalid_client");
        (await _shared.TokenWithBasicAsync(client.Id, byDefault.Str("clientSecret"))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_second_rotation_ends_the_first_secrets_grace()
    {
        var orgId = await _shared.CreateOrgAsync();
        var client = await _shared.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var first = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 600 });
        var second = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 600 });

        // Only the secret being replaced keeps a grace: the original one is two generations old.
        (await _shared.TokenWithBasicAsync(client.Id, client.Secret!)).OAuthError().ShouldBe("invalid_client");
        (await _shared.TokenWithBasicAsync(client.Id, first.Str("clientSecret"))).StatusCode.ShouldBe(200);
        (await _shared.TokenWithBasicAsync(client.Id, second.Str("clientSecret"))).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_grace_outside_0_to_604800_seconds_is_422_and_changes_nothing()
    {
        var orgId = await _shared.CreateOrgAsync();
        var client = await _shared.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var tooLong = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 604801 });
        var negative = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = -1 });
        var unknown = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriod = 60 });

        tooLong.ErrorCode.ShouldBe("VALIDATION_FAILED", tooLong.Text);
        negative.ErrorCode.ShouldBe("VALIDATION_FAILED", negative.Text);
        unknown.ErrorCode.ShouldBe("INVALID_REQUEST", unknown.Text);
        (await _shared.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
        (await _shared.AuditCountAsync(orgId, "oauth_client.rotate_secret")).ShouldBe(0);
    }

    [Fact]
    public async Task The_longest_grace_is_accepted()
    {
        var orgId = await _shared.CreateOrgAsync();
        var client = await _shared.CreateSecretClientAsync(orgId, ["deploy:read"]);

        var rotated = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 604800 });

        rotated.StatusCode.ShouldBe(200, rotated.Text);
        (await _shared.TokenWithBasicAsync(client.Id, client.Secret!)).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task A_private_key_jwt_client_has_no_secret_to_rotate()
    {
        var orgId = await _shared.CreateOrgAsync();
        using var key = new ClientKey();
        var client = await _shared.CreateKeyClientAsync(orgId, key, ["deploy:read"]);

        var response = await _shared.Root.PostAsync(RotatePath(orgId, client.Id), new { gracePeriodSeconds = 60 });

        response.StatusCode.ShouldBe(409, response.Text);
        response.ErrorCode.ShouldBe("CONFLICT");
        var read = await _shared.Root.GetAsync($"{OAuthSteps.ClientsPath(orgId)}/{client.Id}");
        read.Str("tokenEndpointAuthMethod").ShouldBe("private_key_jwt");
        (await _shared.AuditCountAsync(orgId, "oauth_client.rotate_secret")).ShouldBe(0);
    }

    [Fact]
    public async Task Another_organizations_client_is_404_and_keeps_its_secret()
    {
        var orgA = await _shared.CreateOrgAsync();
        var orgB = await _shared.CreateOrgAsync();
        var clientB = await _shared.CreateSecretClientAsync(orgB, ["deploy:read"]);
        var keyA = await _shared.OrgClientAsync(orgA, "oauth_clients:write", "deploy:read");

        var viaB = await keyA.PostAsync(RotatePath(orgB, clientB.Id), new { gracePeriodSeconds = 0 });
        var viaA = await keyA.PostAsync(RotatePath(orgA, clientB.Id), new { gracePeriodSeconds = 0 });
        var unknown = await _shared.Root.PostAsync(RotatePath(orgB, "ocl_" + Guid.NewGuid().ToString("N")), new { });

        foreach (var response in new[] { viaB, viaA, unknown })
        {
            response.StatusCode.ShouldBe(404, response.Text);
            response.ErrorCode.ShouldBe("NOT_FOUND");
            response.Text.ShouldNotContain("gcs_");
        }

        (await _shared.TokenWithBasicAsync(clientB.Id, clientB.Secret!)).StatusCode.ShouldBe(200);
        (await _shared.AuditCountAsync(orgB, "oauth_client.rotate_secret")).ShouldBe(0);
    }
}
