using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class ServerSettings : CommandSettings
{
    [CommandOption("--dev")]
    [Description("A throwaway server: data in a new temporary folder (deleted when it stops), http:// and loopback webhook targets allowed, the root key printed at start.")]
    public bool Dev { get; init; }

    [CommandOption("--urls <URLS>")]
    [Description("Where to listen.")]
    [DefaultValue("http://127.0.0.1:5080")]
    public string Urls { get; init; } = "http://127.0.0.1:5080";
}

/// <summary>
/// Runs the server in this process, with the settings the server itself reads (GATEHOUSE_*,
/// appsettings.json); <c>--dev</c> adds a temporary data folder and development defaults.
/// </summary>
public sealed class ServerCommand : Command<ServerSettings>
{
    public override int Execute(CommandContext context, ServerSettings settings, CancellationToken cancellationToken)
    {
        string? devDataDir = null;
        if (settings.Dev)
        {
            devDataDir = Directory.CreateTempSubdirectory("gatehouse-dev-").FullName;
            Environment.SetEnvironmentVariable("GATEHOUSE_DATA_DIR", devDataDir);
            Environment.SetEnvironmentVariable("GATEHOUSE_WEBHOOKS_ALLOW_INSECURE", "true");
            Console.Out.WriteLine($"Development server: data in {devDataDir}, deleted when it stops. Never use it for real keys.");
        }

        try
        {
            // The server's own settings files ship beside this tool: read them from there, not the current folder.
            return Gatehouse.Server.Program.Main(["--urls", settings.Urls, "--contentRoot", AppContext.BaseDirectory]);
        }
        finally
        {
            if (devDataDir is not null)
            {
                Directory.Delete(devDataDir, recursive: true);
            }
        }
    }
}

public sealed class RootKeySettings : CommandSettings
{
    [CommandArgument(0, "<ACTION>")]
    [Description("list, create, rotate <ROOT_KEY_ID>, revoke <ROOT_KEY_ID> or recover.")]
    public string Action { get; init; } = "";

    [CommandArgument(1, "[ROOT_KEY_ID]")]
    public string? RootKeyId { get; init; }
}

/// <summary>
/// Root keys are managed offline, never over HTTP: this runs the server's own root-key command
/// against the database and master key that the server's settings (GATEHOUSE_*) name.
/// </summary>
public sealed class RootKeysCommand : Command<RootKeySettings>
{
    public override int Execute(CommandContext context, RootKeySettings settings, CancellationToken cancellationToken)
    {
        string[] args = settings.RootKeyId is null ? ["root-key", settings.Action] : ["root-key", settings.Action, settings.RootKeyId];
        var code = Gatehouse.Server.Program.Main(args);
        return code == 0 ? ExitCodes.Ok : code == 2 ? ExitCodes.Usage : ExitCodes.Error;
    }
}
