using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Permissions;

public static class PermissionEndpoints
{
    public static IEndpointRouteBuilder MapPermissions(this IEndpointRouteBuilder api)
    {
        api.MapGet("/permissions", () => new ApiOk<IReadOnlyList<PermissionInfo>>(PermissionCatalog.All))
            .RequireCredential().WithTags("Permissions").WithName("ListPermissions").WithSummary("The platform permission catalog");
        return api;
    }
}
