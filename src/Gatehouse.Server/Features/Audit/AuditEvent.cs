using Gatehouse.Server.Platform.Http;
using Gatehouse.Server.Platform.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Gatehouse.Server.Features.Audit;

/// <summary>
/// One audit event. Rows are hash-chained per organization: <c>Hash</c> (HMAC-SHA-256 under the
/// audit key, see <see cref="AuditChain"/>) covers every field and <c>PrevHash</c>, and <c>Seq</c> is
/// unique per organization, so two writers cannot fork the chain; <see cref="AuditChainHead"/> marks its end.
/// Platform events with no organization use the chain <see cref="PlatformChain"/>.
/// </summary>
public sealed class AuditEvent : ICreatedEntity, IOrgOwned
{
    public const string PlatformChain = "platform";

    public required string Id { get; init; }
    public required string OrgId { get; init; }
    public long Seq { get; set; }
    public required string Action { get; init; }
    public required string ActorType { get; init; }
    public required string ActorId { get; init; }
    public string? TargetType { get; init; }
    public string? TargetId { get; init; }
    public string? Ip { get; init; }
    public string? UserAgent { get; init; }
    public string? RequestId { get; init; }
    public DateTime OccurredAt { get; init; }
    public string? Changes { get; init; }
    public string PrevHash { get; set; } = "";
    public string Hash { get; set; } = "";

    DateTime ICreatedEntity.CreatedAt => OccurredAt;
}

internal sealed class AuditEventMapping : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> builder)
    {
        builder.ToTable("audit_events");
        builder.HasKey(e => e.Id);
        builder.Ignore(e => ((ICreatedEntity)e).CreatedAt);
    }
}
