using System.Reflection;
using System.Security.Cryptography;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Server.Features.Content;

public static class FileOperations
{
    /// <summary>Room for the multipart framing around the file part, above the file size limit.</summary>
    private const long MultipartOverhead = 1024 * 1024;

    /// <summary>
    /// Streams the body through the segment encryption straight into the store: memory holds two
    /// 64 KiB segments whatever the size. The row (with the content key sealed under the org's data
    /// key) commits only after the object is complete; a failed commit removes the object.
    /// </summary>
    public static async Task<Results<ApiCreated<FileView>, ApiError>> Upload(
        string orgId, string containerId, [FromQuery] string? name, HttpContext httpContext, GatehouseDb db, ChangeSet changes, ContentStores stores, OrgDataKeys dataKeys,
        ContentOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var container = await db.Owned<ContentContainer>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == containerId, cancellationToken);
        if (container is null)
        {
            return ApiError.NotFound("container");
        }

        var config = container.StorageConfigId is { } configId ? await db.Owned<StorageConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == configId, cancellationToken) : null;
        var (store, unavailable) = await stores.ForAsync(db, config, cancellationToken);
        if (store is null)
        {
            return StoreUnavailable(unavailable!);
        }

        // This route alone takes bodies above the server-wide limit, up to the configured file size.
        var limit = options.MaxFileBytes + MultipartOverhead;
        if (httpContext.Request.ContentLength > limit)
        {
            return TooLarge(options);
        }

        if (httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        var (source, fileName, contentType, error) = await OpenSourceAsync(httpContext, name, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        var now = clock.GetUtcNow();
        var fileId = Ids.New("file", now);
        var objectKey = ContentStores.ObjectKey(orgId, containerId, fileId);
        var contentKey = ContentSegments.NewContentKey();
        try
        {
            EncryptedContent? written = null;
            try
            {
                await store.WriteAsync(objectKey, async stream =>
                    written = await ContentSegments.EncryptAsync(source!, stream, contentKey, ContentSegments.AssociatedDataFor(orgId, containerId, fileId), options.MaxFileBytes, cancellationToken),
                    cancellationToken);
            }
            catch (ContentTooLargeException)
            {
                return TooLarge(options);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(options);
            }
            catch (ContentStoreException ex)
            {
                return StoreUnavailable(ex.Message);
            }

            var file = new ContentFile
            {
                Id = fileId,
                OrgId = orgId,
                ContainerId = containerId,
                Name = fileName!,
                Size = written!.Length,
                Sha256 = Convert.ToHexStringLower(written.Sha256),
                ContentType = contentType!,
                StorageConfigId = container.StorageConfigId,
                ObjectKey = objectKey,
                KeyVersion = 0,
                WrappedKey = [],
                CreatedAt = now.UtcDateTime,
            };
            try
            {
                await changes.RunAsync(async ct =>
                {
                    var (sealedKey, keyVersion) = await dataKeys.SealAsync(db, orgId, contentKey, ContentSegments.KeyAssociatedDataFor(orgId, containerId, fileId), ct);
                    db.Add(new ContentFile
                    {
                        Id = file.Id,
                        OrgId = file.OrgId,
                        ContainerId = file.ContainerId,
                        Name = file.Name,
                        Size = file.Size,
                        Sha256 = file.Sha256,
                        ContentType = file.ContentType,
                        StorageConfigId = file.StorageConfigId,
                        ObjectKey = file.ObjectKey,
                        KeyVersion = keyVersion,
                        WrappedKey = sealedKey,
                        CreatedAt = file.CreatedAt,
                    });
                    ContentLedger.Event(db, clock, orgId, "container.file_added", containerId, fileId);
                    changes.Record(ContentActions.FileUpload, orgId, fileId, new { containerId, file.Name, file.Size, file.Sha256, file.ContentType });
                    await db.SaveChangesAsync(ct);
                    await ContentLedger.CountAsync(db, clock, orgId, uploads: 1, cancellationToken: ct);
                }, cancellationToken);
            }
            catch
            {
                await DeleteObjectQuietlyAsync(db, stores, config, objectKey);
                throw;
            }

            return new ApiCreated<FileView>(ContentViews.View(file));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    public static async Task<Results<ApiPage<FileView>, ApiError>> List(string orgId, string containerId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        if (!await db.Owned<ContentContainer>(orgId).AnyAsync(c => c.Id == containerId, cancellationToken))
        {
            return ApiError.NotFound("container");
        }

        var (items, pagination) = await db.Owned<ContentFile>(orgId).AsNoTracking().Where(f => f.ContainerId == containerId).ToPageAsync(page, cancellationToken);
        return new ApiPage<FileView>([.. items.Select(ContentViews.View)], pagination);
    }

    public static async Task<Results<ApiOk<FileView>, ApiError>> Get(string orgId, string containerId, string fileId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var file = await db.Owned<ContentFile>(orgId).AsNoTracking().FirstOrDefaultAsync(f => f.Id == fileId && f.ContainerId == containerId, cancellationToken);
        return file is null ? ApiError.NotFound("file") : new ApiOk<FileView>(ContentViews.View(file));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(
        string orgId, string containerId, string fileId, GatehouseDb db, ChangeSet changes, ContentStores stores, TimeProvider clock, CancellationToken cancellationToken)
    {
        var file = await db.Owned<ContentFile>(orgId).FirstOrDefaultAsync(f => f.Id == fileId && f.ContainerId == containerId, cancellationToken);
        if (file is null)
        {
            return ApiError.NotFound("file");
        }

        var config = file.StorageConfigId is { } configId ? await db.Owned<StorageConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == configId, cancellationToken) : null;
        await changes.RunAsync(async ct =>
        {
            db.Remove(file);
            ContentLedger.Event(db, clock, orgId, "container.file_removed", containerId, fileId);
            changes.Record(ContentActions.FileDelete, orgId, file.Id, new { containerId, file.Name });
            await db.SaveChangesAsync(ct);
            await ContentLedger.CountAsync(db, clock, orgId, cancellationToken: ct);
        }, cancellationToken);
        await DeleteObjectQuietlyAsync(db, stores, config, file.ObjectKey);
        return new ApiOk<Deleted>(new Deleted(file.Id));
    }

    /// <summary>The organization reads its own content: no DRM limits, but audited and in the access log.</summary>
    public static async Task<Results<DecryptedContent, ApiError>> Read(
        string orgId, string containerId, string fileId, HttpContext httpContext, GatehouseDb db, ChangeSet changes, ContentStores stores, OrgDataKeys dataKeys, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var file = await db.Owned<ContentFile>(orgId).AsNoTracking().FirstOrDefaultAsync(f => f.Id == fileId && f.ContainerId == containerId, cancellationToken);
        if (file is null)
        {
            return ApiError.NotFound("file");
        }

        var prepared = await ContentReader.PrepareAsync(db, changes, stores, dataKeys, clock, file, httpContext, recipient: null, shareId: null, cancellationToken);
        if (prepared.Error is not null)
        {
            return prepared.Error;
        }

        await changes.RunAsync(async ct =>
        {
            ContentLedger.Event(db, clock, orgId, "container.read", containerId, fileId, ip: httpContext.Connection.RemoteIpAddress?.ToString());
            changes.Record(ContentActions.FileRead, orgId, fileId, new { containerId });
            await Task.CompletedTask;
        }, cancellationToken);
        return prepared.Content!;
    }

    internal static async Task DeleteObjectQuietlyAsync(GatehouseDb db, ContentStores stores, StorageConfig? config, string objectKey)
    {
        try
        {
            if ((await stores.ForAsync(db, config, CancellationToken.None)).Store is { } store)
            {
                await store.DeleteAsync(objectKey, CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContentStoreException or HttpRequestException)
        {
            // The object stays as ciphertext whose key row is gone: nobody can open it. Nothing to undo.
        }
    }

    /// <summary>The organization's store cannot be used now (its credential is missing, or it refused); the reason never holds a secret.</summary>
    internal static ApiError StoreUnavailable(string reason) =>
        new(ErrorCodes.ServiceUnavailable, "The container's storage is not available.", new Dictionary<string, object?> { ["reason"] = reason });

    private static ApiError TooLarge(ContentOptions options) =>
        new(ErrorCodes.PayloadTooLarge, $"A file may hold at most {options.MaxFileBytes} bytes.", new Dictionary<string, object?> { ["maxBytes"] = options.MaxFileBytes });

    /// <summary>The file's bytes: the <c>file</c> part of a multipart body, or the raw body named by <c>?name=</c>.</summary>
    private static async Task<(Stream? Source, string? Name, string? ContentType, ApiError? Error)> OpenSourceAsync(HttpContext httpContext, string? name, CancellationToken cancellationToken)
    {
        var request = httpContext.Request;
        if (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType) && mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary).Value;
            if (string.IsNullOrEmpty(boundary))
            {
                return (null, null, null, ApiError.Invalid("The multipart body has no boundary."));
            }

            var reader = new MultipartReader(boundary, request.Body);
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.Name.Equals("file", StringComparison.Ordinal))
                {
                    continue;
                }

                var fileName = name ?? HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                return CheckName(fileName) is { } bad ? (null, null, null, bad) : (section.Body, fileName, section.ContentType ?? "application/octet-stream", null);
            }

            return (null, null, null, ApiError.Validation("file", "required"));
        }

        return CheckName(name) is { } invalid
            ? (null, null, null, invalid)
            : (request.Body, name, string.IsNullOrEmpty(request.ContentType) ? "application/octet-stream" : request.ContentType, null);
    }

    private static ApiError? CheckName(string? name)
    {
        var validation = new Validation().Required("name", name, 255);
        if (name is not null && name.Any(c => char.IsControl(c) || c is '/' or '\\'))
        {
            validation.Add("name", "must not contain control characters or slashes");
        }

        return validation.IsValid ? null : validation.ToError();
    }
}

/// <summary>
/// A stored file about to be served: its key unwrapped and its whole object verified, so a
/// download either sends exactly the plaintext that was uploaded or fails before its first byte.
/// </summary>
internal static class ContentReader
{
    public sealed record Prepared(DecryptedContent? Content, ApiError? Error);

    public static async Task<Prepared> PrepareAsync(
        GatehouseDb db, ChangeSet changes, ContentStores stores, OrgDataKeys dataKeys, TimeProvider clock, ContentFile file, HttpContext httpContext, string? recipient, string? shareId,
        CancellationToken cancellationToken)
    {
        var config = file.StorageConfigId is { } configId ? await db.Owned<StorageConfig>(file.OrgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == configId, cancellationToken) : null;
        var (store, unavailable) = await stores.ForAsync(db, config, cancellationToken);
        if (store is null)
        {
            return new(null, FileOperations.StoreUnavailable(unavailable!));
        }

        var contentKey = await dataKeys.OpenAsync(db, file.OrgId, file.WrappedKey, ContentSegments.KeyAssociatedDataFor(file.OrgId, file.ContainerId, file.Id), cancellationToken);
        var aad = ContentSegments.AssociatedDataFor(file.OrgId, file.ContainerId, file.Id);
        var failure = contentKey is null ? "key" : null;
        if (contentKey is not null)
        {
            try
            {
                await using var stored = await store.OpenReadAsync(file.ObjectKey, cancellationToken);
                if (stored is null)
                {
                    failure = "missing";
                }
                else
                {
                    try
                    {
                        var length = await ContentSegments.DecryptAsync(stored, null, contentKey, aad, cancellationToken);
                        failure = length == file.Size ? null : "length";
                    }
                    catch (CryptographicException)
                    {
                        failure = "integrity";
                    }
                }
            }
            catch (Exception ex) when (ex is ContentStoreException or IOException)
            {
                // The store could not be read: nothing is known about the object, so it is no tampering; the reader may retry.
                CryptographicOperations.ZeroMemory(contentKey);
                return new(null, FileOperations.StoreUnavailable(ex is ContentStoreException ? ex.Message : "The store broke off the read."));
            }
        }

        if (failure is null)
        {
            return new(new DecryptedContent(store, file, contentKey!, aad), null);
        }

        await changes.RunAsync(async ct =>
        {
            ContentLedger.Event(db, clock, file.OrgId, "container.tampered", file.ContainerId, file.Id, shareId, recipient, failure, httpContext.Connection.RemoteIpAddress?.ToString());
            changes.Record(ContentActions.FileTampered, file.OrgId, file.Id, new { file.ContainerId, reason = failure });
            await Task.CompletedTask;
        }, cancellationToken);
        return new(null, new ApiError(ErrorCodes.InternalError, "The stored file failed its integrity check; nothing of it is served.",
            new Dictionary<string, object?> { ["reason"] = failure }));
    }
}

/// <summary>
/// The plaintext of a verified file, decrypted segment by segment into the response. Should the
/// object change between verification and sending, the connection is aborted: the client sees a
/// broken transfer, never a complete-looking one.
/// </summary>
public sealed class DecryptedContent : IResult, IEndpointMetadataProvider
{
    private readonly IContentStore _store;
    private readonly ContentFile _file;
    private readonly byte[] _key;
    private readonly byte[] _aad;

    internal DecryptedContent(IContentStore store, ContentFile file, byte[] key, byte[] aad) => (_store, _file, _key, _aad) = (store, file, key, aad);

    /// <summary>Extra headers (the per-recipient download id and watermark).</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    public bool AsAttachment { get; set; } = true;

    /// <summary>
    /// The per-recipient text to draw into a PDF or image (null: served as stored). Stamping decrypts the
    /// whole file into memory first, so the caller sets it only within <see cref="ContentOptions.WatermarkMaxBytes"/>.
    /// </summary>
    public string? StampText { get; set; }

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = _file.ContentType;
        response.ContentLength = _file.Size;
        response.Headers.CacheControl = "no-store";
        var disposition = new ContentDispositionHeaderValue(AsAttachment ? "attachment" : "inline");
        disposition.SetHttpFileName(_file.Name);
        response.Headers.ContentDisposition = disposition.ToString();
        response.Headers["X-Content-Sha256"] = _file.Sha256;
        foreach (var (name, value) in Headers)
        {
            response.Headers[name] = value;
        }

        try
        {
            await using var stored = await _store.OpenReadAsync(_file.ObjectKey, httpContext.RequestAborted)
                ?? throw new CryptographicException("The stored object disappeared.");
            if (StampText is null)
            {
                await ContentSegments.DecryptAsync(stored, response.Body, _key, _aad, httpContext.RequestAborted);
            }
            else
            {
                await WriteStampedAsync(stored, httpContext, StampText);
            }
        }
        catch (Exception ex) when (ex is CryptographicException or ContentStoreException or IOException or HttpRequestException)
        {
            httpContext.Abort();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(_key);
        }
    }

    /// <summary>
    /// The whole plaintext, stamped where its type allows, with the length of what is actually sent. The recorded
    /// sha256 header stays the original's: a stamped copy differs from it by design.
    /// </summary>
    private async Task WriteStampedAsync(Stream stored, HttpContext httpContext, string text)
    {
        using var plain = new MemoryStream(checked((int)_file.Size));
        await ContentSegments.DecryptAsync(stored, plain, _key, _aad, httpContext.RequestAborted);
        var original = plain.GetBuffer().AsSpan(0, (int)plain.Length).ToArray();
        CryptographicOperations.ZeroMemory(plain.GetBuffer());
        var outcome = Watermarks.Apply(original, _file.ContentType, text);
        if (!outcome.Stamped)
        {
            httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Content.Watermarks")
                .LogInformation("File {FileId} ({Kind}) served without a drawn watermark: {Reason}", _file.Id, outcome.Kind, outcome.SkippedBecause);
        }

        httpContext.Response.ContentLength = outcome.Bytes.Length;
        httpContext.Response.Headers["X-Watermark-Stamped"] = outcome.Stamped ? "true" : "false";
        await httpContext.Response.Body.WriteAsync(outcome.Bytes, httpContext.RequestAborted);
        CryptographicOperations.ZeroMemory(original);
        CryptographicOperations.ZeroMemory(outcome.Bytes);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(byte[]), ["application/octet-stream"]));
}
