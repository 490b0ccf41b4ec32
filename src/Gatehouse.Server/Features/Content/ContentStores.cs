using System.Text.RegularExpressions;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Hosting;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Content;

/// <summary>An object store holding ciphertext only: written once, read in a stream, deleted.</summary>
public interface IContentStore
{
    /// <summary>Writes an object through <paramref name="write"/>; it becomes visible only when complete.</summary>
    Task WriteAsync(string key, Func<Stream, Task> write, CancellationToken cancellationToken);

    /// <summary>The object's bytes, or null when it does not exist.</summary>
    Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A store could not be reached or refused the operation.</summary>
public sealed class ContentStoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The stores of the server: its own local folder (containers without a storage configuration) and
/// one per storage configuration: a local folder, an S3-compatible bucket, an Azure blob container
/// or a custom HTTP endpoint. A configuration's secret is read from the vault when its store is
/// opened and is held only by that store object.
/// </summary>
public sealed partial class ContentStores(GatehouseOptions options, VaultCredentialReader credentials, IHttpClientFactory httpClients)
{
    private readonly string _root = Path.GetFullPath(Path.Combine(options.DataDir, "content"));

    public IContentStore Default => new LocalContentStore(Path.Combine(_root, "default"), options.DataDir);

    /// <summary>The store of a configuration, or null with the reason when it cannot be opened (its credential is missing, say).</summary>
    public async Task<(IContentStore? Store, string? Unavailable)> ForAsync(GatehouseDb db, StorageConfig? config, CancellationToken cancellationToken)
    {
        if (config is null)
        {
            return (Default, null);
        }

        if (config.Provider == "local")
        {
            return (new LocalContentStore(Path.Combine(_root, "local", config.Bucket ?? config.Id), options.DataDir), null);
        }

        IReadOnlyDictionary<string, string> secret = new Dictionary<string, string>();
        if (config.CredentialId is { } credentialId)
        {
            var (data, problem) = await credentials.OpenAsync(db, config.OrgId, credentialId, cancellationToken);
            if (data is null)
            {
                return (null, problem);
            }

            secret = data;
        }

        return config.Provider switch
        {
            "s3" => S3ContentStore.Create(config, secret),
            "azure" => AzureContentStore.Create(config, secret),
            "custom" => HttpContentStore.Create(config, secret, httpClients.CreateClient(HttpContentStore.ClientName)),
            _ => (null, $"The '{config.Provider}' storage provider is not available in this server build."),
        };
    }

    public static bool IsValidLocalFolder(string name) => LocalFolder().IsMatch(name);

    /// <summary>A key prefix: path segments of letters, digits and <c>._-</c>, no empty, <c>.</c> or <c>..</c> segment.</summary>
    public static bool IsValidPrefix(string prefix) =>
        PrefixPattern().IsMatch(prefix) && prefix.Trim('/').Split('/').All(segment => segment.Length > 0 && segment is not "." and not "..");

    /// <summary>The key of a file's object: one folder per organization, so an org's objects can be found and removed together.</summary>
    public static string ObjectKey(string orgId, string containerId, string fileId) => $"{orgId}/{containerId}/{fileId}";

    /// <summary>The key in a remote store: the configuration's prefix, then the object key.</summary>
    internal static string Prefixed(StorageConfig config, string key) =>
        string.IsNullOrEmpty(config.Prefix) ? key : config.Prefix.Trim('/') + "/" + key;

    /// <summary>After an organization was deleted: its objects in the server's own store go too (they could no longer be opened anyway).</summary>
    public void DeleteOrgFromDefaultStore(string orgId)
    {
        var folder = Path.Combine(_root, "default", orgId);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex LocalFolder();

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,200}$")]
    private static partial Regex PrefixPattern();
}

/// <summary>
/// Objects as files under one folder; a write goes to a temporary name and is renamed when complete.
/// Folders are made below the server's data dir only while it exists: creating the whole chain would
/// bring back a data dir that went missing (an unmounted volume), and SQLite would then open a new,
/// empty database in it.
/// </summary>
public sealed class LocalContentStore(string folder, string dataDir) : IContentStore
{
    private const int BufferSize = 64 * 1024;

    public async Task WriteAsync(string key, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (!Directory.Exists(dataDir))
        {
            throw new DirectoryNotFoundException("The server's data directory is missing.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + "." + Guid.NewGuid().ToString("N") + ".partial";
        try
        {
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
            {
                await write(file);
                await file.FlushAsync(cancellationToken);
            }

            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        Stream? stream = File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan)
            : null;
        return Task.FromResult(stream);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }

    /// <summary>Keys are made by the server from ids; anything that would leave the folder is refused all the same.</summary>
    private string PathOf(string key)
    {
        var root = Path.GetFullPath(folder);
        var path = Path.GetFullPath(Path.Combine(root, key));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ContentStoreException("The object key leaves the store's folder.");
        }

        return path;
    }
}
