using Gatehouse.Server.Platform.Composition;

namespace Gatehouse.Server.Features.Gateways;

/// <summary>Network gateways, the networks behind them, access rules and the gateway agent's API.</summary>
public sealed class GatewaysFeature : Feature
{
    public override string Name => "Gateways";

    public override void AddServices(FeatureServices services)
    {
        services.OrgData<GatewayOrgData>();
    }
}
