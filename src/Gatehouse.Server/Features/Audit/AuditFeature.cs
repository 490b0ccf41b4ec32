using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Events;
using Gatehouse.Server.Platform.Storage;

namespace Gatehouse.Server.Features.Audit;

/// <summary>The audit actions of authentication itself, on the platform's chain; they cause no webhook.</summary>
public static class AuthActions
{
    public static readonly AuditAction Failure = new("auth.failure", "request");
    public static readonly AuditAction RateLimited = new("auth.rate_limited", "request");
}

/// <summary>
/// The tamper-evident audit trail: every change set's actions become hash-chained events, and
/// rejected credentials are recorded (bounded) on the platform's chain.
/// </summary>
public sealed class AuditFeature : Feature
{
    public override string Name => "Audit";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Audit", "The hash-chained audit trail: query, export and verify.")];

    public override IReadOnlyList<PermissionInfo> Permissions => [new("audit:read", "Query, export and verify the audit trail.")];

    public override IReadOnlyList<AuditAction> AuditActions => [AuthActions.Failure, AuthActions.RateLimited];

    public override void AddServices(FeatureServices services)
    {
        // Resolved once at start-up (Program.Build), where a missing or unopenable key stops the server.
        services.Services.AddSingleton(sp => AuditChain.Load(sp.GetRequiredService<DatabaseTarget>(), sp.GetRequiredService<Crypto.MasterKey>(), sp.GetRequiredService<TimeProvider>()));
        services.ChangeSetParticipant<AuditChainWriter>();
        services.Services.AddSingleton<AuthFailureAuditor>();
        services.Services.AddSingleton<IAuthenticationFailureObserver>(sp => sp.GetRequiredService<AuthFailureAuditor>());
    }

    private const string VerifyDescription =
        "Walks the chain from seq 1: every event must recompute (HMAC-SHA-256 under the server's audit key; plain SHA-256 for events written before keyed hashing) "
        + "and link to the previous one, and the walk must end exactly at the chain's sealed head. Answers {valid, checked, firstBrokenId, reason, headSeq}; "
        + "reason is hash_mismatch | broken_link | truncated | head_missing | head_mismatch, null when valid. "
        + "It cannot detect the removal of a chain's head together with all its events, nor forgery by someone holding the master key.";

    public override void MapRoutes(FeatureRoutes routes)
    {
        var api = routes.Api;
        var org = api.MapGroup("/orgs/{orgId}/audit-logs").WithTags("Audit");
        org.MapGet("", QueryAuditLogs.ForOrg).RequirePermission("audit:read").WithName("ListAuditLogs")
            .WithSummary("Query the organization's audit trail (JSON pages, or NDJSON export with Accept: application/x-ndjson)");
        org.MapGet("/verify", VerifyAuditChain.ForOrg).RequirePermission("audit:read").WithName("VerifyAuditLogs")
            .WithSummary("Recompute the hash chain and name the first broken event")
            .WithDescription(VerifyDescription);
        var admin = api.MapGroup("/admin/audit-logs").WithTags("Audit");
        admin.MapGet("", QueryAuditLogs.ForAdmin).RequireRoot().WithName("ListAllAuditLogs")
            .WithSummary("Query the audit trail of every organization (filter orgId; 'platform' for events without one)");
        admin.MapGet("/verify", VerifyAuditChain.ForAdmin).RequireRoot().WithName("VerifyAnyAuditChain")
            .WithSummary("Recompute one chain by orgId (default: the platform chain)")
            .WithDescription(VerifyDescription);
    }
}
