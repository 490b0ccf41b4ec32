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
            var handlers = provider.GetRequiredService<IHttpMessageHandlerFactory>();
            return new GatehouseClient(new FactoryHttpClient(handlers) { Timeout = Timeout.InfiniteTimeSpan }, options);
        });
        return services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
    }

    // The singleton asks the factory for its handler pipeline per call instead of keeping one for
    // ever, so the factory's handler rotation (and its DNS refresh) and added handlers still apply.
#pragma warning disable CA2000 // The handler is owned by the HttpClient (disposeHandler: true) and disposed with it.
    private sealed class FactoryHttpClient(IHttpMessageHandlerFactory handlers) : HttpClient(new FactoryHandler(handlers), disposeHandler: true)
#pragma warning restore CA2000
    {
    }

    private sealed class FactoryHandler(IHttpMessageHandlerFactory handlers) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The factory owns and recycles the pipeline: the invoker must not dispose it.
            using var invoker = new HttpMessageInvoker(handlers.CreateHandler(HttpClientName), disposeHandler: false);
            return invoker.SendAsync(request, cancellationToken);
        }
    }
}
