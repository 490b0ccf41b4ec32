using System.Security.Cryptography;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Vault;

/// <summary>
/// Sealing small values (another feature's per-record keys) under an organization's data keys,
/// so deleting the organization shreds them with everything else it sealed.
/// </summary>
[FeatureApi]
public sealed class OrgDataKeys(VaultKeyring keyring)
{
    /// <summary>
    /// Seals under the organization's current data key and returns the key version used. Call inside
    /// the change set's transaction: it takes the data-key lock, so the version cannot be retired before the row commits.
    /// </summary>
    public async Task<(byte[] Sealed, int KeyVersion)> SealAsync(GatehouseDb db, string orgId, byte[] plaintext, byte[] associatedData, CancellationToken cancellationToken)
    {
        await DataKeyLock.ForSealingAsync(db, orgId, cancellationToken);
        var ring = await keyring.ForOrgAsync(db, orgId, cancellationToken);
        return (ring.Seal(plaintext, associatedData), (int)ring.CurrentVersion);
    }

    /// <summary>Opens a sealed value; null when the organization's keys are gone or the value does not open here.</summary>
    public async Task<byte[]?> OpenAsync(GatehouseDb db, string orgId, byte[] sealedValue, byte[] associatedData, CancellationToken cancellationToken)
    {
        var ring = await keyring.LoadAsync(db, orgId, cancellationToken);
        if (ring is null)
        {
            return null;
        }

        try
        {
            return ring.Open(sealedValue, associatedData);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
