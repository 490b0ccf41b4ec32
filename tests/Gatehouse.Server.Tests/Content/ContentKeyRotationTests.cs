using Gatehouse.Server.Features.Content;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// Rotating an organization's data key re-seals its files' content keys under the new version:
/// the old version retires, and every file still opens byte-identical for the organization and
/// through its shares. The stored objects are not rewritten.
/// </summary>
public sealed class ContentKeyRotationTests
{
    [Fact]
    public async Task After_a_rotation_file_keys_move_to_the_new_data_key_the_old_one_retires_and_files_still_open()
    {
        await using var server = await GatehouseServer.StartAsync(new ServerOptions { Settings = new Dictionary<string, string?> { ["Gatehouse:Vault:ReencryptInBackground"] = "false" } });
        var content = ContentScenario.Pattern(150_000, seed: 5);
        var file = await server.ShareAsync(new { name = "rotation", maxOpens = 10 }, content);
        var second = await server.Root.UploadAsync(file.OrgId, file.ContainerId, ContentScenario.Pattern(70_000, seed: 9), "second.pdf");
        second.StatusCode.ShouldBe(201, second.Text);
        var objectBefore = await File.ReadAllBytesAsync(server.ObjectPath(file), TestContext.Current.CancellationToken);

        (await server.Root.PostAsync("/api/v1/admin/dek/rotate", new { orgId = file.OrgId })).StatusCode.ShouldBe(200);
        var run = await server.Services.GetRequiredService<DataKeyReencryption>().RunAsync(int.MaxValue, CancellationToken.None);

        run.Moved.ShouldBe(2);
        run.Skipped.ShouldBeEmpty();
        run.Complete.ShouldBeTrue();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            (await db.Set<ContentFile>().Where(f => f.OrgId == file.OrgId).Select(f => f.KeyVersion).ToListAsync(TestContext.Current.CancellationToken)).ShouldAllBe(v => v == 2);
        }

        var keyring = await server.Root.GetAsync($"/api/v1/admin/keyring?orgId={file.OrgId}");
        keyring.Data.EnumerateArray().Single(k => k.GetProperty("version").GetInt32() == 1).GetProperty("retiredAt").GetString().ShouldNotBeNullOrEmpty();
        (await File.ReadAllBytesAsync(server.ObjectPath(file), TestContext.Current.CancellationToken)).ShouldBe(objectBefore);

        var opened = await server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
        opened.StatusCode.ShouldBe(200, opened.Text);
        opened.Body.ShouldBe(content);
        var read = await server.Root.GetBytesAsync($"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/files/{second.Str("id")}/content");
        read.StatusCode.ShouldBe(200, read.Text);
        read.Body.ShouldBe(ContentScenario.Pattern(70_000, seed: 9));

        // A second run finds nothing left to move.
        (await server.Services.GetRequiredService<DataKeyReencryption>().RunAsync(int.MaxValue, CancellationToken.None)).Moved.ShouldBe(0);
    }
}
