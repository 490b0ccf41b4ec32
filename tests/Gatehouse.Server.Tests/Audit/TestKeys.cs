using Gatehouse.Server.Tests.ApiKeys;

namespace Gatehouse.Server.Tests.Audit;

/// <summary>A server (one per test class) whose tests act with real organization keys of chosen permissions.</summary>
public sealed class KeyedServer : IAsyncLifetime
{
    private GatehouseServer? _server;

    public GatehouseServer Server => _server!;

    public async ValueTask InitializeAsync() => _server = await GatehouseServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A client holding a new API key of <paramref name="orgId"/> with exactly <paramref name="permissions"/>.</summary>
    public Task<ApiClient> ClientAsync(string orgId, params string[] permissions) => Server.OrgClientAsync(orgId, permissions);
}
