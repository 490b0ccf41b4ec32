using System.Security.Cryptography;
using Gatehouse.Server.Features.Content;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Tests.ApiKeys;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Tests.Content;

/// <summary>Containers and files over HTTP: encrypted at rest, byte-identical out, and nothing served from an altered object.</summary>
public sealed class ContentFileTests(SharedServer shared)
{
    private readonly GatehouseServer _server = shared.Server;

    [Fact]
    public async Task A_1_KiB_file_round_trips_byte_identical_through_upload_share_open_and_download()
    {
        var content = ContentScenario.Pattern(1024);
        var file = await _server.ShareAsync(new { name = "open", allowDownload = true, watermark = "For {recipient} ({downloadId})" }, content);
        var org = $"/api/v1/orgs/{file.OrgId}";

        var listed = await _server.Root.GetAsync($"{org}/containers/{file.ContainerId}/files");
        listed.StatusCode.ShouldBe(200, listed.Text);
        var view = listed.Data[0];
        view.GetProperty("size").GetInt64().ShouldBe(1024);
        view.GetProperty("sha256").GetString().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(content)));
        view.GetProperty("contentType").GetString().ShouldBe("application/pdf");
        view.GetProperty("name").GetString().ShouldBe("report.pdf");

        var sharedView = await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}");
        sharedView.StatusCode.ShouldBe(200, sharedView.Text);
        sharedView.Data.GetProperty("files").GetArrayLength().ShouldBe(1);
        sharedView.Data.GetProperty("recipient").GetString().ShouldBe("reader@example.org");

        var opened = await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
        opened.StatusCode.ShouldBe(200, opened.Text);
        opened.Body.ShouldBe(content);
        var downloadId = opened.Headers.GetValues("X-Download-Id").Single();
        Uri.UnescapeDataString(opened.Headers.GetValues("X-Watermark").Single()).ShouldBe($"For reader@example.org ({downloadId})");

        var downloaded = await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}?download=true");
        downloaded.StatusCode.ShouldBe(200, downloaded.Text);
        downloaded.Body.ShouldBe(content);
        downloaded.ContentHeaders.ContentDisposition!.DispositionType.ShouldBe("attachment");
        downloaded.Headers.GetValues("X-Download-Id").Single().ShouldNotBe(downloadId);

        var read = await _server.Root.GetBytesAsync($"{org}/containers/{file.ContainerId}/files/{file.FileId}/content");
        read.StatusCode.ShouldBe(200, read.Text);
        read.Body.ShouldBe(content);

        (await _server.EventTypesAsync(file.OrgId)).ShouldBe(
            ["container.read", "container.downloaded", "container.opened", "container.shared", "container.file_added"]);
        var log = await _server.Root.GetAsync($"{org}/containers/{file.ContainerId}/access-log");
        log.Data.EnumerateArray().Select(e => e.GetProperty("type").GetString()).ShouldBe(["container.read", "container.downloaded", "container.opened"]);
        log.Data[2].GetProperty("downloadId").GetString().ShouldBe(downloadId);
        var usage = await _server.Root.GetAsync($"{org}/usage");
        usage.StatusCode.ShouldBe(200, usage.Text);
        usage.Data[0].GetProperty("storageBytes").GetInt64().ShouldBe(1024);
        usage.Data[0].GetProperty("uploads").GetInt64().ShouldBe(1);
        usage.Data[0].GetProperty("opens").GetInt64().ShouldBe(1);
        usage.Data[0].GetProperty("downloads").GetInt64().ShouldBe(1);
    }

    [Fact]
    public async Task The_stored_object_holds_ciphertext_of_the_documented_size_only()
    {
        var content = ContentScenario.Pattern(150_000);
        var file = await _server.ShareAsync(new { name = "plain" }, content);

        var stored = await File.ReadAllBytesAsync(_server.ObjectPath(file), TestContext.Current.CancellationToken);

        stored.Length.ShouldBe((int)Crypto.ContentSegments.StoredLength(content.Length));
        stored[0].ShouldBe((byte)1);
        stored.AsSpan().IndexOf(content.AsSpan(1000, 64)).ShouldBe(-1);
    }

    [Fact]
    public async Task A_raw_body_upload_is_named_by_the_query_and_refused_without_a_name()
    {
        var orgId = await _server.CreateOrgAsync();
        var container = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/containers", new { name = "raw" });
        var path = $"/api/v1/orgs/{orgId}/containers/{container.Str("id")}/files";

        var unnamed = await _server.Root.UploadRawAsync(path, new ByteArrayContent([1, 2, 3]));
        var named = await _server.Root.UploadRawAsync(path + "?name=notes.txt", new StringContent("hello", System.Text.Encoding.UTF8, "text/plain"));
        var slashed = await _server.Root.UploadRawAsync(path + "?name=a%2Fb", new ByteArrayContent([1]));

        unnamed.StatusCode.ShouldBe(422, unnamed.Text);
        unnamed.Text.ShouldContain("\"name\"");
        slashed.StatusCode.ShouldBe(422, slashed.Text);
        named.StatusCode.ShouldBe(201, named.Text);
        named.Str("name").ShouldBe("notes.txt");
        named.Data.GetProperty("size").GetInt64().ShouldBe(5);
        named.Str("contentType").ShouldStartWith("text/plain");
        var read = await _server.Root.GetBytesAsync($"{path}/{named.Str("id")}/content");
        read.Text.ShouldBe("hello");
    }

    [Fact]
    public async Task An_empty_file_round_trips()
    {
        var file = await _server.ShareAsync(new { name = "empty" }, []);

        var opened = await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");

        opened.StatusCode.ShouldBe(200, opened.Text);
        opened.Body.ShouldBeEmpty();
    }

    [Fact]
    public async Task A_multipart_body_without_a_file_part_is_refused()
    {
        var orgId = await _server.CreateOrgAsync();
        var container = await _server.Root.PostAsync($"/api/v1/orgs/{orgId}/containers", new { name = "parts" });
        using var form = new MultipartFormDataContent { { new StringContent("x"), "other" } };

        var response = await _server.Root.UploadRawAsync($"/api/v1/orgs/{orgId}/containers/{container.Str("id")}/files", form);

        response.StatusCode.ShouldBe(422, response.Text);
        response.Text.ShouldContain("\"file\"");
    }

    [Fact]
    public async Task A_changed_byte_two_swapped_segments_or_a_cut_object_fail_with_an_event_and_serve_nothing()
    {
        var content = ContentScenario.Pattern(200_000);
        var file = await _server.ShareAsync(new { name = "tamper", maxOpens = 100 }, content);
        var path = _server.ObjectPath(file);
        var original = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        const int sealedSize = 65536 + 16;
        var flipped = (byte[])original.Clone();
        flipped[70_000] ^= 0x40;
        var swapped = (byte[])original.Clone();
        original.AsSpan(5, sealedSize).CopyTo(swapped.AsSpan(5 + sealedSize));
        original.AsSpan(5 + sealedSize, sealedSize).CopyTo(swapped.AsSpan(5));
        var cut = original[..(5 + 2 * sealedSize)];

        foreach (var (name, altered) in new[] { ("flipped", flipped), ("swapped", swapped), ("cut", cut) })
        {
            await File.WriteAllBytesAsync(path, altered, TestContext.Current.CancellationToken);
            var opened = await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
            var read = await _server.Root.GetBytesAsync($"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/files/{file.FileId}/content");

            foreach (var response in new[] { opened, read })
            {
                response.StatusCode.ShouldBe(500, name);
                response.AsApi().ErrorCode.ShouldBe("INTERNAL_ERROR", name);
                response.AsApi().Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("integrity", name);
                response.Body.Length.ShouldBeLessThan(1000, name);
            }
        }

        var events = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/events?type=container.tampered");
        events.Data.GetArrayLength().ShouldBe(6);
        events.Data[0].GetProperty("reason").GetString().ShouldBe("integrity");
        // A refused file costs the recipient nothing.
        var shares = await _server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}/shares");
        shares.Data[0].GetProperty("recipients")[0].GetProperty("opens").GetInt64().ShouldBe(0);

        await File.WriteAllBytesAsync(path, original, TestContext.Current.CancellationToken);
        (await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}")).Body.ShouldBe(content);
    }

    [Fact]
    public async Task An_object_copied_onto_another_file_does_not_open()
    {
        var first = await _server.ShareAsync(new { name = "first" }, ContentScenario.Pattern(3000, 1));
        var container = $"/api/v1/orgs/{first.OrgId}/containers/{first.ContainerId}";
        var second = await _server.Root.UploadAsync(first.OrgId, first.ContainerId, ContentScenario.Pattern(3000, 2), "second.pdf");
        var secondPath = Path.Combine(Path.GetDirectoryName(_server.ObjectPath(first))!, second.Str("id"));

        File.Copy(_server.ObjectPath(first), secondPath, overwrite: true);
        var read = await _server.Root.GetBytesAsync($"{container}/files/{second.Str("id")}/content");

        read.StatusCode.ShouldBe(500, read.Text);
    }

    [Fact]
    public async Task Deleting_the_organization_removes_its_objects_and_every_key_that_could_open_them()
    {
        var file = await _server.ShareAsync(new { name = "shred" }, ContentScenario.Pattern(5000));
        var path = _server.ObjectPath(file);
        var stored = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        byte[] wrappedKey;
        using (var scope = _server.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            wrappedKey = (await db.Set<ContentFile>().SingleAsync(f => f.Id == file.FileId, TestContext.Current.CancellationToken)).WrappedKey;
        }

        var deleted = await _server.Root.DeleteAsync($"/api/v1/orgs/{file.OrgId}");

        deleted.StatusCode.ShouldBe(200, deleted.Text);
        File.Exists(path).ShouldBeFalse();
        using (var scope = _server.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDb>();
            (await db.Set<DataKey>().CountAsync(k => k.OrgId == file.OrgId, TestContext.Current.CancellationToken)).ShouldBe(0);
            (await db.Set<ContentFile>().CountAsync(f => f.OrgId == file.OrgId, TestContext.Current.CancellationToken)).ShouldBe(0);
            // The server itself, master key and all, has nothing left to open the saved copy with.
            var keys = scope.ServiceProvider.GetRequiredService<OrgDataKeys>();
            (await keys.OpenAsync(db, file.OrgId, wrappedKey, Crypto.ContentSegments.KeyAssociatedDataFor(file.OrgId, file.ContainerId, file.FileId), TestContext.Current.CancellationToken))
                .ShouldBeNull();
        }

        stored.Length.ShouldBeGreaterThan(5000);
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}")).StatusCode.ShouldBe(404);
    }

    [Fact]
    public async Task Files_of_another_organization_answer_404_and_stay()
    {
        var file = await _server.ShareAsync(new { name = "mine" });
        var otherOrg = await _server.CreateOrgAsync();
        var other = await _server.OrgClientAsync(otherOrg, "*");
        var foreign = $"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}";
        var mine = $"/api/v1/orgs/{otherOrg}/containers/{file.ContainerId}";

        foreach (var path in new[] { foreign, mine })
        {
            (await other.GetAsync($"{path}/files")).StatusCode.ShouldBe(404);
        }

        (await other.GetAsync($"{mine}")).StatusCode.ShouldBe(404);
        (await other.GetAsync($"{mine}/files/{file.FileId}")).StatusCode.ShouldBe(404);
        (await other.GetBytesAsync($"{mine}/files/{file.FileId}/content")).StatusCode.ShouldBe(404);
        (await other.DeleteAsync($"{mine}/files/{file.FileId}")).StatusCode.ShouldBe(404);
        (await other.UploadAsync(otherOrg, file.ContainerId, [1, 2, 3])).StatusCode.ShouldBe(404);
        (await other.PostAsync($"{mine}/shares", new { recipients = new[] { "reader@example.org" } })).StatusCode.ShouldBe(404);
        (await other.GetAsync($"{mine}/shares")).StatusCode.ShouldBe(404);
        (await other.DeleteAsync($"{mine}/shares/{file.ShareId}")).StatusCode.ShouldBe(404);
        (await other.GetAsync($"{mine}/access-log")).StatusCode.ShouldBe(404);
        (await other.PatchAsync(mine, new { name = "taken" })).StatusCode.ShouldBe(404);
        (await other.DeleteAsync(mine)).StatusCode.ShouldBe(404);

        var still = await _server.Root.GetAsync(foreign);
        still.Str("name").ShouldBe("Board pack");
        still.Data.GetProperty("fileCount").GetInt64().ShouldBe(1);
        (await _server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}")).StatusCode.ShouldBe(200);
    }

    [Fact]
    public async Task Reading_content_needs_containers_read_and_uploading_needs_containers_write()
    {
        var file = await _server.ShareAsync(new { name = "perm" });
        var reader = await _server.OrgClientAsync(file.OrgId, "containers:read");
        var nobody = await _server.OrgClientAsync(file.OrgId, "tags:read");
        var container = $"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}";

        (await reader.GetBytesAsync($"{container}/files/{file.FileId}/content")).Body.ShouldBe(file.Content);
        var upload = await reader.UploadAsync(file.OrgId, file.ContainerId, [1]);
        upload.StatusCode.ShouldBe(403);
        upload.ErrorCode.ShouldBe("FORBIDDEN");
        (await nobody.GetBytesAsync($"{container}/files/{file.FileId}/content")).StatusCode.ShouldBe(403);
        (await reader.DeleteAsync($"{container}/files/{file.FileId}")).StatusCode.ShouldBe(403);
        (await _server.Anonymous.GetAsync($"{container}/files")).StatusCode.ShouldBe(401);
        (await reader.GetAsync($"{container}/files")).Data.GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Deleting_a_file_and_a_container_removes_rows_and_objects()
    {
        var file = await _server.ShareAsync(new { name = "delete" });
        var container = $"/api/v1/orgs/{file.OrgId}/containers/{file.ContainerId}";
        var second = await _server.Root.UploadAsync(file.OrgId, file.ContainerId, [9, 9, 9], "two.bin");

        var removed = await _server.Root.DeleteAsync($"{container}/files/{file.FileId}");

        removed.StatusCode.ShouldBe(200, removed.Text);
        File.Exists(_server.ObjectPath(file)).ShouldBeFalse();
        (await _server.Root.GetAsync($"{container}/files/{file.FileId}")).StatusCode.ShouldBe(404);
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}")).StatusCode.ShouldBe(404);

        (await _server.Root.DeleteAsync(container)).StatusCode.ShouldBe(200);
        File.Exists(Path.Combine(Path.GetDirectoryName(_server.ObjectPath(file))!, second.Str("id"))).ShouldBeFalse();
        (await _server.Root.GetAsync(container)).StatusCode.ShouldBe(404);
        (await _server.Anonymous.GetAsync($"/api/v1/shares/{file.Token}")).StatusCode.ShouldBe(404);
    }
}
