using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class LoginSettings : CommandSettings
{
    [CommandOption("--url <URL>")]
    [Description("The server's base URL (default: GATEHOUSE_URL, else http://127.0.0.1:5080).")]
    public string? Url { get; init; }

    [CommandOption("--key <KEY>")]
    [Description("The API key. Without it, the key is asked for without echo (or read from standard input when that is not a terminal).")]
    public string? Key { get; init; }

    [CommandOption("--org <ORG_ID>")]
    [Description("The organization later commands act on when they get no --org.")]
    public string? Org { get; init; }
}

/// <summary>
/// Checks the key against the server, then saves URL, key and organization in the profile file
/// (mode 0600). A key the server does not accept is not saved.
/// </summary>
public sealed class LoginCommand : AsyncCommand<LoginSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LoginSettings settings, CancellationToken cancellationToken)
    {
        var url = settings.Url ?? Environment.GetEnvironmentVariable("GATEHOUSE_URL") ?? "http://127.0.0.1:5080";
        var key = settings.Key ?? await ReadKeyAsync(cancellationToken);
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new UsageException("No key given.");
        }

        using (var client = new GatehouseClient(new GatehouseClientOptions { BaseUrl = url, ApiKey = key.Trim() }))
        {
            try
            {
                await client.Organizations.ListAsync(new OrgListQuery { Limit = 1 }, cancellationToken: cancellationToken);
            }
            catch (GatehouseForbiddenException)
            {
                // The key is valid; it just may not list organizations (an organization's own key).
            }
        }

        var path = SavedLogin.DefaultPath();
        new SavedLogin { Url = url, Key = key.Trim(), Org = settings.Org }.Save(path);
        Output.Success($"Logged in to {url}; saved to {path} (readable by you alone).");
        return ExitCodes.Ok;
    }

    private static async Task<string?> ReadKeyAsync(CancellationToken cancellationToken)
    {
        if (Console.IsInputRedirected)
        {
            return await Console.In.ReadLineAsync(cancellationToken);
        }

        return await new TextPrompt<string>("API key:").Secret().ShowAsync(AnsiConsole.Console, cancellationToken);
    }
}

/// <summary>Forgets the saved profile (the key stays valid on the server: revoke it there if it leaked).</summary>
public sealed class LogoutCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var path = SavedLogin.DefaultPath();
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        Output.Success($"Removed {path}.");
        return ExitCodes.Ok;
    }
}
