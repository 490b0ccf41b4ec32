using Gatehouse.Server.Platform.Auth;

namespace Gatehouse.Server.Features.Audit;

public static class AuditEndpoints
{
    public static IServiceCollection AddAuditTrail(this IServiceCollection services)
    {
        services.AddSingleton<AuthFailureAuditor>();
        services.AddSingleton<IAuthenticationFailureObserver>(sp => sp.GetRequiredService<AuthFailureAuditor>());
        return services;
    }

    public static IEndpointRouteBuilder MapAuditLogs(this IEndpointRouteBuilder api)
    {
        var org = api.MapGroup("/orgs/{orgId}/audit-logs").WithTags("Audit");
        org.MapGet("", QueryAuditLogs.ForOrg).RequirePermission("audit:read").WithName("ListAuditLogs")
            .WithSummary("Query the organization's audit trail (JSON pages, or NDJSON export with Accept: application/x-ndjson)");
        org.MapGet("/verify", VerifyAuditChain.ForOrg).RequirePermission("audit:read").WithName("VerifyAuditLogs")
            .WithSummary("Recompute the hash chain and name the first broken event");
        var admin = api.MapGroup("/admin/audit-logs").WithTags("Audit");
        admin.MapGet("", QueryAuditLogs.ForAdmin).RequireRoot().WithName("ListAllAuditLogs")
            .WithSummary("Query the audit trail of every organization (filter orgId; 'platform' for events without one)");
        admin.MapGet("/verify", VerifyAuditChain.ForAdmin).RequireRoot().WithName("VerifyAnyAuditChain")
            .WithSummary("Recompute one chain by orgId (default: the platform chain)");
        return api;
    }
}
