using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;

namespace Gatehouse.Server.Features.RootKeys;

/// <summary>What the root-key commands record on the platform's audit chain.</summary>
public static class RootKeyActions
{
    public static readonly AuditAction Create = new("root_key.create", "root_key");
    public static readonly AuditAction Revoke = new("root_key.revoke", "root_key");
    public static readonly AuditAction Recover = new("root_key.recover", "root_key");

    public static readonly IReadOnlyList<AuditAction> All = [Create, Revoke, Recover];
}

/// <summary>
/// The lifecycle of root keys: created, rotated, revoked and recovered by an operator with access
/// to the database and the master key (<c>Gatehouse.Server root-key …</c>, see <see cref="RootKeyCommand"/>),
/// never over HTTP: a lost root key cannot be replaced by anyone who merely reaches the API.
/// </summary>
public sealed class RootKeysFeature : Feature
{
    public override string Name => "RootKeys";

    public override IReadOnlyList<AuditAction> AuditActions => RootKeyActions.All;
}
