using Gatehouse.Contracts.Permissions;
using Gatehouse.Server.Platform.Auth;
using Gatehouse.Server.Platform.Composition;
using Gatehouse.Server.Platform.Http;

namespace Gatehouse.Server.Features.Permissions;

/// <summary>The platform permission catalog, as the features of this server declare it.</summary>
public sealed class PermissionsFeature : Feature
{
    public override string Name => "Permissions";

    public override IReadOnlyList<(string Tag, string Description)> Tags => [("Permissions", "The platform permissions an API key can hold.")];

    public override void MapRoutes(FeatureRoutes routes) =>
        routes.Api.MapGet("/permissions", () => new ApiOk<IReadOnlyList<PermissionInfo>>(PermissionCatalog.All))
            .RequireCredential().WithTags("Permissions").WithName("ListPermissions").WithSummary("The platform permission catalog");
}
