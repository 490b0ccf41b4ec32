using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Crypto;
using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Server.Features.Pki;

/// <summary>A certificate just signed, in the shapes a client or gateway installs.</summary>
[FeatureApi]
public sealed record SignedCertificate(string Serial, string CertificatePem, string CaPem, DateTime NotBefore, DateTime NotAfter);

/// <summary>A certificate's standing at this moment, as a gateway's verify needs it.</summary>
[FeatureApi]
public sealed record CertificateStanding(string Serial, string Kind, string? OwnerId, bool Revoked, string? Reason, bool Expired);

/// <summary>
/// The organizations' certificate authorities: created on first use, the private key sealed under
/// the organization's data key and opened only to sign. Every method that writes runs inside the
/// caller's change-set transaction; revocations and CRL refreshes of one organization are serialized
/// by a lock on its authority row, so no revocation is ever missing from the CRL that follows it.
/// </summary>
[FeatureApi]
public sealed class OrgCertificateAuthorities(VaultKeyring keyring, TimeProvider clock, PkiOptions options)
{
    /// <summary>The authority of <paramref name="orgId"/>, created (with CRL number 1, empty) when it has none yet.</summary>
    public async Task<(CertificateAuthorityRecord Record, bool Created)> EnsureAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        if (await db.Owned<CertificateAuthorityRecord>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken) is { } existing)
        {
            return (existing, false);
        }

        await DataKeyLock.ForSealingAsync(db, orgId, cancellationToken);
        var ring = await keyring.ForOrgAsync(db, orgId, cancellationToken);
        var orgName = await db.Set<Organization>().AsNoTracking().Where(o => o.Id == orgId).Select(o => o.Name).FirstOrDefaultAsync(cancellationToken)
            ?? throw new OrganizationGoneException();
        var now = clock.GetUtcNow();
        using var ca = CertificateAuthority.Create(orgName, orgId, now, TimeSpan.FromDays(options.AuthorityLifetimeDays));
        var pkcs8 = ca.ExportPrivateKey();
        byte[] sealedKey;
        try
        {
            sealedKey = ring.Seal(pkcs8, KeyAad(orgId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }

        var nextUpdate = now.AddHours(options.CrlValidityHours);
        var record = new CertificateAuthorityRecord
        {
            OrgId = orgId,
            Certificate = ca.Certificate.RawData,
            SealedKey = sealedKey,
            KeyVersion = (int)ring.CurrentVersion,
            CrlNumber = 1,
            Crl = ca.BuildCrl([], 1, now, nextUpdate),
            CrlThisUpdate = now.UtcDateTime,
            CrlNextUpdate = nextUpdate.UtcDateTime,
            CreatedAt = now.UtcDateTime,
        };
        db.Add(record);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return (record, true);
        }
        catch (DbUpdateException)
        {
            // Created by a concurrent first use; EF rolled back to its savepoint and that one stands.
            db.Entry(record).State = EntityState.Detached;
            return (await db.Owned<CertificateAuthorityRecord>(orgId).AsNoTracking().FirstAsync(cancellationToken), false);
        }
        finally
        {
            if (db.Entry(record).State != EntityState.Detached)
            {
                db.Entry(record).State = EntityState.Detached;
            }
        }
    }

    /// <summary>The authority's row, or null when the organization has none yet (read-only callers: the public routes).</summary>
    public Task<CertificateAuthorityRecord?> FindAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        db.Owned<CertificateAuthorityRecord>(orgId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Signs a certificate for <paramref name="subjectKey"/> with the organization's CA (created if
    /// needed) and records it. <paramref name="lifetime"/> is capped by the policy of its kind.
    /// </summary>
    public async Task<SignedCertificate> IssueAsync(
        GatehouseDb db, string orgId, PublicKey subjectKey, string commonName, CertificatePurpose purpose, TimeSpan lifetime, string? ownerId,
        IReadOnlyCollection<string>? dnsNames, IReadOnlyCollection<System.Net.IPAddress>? ipAddresses, CancellationToken cancellationToken)
    {
        var (record, _) = await EnsureAsync(db, orgId, cancellationToken);
        using var ca = await OpenAsync(db, record, cancellationToken);
        var maximum = purpose == CertificatePurpose.Client ? TimeSpan.FromDays(options.ClientMaxLifetimeDays) : TimeSpan.FromDays(options.ServerLifetimeDays);
        var now = clock.GetUtcNow();
        var notBefore = now.AddMinutes(-5);
        var serialBytes = CertificateAuthority.NewSerial();
        using var certificate = ca.Issue(subjectKey, commonName, purpose, notBefore, now.Add(lifetime <= maximum ? lifetime : maximum), serialBytes, dnsNames, ipAddresses);
        var serial = Serials.ToText(serialBytes);
        db.Add(new IssuedCertificateRecord
        {
            OrgId = orgId,
            Serial = serial,
            Kind = purpose == CertificatePurpose.Client ? "client" : "server",
            Subject = commonName,
            OwnerId = ownerId,
            NotBefore = certificate.NotBefore.ToUniversalTime(),
            NotAfter = certificate.NotAfter.ToUniversalTime(),
            CreatedAt = now.UtcDateTime,
        });
        return new SignedCertificate(serial, certificate.ExportCertificatePem(), ca.CertificatePem, certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());
    }

    /// <summary>Where a serial stands, or null when this organization's CA never issued it.</summary>
    public async Task<CertificateStanding?> StandingAsync(GatehouseDb db, string orgId, string serial, CancellationToken cancellationToken)
    {
        var row = await db.Owned<IssuedCertificateRecord>(orgId).AsNoTracking().FirstOrDefaultAsync(c => c.Serial == serial, cancellationToken);
        return row is null ? null
            : new CertificateStanding(row.Serial, row.Kind, row.OwnerId, row.RevokedAt is not null, row.RevocationReason, row.NotAfter <= clock.GetUtcNow().UtcDateTime);
    }

    /// <summary>
    /// Revokes a certificate and re-issues the CRL in the caller's transaction. Null when the serial is
    /// unknown; the row unchanged (and no new CRL) when it was already revoked.
    /// </summary>
    public async Task<(IssuedCertificateRecord? Certificate, bool AlreadyRevoked, long CrlNumber)> RevokeAsync(
        GatehouseDb db, string orgId, string serial, string reason, CancellationToken cancellationToken)
    {
        if (!await LockAsync(db, orgId, cancellationToken))
        {
            return (null, false, 0);
        }

        var certificate = await db.Owned<IssuedCertificateRecord>(orgId).FirstOrDefaultAsync(c => c.Serial == serial, cancellationToken);
        if (certificate is null)
        {
            return (null, false, 0);
        }

        if (certificate.RevokedAt is not null)
        {
            return (certificate, true, 0);
        }

        certificate.RevokedAt = clock.GetUtcNow().UtcDateTime;
        certificate.RevocationReason = reason;
        await db.SaveChangesAsync(cancellationToken);
        var number = await RebuildCrlLockedAsync(db, orgId, cancellationToken);
        return (certificate, false, number);
    }

    /// <summary>Revokes a serial for another feature (a VPN config's certificate) and re-issues the CRL; false when unknown or already revoked.</summary>
    public async Task<bool> RevokeSerialAsync(GatehouseDb db, string orgId, string serial, string reason, CancellationToken cancellationToken)
    {
        var (certificate, alreadyRevoked, _) = await RevokeAsync(db, orgId, serial, reason, cancellationToken);
        return certificate is not null && !alreadyRevoked;
    }

    /// <summary>Re-signs the CRL with the next number (a refresh before it lapses). False when the organization has no CA.</summary>
    public async Task<bool> RefreshCrlAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        if (!await LockAsync(db, orgId, cancellationToken))
        {
            return false;
        }

        await RebuildCrlLockedAsync(db, orgId, cancellationToken);
        return true;
    }

    /// <summary>
    /// Takes the organization's CRL lock for the rest of the transaction: the authority row,
    /// <c>FOR UPDATE</c> on PostgreSQL (every node); on SQLite the transaction's write lock already
    /// orders writers. False when the organization has no CA.
    /// </summary>
    private static async Task<bool> LockAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        if (db.Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("The CRL lock lives as long as a transaction; run inside a change set.");
        }

        if (db.IsPostgres)
        {
            var locked = await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM pki_authorities WHERE org_id = {orgId} FOR UPDATE").ToListAsync(cancellationToken);
            return locked.Count > 0;
        }

        return await db.Owned<CertificateAuthorityRecord>(orgId).AnyAsync(cancellationToken);
    }

    /// <summary>Builds the CRL from every revoked, unexpired certificate, under the lock, and stores it with the next number.</summary>
    private async Task<long> RebuildCrlLockedAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        var record = await db.Owned<CertificateAuthorityRecord>(orgId).FirstAsync(cancellationToken);
        await db.Entry(record).ReloadAsync(cancellationToken);
        using var ca = await OpenAsync(db, record, cancellationToken);
        var now = clock.GetUtcNow();
        var revoked = await db.Owned<IssuedCertificateRecord>(orgId).AsNoTracking()
            .Where(c => c.RevokedAt != null && c.NotAfter > now.UtcDateTime)
            .Select(c => new { c.Serial, c.RevokedAt, c.RevocationReason })
            .ToListAsync(cancellationToken);
        var nextUpdate = now.AddHours(options.CrlValidityHours);
        var number = record.CrlNumber + 1;
        record.Crl = ca.BuildCrl(
            revoked.Select(r => new RevokedSerial(r.Serial, new DateTimeOffset(r.RevokedAt!.Value, TimeSpan.Zero), RevocationReasons.ToX509(r.RevocationReason))),
            number, now, nextUpdate);
        record.CrlNumber = number;
        record.CrlThisUpdate = now.UtcDateTime;
        record.CrlNextUpdate = nextUpdate.UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        return number;
    }

    private async Task<CertificateAuthority> OpenAsync(GatehouseDb db, CertificateAuthorityRecord record, CancellationToken cancellationToken)
    {
        var ring = await keyring.LoadAsync(db, record.OrgId, cancellationToken)
            ?? throw new CryptographicException("The organization's data keys are gone; its CA key cannot be opened.");
        var pkcs8 = ring.Open(record.SealedKey, KeyAad(record.OrgId));
        try
        {
            return CertificateAuthority.Load(record.Certificate, pkcs8);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    /// <summary>Binds the sealed key to its organization: a sealed key copied to another row does not open.</summary>
    private static byte[] KeyAad(string orgId) => AssociatedData.Of("gatehouse/pki-ca-key", orgId);
}

/// <summary>The RFC 5280 revocation reasons the API accepts, by their snake_case names.</summary>
[FeatureApi]
public static class RevocationReasons
{
    public static readonly IReadOnlyDictionary<string, X509RevocationReason?> ByName = new Dictionary<string, X509RevocationReason?>(StringComparer.Ordinal)
    {
        // RFC 5280 §5.3.1: "unspecified" should not appear as a reason code; the entry carries none.
        ["unspecified"] = null,
        ["key_compromise"] = X509RevocationReason.KeyCompromise,
        ["ca_compromise"] = X509RevocationReason.CACompromise,
        ["affiliation_changed"] = X509RevocationReason.AffiliationChanged,
        ["superseded"] = X509RevocationReason.Superseded,
        ["cessation_of_operation"] = X509RevocationReason.CessationOfOperation,
        ["privilege_withdrawn"] = X509RevocationReason.PrivilegeWithdrawn,
    };

    /// <summary>The snake_case name of <paramref name="text"/> (camelCase such as <c>keyCompromise</c> accepted), or null when it names no reason.</summary>
    public static string? Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var builder = new System.Text.StringBuilder();
        foreach (var c in text.Trim())
        {
            if (char.IsAsciiLetterUpper(c))
            {
                builder.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c == '-' ? '_' : c);
            }
        }

        var name = builder.ToString().TrimStart('_');
        name = name.Replace("c_a_", "ca_", StringComparison.Ordinal);
        return ByName.ContainsKey(name) ? name : null;
    }

    public static X509RevocationReason? ToX509(string? name) => name is not null && ByName.TryGetValue(name, out var reason) ? reason : null;
}
