using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Features.Audit;

public static class AuditEndpoints
{
    public static IServiceCollection AddAuditTrail(this IServiceCollection services)
    {
        // Resolved once at start-up (Program.Build), where a missing or unopenable key stops the server.
        services.AddSingleton(sp => AuditChain.Load(sp.GetRequiredService<Platform.Storage.DatabaseTarget>(), sp.GetRequiredService<Crypto.MasterKey>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<AuthFailureAuditor>();
        services.AddSingleton<IAuthenticationFailureObserver>(sp => sp.GetRequiredService<AuthFailureAuditor>());
        return services;
    }

    private const string VerifyDescription =
        "Walks the chain from seq 1: every event must recompute (HMAC-SHA-256 under the server's audit key; plain SHA-256 for events written before keyed hashing) "
        + "and link to the previous one, and the walk must end exactly at the chain's sealed head. Answers {valid, checked, firstBrokenId, reason, headSeq}; "
        + "reason is hash_mismatch | broken_link | truncated | head_missing | head_mismatch, null when valid. "
        + "It cannot detect the removal of a chain's head together with all its events, nor forgery by someone holding the master key.";

    public static IEndpointRouteBuilder MapAuditLogs(this IEndpointRouteBuilder api)
    {
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
        return api;
    }
}
