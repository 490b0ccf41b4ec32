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
public sealed class VaultKeyring(MasterKey masterKey, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string OrgId, int Version), byte[]> _unwrapped = new();

    /// <summary>The org's keyring with every live version; creates version 1 on first use (in the caller's transaction).</summary>
    public async Task<OrgKeyring> ForOrgAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var keys = await db.Set<DataKey>().AsNoTracking().Where(k => k.OrgId == orgId && k.WrappedKey != null).ToListAsync(cancellationToken);
        if (keys.Count == 0)
        {
            try
            {
                keys = [await AddVersionAsync(db, orgId, 1, cancellationToken)];
            }
            catch (DbUpdateException)
            {
                // Another request created version 1 at the same moment: use that one.
                db.ChangeTracker.Clear();
                keys = await db.Set<DataKey>().AsNoTracking().Where(k => k.OrgId == orgId && k.WrappedKey != null).ToListAsync(cancellationToken);
            }
        }

        var unwrapped = keys.ToDictionary(k => (uint)k.Version, k => Unwrap(orgId, k));
        return new OrgKeyring(orgId, unwrapped, (uint)keys.Max(k => k.Version));
    }

    /// <summary>Adds the next data-key version; new writes use it at once.</summary>
    public async Task<int> RotateAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var current = await db.Set<DataKey>().Where(k => k.OrgId == orgId).MaxAsync(k => (int?)k.Version, cancellationToken) ?? 0;
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
        var dataKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(SealedBox.KeySize);
        var row = new DataKey
        {
            OrgId = orgId,
            Version = version,
            WrappedKey = masterKey.Wrap(dataKey, AssociatedData.ForDataKey(orgId, (uint)version)),
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        };
        db.Add(row);
        await db.SaveChangesAsync(cancellationToken);
        db.Entry(row).State = EntityState.Detached;
        _unwrapped[(orgId, version)] = dataKey;
        return row;
    }

    private byte[] Unwrap(string orgId, DataKey key) =>
        _unwrapped.GetOrAdd((orgId, key.Version), _ => masterKey.Unwrap(key.WrappedKey!, AssociatedData.ForDataKey(orgId, (uint)key.Version)));
}

/// <summary>Deleting an organization destroys its data keys: its ciphertext is unrecoverable, even with the master key.</summary>
internal sealed class VaultOrgData(VaultKeyring keyring) : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Set<CredentialVersion>().Where(v => v.OrgId == orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Set<Credential>().Where(c => c.OrgId == orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Set<DataKey>().Where(k => k.OrgId == orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public Task AfterEraseCommittedAsync(string orgId)
    {
        keyring.Forget(orgId);
        return Task.CompletedTask;
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["credentials"] = await db.Set<Credential>().LongCountAsync(c => c.OrgId == orgId, cancellationToken);
}
