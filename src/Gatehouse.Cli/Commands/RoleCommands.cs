using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Roles;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class ListRolesCommand : ApiCommand<OrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, OrgSettings settings, CancellationToken cancellationToken)
    {
        var roles = new List<RoleView>();
        await foreach (var role in client.Roles.ListAllAsync(settings.ResolveOrg(), cancellationToken: cancellationToken))
        {
            roles.Add(role);
        }

        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(roles);
        }
        else
        {
            Output.WriteTable(["ID", "NAME", "PERMISSIONS", "DESCRIPTION"], roles.Select(r => (IReadOnlyList<string?>)[r.Id, r.Name, Output.List(r.Permissions), r.Description]));
        }

        return ExitCodes.Ok;
    }
}

public sealed class CreateRoleSettings : OrgSettings
{
    [CommandArgument(0, "<NAME>")]
    public string Name { get; init; } = "";

    [CommandOption("-p|--permission <PERMISSION>")]
    [Description("A permission of the role; repeat for several.")]
    public string[] Permissions { get; init; } = [];

    [CommandOption("--description <TEXT>")]
    public string? Description { get; init; }
}

public sealed class CreateRoleCommand : ApiCommand<CreateRoleSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, CreateRoleSettings settings, CancellationToken cancellationToken)
    {
        var role = await client.Roles.CreateAsync(settings.ResolveOrg(), new CreateRoleRequest
        {
            Name = settings.Name,
            Description = settings.Description,
            Permissions = [.. settings.Permissions],
        }, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(role);
        }
        else
        {
            Output.WriteFields([("id", role.Id), ("name", role.Name), ("permissions", Output.List(role.Permissions)), ("description", role.Description)]);
        }

        return ExitCodes.Ok;
    }
}

public sealed class RoleIdSettings : OrgSettings
{
    [CommandArgument(0, "<ROLE_ID>")]
    public string RoleId { get; init; } = "";
}

public sealed class DeleteRoleCommand : ApiCommand<RoleIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, RoleIdSettings settings, CancellationToken cancellationToken)
    {
        var deleted = await client.Roles.DeleteAsync(settings.ResolveOrg(), settings.RoleId, cancellationToken: cancellationToken);
        Output.Removed(settings, deleted, "Deleted");
        return ExitCodes.Ok;
    }
}
