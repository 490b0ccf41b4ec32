using Gatehouse.Client.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary><c>builder.Services.AddAuthentication().AddGatehouseApiKey(o => …)</c>.</summary>
public static class GatehouseAuthenticationBuilderExtensions
{
    public static AuthenticationBuilder AddGatehouseApiKey(this AuthenticationBuilder builder, Action<GatehouseApiKeyOptions> configure) =>
        builder.AddGatehouseApiKey(GatehouseApiKeyDefaults.AuthenticationScheme, configure);

    public static AuthenticationBuilder AddGatehouseApiKey(this AuthenticationBuilder builder, string scheme, Action<GatehouseApiKeyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddHttpClient(GatehouseVerifiers.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.AddHttpContextAccessor();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatehouseVerifiers>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, GatehousePermissionHandler>());
        services.AddAuthorization();
        // 429 and 503 from the permission check need their own answer; every other result keeps the default one.
        services.Replace(ServiceDescriptor.Singleton<IAuthorizationMiddlewareResultHandler, GatehouseAuthorizationResultHandler>());
        return builder.AddScheme<GatehouseApiKeyOptions, GatehouseApiKeyHandler>(scheme, configure);
    }
}
