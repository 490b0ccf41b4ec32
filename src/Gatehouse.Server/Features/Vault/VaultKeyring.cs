using System.Collections.Concurrent;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Vault;

/// <summary>
/// The organizations' data keys: created on first use, unwrapped with the master key on demand
/// and held in memory, rotated by adding a version. Deleting an organization deletes its wrapped
/// keys (crypto-shredding) and forgets the unwrapped ones.
/// </summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public sealed class VaultKeyring(MasterKey masterKey, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string OrgId, int Version), byte[]> _unwrapped = new();

    /// <summary>The org's keyring with every live version; creates version 1 on first use (in the caller's transaction).</summary>
    public async Task<OrgKeyring> ForOrgAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        if (await LoadAsync(db, orgId, cancellationToken) is { } ring)
        {
            return ring;
        }

        // Another request may create version 1 at the same moment: then its row stays and is used.
        await AddVersionAsync(db, orgId, 1, cancellationToken);
        return await LoadAsync(db, orgId, cancellationToken)
            ?? throw new InvalidOperationException($"The data key of {orgId} was neither created nor found.");
    }

    /// <summary>The org's keyring with every live version, or null when it has none (never used, or deleted).</summary>
    public async Task<OrgKeyring?> LoadAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var keys = await db.Owned<DataKey>(orgId).AsNoTracking().Where(k => k.WrappedKey != null).ToListAsync(cancellationToken);
        if (keys.Count == 0)
        {
            return null;
        }

        var unwrapped = keys.ToDictionary(k => (uint)k.Version, k => Unwrap(orgId, k));
        return new OrgKeyring(orgId, unwrapped, (uint)keys.Max(k => k.Version));
    }

    /// <summary>Adds the next data-key version; new writes use it at once. Call under <see cref="DataKeyLock.ForRetiringAsync"/>.</summary>
    public async Task<int> RotateAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var current = await db.Owned<DataKey>(orgId).MaxAsync(k => (int?)k.Version, cancellationToken) ?? 0;
        var added = await AddVersionAsync(db, orgId, current + 1, cancellationToken);
        return added.Version;
    }

    public void Forget(string orgId)
    {
        foreach (var key in _unwrapped.Keys.Where(k => k.OrgId == orgId))
        {
            if (_unwrapped.TryRemove(key, out var bytes))
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
            }
        }
    }

    private async Task<DataKey> AddVersionAsync(GatehouseDb db, string orgId, int version, CancellationToken cancellationToken)
    {
        var dataKey = SealedBox.NewKey();
        var row = new DataKey
        {
            OrgId = orgId,
            Version = version,
            WrappedKey = masterKey.Wrap(dataKey, AssociatedData.ForDataKey(orgId, (uint)version)),
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
        db.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException) when (version == 1)
        {
            // Version 1 created by a concurrent first use; EF rolled back to its savepoint, so the
            // caller's transaction goes on. Later versions are added under the org's key lock.
        }
        finally
        {
            db.Entry(row).State = EntityState.Detached;
        }

        // Not cached here: the caller's transaction may still roll back, and a cached key that never
        // reached the database would seal data under a key nobody can unwrap. Unwrap caches on load.
        return row;
    }

    private byte[] Unwrap(string orgId, DataKey key) =>
        _unwrapped.GetOrAdd((orgId, key.Version), _ => masterKey.Unwrap(key.WrappedKey!, AssociatedData.ForDataKey(orgId, (uint)key.Version)));
}

/// <summary>
/// Another feature's records sealed under an organization's data keys (a certificate authority's
/// key, a content file's key): a version such a record uses is never retired. A user that
/// implements <see cref="ReencryptAsync"/> has its records re-sealed by the vault's job after a
/// rotation (so the old version can retire); the others keep their version alive instead.
/// </summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public interface IDataKeyUser
{
    Task<bool> UsesAsync(GatehouseDb db, string orgId, int keyVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Re-seals under <paramref name="ring"/>'s current version at most <paramref name="batchSize"/>
    /// of the organization's records still sealed under an older one, in id order after
    /// <paramref name="after"/>, in the caller's transaction (which holds the sealing side of the
    /// key lock). Records that do not open are left as they are and named in the result.
    /// </summary>
    Task<DataKeyUserBatch> ReencryptAsync(GatehouseDb db, OrgKeyring ring, string orgId, string? after, int batchSize, CancellationToken cancellationToken) =>
        Task.FromResult(DataKeyUserBatch.None);
}

/// <summary>What one batch of <see cref="IDataKeyUser.ReencryptAsync"/> did: records read, re-sealed, the ones that did not open, and the last id read.</summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public sealed record DataKeyUserBatch(int Read, int Moved, IReadOnlyList<string> Unreadable, string? Last)
{
    public static readonly DataKeyUserBatch None = new(0, 0, [], null);
}

/// <summary>
/// Serializes what seals under an org's data keys with what retires them. A writer (or the
/// re-encryption job) holds the shared side from loading the keyring until its transaction commits,
/// so the key version it sealed under cannot be retired before its record is visible; retiring and
/// rotating hold the exclusive side. PostgreSQL: a transaction-scoped advisory lock, shared by every
/// node on the database. SQLite: the transaction's write lock (begun IMMEDIATE) already excludes them.
/// </summary>
[Gatehouse.Server.Platform.Composition.FeatureApi]
public static class DataKeyLock
{
    public static Task ForSealingAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) => TakeAsync(db, orgId, shared: true, cancellationToken);

    public static Task ForRetiringAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) => TakeAsync(db, orgId, shared: false, cancellationToken);

    private static async Task TakeAsync(GatehouseDb db, string orgId, bool shared, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("The data-key lock lives as long as a transaction; begin one first.");
        }

        if (!db.IsPostgres)
        {
            return;
        }

        var key = "vault:" + orgId;
        if (shared)
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock_shared(hashtext({key}))", cancellationToken);
        }
        else
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({key}))", cancellationToken);
        }
    }
}

/// <summary>Deleting an organization destroys its data keys: its ciphertext is unrecoverable, even with the master key.</summary>
internal sealed class VaultOrgData(VaultKeyring keyring) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<CredentialVersion>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<Credential>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<DataKey>(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        keyring.Forget(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["credentials"] = await db.Owned<Credential>(orgId).LongCountAsync(cancellationToken);
}

/// <summary>An organization deleted on another node: its unwrapped data keys leave this node's memory too.</summary>
internal sealed class VaultClusterChanges(VaultKeyring keyring) : Platform.Cluster.IClusterChangeHandler
{
    public void Apply(IReadOnlyList<Platform.Cluster.ClusterChange> changes)
    {
        foreach (var change in changes)
        {
            if (change.Action == "org.delete" && change.OrgId is { } orgId)
            {
                keyring.Forget(orgId);
            }
        }
    }

    // The keyring reads which data keys exist from the database on every use; only deleted orgs' bytes need dropping.
    public void Reset()
    {
    }
}
