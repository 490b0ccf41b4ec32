using System.Security.Cryptography;
using Gatehouse.Crypto;

namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// The remote storage providers over HTTP against real stores on loopback (s3rver, azurite, a
/// Kestrel endpoint): the probe, byte-identical round trips through upload → share → open →
/// download (a multi-part / multi-block file included), ciphertext only in the store, a tampered
/// object refused with an event and no plaintext, and a wrong credential named by the probe.
/// </summary>
public sealed class RemoteStorageTests(StorageEmulatorsFixture stores) : IClassFixture<StorageEmulatorsFixture>
{
    /// <summary>Above one S3 part (8 MiB) twice and four Azure blocks (4 MiB): three parts, five blocks, 289 segments.</summary>
    private const int LargeSize = (18 * 1024 * 1024) + 1234;

    private GatehouseServer Server => stores.Server;

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    [InlineData("custom")]
    public async Task The_probe_writes_reads_and_deletes_an_object(string provider)
    {
        stores.SkipWhenUnavailable(provider);
        var (orgId, configId) = await ConfigureAsync(provider, goodCredential: true);

        var probe = await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/storage-configs/{configId}/test");

        probe.StatusCode.ShouldBe(200, probe.Text);
        probe.Data.GetProperty("ok").GetBoolean().ShouldBeTrue(probe.Text);
        probe.Data.GetProperty("wrote").GetBoolean().ShouldBeTrue();
        probe.Data.GetProperty("read").GetBoolean().ShouldBeTrue();
        probe.Data.GetProperty("deleted").GetBoolean().ShouldBeTrue();
    }

    [Theory]
    [InlineData("s3", 1024)]
    [InlineData("s3", LargeSize)]
    [InlineData("azure", 1024)]
    [InlineData("azure", LargeSize)]
    [InlineData("custom", 1024)]
    [InlineData("custom", LargeSize)]
    public async Task A_file_round_trips_byte_identical_through_upload_share_open_and_download(string provider, int size)
    {
        stores.SkipWhenUnavailable(provider);
        var content = ContentScenario.Pattern(size, seed: size % 13);
        var file = await ShareFromStoreAsync(provider, content);

        var stored = await stores.ReadObjectAsync(provider, file.Key);
        stored.ShouldNotBeNull();
        stored.Length.ShouldBe((int)ContentSegments.StoredLength(size));
        stored.AsSpan().IndexOf(content.AsSpan(size / 2, 64)).ShouldBe(-1);

        var opened = await Server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}");
        opened.StatusCode.ShouldBe(200, opened.Text);
        opened.Body.ShouldBe(content);
        var downloaded = await Server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}?download=true");
        downloaded.StatusCode.ShouldBe(200, downloaded.Text);
        downloaded.Body.ShouldBe(content);
        downloaded.Headers.GetValues("X-Content-Sha256").Single().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(content)));
        var read = await Server.Root.GetBytesAsync($"{file.Container}/files/{file.FileId}/content");
        read.Body.ShouldBe(content);

        (await Server.Root.DeleteAsync($"{file.Container}/files/{file.FileId}")).StatusCode.ShouldBe(200);
        (await stores.ReadObjectAsync(provider, file.Key)).ShouldBeNull();
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    [InlineData("custom")]
    public async Task A_tampered_object_fails_with_an_event_and_no_plaintext(string provider)
    {
        stores.SkipWhenUnavailable(provider);
        var content = ContentScenario.Pattern(200_000, seed: 3);
        var file = await ShareFromStoreAsync(provider, content);
        var original = (await stores.ReadObjectAsync(provider, file.Key))!;
        var flipped = (byte[])original.Clone();
        flipped[100_000] ^= 0x01;
        var cut = original[..(original.Length - 100)];

        foreach (var (name, altered) in new[] { ("flipped", flipped), ("cut", cut) })
        {
            await stores.WriteObjectAsync(provider, file.Key, altered);
            var downloaded = await Server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}?download=true");

            downloaded.StatusCode.ShouldBe(500, name);
            downloaded.AsApi().Body.GetProperty("error").GetProperty("details").GetProperty("reason").GetString().ShouldBe("integrity", name);
            downloaded.Body.Length.ShouldBeLessThan(1000, name);
        }

        var events = await Server.Root.GetAsync($"/api/v1/orgs/{file.OrgId}/events?type=container.tampered");
        events.Data.GetArrayLength().ShouldBe(2);
        await stores.WriteObjectAsync(provider, file.Key, original);
        (await Server.Anonymous.GetBytesAsync($"/api/v1/shares/{file.Token}/files/{file.FileId}?download=true")).Body.ShouldBe(content);
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    [InlineData("custom")]
    public async Task A_wrong_credential_fails_the_probe_at_the_write_and_uploads_with_503(string provider)
    {
        stores.SkipWhenUnavailable(provider);
        var (orgId, configId) = await ConfigureAsync(provider, goodCredential: false);

        var probe = await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/storage-configs/{configId}/test");

        probe.StatusCode.ShouldBe(200, probe.Text);
        probe.Data.GetProperty("ok").GetBoolean().ShouldBeFalse();
        probe.Data.GetProperty("wrote").GetBoolean().ShouldBeFalse();
        probe.Data.GetProperty("read").GetBoolean().ShouldBeFalse();
        probe.Data.GetProperty("error").GetString()!.ShouldContain("write");
        probe.Data.GetProperty("error").GetString()!.ShouldContain(provider == "custom" ? "401" : "403");
        probe.Text.ShouldNotContain("wrong-secret");

        var container = await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/containers", new { name = "refused", storageConfigId = configId });
        var upload = await Server.Root.UploadAsync(orgId, container.Str("id"), ContentScenario.Pattern(100));
        upload.StatusCode.ShouldBe(503, upload.Text);
        upload.ErrorCode.ShouldBe("SERVICE_UNAVAILABLE");
        (await Server.Root.GetAsync($"/api/v1/orgs/{orgId}/containers/{container.Str("id")}/files")).Data.GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task A_configuration_whose_credential_was_deleted_answers_503_and_the_probe_says_why()
    {
        var (orgId, configId) = await ConfigureAsync("custom", goodCredential: true);
        var config = await Server.Root.GetAsync($"/api/v1/orgs/{orgId}/storage-configs/{configId}");
        var credentials = await Server.Root.GetAsync($"/api/v1/orgs/{orgId}/credentials");
        var credential = credentials.Data.EnumerateArray().Single(c => c.GetProperty("id").GetString() == config.Str("credentialId"));
        (await Server.Root.DeleteAsync($"/api/v1/orgs/{orgId}/credentials/{credential.GetProperty("integrationId").GetString()}/{config.Str("credentialId")}")).StatusCode.ShouldBe(200);

        var probe = await Server.Root.PostAsync($"/api/v1/orgs/{orgId}/storage-configs/{configId}/test");

        probe.Data.GetProperty("ok").GetBoolean().ShouldBeFalse();
        probe.Data.GetProperty("error").GetString()!.ShouldContain("credential");
    }

    private sealed record StoredShare(string OrgId, string Container, string FileId, string Token, string Key);

    private async Task<StoredShare> ShareFromStoreAsync(string provider, byte[] content)
    {
        var (orgId, configId) = await ConfigureAsync(provider, goodCredential: true);
        var org = $"/api/v1/orgs/{orgId}";
        (await Server.Root.PostAsync($"{org}/address-book", new { email = "reader@example.org", name = "Reader" })).StatusCode.ShouldBe(201);
        var rule = await Server.Root.PostAsync($"{org}/drm-rules", new { name = "remote", allowDownload = true, maxOpens = 100, maxDownloads = 100 });
        rule.StatusCode.ShouldBe(201, rule.Text);
        var container = await Server.Root.PostAsync($"{org}/containers", new { name = "Remote", storageConfigId = configId, drmRuleId = rule.Str("id") });
        container.StatusCode.ShouldBe(201, container.Text);
        var file = await Server.Root.UploadAsync(orgId, container.Str("id"), content);
        file.StatusCode.ShouldBe(201, file.Text);
        var share = await Server.Root.PostAsync($"{org}/containers/{container.Str("id")}/shares", new { recipients = new[] { "reader@example.org" } });
        share.StatusCode.ShouldBe(201, share.Text);
        var key = $"{Prefix(provider)}/{orgId}/{container.Str("id")}/{file.Str("id")}";
        return new StoredShare(orgId, $"{org}/containers/{container.Str("id")}", file.Str("id"), share.Data.GetProperty("links")[0].GetProperty("token").GetString()!, key);
    }

    /// <summary>A new organization with a vault credential for the store and a storage configuration using it.</summary>
    private async Task<(string OrgId, string ConfigId)> ConfigureAsync(string provider, bool goodCredential)
    {
        var orgId = await Server.CreateOrgAsync();
        var org = $"/api/v1/orgs/{orgId}";
        var credential = await Server.Root.PostAsync($"{org}/credentials", new { integrationId = "storage-" + provider, name = provider + " store", authType = "custom", data = CredentialData(provider, goodCredential) });
        credential.StatusCode.ShouldBe(201, credential.Text);
        var body = ConfigBody(stores, provider, credential.Str("id"));
        var config = await Server.Root.PostAsync($"{org}/storage-configs", body);
        config.StatusCode.ShouldBe(201, config.Text);
        config.Text.ShouldNotContain("secret");
        return (orgId, config.Str("id"));
    }

    /// <summary>The vault credential's data for the fixture's store: the right secret, or a wrong one.</summary>
    internal static object CredentialData(string provider, bool good) => provider switch
    {
        // s3rver checks the key id (a wrong one is 403 InvalidAccessKeyId) more strictly than the signature.
        "s3" => new { accessKeyId = good ? StorageEmulatorsFixture.S3AccessKey : "WRONGKEY", secretAccessKey = good ? StorageEmulatorsFixture.S3SecretKey : "wrong-secret" },
        "azure" => new { accountName = StorageEmulatorsFixture.AzureAccount, accountKey = good ? StorageEmulatorsFixture.AzureKey : Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)) },
        _ => new { headerName = StorageEmulatorsFixture.CustomHeader, headerValue = good ? StorageEmulatorsFixture.CustomSecret : "wrong-secret" },
    };

    /// <summary>A storage configuration of the fixture's store, under the provider's prefix.</summary>
    internal static object ConfigBody(StorageEmulatorsFixture stores, string provider, string credentialId) => provider switch
    {
        "s3" => new { name = "s3", provider, bucket = StorageEmulatorsFixture.S3Bucket, endpoint = stores.S3Endpoint, region = "us-east-1", pathStyle = true, prefix = Prefix(provider), credentialId },
        "azure" => new { name = "azure", provider, bucket = StorageEmulatorsFixture.AzureContainer, endpoint = stores.AzureEndpoint, prefix = Prefix(provider), credentialId },
        _ => new { name = "custom", provider, endpoint = stores.CustomEndpoint, prefix = Prefix(provider), credentialId },
    };

    private static string Prefix(string provider) => "tenants/" + provider;
}
