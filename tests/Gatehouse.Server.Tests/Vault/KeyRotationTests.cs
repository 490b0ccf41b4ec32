using Gatehouse.Server.Features.Vault;

namespace Gatehouse.Server.Tests.Vault;

/// <summary>Data-key rotation, re-encryption, retirement, and crypto-shredding on organization delete.</summary>
public sealed class KeyRotationTests
{
    [Fact]
    public async Task Rotation_re_encrypts_a_thousand_credentials_in_resumable_batches_and_retires_the_old_key()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var orgId = await server.CreateOrgAsync();
        for (var i = 0; i < 1000; i++)
        {
            (await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = $"int-{i % 10}", authType = "api_key", name = $"c{i}", data = new { apiKey = $"secret-{i}" } })).StatusCode.ShouldBe(201);
        }

        var rotated = await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId });
        rotated.StatusCode.ShouldBe(200, rotated.Text);
        rotated.Data[0].GetProperty("version").GetInt32().ShouldBe(2);

        // New writes use the new key at once.
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "fresh", authType = "api_key", name = "new", data = new { apiKey = "fresh" } });
        var job = server.Services.GetRequiredService<DataKeyReencryption>();

        // A run stopped after 3 batches (a crash) leaves the rest on v1; the next run finishes them.
        var firstRun = (await job.RunAsync(3, CancellationToken.None)).Moved;
        var midway = await Keyring(server, orgId);
        var rest = (await job.RunAsync(int.MaxValue, CancellationToken.None)).Moved;

        midway[1].ShouldBe(1000 - firstRun);
        (firstRun + rest).ShouldBe(1000);
        var after = await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}");
        var v1 = after.Data.EnumerateArray().Single(e => e.GetProperty("version").GetInt32() == 1);
        v1.GetProperty("records").GetInt32().ShouldBe(0);
        v1.GetProperty("retiredAt").GetString().ShouldNotBeNullOrEmpty();
        after.Data.EnumerateArray().Single(e => e.GetProperty("version").GetInt32() == 2).GetProperty("records").GetInt32().ShouldBe(1001);
        for (var i = 0; i < 10; i++)
        {
            var revealed = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/int-{i}");
            revealed.StatusCode.ShouldBe(200);
            revealed.Data.GetArrayLength().ShouldBe(100);
        }
    }

    [Fact]
    public async Task The_server_re_encrypts_by_itself_after_a_rotation()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        for (var i = 0; i < 30; i++)
        {
            await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "auto", authType = "api_key", name = $"c{i}", data = new { apiKey = $"s{i}" } });
        }

        await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId });

        var keyring = await Eventually.ValueAsync(() => Keyring(server, orgId), k => k[1] == 0,
            "the background job to move every record off key version 1", describe: k => string.Join(", ", k.Select(v => $"v{v.Key}: {v.Value} records")));

        keyring[1].ShouldBe(0);
        keyring[2].ShouldBe(30);
    }

    [Fact]
    public async Task Rotation_of_an_unknown_org_is_404_and_needs_root()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        var orgKey = await Gatehouse.Server.Tests.ApiKeys.KeyScenario.OrgClientAsync(server, orgId, "*");

        (await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId = "org_01KAAAAAAAAAAAAAAAAAAAAAAA" })).StatusCode.ShouldBe(404);
        (await orgKey.PostAsync("/api/v1/admin/dek/rotate", new { orgId })).StatusCode.ShouldBe(403);
        (await orgKey.GetAsync("/api/v1/admin/keyring")).StatusCode.ShouldBe(403);
        var all = await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { });
        all.StatusCode.ShouldBe(200);
        all.Data.EnumerateArray().Select(e => e.GetProperty("orgId").GetString()).ShouldContain(orgId);
    }

    [Fact]
    public async Task Deleting_an_organization_destroys_its_data_keys_so_its_ciphertext_is_unrecoverable()
    {
        await using var server = await GatehouseServer.StartAsync();
        var orgId = await server.CreateOrgAsync();
        await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "doomed", authType = "api_key", name = "d", data = new { apiKey = "doomed-secret" } });
        (await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}")).Data.GetArrayLength().ShouldBe(1);

        (await server.Root.DeleteAsync($"/api/v1/orgs/{orgId}")).StatusCode.ShouldBe(200);

        (await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}")).Data.GetArrayLength().ShouldBe(0);
        using var scope = server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<Gatehouse.Server.Platform.Storage.GatehouseDb>();
        db.Set<DataKey>().Count(k => k.OrgId == orgId).ShouldBe(0);
        db.Set<CredentialVersion>().Count(v => v.OrgId == orgId).ShouldBe(0);
    }

    [Fact]
    public async Task Restarting_with_a_new_master_key_and_the_previous_one_rewraps_and_everything_still_opens()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "mk-" + Guid.NewGuid().ToString("N"));
        await using var database = await TestDatabase.CreateAsync();
        var oldKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var newKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string orgId;
        await using (var first = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = oldKey } }, database))
        {
            orgId = await first.CreateOrgAsync();
            await first.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = "kept", authType = "api_key", name = "k", data = new { apiKey = "survives-rotation" } });
        }

        await using (var rotated = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = newKey, ["Gatehouse:MasterKeyPrevious"] = oldKey } }, database))
        {
            (await rotated.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/kept")).Data[0].GetProperty("data").GetProperty("apiKey").GetString().ShouldBe("survives-rotation");
        }

        await using var onlyNew = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = newKey } }, database);
        (await onlyNew.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/kept")).Data[0].GetProperty("data").GetProperty("apiKey").GetString().ShouldBe("survives-rotation");
    }

    [Fact]
    public async Task A_master_key_rotation_keeps_webhook_secrets_signing_and_idempotent_responses_replayable()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "gatehouse-tests", "mk-" + Guid.NewGuid().ToString("N"));
        await using var database = await TestDatabase.CreateAsync();
        await using var receiver = await Gatehouse.Server.Tests.Webhooks.WebhookReceiver.StartAsync();
        var oldKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var newKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var idempotency = new Dictionary<string, string> { ["Idempotency-Key"] = "before-rotation" };
        var roleBody = new { name = "made-once", permissions = new[] { "deploy:write" } };
        string orgId, secret, firstRole;
        await using (var first = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = oldKey } }, database))
        {
            orgId = await first.CreateOrgAsync();
            secret = (await first.Root.PostAsync($"/api/v1/orgs/{orgId}/webhooks", new { url = receiver.Url(), events = new[] { "role.created" } })).Str("secret");
            firstRole = (await first.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", roleBody, idempotency)).Str("id");
        }

        await using (await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = newKey, ["Gatehouse:MasterKeyPrevious"] = oldKey } }, database))
        {
        }

        await using var onlyNew = await GatehouseServer.StartAsync(new ServerOptions { DataDir = dataDir, Settings = new Dictionary<string, string?> { ["Gatehouse:MasterKey"] = newKey } }, database);
        var replay = await onlyNew.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", roleBody, idempotency);
        replay.StatusCode.ShouldBe(201, replay.Text);
        replay.Header("Idempotent-Replayed").ShouldBe("true");
        replay.Str("id").ShouldBe(firstRole);

        (await onlyNew.Root.PostAsync($"/api/v1/orgs/{orgId}/roles", new { name = "after-rotation", permissions = new[] { "x" } })).StatusCode.ShouldBe(201);
        var delivered = await receiver.WaitForAsync(r => r.Type == "role.created" && r.Body.Contains("after-rotation", StringComparison.Ordinal));
        Gatehouse.Server.Tests.Webhooks.StandardWebhooksVerifier.Verify(secret, delivered[0], DateTimeOffset.UtcNow).ShouldBeTrue();
    }

    private static async Task<Dictionary<int, int>> Keyring(GatehouseServer server, string orgId)
    {
        var response = await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}");
        return response.Data.EnumerateArray().ToDictionary(e => e.GetProperty("version").GetInt32(), e => e.GetProperty("records").GetInt32());
    }
}
