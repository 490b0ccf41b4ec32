using Gatehouse.Client;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>A command that talks to a server: it gets a client for the resolved URL and key.</summary>
public abstract class ApiCommand<TSettings> : AsyncCommand<TSettings>
    where TSettings : GlobalSettings
{
    public sealed override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        using var client = settings.CreateClient();
        return await RunAsync(client, settings, cancellationToken);
    }

    protected abstract Task<int> RunAsync(GatehouseClient client, TSettings settings, CancellationToken cancellationToken);
}
