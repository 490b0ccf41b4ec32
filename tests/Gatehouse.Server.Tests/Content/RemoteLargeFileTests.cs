namespace Gatehouse.Server.Tests.Content;

/// <summary>
/// Long mode (<c>GATEHOUSE_TEST_LONG=1</c>): a 200 MiB file through each remote store (s3rver,
/// azurite, the Kestrel endpoint) and back, byte-identical, with the server's peak memory far below
/// the file's size. The server runs as a process of its own so that its peak is this upload's alone.
/// </summary>
public sealed class RemoteLargeFileTests(StorageEmulatorsFixture stores) : IClassFixture<StorageEmulatorsFixture>
{
    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    [InlineData("custom")]
    public async Task A_200_MiB_file_through_a_remote_store_round_trips_with_flat_memory(string provider)
    {
        if (Environment.GetEnvironmentVariable("GATEHOUSE_TEST_LONG") != "1")
        {
            Assert.Skip("Long mode: set GATEHOUSE_TEST_LONG=1 to send 200 MiB through each remote store.");
        }

        if (TestDatabase.PostgresRequested)
        {
            Assert.Skip("Streaming does not touch the database: this runs once, on SQLite.");
        }

        stores.SkipWhenUnavailable(provider);
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-remote-large-");
        try
        {
            await using var server = await LargeFileTests.StartServerAsync(dataDir);
            var root = server.Root();
            var org = await root.PostAsync("/api/v1/orgs", new { name = "Remote large files" });
            org.StatusCode.ShouldBe(201, org.Text);
            var orgPath = $"/api/v1/orgs/{org.Str("id")}";
            var credential = await root.PostAsync($"{orgPath}/credentials", new { integrationId = "store", name = "store", authType = "custom", data = RemoteStorageTests.CredentialData(provider, good: true) });
            credential.StatusCode.ShouldBe(201, credential.Text);
            var config = await root.PostAsync($"{orgPath}/storage-configs", RemoteStorageTests.ConfigBody(stores, provider, credential.Str("id")));
            config.StatusCode.ShouldBe(201, config.Text);
            var container = await root.PostAsync($"{orgPath}/containers", new { name = "Large", storageConfigId = config.Str("id") });
            container.StatusCode.ShouldBe(201, container.Text);
            var files = $"{orgPath}/containers/{container.Str("id")}/files";

            var (before, peak) = await LargeFileTests.RoundTripAsync(server, files, fileId => $"{files}/{fileId}/content");

            TestContext.Current.SendDiagnosticMessage($"200 MiB through {provider}: server resident before {before / 1048576} MiB, peak {peak / 1048576} MiB");
            (peak - before).ShouldBeLessThan(LargeFileTests.Size * 3 / 4, $"server peak {peak / 1048576} MiB, resident before {before / 1048576} MiB");
        }
        finally
        {
            dataDir.Delete(recursive: true);
        }
    }
}
