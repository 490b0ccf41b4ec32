using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Orgs;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class ListOrgsCommand : ApiCommand<GlobalSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, GlobalSettings settings, CancellationToken cancellationToken)
    {
        var orgs = new List<OrgView>();
        await foreach (var org in client.Organizations.ListAllAsync(cancellationToken: cancellationToken))
        {
            orgs.Add(org);
        }

        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(orgs);
        }
        else
        {
            Output.WriteTable(["ID", "NAME", "SLUG", "CREATED"], orgs.Select(o => (IReadOnlyList<string?>)[o.Id, o.Name, o.Slug, Output.Time(o.CreatedAt)]));
        }

        return ExitCodes.Ok;
    }
}

public sealed class CreateOrgSettings : GlobalSettings
{
    [CommandArgument(0, "<NAME>")]
    public string Name { get; init; } = "";

    [CommandOption("--slug <SLUG>")]
    [Description("A unique, URL-friendly name (lowercase letters, digits, single dashes).")]
    public string? Slug { get; init; }
}

public sealed class CreateOrgCommand : ApiCommand<CreateOrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, CreateOrgSettings settings, CancellationToken cancellationToken)
    {
        OrgOutput.Write(settings, await client.Organizations.CreateAsync(new CreateOrgRequest { Name = settings.Name, Slug = settings.Slug }, cancellationToken: cancellationToken));
        return ExitCodes.Ok;
    }
}

public class OrgIdSettings : GlobalSettings
{
    [CommandArgument(0, "<ORG_ID>")]
    public string OrgId { get; init; } = "";
}

public sealed class GetOrgCommand : ApiCommand<OrgIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, OrgIdSettings settings, CancellationToken cancellationToken)
    {
        OrgOutput.Write(settings, await client.Organizations.GetAsync(settings.OrgId, cancellationToken: cancellationToken));
        return ExitCodes.Ok;
    }
}

public sealed class DeleteOrgSettings : OrgIdSettings
{
    [CommandOption("--yes")]
    [Description("Confirm: deleting an organization destroys its keys, credentials and data keys, and cannot be undone.")]
    public bool Yes { get; init; }
}

public sealed class DeleteOrgCommand : ApiCommand<DeleteOrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, DeleteOrgSettings settings, CancellationToken cancellationToken)
    {
        if (!settings.Yes)
        {
            throw new UsageException($"Deleting {settings.OrgId} cannot be undone: add --yes to confirm.");
        }

        var deleted = await client.Organizations.DeleteAsync(settings.OrgId, cancellationToken: cancellationToken);
        Output.Removed(settings, deleted, "Deleted");
        return ExitCodes.Ok;
    }
}

internal static class OrgOutput
{
    public static void Write(GlobalSettings settings, OrgView org)
    {
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(org);
            return;
        }

        Output.WriteFields([("id", org.Id), ("name", org.Name), ("slug", org.Slug), ("created", Output.Time(org.CreatedAt)), ("updated", Output.Time(org.UpdatedAt))]);
    }
}
