using System.Collections.Concurrent;
using Gatehouse.Server.Features.Vault;

namespace Gatehouse.Server.Tests.Vault;

/// <summary>
/// Data-key rotation racing vault writes: a credential acknowledged while its organization's key
/// rotates, and the old key is retired, must still reveal its exact data afterwards.
/// </summary>
public sealed class RotationRaceTests
{
    [Fact]
    public async Task Every_credential_acknowledged_during_a_rotation_storm_reveals_its_exact_data()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var orgs = new[] { await server.CreateOrgAsync(), await server.CreateOrgAsync() };
        var job = server.Services.GetRequiredService<DataKeyReencryption>();
        var acknowledged = new ConcurrentDictionary<(string OrgId, string IntegrationId), string>();
        var jobErrors = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();

        // The retire step has to land between a writer loading its keyring and committing: the job
        // runs back to back, and rotations keep making the writers' keys old.
        var rotator = Task.Run(async () =>
        {
            var round = 0;
            while (!stop.IsCancellationRequested)
            {
                var rotated = await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId = orgs[round++ % orgs.Length] });
                if (rotated.StatusCode != 200)
                {
                    jobErrors.Enqueue("rotate: " + rotated.Text);
                }
            }
        });
        var reencryptor = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await job.RunAsync(int.MaxValue, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    jobErrors.Enqueue("job: " + ex.GetType().Name);
                }
            }
        });
        var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                var orgId = orgs[(writer + i) % orgs.Length];
                var integrationId = $"w{writer}-{i}";
                var created = await server.Root.PostAsync($"/api/v1/orgs/{orgId}/credentials",
                    new { integrationId, authType = "api_key", name = "c", data = new { apiKey = $"{integrationId}-v1" } });
                if (created.StatusCode != 201)
                {
                    continue;
                }

                acknowledged[(orgId, integrationId)] = $"{integrationId}-v1";
                var patched = await server.Root.PatchAsync($"/api/v1/orgs/{orgId}/credentials/{integrationId}/{created.Str("id")}",
                    new { data = new { apiKey = $"{integrationId}-v2" } });
                if (patched.StatusCode == 200)
                {
                    acknowledged[(orgId, integrationId)] = $"{integrationId}-v2";
                }
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await Task.WhenAll(rotator, reencryptor);
        await job.RunAsync(int.MaxValue, CancellationToken.None);

        jobErrors.ShouldBeEmpty();
        acknowledged.Count.ShouldBe(160);
        var lost = new List<string>();
        foreach (var ((orgId, integrationId), expected) in acknowledged)
        {
            var revealed = await server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials/{integrationId}");
            if (revealed.StatusCode != 200 || revealed.Data[0].GetProperty("data").GetProperty("apiKey").GetString() != expected)
            {
                lost.Add($"{integrationId}: {revealed.StatusCode}");
            }
        }

        lost.ShouldBeEmpty();
        foreach (var orgId in orgs)
        {
            var keyring = await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={orgId}");
            var live = keyring.Data.EnumerateArray().Where(k => k.GetProperty("retiredAt").ValueKind == System.Text.Json.JsonValueKind.Null).ToList();
            live.Count.ShouldBe(1, "after the storm every record is on the current key and the rest are retired");
        }
    }
}
