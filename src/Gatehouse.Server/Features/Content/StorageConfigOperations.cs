using System.Security.Cryptography;
using Gatehouse.Contracts;
using Gatehouse.Contracts.Content;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Content;

public static class StorageConfigOperations
{
    private static readonly string[] Providers = ["local", "s3", "azure", "custom"];

    public static async Task<Results<ApiCreated<StorageConfigView>, ApiError>> Create(
        string orgId, CreateStorageConfigRequest request, GatehouseDb db, ChangeSet changes, VaultCredentialReader credentials, TimeProvider clock, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, 100);
        if (string.IsNullOrWhiteSpace(request.Provider))
        {
            validation.Add("provider", "required");
        }
        else if (!Providers.Contains(request.Provider, StringComparer.Ordinal))
        {
            validation.Add("provider", "must be one of local, s3, azure, custom");
        }

        CheckLocation(validation, request.Provider, request.Bucket, request.Region, request.Endpoint, request.CredentialId, request.Prefix);
        CheckRequired(validation, request.Provider, request.Bucket, request.Endpoint, request.CredentialId);
        await CheckCredentialAsync(validation, db, credentials, orgId, request.CredentialId, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (await db.Owned<StorageConfig>(orgId).AnyAsync(c => c.Name == request.Name, cancellationToken))
        {
            return ApiError.Conflict($"A storage configuration named '{request.Name}' already exists.");
        }

        var now = clock.GetUtcNow();
        var config = new StorageConfig
        {
            Id = Ids.New("stc", now),
            OrgId = orgId,
            Name = request.Name!,
            Provider = request.Provider!,
            Bucket = request.Bucket,
            Region = request.Region,
            Endpoint = request.Endpoint,
            CredentialId = request.CredentialId,
            Prefix = request.Prefix,
            PathStyle = request.PathStyle ?? false,
            CreatedAt = now.UtcDateTime,
            UpdatedAt = now.UtcDateTime,
        };
        db.Add(config);
        changes.Record(ContentActions.StorageConfigCreate, orgId, config.Id, new { config.Name, config.Provider, config.Bucket, config.Endpoint, config.CredentialId, config.Prefix, config.PathStyle });
        await changes.CommitAsync(cancellationToken);
        return new ApiCreated<StorageConfigView>(ContentViews.View(config));
    }

    public static async Task<Results<ApiPage<StorageConfigView>, ApiError>> List(string orgId, [AsParameters] PageParameters paging, GatehouseDb db, CancellationToken cancellationToken)
    {
        if (!paging.TryParse(out var page, out var error))
        {
            return error!;
        }

        var (items, pagination) = await db.Owned<StorageConfig>(orgId).AsNoTracking().ToPageAsync(page, cancellationToken);
        return new ApiPage<StorageConfigView>([.. items.Select(ContentViews.View)], pagination);
    }

    public static async Task<Results<ApiOk<StorageConfigView>, ApiError>> Get(string orgId, string storageConfigId, GatehouseDb db, CancellationToken cancellationToken)
    {
        var config = await db.Owned<StorageConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == storageConfigId, cancellationToken);
        return config is null ? ApiError.NotFound("storage configuration") : new ApiOk<StorageConfigView>(ContentViews.View(config));
    }

    public static async Task<Results<ApiOk<StorageConfigView>, ApiError>> Update(
        string orgId, string storageConfigId, UpdateStorageConfigRequest request, GatehouseDb db, ChangeSet changes, VaultCredentialReader credentials, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (request.Name is not null)
        {
            validation.Required("name", request.Name, 100);
        }

        var config = await db.Owned<StorageConfig>(orgId).FirstOrDefaultAsync(c => c.Id == storageConfigId, cancellationToken);
        CheckLocation(validation, config?.Provider, request.Bucket, request.Region, request.Endpoint, request.CredentialId, request.Prefix);
        await CheckCredentialAsync(validation, db, credentials, orgId, request.CredentialId, cancellationToken);
        if (!validation.IsValid)
        {
            return validation.ToError();
        }

        if (config is null)
        {
            return ApiError.NotFound("storage configuration");
        }

        // The folder or bucket of a configuration that already holds files stays: moving it would orphan them.
        var inUse = await db.Owned<ContentFile>(orgId).AnyAsync(f => f.StorageConfigId == config.Id, cancellationToken);
        if (inUse && ((request.Bucket is not null && request.Bucket != config.Bucket) || (request.Endpoint is not null && request.Endpoint != config.Endpoint)
            || (request.Prefix is not null && request.Prefix != config.Prefix)))
        {
            return ApiError.Conflict("The storage configuration holds files; its bucket, endpoint and prefix cannot change.");
        }

        if (request.Name is { } name && name != config.Name && await db.Owned<StorageConfig>(orgId).AnyAsync(c => c.Name == name, cancellationToken))
        {
            return ApiError.Conflict($"A storage configuration named '{name}' already exists.");
        }

        config.Name = request.Name ?? config.Name;
        config.Bucket = request.Bucket ?? config.Bucket;
        config.Region = request.Region ?? config.Region;
        config.Endpoint = request.Endpoint ?? config.Endpoint;
        config.CredentialId = request.CredentialId ?? config.CredentialId;
        config.Prefix = request.Prefix ?? config.Prefix;
        config.PathStyle = request.PathStyle ?? config.PathStyle;
        config.UpdatedAt = clock.GetUtcNow().UtcDateTime;
        changes.Record(ContentActions.StorageConfigUpdate, orgId, config.Id, new { config.Name, config.Bucket, config.Region, config.Endpoint, config.CredentialId, config.Prefix, config.PathStyle });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<StorageConfigView>(ContentViews.View(config));
    }

    public static async Task<Results<ApiOk<Deleted>, ApiError>> Delete(string orgId, string storageConfigId, GatehouseDb db, ChangeSet changes, CancellationToken cancellationToken)
    {
        var config = await db.Owned<StorageConfig>(orgId).FirstOrDefaultAsync(c => c.Id == storageConfigId, cancellationToken);
        if (config is null)
        {
            return ApiError.NotFound("storage configuration");
        }

        if (await db.Owned<ContentContainer>(orgId).AnyAsync(c => c.StorageConfigId == config.Id, cancellationToken))
        {
            return ApiError.Conflict("Containers still store their files with this configuration.");
        }

        db.Remove(config);
        changes.Record(ContentActions.StorageConfigDelete, orgId, config.Id, new { config.Name });
        await changes.CommitAsync(cancellationToken);
        return new ApiOk<Deleted>(new Deleted(config.Id));
    }

    /// <summary>Writes a small random object, reads it back, compares and deletes it; the answer says which step failed.</summary>
    public static async Task<Results<ApiOk<StorageProbeView>, ApiError>> Probe(string orgId, string storageConfigId, GatehouseDb db, ContentStores stores, CancellationToken cancellationToken)
    {
        var config = await db.Owned<StorageConfig>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == storageConfigId, cancellationToken);
        if (config is null)
        {
            return ApiError.NotFound("storage configuration");
        }

        var (store, unavailable) = await stores.ForAsync(db, config, cancellationToken);
        if (store is null)
        {
            return new ApiOk<StorageProbeView>(new StorageProbeView(false, false, false, false, unavailable));
        }

        var key = $"{orgId}/.probe/{Ids.New("probe")}";
        var payload = RandomNumberGenerator.GetBytes(32);
        bool wrote = false, read = false;
        try
        {
            await store.WriteAsync(key, stream => stream.WriteAsync(payload, cancellationToken).AsTask(), cancellationToken);
            wrote = true;
            await using (var stream = await store.OpenReadAsync(key, cancellationToken))
            {
                using var copy = new MemoryStream();
                if (stream is not null)
                {
                    await stream.CopyToAsync(copy, cancellationToken);
                }

                read = CryptographicOperations.FixedTimeEquals(copy.ToArray(), payload);
            }

            await store.DeleteAsync(key, cancellationToken);
            return new ApiOk<StorageProbeView>(new StorageProbeView(read, wrote, read, true, read ? null : "The object read back differs from the one written."));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContentStoreException or HttpRequestException)
        {
            return new ApiOk<StorageProbeView>(new StorageProbeView(false, wrote, read, false, ex.GetType().Name + ": " + ex.Message));
        }
    }

    private static void CheckLocation(Validation validation, string? provider, string? bucket, string? region, string? endpoint, string? credentialId, string? prefix)
    {
        validation.Optional("bucket", bucket, 63).Optional("region", region, 64).Optional("endpoint", endpoint, 500).Optional("credentialId", credentialId, 100)
            .Optional("prefix", prefix, 200);
        if (prefix is not null && prefix.Length <= 200 && !ContentStores.IsValidPrefix(prefix))
        {
            validation.Add("prefix", "must be path segments of letters, digits and ._- separated by /, without . or .. segments");
        }

        if (provider == "local" && prefix is not null)
        {
            validation.Add("prefix", "is not used by the local provider");
        }

        if (provider == "local" && bucket is not null && bucket.Length <= 63 && !ContentStores.IsValidLocalFolder(bucket))
        {
            validation.Add("bucket", "must be a folder name: [a-z0-9][a-z0-9._-]{0,62}");
        }

        if (endpoint is not null && endpoint.Length <= 500
            && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
        {
            validation.Add("endpoint", "must be an absolute http or https URL");
        }
    }

    /// <summary>What each remote provider needs to be used at all: s3 a bucket and a credential, azure an endpoint, a container and a credential, custom an endpoint.</summary>
    private static void CheckRequired(Validation validation, string? provider, string? bucket, string? endpoint, string? credentialId)
    {
        if (provider is "s3" or "azure" && string.IsNullOrEmpty(bucket))
        {
            validation.Add("bucket", "required");
        }

        if (provider is "azure" or "custom" && string.IsNullOrEmpty(endpoint))
        {
            validation.Add("endpoint", "required");
        }

        if (provider is "s3" or "azure" && string.IsNullOrEmpty(credentialId))
        {
            validation.Add("credentialId", "required");
        }
    }

    /// <summary>A referenced credential must be one of the organization's own (another org's is as unknown as a made-up id).</summary>
    private static async Task CheckCredentialAsync(Validation validation, GatehouseDb db, VaultCredentialReader credentials, string orgId, string? credentialId, CancellationToken cancellationToken)
    {
        if (credentialId is { Length: > 0 and <= 100 } && !await credentials.ExistsAsync(db, orgId, credentialId, cancellationToken))
        {
            validation.Add("credentialId", "unknown credential");
        }
    }
}
