using Gatehouse.Client;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="GatehouseClient"/> over a named <c>IHttpClientFactory</c> client.</summary>
public static class GatehouseClientServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the client uses: add handlers to it with <c>services.AddHttpClient(HttpClientName)</c>.</summary>
    public const string HttpClientName = "Gatehouse";

    /// <summary>
    /// <c>services.AddGatehouseClient(o => { o.BaseUrl = "…"; o.ApiKey = "…"; })</c>, then take
    /// <see cref="GatehouseClient"/> in a constructor. The client is a singleton (it holds the verdict
    /// cache); its connections come from the factory, so DNS changes are picked up.
    /// </summary>
    public static IHttpClientBuilder AddGatehouseClient(this IServiceCollection services, Action<GatehouseClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<GatehouseClientOptions>().Configure(configure).Validate(o =>
        {
            o.Validate();
            return true;
        });
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<GatehouseClientOptions>>().Value;
            var factory = provider.GetRequiredService<IHttpClientFactory>();
            return new GatehouseClient(new FactoryHttpClient(factory) { Timeout = Timeout.InfiniteTimeSpan }, options);
        });
        return services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
    }

    // The singleton asks the factory for a client per call instead of keeping one HttpClient for
    // ever, so the factory's handler rotation (and its DNS refresh) still applies.
#pragma warning disable CA2000 // The handler is owned by the HttpClient (disposeHandler: true) and disposed with it.
    private sealed class FactoryHttpClient(IHttpClientFactory factory) : HttpClient(new FactoryHandler(factory), disposeHandler: true)
#pragma warning restore CA2000
    {
    }

    private sealed class FactoryHandler(IHttpClientFactory factory) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var client = factory.CreateClient(HttpClientName);
            return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
    }
}
