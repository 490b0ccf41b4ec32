[assembly: AssemblyFixture(typeof(Gatehouse.Server.Tests.Infrastructure.SharedServer))]

namespace Gatehouse.Server.Tests.Infrastructure;

/// <summary>
/// One server for the whole test assembly: tests isolate themselves by creating their own
/// organizations. Tests that need a special clock or settings start their own server.
/// </summary>
public sealed class SharedServer : IAsyncLifetime
{
    private GatehouseServer? _server;

    public GatehouseServer Server => _server ?? throw new InvalidOperationException("The shared server has not started.");

    public async ValueTask InitializeAsync() => _server = await GatehouseServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
