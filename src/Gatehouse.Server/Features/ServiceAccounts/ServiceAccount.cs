using Gatehouse.Contracts.ServiceAccounts;
using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Storage;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.ServiceAccounts;

/// <summary>
/// A non-human actor of one organization. It holds no secret itself: it owns API keys (their
/// <c>ownerId</c> is its id), which stop while it is disabled and are revoked when it is deleted.
/// </summary>
public sealed class ServiceAccount : ICreatedEntity, IVersioned, IOrgOwned
{
    /// <inheritdoc />
    public long Version { get; set; }

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public required string Name { get; set; }
    public string? Description { get; set; }

    /// <summary>The ceiling of the account's keys: a key issued for it holds no more.</summary>
    public List<string> Permissions { get; set; } = [];

    public bool Disabled { get; set; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; set; }
}

internal static class ServiceAccountViewMapping
{
    extension(ServiceAccountView)
    {
        public static ServiceAccountView From(ServiceAccount account) =>
            new(account.Id, account.OrgId, account.Name, account.Description, account.Permissions, account.Disabled, account.CreatedAt, account.UpdatedAt);
    }
}

internal sealed class ServiceAccountMapping : IEntityTypeConfiguration<ServiceAccount>
{
    public void Configure(EntityTypeBuilder<ServiceAccount> builder)
    {
        builder.ToTable("service_accounts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Permissions).HasJsonConversion();
    }
}

/// <summary>
/// Service accounts are deleted with their organization (its keys are revoked by the API-key
/// feature's own erasure, in the same transaction); they count towards its stats.
/// </summary>
internal sealed class ServiceAccountOrgData : IOrgDataEraser, IOrgStatsContributor
{
    public Task EraseAsync(GatehouseDb db, string orgId, CancellationToken cancellationToken) =>
        db.Owned<ServiceAccount>(orgId).ExecuteDeleteAsync(cancellationToken);

    public async Task ContributeAsync(GatehouseDb db, string orgId, IDictionary<string, object> stats, CancellationToken cancellationToken) =>
        stats["serviceAccounts"] = await db.Owned<ServiceAccount>(orgId).LongCountAsync(cancellationToken);
}
