using Gatehouse.Server.Features.Vault;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Pki;

/// <summary>
/// An organization's certificate authority: its certificate, its private key sealed under the
/// organization's data key (gone with the organization: crypto-shredding), and the current CRL with
/// its number. The row is also the lock that serializes CRL regeneration of the organization.
/// </summary>
public sealed class CertificateAuthorityRecord : IOrgOwned
{
    public required string OrgId { get; init; }
    public required byte[] Certificate { get; init; }
    public required byte[] SealedKey { get; init; }

    /// <summary>The data-key version the private key is sealed under (it keeps that version alive).</summary>
    public int KeyVersion { get; init; }

    public long CrlNumber { get; set; }
    public required byte[] Crl { get; set; }
    public DateTime CrlThisUpdate { get; set; }
    public DateTime CrlNextUpdate { get; set; }
    public DateTime CreatedAt { get; init; }
}

/// <summary>A certificate the organization's CA signed: who it is for, how long, and whether it is revoked.</summary>
public sealed class IssuedCertificateRecord : IOrgOwned
{
    public required string OrgId { get; init; }

    /// <summary>Upper-case hex without leading zero bytes (<see cref="Gatehouse.Crypto.Serials"/>).</summary>
    public required string Serial { get; init; }

    /// <summary><c>client</c> or <c>server</c>.</summary>
    public required string Kind { get; init; }

    public required string Subject { get; init; }

    /// <summary>What it was issued to: a user id for a client, a gateway id for a server.</summary>
    public string? OwnerId { get; init; }

    public DateTime NotBefore { get; init; }
    public DateTime NotAfter { get; init; }
    public DateTime? RevokedAt { get; set; }
    public string? RevocationReason { get; set; }
    public DateTime CreatedAt { get; init; }
}

internal sealed class CertificateAuthorityMapping : IEntityTypeConfiguration<CertificateAuthorityRecord>
{
    public void Configure(EntityTypeBuilder<CertificateAuthorityRecord> builder)
    {
        builder.ToTable("pki_authorities");
        builder.HasKey(a => a.OrgId);
    }
}

internal sealed class IssuedCertificateMapping : IEntityTypeConfiguration<IssuedCertificateRecord>
{
    public void Configure(EntityTypeBuilder<IssuedCertificateRecord> builder)
    {
        builder.ToTable("pki_certificates");
        builder.HasKey(c => new { c.OrgId, c.Serial });
    }
}

/// <summary>The CA and its certificates go with the organization; the vault's erasure destroys the key that sealed the CA key.</summary>
internal sealed class PkiOrgData : IOrgDataEraser, IOrgStatsContributor
{
    public async Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken)
    {
        await db.Owned<IssuedCertificateRecord>(orgId).ExecuteDeleteAsync(cancellationToken);
        await db.Owned<CertificateAuthorityRecord>(orgId).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["certificates"] = await db.Owned<IssuedCertificateRecord>(orgId).LongCountAsync(c => c.RevokedAt == null, cancellationToken);
}

/// <summary>A CA key sealed under an older data-key version keeps that version from being retired.</summary>
internal sealed class PkiDataKeyUser : IDataKeyUser
{
    public Task<bool> UsesAsync(GatehouseDb db, string orgId, int keyVersion, CancellationToken cancellationToken) =>
        db.Owned<CertificateAuthorityRecord>(orgId).AnyAsync(a => a.KeyVersion == keyVersion, cancellationToken);
}
