using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Crypto;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Vault;

/// <summary>
/// Another feature's use of a credential it references by id (a storage configuration's secret):
/// the current data of a live credential of the organization, never handed to a client.
/// </summary>
[FeatureApi]
public sealed class VaultCredentialReader(VaultKeyring keyring, TimeProvider clock)
{
    /// <summary>Whether the organization holds a credential with this id (another org's id is unknown here).</summary>
    public Task<bool> ExistsAsync(GatehouseDb db, string orgId, string credentialId, CancellationToken cancellationToken) =>
        db.Owned<Credential>(orgId).AnyAsync(c => c.Id == credentialId, cancellationToken);

    /// <summary>
    /// The string fields of the credential's current data; null (with the reason) when it is unknown,
    /// expired or cannot be opened. Non-string fields are left out.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, string>? Data, string? Problem)> OpenAsync(GatehouseDb db, string orgId, string credentialId, CancellationToken cancellationToken)
    {
        var credential = await db.Owned<Credential>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Id == credentialId, cancellationToken);
        if (credential is null)
        {
            return (null, "The referenced credential does not exist.");
        }

        if (credential.ExpiresAt is { } expiresAt && expiresAt <= clock.GetUtcNow().UtcDateTime)
        {
            return (null, "The referenced credential has expired.");
        }

        var version = await db.Owned<CredentialVersion>(orgId).AsNoTracking()
            .FirstOrDefaultAsync(v => v.CredentialId == credential.Id && v.Version == credential.CurrentVersion, cancellationToken);
        var ring = version is null ? null : await keyring.LoadAsync(db, orgId, cancellationToken);
        if (version is null || ring is null)
        {
            return (null, "The referenced credential cannot be opened.");
        }

        try
        {
            var plaintext = ring.Open(version.Ciphertext, AssociatedData.ForCredential(orgId, credential.Id, version.Version));
            var data = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(plaintext) ?? [];
            CryptographicOperations.ZeroMemory(plaintext);
            return (data.Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Key, p => p.Value.GetString()!, StringComparer.Ordinal), null);
        }
        catch (CryptographicException)
        {
            return (null, "The referenced credential cannot be opened.");
        }
    }
}
