using System.ComponentModel;
using Gatehouse.Cli.Infrastructure;
using Gatehouse.Client;
using Gatehouse.Contracts.Webhooks;
using Spectre.Console.Cli;

namespace Gatehouse.Cli.Commands;

public sealed class ListWebhooksCommand : ApiCommand<OrgSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, OrgSettings settings, CancellationToken cancellationToken)
    {
        var webhooks = new List<WebhookView>();
        await foreach (var webhook in client.Webhooks.ListAllAsync(settings.ResolveOrg(), cancellationToken: cancellationToken))
        {
            webhooks.Add(webhook);
        }

        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(webhooks);
        }
        else
        {
            Output.WriteTable(["ID", "URL", "EVENTS", "ENABLED", "FAILING SINCE"], webhooks.Select(w => (IReadOnlyList<string?>)[
                w.Id, w.Url, Output.List(w.Events), w.Enabled ? "yes" : "no (" + w.DisabledReason + ")", Output.Time(w.FailingSince)]));
        }

        return ExitCodes.Ok;
    }
}

public sealed class CreateWebhookSettings : SecretOutputSettings
{
    [CommandArgument(0, "<URL>")]
    [Description("Where to deliver events (https).")]
    public string EndpointUrl { get; init; } = "";

    [CommandOption("-e|--event <EVENT>")]
    [Description("An event type (api_key.created) or a family (api_key.*); repeat for several. Default: every event.")]
    public string[] Events { get; init; } = [];

    [CommandOption("--description <TEXT>")]
    public string? Description { get; init; }
}

public sealed class CreateWebhookCommand : ApiCommand<CreateWebhookSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, CreateWebhookSettings settings, CancellationToken cancellationToken)
    {
        var created = await client.Webhooks.CreateAsync(settings.ResolveOrg(), new CreateWebhookRequest
        {
            Url = settings.EndpointUrl,
            Events = settings.Events.Length > 0 ? [.. settings.Events] : null,
            Description = settings.Description,
        }, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            if (settings.ShowSecret)
            {
                Output.WriteJson(created);
            }
            else
            {
                Output.WriteJson(new WebhookView(created.Id, created.OrgId, created.Url, created.Description, created.Events, created.Enabled,
                    created.DisabledReason, created.PreviousSecretExpiresAt, created.FailingSince, created.CreatedAt, created.UpdatedAt));
            }
        }
        else
        {
            Output.WriteFields([("id", created.Id), ("url", created.Url), ("events", Output.List(created.Events)), ("enabled", created.Enabled ? "yes" : "no")]);
        }

        Secrets.Deliver(settings, "signing secret", created.Secret);
        return ExitCodes.Ok;
    }
}

public sealed class WebhookIdSettings : OrgSettings
{
    [CommandArgument(0, "<WEBHOOK_ID>")]
    public string WebhookId { get; init; } = "";
}

public sealed class DeleteWebhookCommand : ApiCommand<WebhookIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, WebhookIdSettings settings, CancellationToken cancellationToken)
    {
        var deleted = await client.Webhooks.DeleteAsync(settings.ResolveOrg(), settings.WebhookId, cancellationToken: cancellationToken);
        Output.Removed(settings, deleted, "Deleted");
        return ExitCodes.Ok;
    }
}

public sealed class TestWebhookCommand : ApiCommand<WebhookIdSettings>
{
    protected override async Task<int> RunAsync(GatehouseClient client, WebhookIdSettings settings, CancellationToken cancellationToken)
    {
        var delivery = await client.Webhooks.TestAsync(settings.ResolveOrg(), settings.WebhookId, cancellationToken: cancellationToken);
        if (settings.Output == OutputFormat.Json)
        {
            Output.WriteJson(delivery);
        }
        else
        {
            Output.Success($"Sent a test event: delivery {delivery.Id}.");
        }

        return ExitCodes.Ok;
    }
}
