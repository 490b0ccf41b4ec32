using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// Objects as block blobs in an Azure blob container (or an emulator such as azurite). A write
/// stages one block as each fills and commits the block list at the end: the store holds one
/// block buffer (<see cref="BlockSize"/>) whatever the size, and the blob exists only once the
/// commit succeeded (staged blocks that are never committed are discarded by the service).
/// </summary>
public sealed class AzureContentStore(BlobContainerClient container, StorageConfig config) : IContentStore
{
    /// <summary>4 MiB blocks: 50,000 blocks (Azure's limit) hold 195 GiB.</summary>
    public const int BlockSize = 4 * 1024 * 1024;

    /// <summary>A store for the configuration, or the reason it cannot be built from what the configuration and its credential hold.</summary>
    public static (IContentStore? Store, string? Unavailable) Create(StorageConfig config, IReadOnlyDictionary<string, string> secret)
    {
        if (string.IsNullOrEmpty(config.Bucket) || config.Endpoint is null)
        {
            return (null, "An azure storage configuration needs an endpoint (the account's blob service URL) and a bucket (the blob container).");
        }

        var service = new Uri(config.Endpoint.TrimEnd('/') + "/" + config.Bucket);
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.NetworkTimeout = TimeSpan.FromMinutes(5);
        if (secret.GetValueOrDefault("accountName") is { Length: > 0 } account && secret.GetValueOrDefault("accountKey") is { Length: > 0 } key)
        {
            return (new AzureContentStore(new BlobContainerClient(service, new StorageSharedKeyCredential(account, key), options), config), null);
        }

        if (secret.GetValueOrDefault("sasToken") is { Length: > 0 } sas)
        {
            return (new AzureContentStore(new BlobContainerClient(service, new AzureSasCredential(sas), options), config), null);
        }

        return (null, "An azure storage configuration needs a credential with accountName and accountKey, or sasToken.");
    }

    public async Task WriteAsync(string key, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var blob = container.GetBlockBlobClient(ContentStores.Prefixed(config, key));
        await using var upload = new StagedUpload(blob, cancellationToken);
        try
        {
            await write(upload);
            await upload.CommitAsync();
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new ContentStoreException("The Azure store refused the write: " + Describe(ex), ex);
        }
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await container.GetBlobClient(ContentStores.Prefixed(config, key)).DownloadStreamingAsync(cancellationToken: cancellationToken);
            return new OwningStream(response.Value.Content, response.Value);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new ContentStoreException("The Azure store refused the read: " + Describe(ex), ex);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await container.GetBlobClient(ContentStores.Prefixed(config, key)).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new ContentStoreException("The Azure store refused the delete: " + Describe(ex), ex);
        }
    }

    private static bool IsStoreFailure(Exception ex) => ex is RequestFailedException or AggregateException or HttpRequestException;

    /// <summary>The status and the service's error code, never the request (it may carry a signature).</summary>
    private static string Describe(Exception ex) =>
        ex is RequestFailedException { Status: not 0 } failed ? $"{failed.Status} {failed.ErrorCode}" : "the store could not be reached";

    /// <summary>A write-only stream that stages each full block as it fills; one pooled block buffer.</summary>
    private sealed class StagedUpload(BlockBlobClient blob, CancellationToken cancellationToken) : ChunkedUploadStream(BlockSize)
    {
        private readonly List<string> _blocks = [];
        private readonly string _uploadId = Guid.NewGuid().ToString("N");

        public async Task CommitAsync()
        {
            if (Filled > 0 || _blocks.Count == 0)
            {
                await SendPendingAsync();
            }

            await blob.CommitBlockListAsync(_blocks, new CommitBlockListOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" } }, cancellationToken);
        }

        protected override async Task SendChunkAsync(Stream body, int length)
        {
            // Block ids are base64 of equal length within a blob; the upload id keeps a retried upload's blocks apart.
            var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(_uploadId + _blocks.Count.ToString("D6", CultureInfo.InvariantCulture)));
            await blob.StageBlockAsync(id, body, new BlockBlobStageBlockOptions(), cancellationToken);
            _blocks.Add(id);
        }
    }
}
