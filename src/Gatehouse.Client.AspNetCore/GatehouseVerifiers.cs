using System.Collections.Concurrent;

namespace Gatehouse.Client.AspNetCore;

/// <summary>One <see cref="GatehouseClient"/> per authentication scheme, kept for the application's life (it holds connections and the verdict cache).</summary>
public sealed class GatehouseVerifiers(IHttpClientFactory httpClients) : IDisposable
{
    /// <summary>The named HttpClient the handler's calls go through.</summary>
    public const string HttpClientName = "Gatehouse.AspNetCore";

    private readonly ConcurrentDictionary<string, GatehouseClient> _clients = new(StringComparer.Ordinal);

    internal GatehouseClient For(string scheme, GatehouseApiKeyOptions options) =>
        _clients.GetOrAdd(scheme, _ => new GatehouseClient(httpClients.CreateClient(HttpClientName), options.ClientOptions()));

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
    }
}
