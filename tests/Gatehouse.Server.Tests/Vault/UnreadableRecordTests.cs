using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Vault;

/// <summary>A credential whose ciphertext no longer opens is skipped and reported by the re-encryption job, never a stop.</summary>
public sealed class UnreadableRecordTests
{
    [Fact]
    public async Task A_corrupted_record_is_skipped_and_reported_while_every_other_record_of_every_org_is_re_encrypted()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var first = await server.CreateOrgAsync();
        var second = await server.CreateOrgAsync();
        var ids = new Dictionary<(string, string), string>();
        foreach (var (orgId, count) in new[] { (first, 5), (second, 3) })
        {
            for (var i = 0; i < count; i++)
            {
                var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials", new { integrationId = $"int-{i}", authType = "api_key", name = "c", data = new { apiKey = $"{orgId}-secret-{i}" } });
                created.StatusCode.ShouldBe(201, created.Text);
                ids[(orgId, $"int-{i}")] = created.Str("id");
            }
        }

        // One byte of the sealed data flipped in the database: the header (key version) stays, the tag fails.
        var bad = ids[(first, "int-2")];
        using (var scope = server.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            var ciphertext = await db.Set<CredentialVersion>().Where(v => v.CredentialId == bad).Select(v => v.Ciphertext).SingleAsync();
            ciphertext[^1] ^= 0x5a;
            await db.Database.ExecuteSqlRawAsync("UPDATE credential_versions SET ciphertext = {0} WHERE credential_id = {1}", ciphertext, bad);
        }

        (await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { })).StatusCode.ShouldBe(200);
        var run = await server.Services.GetRequiredService<DataKeyReencryption>().RunAsync(int.MaxValue, CancellationToken.None);

        run.Moved.ShouldBe(7);
        run.Skipped.ShouldBe([$"{bad}/1"]);
        run.Complete.ShouldBeTrue();
        foreach (var ((orgId, integrationId), _) in ids.Where(c => c.Value != bad))
        {
            var revealed = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/{integrationId}");
            revealed.StatusCode.ShouldBe(200, revealed.Text);
            revealed.Data[0].GetProperty("data").GetProperty("apiKey").GetString().ShouldBe($"{orgId}-secret-{integrationId[4..]}");
        }

        var details = await server.Root.GetAsync($"/api/v1/orgs/{second}/credentials/int-0/details");
        details.Data[0].GetProperty("versions")[0].GetProperty("keyVersion").GetInt32().ShouldBe(2);

        // The bad record keeps version 1 of its org alive; the other org's version 1 is retired.
        var firstKeys = await Keyring(server, first);
        firstKeys[1].GetProperty("records").GetInt32().ShouldBe(1);
        firstKeys[1].GetProperty("retiredAt").ValueKind.ShouldBe(System.Text.Json.JsonValueKind.Null);
        firstKeys[2].GetProperty("records").GetInt32().ShouldBe(4);
        (await Keyring(server, second))[1].GetProperty("retiredAt").ValueKind.ShouldNotBe(System.Text.Json.JsonValueKind.Null);

        server.Logs.Lines.ShouldContain(l => l.Contains(bad, StringComparison.Ordinal) && l.Contains("cannot be opened", StringComparison.Ordinal));
        server.Logs.All.ShouldNotContain($"{first}-secret-2");

        var health = await server.Root.GetAsync("/api/v1/admin/health");
        health.StatusCode.ShouldBe(200, health.Text);
        health.Str("status").ShouldBe("degraded");
        var keyring = health.Data.GetProperty("components").GetProperty("keyring");
        keyring.GetProperty("status").GetString().ShouldBe("degraded");
        keyring.GetProperty("details").GetProperty("unreadableRecords").GetInt32().ShouldBe(1);
        keyring.GetProperty("details").GetProperty("unreadableSample")[0].GetString().ShouldBe($"{bad}/1");

        // Once the bad record is gone, the next run retires the key it held and the report clears.
        (await server.Root.DeleteAsync($"/api/v1/orgs/{first}/credentials/int-2/{bad}")).StatusCode.ShouldBe(200);
        (await server.Services.GetRequiredService<DataKeyReencryption>().RunAsync(int.MaxValue, CancellationToken.None)).Skipped.ShouldBeEmpty();
        (await Keyring(server, first))[1].GetProperty("retiredAt").ValueKind.ShouldNotBe(System.Text.Json.JsonValueKind.Null);
        var healed = await server.Root.GetAsync("/api/v1/admin/health");
        healed.Data.GetProperty("components").GetProperty("keyring").GetProperty("status").GetString().ShouldBe("healthy");
    }

    private static async Task<Dictionary<int, System.Text.Json.JsonElement>> Keyring(GatehouseServer server, string orgId) =>
        (await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}")).Data.EnumerateArray().ToDictionary(e => e.GetProperty("version").GetInt32(), e => e.Clone());
}
