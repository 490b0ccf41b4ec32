using System.ComponentModel;
using Gatehouse.Client;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Infrastructure;

/// <summary>The options every command that talks to a server takes.</summary>
public class GlobalSettings : CommandSettings
{
    [CommandOption("--url <URL>")]
    [Description("The server's base URL. Default: GATEHOUSE_URL, else the one saved by `gatehouse login`.")]
    public string? Url { get; init; }

    [CommandOption("--key <KEY>")]
    [Description("The API key to send. Default: GATEHOUSE_KEY, else the one saved by `gatehouse login`. Prefer those: a key on the command line is visible to other users of the machine.")]
    public string? Key { get; init; }

    [CommandOption("-o|--output <FORMAT>")]
    [Description("table (for people, the default) or json (for scripts).")]
    [DefaultValue(OutputFormat.Table)]
    public OutputFormat Output { get; init; } = OutputFormat.Table;

    /// <summary>The server and key to use: options, then the environment, then the saved profile.</summary>
    public (string Url, string Key) ResolveConnection()
    {
        var profile = SavedLogin.Load(SavedLogin.DefaultPath());
        var url = First(Url, Environment.GetEnvironmentVariable("GATEHOUSE_URL"), profile.Url)
            ?? throw new UsageException("No server: pass --url, set GATEHOUSE_URL, or run `gatehouse login`.");
        var key = First(Key, Environment.GetEnvironmentVariable("GATEHOUSE_KEY"), profile.Key)
            ?? throw new UsageException("No key: pass --key, set GATEHOUSE_KEY, or run `gatehouse login`.");
        return (url, key);
    }

    public GatehouseClient CreateClient()
    {
        var (url, key) = ResolveConnection();
        return new GatehouseClient(new GatehouseClientOptions { BaseUrl = url, ApiKey = key });
    }

    protected static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}

/// <summary>Options of commands that act inside one organization.</summary>
public class OrgSettings : GlobalSettings
{
    [CommandOption("--org <ORG>")]
    [Description("The organization (id). Default: GATEHOUSE_ORG, else the one saved by `gatehouse login --org`.")]
    public string? Org { get; init; }

    public string ResolveOrg() =>
        First(Org, Environment.GetEnvironmentVariable("GATEHOUSE_ORG"), SavedLogin.Load(SavedLogin.DefaultPath()).Org)
        ?? throw new UsageException("No organization: pass --org, set GATEHOUSE_ORG, or run `gatehouse login --org <id>`.");
}

public enum OutputFormat
{
    Table,
    Json,
}
