using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Gatehouse.Server.Features.Content;

/// <summary>
/// Objects in an S3-compatible bucket (AWS, MinIO, Ceph, emulators). A write is one PUT when the
/// object fits one part, else a multipart upload whose parts are sent as they fill: the store
/// holds one part buffer (<see cref="PartSize"/>) whatever the size, and an upload that fails is
/// aborted, so no incomplete object ever becomes visible. Reads stream the response body.
/// </summary>
public sealed class S3ContentStore(IAmazonS3 client, StorageConfig config) : IContentStore
{
    /// <summary>8 MiB parts: 10,000 parts (S3's limit) hold 78 GiB; S3 wants at least 5 MiB but the last.</summary>
    public const int PartSize = 8 * 1024 * 1024;

    /// <summary>A store for the configuration, or the reason it cannot be built from what the configuration and its credential hold.</summary>
    public static (IContentStore? Store, string? Unavailable) Create(StorageConfig config, IReadOnlyDictionary<string, string> secret)
    {
        if (string.IsNullOrEmpty(config.Bucket))
        {
            return (null, "An s3 storage configuration needs a bucket.");
        }

        var accessKey = secret.GetValueOrDefault("accessKeyId") ?? secret.GetValueOrDefault("username");
        var secretKey = secret.GetValueOrDefault("secretAccessKey") ?? secret.GetValueOrDefault("password");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
        {
            return (null, "An s3 storage configuration needs a credential with accessKeyId and secretAccessKey.");
        }

        var s3Config = new AmazonS3Config
        {
            ForcePathStyle = config.PathStyle,
            // Stores other than AWS rarely understand the SDK's default trailing checksums.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromMinutes(5),
            MaxErrorRetry = 2,
        };
        if (config.Endpoint is { } endpoint)
        {
            s3Config.ServiceURL = endpoint;
            s3Config.AuthenticationRegion = config.Region ?? "us-east-1";
        }
        else
        {
            s3Config.RegionEndpoint = RegionEndpoint.GetBySystemName(config.Region ?? "us-east-1");
        }

        AWSCredentials credentials = secret.GetValueOrDefault("sessionToken") is { Length: > 0 } session
            ? new SessionAWSCredentials(accessKey, secretKey, session)
            : new BasicAWSCredentials(accessKey, secretKey);
        // The store holds its client for one request; the SDK shares the HTTP connections between clients, so there is nothing to release early.
#pragma warning disable CA2000
        return (new S3ContentStore(new AmazonS3Client(credentials, s3Config), config), null);
#pragma warning restore CA2000
    }

    public async Task WriteAsync(string key, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        await using var upload = new Upload(client, config.Bucket!, ContentStores.Prefixed(config, key), cancellationToken);
        try
        {
            await write(upload);
            await upload.CompleteAsync();
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            await upload.AbortQuietlyAsync();
            throw new ContentStoreException("The S3 store refused the write: " + Describe(ex), ex);
        }
        catch
        {
            await upload.AbortQuietlyAsync();
            throw;
        }
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.GetObjectAsync(config.Bucket!, ContentStores.Prefixed(config, key), cancellationToken);
            return new OwningStream(response.ResponseStream, response);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new ContentStoreException("The S3 store refused the read: " + Describe(ex), ex);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteObjectAsync(config.Bucket!, ContentStores.Prefixed(config, key), cancellationToken);
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            throw new ContentStoreException("The S3 store refused the delete: " + Describe(ex), ex);
        }
    }

    private static bool IsStoreFailure(Exception ex) => ex is AmazonServiceException or AmazonClientException or HttpRequestException;

    /// <summary>The status and the store's error code, never the request (it may carry signatures).</summary>
    private static string Describe(Exception ex) => ex switch
    {
        AmazonServiceException { StatusCode: not 0 } service => $"{(int)service.StatusCode} {service.ErrorCode ?? service.StatusCode.ToString()}",
        HttpRequestException http => "the store could not be reached (" + http.HttpRequestError + ")",
        _ when ex.InnerException is HttpRequestException inner => "the store could not be reached (" + inner.HttpRequestError + ")",
        _ => "the store could not be reached (" + ex.GetType().Name + ")",
    };

    /// <summary>A write-only stream that sends each full part as it fills; one pooled part buffer.</summary>
    private sealed class Upload(IAmazonS3 client, string bucket, string key, CancellationToken cancellationToken) : ChunkedUploadStream(PartSize)
    {
        private readonly List<PartETag> _parts = [];
        private string? _uploadId;
        private bool _done;

        public async Task CompleteAsync()
        {
            if (_uploadId is null)
            {
                // Small enough for one request.
                using var body = OpenPending();
                await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = body, AutoCloseStream = false, UseChunkEncoding = false }, cancellationToken);
            }
            else
            {
                if (Filled > 0)
                {
                    await SendPendingAsync();
                }

                await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = _uploadId, PartETags = _parts }, cancellationToken);
            }

            _done = true;
        }

        public async Task AbortQuietlyAsync()
        {
            if (_uploadId is null || _done)
            {
                return;
            }

            try
            {
                await client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = _uploadId }, CancellationToken.None);
            }
            catch (AmazonServiceException)
            {
                // The store cleans up abandoned uploads by its own lifecycle rules; nothing of it is visible.
            }

            _done = true;
        }

        protected override async Task SendChunkAsync(Stream body, int length)
        {
            _uploadId ??= (await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = bucket, Key = key }, cancellationToken)).UploadId;
            var number = _parts.Count + 1;
            var response = await client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = _uploadId,
                PartNumber = number,
                PartSize = length,
                InputStream = body,
                UseChunkEncoding = false,
            }, cancellationToken);
            _parts.Add(new PartETag(number, response.ETag));
        }
    }
}

/// <summary>A read stream that disposes what owns it (a response, a download) along with it.</summary>
internal sealed class OwningStream(Stream inner, IDisposable owner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }

        base.Dispose(disposing);
    }
}
